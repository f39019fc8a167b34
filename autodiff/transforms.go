package autodiff

import (
	"fmt"

	"github.com/fdsm/fdsm/tensor"
)

// VJP returns the vector-Jacobian product vᵀ·∂y/∂x, shaped like x.
func VJP(y, x, v *Value, opts ...Option) *Value {
	return Grad(y, []*Value{x}, append(opts[:len(opts):len(opts)], WithSeed(v))...)[0]
}

// HVP returns the Hessian-vector product (∇²y)·v of a scalar y with respect to
// x, as ∇x⟨∇x y, v⟩: two reverse passes, the first recorded.
func HVP(y, x, v *Value, opts ...Option) *Value {
	g := Grad(y, []*Value{x}, CreateGraph())[0]
	return Grad(Sum(Mul(g, v)), []*Value{x}, opts...)[0]
}

// RowHessianDiag returns, for a scalar y = Σ_b f(x_b) that is a sum of
// independent per-row terms of a batch x of shape [B, d], the diagonal of
// each row's Hessian ∂²f/∂x_bj², shaped [B, d]. It costs one backward pass
// for the gradient plus one per coordinate j (d in all), each seeded with the
// j-th unit vector in every row; this is what exact score matching needs.
// With CreateGraph among opts the result can be differentiated again (with
// respect to parameters, say).
//
// The rows must not interact (no batch statistics): row b's seed then
// selects only row b's Hessian.
func RowHessianDiag(y, x *Value, opts ...Option) *Value {
	return RowJacobianDiag(Grad(y, []*Value{x}, CreateGraph())[0], x, opts...)
}

// RowJacobianDiag returns, for g of shape [B, d] computed row by row from x
// [B, d] (rows not interacting) and recorded so it can be differentiated, the
// diagonal of each row's Jacobian ∂g_bj/∂x_bj, shaped [B, d]: one backward
// pass per coordinate j, each seeded with the j-th unit vector in every row.
// For g = ∇x y it is RowHessianDiag's diagonal; for a score network s(x) it
// gives tr ∇x s. With CreateGraph among opts the result can be differentiated
// again; without it each pass records nothing, which is what evaluation wants.
func RowJacobianDiag(g, x *Value, opts ...Option) *Value {
	if x.t.Rank() != 2 || !g.t.SameShape(x.t) {
		panic(fmt.Sprintf("autodiff: RowJacobianDiag needs g and x of one shape [B, d], got %v and %v", g.Shape(), x.Shape()))
	}
	b, d := x.Dim(0), x.Dim(1)
	var diag *Value
	for j := range d {
		e := tensor.Zeros(x.DType(), b, d)
		for r := range b {
			e.Set(r*d+j, 1)
		}
		ej := Const(e)
		hj := Grad(g, []*Value{x}, append(opts[:len(opts):len(opts)], WithSeed(ej))...)[0] // row b: ∂g_bj/∂x_b
		col := Mul(hj, ej)                                                                 // keep the diagonal entry only
		if diag == nil {
			diag = col
		} else {
			diag = Add(diag, col)
		}
	}
	return diag
}

// RowHessianTrace returns the trace of each row's Hessian, shaped [B], for y
// and x as in RowHessianDiag.
func RowHessianTrace(y, x *Value, opts ...Option) *Value {
	return SumAxis(RowHessianDiag(y, x, opts...), 1)
}
