package tensor

import (
	"fmt"

	igemm "github.com/fdsm/fdsm/internal/kernel/gemm"
)

// MatMul returns op(a)·op(b) for 2-D a and b, where op(a) is aᵀ when transA is
// set and a otherwise (likewise for b). The transposes are never materialised:
// the GEMM kernel reads the operands in place.
func MatMul(a, b *Tensor, transA, transB bool) *Tensor {
	mustSameDType("MatMul", a, b)
	if a.Rank() != 2 || b.Rank() != 2 {
		panic(fmt.Sprintf("tensor: MatMul needs 2-D operands, got %v and %v", a.shape, b.shape))
	}
	m, ka := a.shape[0], a.shape[1]
	if transA {
		m, ka = ka, m
	}
	kb, n := b.shape[0], b.shape[1]
	if transB {
		kb, n = n, kb
	}
	if ka != kb {
		panic(fmt.Sprintf("tensor: MatMul shapes %v (trans %v) x %v (trans %v): inner dimensions %d and %d differ",
			a.shape, transA, b.shape, transB, ka, kb))
	}
	c := allocUninit(a.dtype, []int{m, n}) // beta = 0: Gemm writes C without reading it
	if a.dtype == Float32 {
		gemm(transA, transB, m, n, ka, a.f32, a.shape[1], b.f32, b.shape[1], c.f32, n)
	} else {
		gemm(transA, transB, m, n, ka, a.f64, a.shape[1], b.f64, b.shape[1], c.f64, n)
	}
	return c
}

// gemm computes c = op(a)·op(b), overwriting c, with the packed, blocked
// kernel of internal/kernel/gemm.
func gemm[T float32 | float64](transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	igemm.Gemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
}

// ProductFLOPs returns the floating-point operations of every matrix product
// (MatMul, Linear layers, convolutions) this process has computed, 2·m·n·k
// per m×k by k×n product: what a benchmark divides by the GEMM rate for a
// step's floor.
func ProductFLOPs() uint64 { return igemm.FLOPs() }
