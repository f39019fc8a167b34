//go:build amd64 && !purego

#include "textflag.h"

// func adamAVX(p, grad, m, v *float32, n int, c *Adam32)
// Eight lanes per iteration; the operations and their order are adamGo's.
TEXT ·adamAVX(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), AX
	VBROADCASTSS 0(AX), Y8   // L2
	VBROADCASTSS 4(AX), Y9   // B1
	VBROADCASTSS 8(AX), Y10  // OB1
	VBROADCASTSS 12(AX), Y11 // B2
	VBROADCASTSS 16(AX), Y12 // OB2
	VBROADCASTSS 20(AX), Y13 // Inv
	VBROADCASTSS 24(AX), Y14 // Eps
	VBROADCASTSS 28(AX), Y15 // Shrink
	VBROADCASTSS 32(AX), Y7  // Step

loop:
	VMOVUPS (DI), Y0         // p
	VMOVUPS (SI), Y1         // g
	VMULPS  Y8, Y0, Y2       // L2·p
	VADDPS  Y2, Y1, Y1       // g' = g + L2·p
	VMOVUPS (R8), Y2         // m
	VMULPS  Y9, Y2, Y2       // B1·m
	VMULPS  Y10, Y1, Y3      // OB1·g'
	VADDPS  Y3, Y2, Y2       // m
	VMOVUPS Y2, (R8)
	VMOVUPS (R9), Y3         // v
	VMULPS  Y11, Y3, Y3      // B2·v
	VMULPS  Y12, Y1, Y4      // OB2·g'
	VMULPS  Y1, Y4, Y4       // ·g'
	VADDPS  Y4, Y3, Y3       // v
	VMOVUPS Y3, (R9)
	VSQRTPS Y3, Y3           // √v
	VMULPS  Y13, Y3, Y3      // ·Inv
	VADDPS  Y14, Y3, Y3      // + Eps
	VMULPS  Y7, Y2, Y4       // Step·m
	VDIVPS  Y3, Y4, Y4       // (Step·m)/den
	VMULPS  Y15, Y0, Y0      // p·Shrink
	VSUBPS  Y4, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	ADDQ    $32, R8
	ADDQ    $32, R9
	SUBQ    $8, CX
	JNZ     loop
	VZEROUPPER
	RET

// func spDeltaAVX(d, s, e *float32, n int, c *[8]float32)
// c = {0.5, 1/6, 1/24, 1/120, 1, 6, 12, 1/720}; the order of spDeltaGo.
TEXT ·spDeltaAVX(SB), NOSPLIT, $0-40
	MOVQ d+0(FP), DI
	MOVQ s+8(FP), SI
	MOVQ e+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ c+32(FP), AX
	VBROADCASTSS 0(AX), Y8   // 0.5
	VBROADCASTSS 4(AX), Y9   // 1/6
	VBROADCASTSS 8(AX), Y10  // 1/24
	VBROADCASTSS 12(AX), Y11 // 1/120
	VBROADCASTSS 16(AX), Y12 // 1
	VBROADCASTSS 20(AX), Y13 // 6
	VBROADCASTSS 24(AX), Y14 // 12

sdloop:
	VMOVUPS (SI), Y0         // s
	VMOVUPS (DX), Y1         // e
	VMOVUPS (DI), Y2         // δ
	VMULPS  Y1, Y0, Y3       // q = s·e
	VSUBPS  Y0, Y1, Y4       // e − s
	VMULPS  Y4, Y3, Y4       // t = q·(e − s)
	VMULPS  Y8, Y3, Y5       // c₂ = q·0.5
	VMULPS  Y9, Y4, Y6       // c₃ = t·(1/6)
	VMULPS  Y13, Y3, Y7      // 6q
	VSUBPS  Y7, Y12, Y7      // 1 − 6q
	VMULPS  Y7, Y3, Y7       // q·(1 − 6q)
	VMULPS  Y10, Y7, Y7      // c₄
	VMULPS  Y14, Y3, Y15     // 12q
	VSUBPS  Y15, Y12, Y15    // 1 − 12q
	VMULPS  Y15, Y4, Y15     // t·(1 − 12q)
	VMULPS  Y11, Y15, Y15    // c₅
	VMULPS  Y2, Y15, Y15     // δ·c₅
	VADDPS  Y15, Y7, Y7      // c₄ + δ·c₅
	VMULPS  Y2, Y7, Y7
	VADDPS  Y7, Y6, Y6       // c₃ + …
	VMULPS  Y2, Y6, Y6
	VADDPS  Y6, Y5, Y5       // c₂ + …
	VMULPS  Y2, Y5, Y5
	VADDPS  Y5, Y0, Y5       // s + …
	VMULPS  Y2, Y5, Y5       // δ·(…)
	VMOVUPS Y5, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	ADDQ    $32, DX
	SUBQ    $8, CX
	JNZ     sdloop
	VZEROUPPER
	RET

// func spGradAVX(gz, gd, grad, dy, s, e *float32, n int, c *[8]float32, sign float32)
// The order of spGradGo.
TEXT ·spGradAVX(SB), NOSPLIT, $0-68
	MOVQ gz+0(FP), DI
	MOVQ gd+8(FP), SI
	MOVQ grad+16(FP), R8
	MOVQ dy+24(FP), R9
	MOVQ s+32(FP), R10
	MOVQ e+40(FP), R11
	MOVQ n+48(FP), CX
	MOVQ c+56(FP), AX
	VBROADCASTSS sign+64(FP), Y14
	VBROADCASTSS 16(AX), Y8  // 1
	VBROADCASTSS 0(AX), Y9   // 0.5
	VBROADCASTSS 4(AX), Y10  // 1/6
	VBROADCASTSS 8(AX), Y11  // 1/24
	VBROADCASTSS 12(AX), Y12 // 1/120
	VBROADCASTSS 28(AX), Y13 // 1/720

sgloop:
	VMOVUPS (R9), Y0
	VXORPS  Y14, Y0, Y0      // x = −Δy
	VMULPS  Y13, Y0, Y1      // x·(1/720)
	VADDPS  Y1, Y12, Y1      // 1/120 + …
	VMULPS  Y1, Y0, Y1
	VADDPS  Y1, Y11, Y1      // 1/24 + …
	VMULPS  Y1, Y0, Y1
	VADDPS  Y1, Y10, Y1      // 1/6 + …
	VMULPS  Y1, Y0, Y1
	VADDPS  Y1, Y9, Y1       // 0.5 + …
	VMULPS  Y1, Y0, Y1
	VADDPS  Y1, Y8, Y1       // 1 + …
	VMULPS  Y1, Y0, Y1       // f
	VMOVUPS (R11), Y2
	VMULPS  Y1, Y2, Y2       // e·f
	VXORPS  Y14, Y2, Y2      // Δφ′ = −e·f
	VMOVUPS (R8), Y3         // g
	VMOVUPS (R10), Y4
	VADDPS  Y2, Y4, Y4       // s + Δφ′
	VMULPS  Y4, Y3, Y4       // g·(s + Δφ′)
	VMOVUPS Y4, (SI)
	VMULPS  Y2, Y3, Y5       // g·Δφ′
	VMOVUPS (DI), Y6
	VADDPS  Y5, Y6, Y6       // gz + g·Δφ′
	VMOVUPS Y6, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	ADDQ    $32, R8
	ADDQ    $32, R9
	ADDQ    $32, R10
	ADDQ    $32, R11
	SUBQ    $8, CX
	JNZ     sgloop
	VZEROUPPER
	RET

// func allWithinAVX(x *float32, n int, t float32) bool
// ORs, over the vectors, the lanes where |x| ≤ t fails (NaN included:
// predicate 6, NLE_UQ) and reports whether none did.
TEXT ·allWithinAVX(SB), NOSPLIT, $0-25
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS t+16(FP), Y8
	MOVL $0x7fffffff, AX
	MOVL AX, X9
	VBROADCASTSS X9, Y9       // |·| mask
	VXORPS Y10, Y10, Y10      // lanes that failed

awloop:
	VMOVUPS (SI), Y0
	VANDPS  Y9, Y0, Y0        // |x|
	VCMPPS  $6, Y8, Y0, Y1    // !(|x| <= t)
	VORPS   Y1, Y10, Y10
	ADDQ    $32, SI
	SUBQ    $8, CX
	JNZ     awloop
	VMOVMSKPS Y10, AX
	VZEROUPPER
	TESTL   AX, AX
	SETEQ   ret+24(FP)
	RET
