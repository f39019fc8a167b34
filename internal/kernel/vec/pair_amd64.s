//go:build amd64 && !purego

#include "textflag.h"

// The pair kernels of pair.go. AX points to pairConst, one broadcast vector
// of 32 bytes per constant: 0 ½, 32 1/6, 64 1/24, 96 1/120, 128 1/720,
// 160 1, 192 2, 224 3, 256 4, 288 5, 320 6, 352 10, 384 12, 416 30, 448 120,
// 480 −2, 512 the |·| mask, 544 the sign bit. Every operation, and its
// order, is that of the Go twin (spPairGo, spPairGradGo); the branches on
// b = 0 and on lim4 become blends of both sides.

// func spPairAVX(dd, ds, s, e *float32, n int, c *[18][8]float32, lim4 float32)
// Locals: 0(SP) lim4, 32(SP) the lim4 mask, 64(SP) the b = 0 mask, 96(SP) c6.
TEXT ·spPairAVX(SB), NOSPLIT, $128-52
	MOVQ dd+0(FP), DI
	MOVQ ds+8(FP), SI
	MOVQ s+16(FP), R10
	MOVQ e+24(FP), R11
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), AX
	VBROADCASTSS lim4+48(FP), Y15
	VMOVUPS Y15, 0(SP)

ploop:
	VMOVUPS (R10), Y0          // s = c1
	VMOVUPS (R11), Y1          // e
	VMULPS  Y1, Y0, Y2         // q = s·e
	VSUBPS  Y0, Y1, Y1         // e − s
	VMULPS  Y1, Y2, Y1         // q(e − s)
	VMULPS  0(AX), Y2, Y3      // c2 = q·½
	VMULPS  32(AX), Y1, Y4     // c3 = q(e − s)·(1/6)
	VMOVUPS 160(AX), Y6        // 1
	VMULPS  320(AX), Y2, Y5    // 6q
	VSUBPS  Y5, Y6, Y5         // 1 − 6q
	VMULPS  Y5, Y2, Y5         // q(1 − 6q)
	VMULPS  64(AX), Y5, Y5     // c4
	VMULPS  384(AX), Y2, Y7    // 12q
	VSUBPS  Y7, Y6, Y7         // 1 − 12q
	VMULPS  Y7, Y1, Y1         // q(e − s)(1 − 12q)
	VMULPS  96(AX), Y1, Y1     // c5
	VMULPS  416(AX), Y2, Y7    // 30q
	VSUBPS  Y7, Y6, Y7         // 1 − 30q
	VMULPS  448(AX), Y2, Y6    // 120q
	VMULPS  Y2, Y6, Y6         // 120q·q
	VADDPS  Y6, Y7, Y7         // 1 − 30q + 120q²
	VMULPS  Y7, Y2, Y7         // q(…)
	VMULPS  128(AX), Y7, Y7    // c6
	VMOVUPS Y7, 96(SP)

	VMOVUPS (DI), Y8           // a = D
	VMOVUPS (SI), Y9
	VMULPS  0(AX), Y9, Y9      // b = S·½
	VMULPS  Y8, Y8, Y10        // a²
	VMULPS  Y9, Y9, Y11        // b²
	VANDPS  512(AX), Y8, Y12   // |a|
	VANDPS  512(AX), Y9, Y13   // |b|
	VADDPS  Y13, Y12, Y12      // h
	VCMPPS  $2, 0(SP), Y12, Y12 // h ≤ lim4
	VMOVUPS Y12, 32(SP)
	VXORPS  Y13, Y13, Y13
	VCMPPS  $0, Y13, Y9, Y13   // b = 0
	VMOVUPS Y13, 64(SP)

	// S′ = 2(a²(c2 + c4a²) + b·inner)
	VMULPS  Y10, Y5, Y2        // c4·a²
	VADDPS  Y2, Y3, Y2         // c2 + …
	VMULPS  Y2, Y10, Y2        // a²(…)
	VMULPS  Y9, Y3, Y6         // c2·b
	VADDPS  Y6, Y0, Y6         // s + c2·b
	VMULPS  224(AX), Y10, Y7   // 3a²
	VADDPS  Y7, Y11, Y7        // b² + 3a²
	VMULPS  Y7, Y4, Y7         // c3(…)
	VADDPS  Y7, Y6, Y6
	VMULPS  Y9, Y5, Y7         // c4·b
	VMULPS  320(AX), Y10, Y12  // 6a²
	VADDPS  Y12, Y11, Y12      // b² + 6a²
	VMULPS  Y12, Y7, Y7        // c4·b(…)
	VADDPS  Y7, Y6, Y6         // inner, to the c4 term
	VMULPS  288(AX), Y10, Y7   // 5a²
	VMULPS  Y10, Y7, Y7        // 5a²·a²
	VMULPS  352(AX), Y10, Y12  // 10a²
	VMULPS  Y11, Y12, Y12      // 10a²·b²
	VADDPS  Y12, Y7, Y7
	VMULPS  Y11, Y11, Y12      // b²·b²
	VADDPS  Y12, Y7, Y7
	VMULPS  Y7, Y1, Y7         // c5(…)
	VADDPS  Y7, Y6, Y7         // inner with the c5 term
	VMOVUPS 32(SP), Y12
	VBLENDVPS Y12, Y6, Y7, Y6  // h ≤ lim4: without it
	VMULPS  Y6, Y9, Y6         // b·inner
	VADDPS  Y6, Y2, Y6
	VMULPS  192(AX), Y6, Y6    // S′

	// D′ = a·inner
	VMULPS  192(AX), Y3, Y2    // 2c2
	VMULPS  Y9, Y2, Y2         // 2c2·b
	VADDPS  Y2, Y0, Y2         // s + …
	VMULPS  224(AX), Y11, Y7   // 3b²
	VADDPS  Y7, Y10, Y7        // a² + 3b²
	VMULPS  Y7, Y4, Y7         // c3(…)
	VADDPS  Y7, Y2, Y2
	VMULPS  256(AX), Y5, Y7    // 4c4
	VMULPS  Y9, Y7, Y7         // 4c4·b
	VADDPS  Y11, Y10, Y12      // a² + b²
	VMULPS  Y12, Y7, Y7        // 4c4·b(…)
	VADDPS  Y7, Y2, Y2         // inner, to the c4 term
	VMULPS  Y10, Y10, Y7       // a²·a²
	VMULPS  352(AX), Y10, Y12  // 10a²
	VMULPS  Y11, Y12, Y12      // ·b²
	VADDPS  Y12, Y7, Y7
	VMULPS  288(AX), Y11, Y12  // 5b²
	VMULPS  Y11, Y12, Y12      // ·b²
	VADDPS  Y12, Y7, Y7
	VMULPS  Y7, Y1, Y7         // c5(…)
	VADDPS  Y7, Y2, Y7         // inner with the c5 term
	VMOVUPS 32(SP), Y12
	VBLENDVPS Y12, Y2, Y7, Y2
	VMULPS  Y2, Y8, Y2         // D′

	// b = 0: S′ = 2a²(c2 + a²(c4 + c6a²)), D′ = a(s + a²(c3 + c5a²))
	VMULPS  96(SP), Y10, Y7    // c6·a²
	VADDPS  Y7, Y5, Y7         // c4 + …
	VMULPS  Y7, Y10, Y7        // a²(…)
	VADDPS  Y7, Y3, Y7         // c2 + …
	VMULPS  192(AX), Y10, Y12  // 2a²
	VMULPS  Y7, Y12, Y7
	VMULPS  Y10, Y1, Y12       // c5·a²
	VADDPS  Y12, Y4, Y12       // c3 + …
	VMULPS  Y12, Y10, Y12      // a²(…)
	VADDPS  Y12, Y0, Y12       // s + …
	VMULPS  Y12, Y8, Y12
	VMOVUPS 64(SP), Y13
	VBLENDVPS Y13, Y7, Y6, Y6
	VBLENDVPS Y13, Y12, Y2, Y2
	VMOVUPS Y6, (SI)
	VMOVUPS Y2, (DI)

	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $32, R11
	SUBQ $8, CX
	JNZ  ploop
	VZEROUPPER
	RET

// func spPairGradAVX(a *pairGradArgs, n int, c *[18][8]float32, lim4 float32)
// Locals: 0(SP) lim4, 32(SP) unused.
TEXT ·spPairGradAVX(SB), NOSPLIT, $64-28
	MOVQ a+0(FP), BX
	MOVQ 0(BX), DI             // gz
	MOVQ 8(BX), SI             // gdD
	MOVQ 16(BX), R8            // gdS
	MOVQ 24(BX), R9            // gD
	MOVQ 32(BX), R10           // gS
	MOVQ 40(BX), R11           // dyD
	MOVQ 48(BX), R12           // dyS
	MOVQ 56(BX), R13           // s
	MOVQ 64(BX), DX            // e
	MOVQ n+8(FP), CX
	MOVQ c+16(FP), AX
	VBROADCASTSS lim4+24(FP), Y15
	VMOVUPS Y15, 0(SP)

gloop:
	VMOVUPS (R11), Y8          // a = D′
	VMOVUPS (R12), Y9          // S′
	VANDPS  512(AX), Y8, Y12   // |a|
	VANDPS  512(AX), Y9, Y13   // |S′|
	VMULPS  0(AX), Y13, Y13    // |S′|·½
	VADDPS  Y13, Y12, Y12      // h
	VCMPPS  $2, 0(SP), Y12, Y12 // h ≤ lim4
	VXORPS  544(AX), Y9, Y9    // −S′
	VMULPS  0(AX), Y9, Y9      // b = −S′·½
	VMULPS  Y8, Y8, Y10        // a²
	VMULPS  Y9, Y9, Y11        // b²

	// even = a²(½ + a²/24) + b·inner
	VMULPS  64(AX), Y10, Y2    // a²·(1/24)
	VADDPS  0(AX), Y2, Y2      // ½ + …
	VMULPS  Y2, Y10, Y2        // a²(…)
	VMULPS  0(AX), Y9, Y6      // b·½
	VADDPS  160(AX), Y6, Y6    // 1 + …
	VMULPS  224(AX), Y10, Y7   // 3a²
	VADDPS  Y7, Y11, Y7        // b² + 3a²
	VMULPS  32(AX), Y7, Y7     // ·(1/6)
	VADDPS  Y7, Y6, Y6
	VMULPS  320(AX), Y10, Y7   // 6a²
	VADDPS  Y7, Y11, Y7        // b² + 6a²
	VMULPS  Y7, Y9, Y7         // b(…)
	VMULPS  64(AX), Y7, Y7     // ·(1/24)
	VADDPS  Y7, Y6, Y6         // inner, to the 1/24 term
	VMULPS  288(AX), Y10, Y7   // 5a²
	VMULPS  Y10, Y7, Y7        // ·a²
	VMULPS  352(AX), Y10, Y13  // 10a²
	VMULPS  Y11, Y13, Y13      // ·b²
	VADDPS  Y13, Y7, Y7
	VMULPS  Y11, Y11, Y13      // b²·b²
	VADDPS  Y13, Y7, Y7
	VMULPS  96(AX), Y7, Y7     // ·(1/120)
	VADDPS  Y7, Y6, Y7         // inner with the 1/120 term
	VBLENDVPS Y12, Y6, Y7, Y6
	VMULPS  Y6, Y9, Y6         // b·inner
	VADDPS  Y6, Y2, Y6         // even

	// odd = a·inner
	VADDPS  160(AX), Y9, Y2    // 1 + b
	VMULPS  224(AX), Y11, Y7   // 3b²
	VADDPS  Y7, Y10, Y7        // a² + 3b²
	VMULPS  32(AX), Y7, Y7     // ·(1/6)
	VADDPS  Y7, Y2, Y2
	VADDPS  Y11, Y10, Y7       // a² + b²
	VMULPS  Y7, Y9, Y7         // b(…)
	VMULPS  32(AX), Y7, Y7     // ·(1/6)
	VADDPS  Y7, Y2, Y2         // inner, to the 1/6 terms
	VMULPS  Y10, Y10, Y7       // a²·a²
	VMULPS  352(AX), Y10, Y13  // 10a²
	VMULPS  Y11, Y13, Y13      // ·b²
	VADDPS  Y13, Y7, Y7
	VMULPS  288(AX), Y11, Y13  // 5b²
	VMULPS  Y11, Y13, Y13      // ·b²
	VADDPS  Y13, Y7, Y7
	VMULPS  96(AX), Y7, Y7     // ·(1/120)
	VADDPS  Y7, Y2, Y7         // inner with the 1/120 term
	VBLENDVPS Y12, Y2, Y7, Y2
	VMULPS  Y2, Y8, Y2         // odd

	VMOVUPS (DX), Y1           // e
	VMULPS  480(AX), Y1, Y3    // −2e
	VMULPS  Y6, Y3, Y3         // sp = −2e·even
	VMULPS  Y2, Y1, Y4         // dp = e·odd
	VMOVUPS (R13), Y0          // p = s
	VMOVUPS (R9), Y5           // gD
	VMOVUPS (R10), Y7          // gS
	VMULPS  0(AX), Y3, Y8      // sp·½
	VADDPS  Y8, Y0, Y8         // p + …
	VMULPS  Y8, Y5, Y8         // gD(…)
	VMULPS  192(AX), Y7, Y9    // 2gS
	VMULPS  Y4, Y9, Y9         // ·dp
	VADDPS  Y9, Y8, Y8
	VMOVUPS Y8, (SI)           // gdD
	VMULPS  Y4, Y5, Y8         // gD·dp
	VMULPS  192(AX), Y0, Y9    // 2p
	VADDPS  Y3, Y9, Y9         // 2p + sp
	VMULPS  Y9, Y7, Y9         // gS(…)
	VADDPS  Y9, Y8, Y9
	VMULPS  0(AX), Y9, Y9      // ·½
	VMOVUPS Y9, (R8)           // gdS
	VMULPS  Y3, Y7, Y9         // gS·sp
	VADDPS  Y9, Y8, Y9         // gD·dp + gS·sp
	VMOVUPS (DI), Y10
	VADDPS  Y9, Y10, Y10
	VMOVUPS Y10, (DI)          // gz

	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, R12
	ADDQ $32, R13
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ  gloop
	VZEROUPPER
	RET

// func pairWithinAVX(dd, ds *float32, n int, c *[18][8]float32, t float32) bool
// ORs, over the vectors, the lanes where |D| + |S|·½ ≤ t fails (NaN
// included: predicate 6, NLE_UQ) and reports whether none did.
TEXT ·pairWithinAVX(SB), NOSPLIT, $0-41
	MOVQ dd+0(FP), DI
	MOVQ ds+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ c+24(FP), AX
	VBROADCASTSS t+32(FP), Y8
	VMOVUPS 512(AX), Y9        // |·| mask
	VMOVUPS 0(AX), Y11         // ½
	VXORPS  Y10, Y10, Y10      // lanes that failed

pwloop:
	VMOVUPS (DI), Y0
	VANDPS  Y9, Y0, Y0         // |D|
	VMOVUPS (SI), Y1
	VANDPS  Y9, Y1, Y1         // |S|
	VMULPS  Y11, Y1, Y1        // ·½
	VADDPS  Y1, Y0, Y0
	VCMPPS  $6, Y8, Y0, Y1     // !(h <= t)
	VORPS   Y1, Y10, Y10
	ADDQ    $32, DI
	ADDQ    $32, SI
	SUBQ    $8, CX
	JNZ     pwloop
	VMOVMSKPS Y10, AX
	VZEROUPPER
	TESTL   AX, AX
	SETEQ   ret+40(FP)
	RET
