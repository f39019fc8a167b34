package autodiff

import (
	"fmt"

	"github.com/fdsm/fdsm/tensor"
)

// Dense is the fused layer act(x·Wᵀ + b) for x [N, in], W [out, in] (PyTorch's
// layout) and b [out] (or nil): one GEMM, then bias and activation in one pass.
//
// It is one graph node whose backward rule needs only its output, its input x
// and W, because each supported activation's derivative is a function of its
// output (softplus′ = 1 − e^−y, …). Unfused, a layer keeps three [N, out]
// tensors alive for the backward pass (the product, the pre-activation and
// the output); fused, it keeps one. That matters most to the
// finite-difference objectives, whose only graph is this forward pass.
func Dense(x, w, b *Value, act tensor.Act) *Value {
	if x.t.Rank() != 2 || w.t.Rank() != 2 || x.Dim(1) != w.Dim(1) {
		panic(fmt.Sprintf("autodiff: Dense input %v with weight %v (want [N, in] and [out, in])", x.Shape(), w.Shape()))
	}
	out := tensor.MatMul(x.t, w.t, false, true)
	inputs := []*Value{x, w}
	var bt *tensor.Tensor
	if b != nil {
		bt = b.t
		inputs = append(inputs, b)
	}
	tensor.BiasActInPlace(out, bt, act)
	return newOp(out, func(g, out *Value, in []*Value, need []bool) []*Value {
		delta := g
		if act != tensor.ActNone {
			delta = Mul(g, actDeriv(out, act))
		}
		gs := make([]*Value, len(in))
		if need[0] {
			gs[0] = MatMul(delta, in[1], false, false)
		}
		if need[1] {
			gs[1] = MatMul(delta, in[0], true, false)
		}
		if len(in) == 3 && need[2] {
			gs[2] = SumTo(delta, in[2].t.Shape()...)
		}
		return gs
	}, inputs...)
}

// actDeriv is act′ as a function of the activation's output y, a primitive
// so that Dense's rule stays differentiable.
func actDeriv(y *Value, act tensor.Act) *Value {
	return newOp(tensor.ActDerivFromOutput(y.t, act), func(g, out *Value, in []*Value, need []bool) []*Value {
		var d *Value
		switch act {
		case tensor.ActSoftplus: // d/dy (1 − e^−y) = e^−y = 1 − out
			d = AddScalar(Neg(out), 1)
		case tensor.ActTanh: // d/dy (1 − y²) = −2y
			d = Scale(in[0], -2)
		case tensor.ActSigmoid: // d/dy (y − y²) = 1 − 2y
			d = AddScalar(Scale(in[0], -2), 1)
		case tensor.ActELU: // 0 for y > 0, 1 otherwise (a constant mask)
			d = Const(tensor.AddScalar(tensor.Neg(tensor.GreaterScalar(in[0].t, 0)), 1))
		default:
			return []*Value{Const(tensor.ZerosLike(g.t))}
		}
		return []*Value{Mul(g, d)}
	}, y)
}
