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
