package fd

import (
	"fmt"

	"github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// Func is a function evaluated row by row: it maps a batch [N, d] to one
// value per row ([N]) or one vector per row ([N, k]). Rows must not interact
// (no batch statistics), since the batched evaluator stacks several shifted
// copies of the batch into one call.
type Func func(x *autodiff.Value) *autodiff.Value

// Option configures Evaluate and Directional.
type Option func(*options)

type options struct {
	nonBatched bool
}

// NonBatched makes the evaluator call f once per node instead of once on the
// stacked batch: the paper's "non-parallel" ablation, which isolates the gain
// from batching. The results are the same up to round-off in f (identical
// when f's kernels treat rows independently of the batch size).
func NonBatched() Option { return func(o *options) { o.nonBatched = true } }

// Evaluate returns f(x + γ_i·v) for every node γ_i of s, in node order, each
// with f's output shape for N rows. v is the step: ε times a unit direction
// (or any direction; the derivative is then along v itself), one row per row
// of x. By default the K shifted batches are stacked into one [K·N, d] batch
// (rows of node i at i·N..(i+1)·N), f is called once, and its output is split
// back. Callers that combine the evaluations nonlinearly (FD-SSM needs
// f(x), f(x+v) and f(x−v) separately) use this; Stencil.Index finds a node's
// position. The results are autodiff values, so gradients flow back through
// f, x and v.
func Evaluate(s Stencil, f Func, x, v *autodiff.Value, opts ...Option) []*autodiff.Value {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	k := s.Len()
	if k == 0 {
		panic("fd: Evaluate with the zero Stencil")
	}
	if x.DType() != v.DType() || !x.T().SameShape(v.T()) || x.T().Rank() == 0 {
		panic(fmt.Sprintf("fd: Evaluate needs x and v of one dtype and shape [N, ...], got %v %v and %v %v",
			x.DType(), x.Shape(), v.DType(), v.Shape()))
	}
	n := x.Dim(0)
	pts := make([]*autodiff.Value, k)
	for i, g := range s.nodes {
		pts[i] = shift(x, v, g)
	}
	ys := make([]*autodiff.Value, k)
	if o.nonBatched || k == 1 {
		for i, p := range pts {
			ys[i] = f(p)
			checkOut(ys[i], n, 1)
		}
		return ys
	}
	y := f(autodiff.ConcatRows(pts...))
	checkOut(y, n, k)
	for i := range ys {
		ys[i] = autodiff.SliceRows(y, i*n, (i+1)*n)
	}
	return ys
}

// shift returns x + g·v, sparing the multiply (and for g = 0 the add) where
// it is exact anyway, so the common nodes 0 and ±1 cost as little as possible.
func shift(x, v *autodiff.Value, g float64) *autodiff.Value {
	switch g {
	case 0:
		return x
	case 1:
		return autodiff.Add(x, v)
	case -1:
		return autodiff.Sub(x, v)
	}
	return autodiff.Add(x, autodiff.Scale(v, g))
}

func checkOut(y *autodiff.Value, n, k int) {
	if y.T().Rank() == 0 || y.Dim(0) != k*n {
		panic(fmt.Sprintf("fd: f returned shape %v for a batch of %d rows", y.Shape(), k*n))
	}
}

// Combine returns Σ_i w_i·ys[i], the stencil's linear combination of
// per-node evaluations (as returned by Evaluate), summed in node order.
// Weights 0 and ±1 skip the multiply, which changes no bits.
func Combine(s Stencil, ys []*autodiff.Value) *autodiff.Value {
	if len(ys) != s.Len() || len(ys) == 0 {
		panic(fmt.Sprintf("fd: Combine of %d values with a %d-node stencil", len(ys), s.Len()))
	}
	var acc *autodiff.Value
	for i, y := range ys {
		w := s.weights[i]
		switch {
		case w == 0:
		case acc == nil && w == 1:
			acc = y
		case acc == nil:
			acc = autodiff.Scale(y, w)
		case w == 1:
			acc = autodiff.Add(acc, y)
		case w == -1:
			acc = autodiff.Sub(acc, y)
		default:
			acc = autodiff.Add(acc, autodiff.Scale(y, w))
		}
	}
	return acc
}

// Directional returns Σ_i w_i f(x + γ_i·v), which approximates the T-th
// derivative of t ↦ f(x + t·v) at t = 0 with error O(‖v‖^{T+p}). With
// v = ε·u for a unit u it is ε^T times the T-th directional derivative along
// u; divide by ε^T (or use Stencil.Paper's scale) for the derivative itself.
// The result has f's output shape for N rows.
func Directional(s Stencil, f Func, x, v *autodiff.Value, opts ...Option) *autodiff.Value {
	return Combine(s, Evaluate(s, f, x, v, opts...))
}

// EvaluateTensor is Evaluate on plain tensors: x and v are wrapped as
// constants and the results unwrapped, for evaluation without gradients.
func EvaluateTensor(s Stencil, f Func, x, v *tensor.Tensor, opts ...Option) []*tensor.Tensor {
	ys := Evaluate(s, f, autodiff.Const(x), autodiff.Const(v), opts...)
	out := make([]*tensor.Tensor, len(ys))
	for i, y := range ys {
		out[i] = y.T()
	}
	return out
}

// DirectionalTensor is Directional on plain tensors.
func DirectionalTensor(s Stencil, f Func, x, v *tensor.Tensor, opts ...Option) *tensor.Tensor {
	return Directional(s, f, autodiff.Const(x), autodiff.Const(v), opts...).T()
}
