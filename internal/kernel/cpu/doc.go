// Package cpu reports the x86 SIMD features that fdsm's assembly kernels
// need, without golang.org/x/sys: a CPUID/XGETBV stub in assembly on amd64,
// and all features false elsewhere or under the purego build tag.
//
// A feature counts as present only when both the CPU has it and the operating
// system saves its register state on a context switch (XCR0, read with
// XGETBV):
//
//	HasAVX2     CPUID.7.0:EBX[5],  CPUID.1:ECX[28] (AVX), XCR0 bits 1,2 (XMM, YMM)
//	HasFMA      CPUID.1:ECX[12],   CPUID.1:ECX[28] (AVX), XCR0 bits 1,2
//	HasAVX512F  CPUID.7.0:EBX[16], XCR0 bits 1,2 and 5,6,7 (opmask, ZMM0-15 upper halves, ZMM16-31)
//
// The variables are set once, at package initialisation, and never change.
package cpu
