package autodiff

import (
	"fmt"

	"github.com/fdsm/fdsm/tensor"
)

// Each primitive below is defined in one place: its forward computation (a
// tensor kernel), its shape rule (checked by that kernel, which panics with
// both shapes on misuse) and its vector-Jacobian product, written with this
// package's differentiable operations.

// Add returns a + b with broadcasting.
func Add(a, b *Value) *Value {
	return newOp(tensor.Add(a.t, b.t), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{sumToIf(need[0], g, in[0]), sumToIf(need[1], g, in[1])}
	}, a, b)
}

// Sub returns a − b with broadcasting.
func Sub(a, b *Value) *Value {
	return newOp(tensor.Sub(a.t, b.t), func(g, out *Value, in []*Value, need []bool) []*Value {
		var gb *Value
		if need[1] {
			gb = SumTo(Neg(g), in[1].t.Shape()...)
		}
		return []*Value{sumToIf(need[0], g, in[0]), gb}
	}, a, b)
}

// Mul returns a · b elementwise with broadcasting.
func Mul(a, b *Value) *Value {
	return newOp(tensor.Mul(a.t, b.t), func(g, out *Value, in []*Value, need []bool) []*Value {
		var ga, gb *Value
		if need[0] {
			ga = SumTo(Mul(g, in[1]), in[0].t.Shape()...)
		}
		if need[1] {
			gb = SumTo(Mul(g, in[0]), in[1].t.Shape()...)
		}
		return []*Value{ga, gb}
	}, a, b)
}

// Div returns a / b elementwise with broadcasting.
func Div(a, b *Value) *Value {
	return newOp(tensor.Div(a.t, b.t), func(g, out *Value, in []*Value, need []bool) []*Value {
		var ga, gb *Value
		if need[0] {
			ga = SumTo(Div(g, in[1]), in[0].t.Shape()...)
		}
		if need[1] {
			// ∂(a/b)/∂b = −a/b² = −out/b.
			gb = SumTo(Neg(Div(Mul(g, out), in[1])), in[1].t.Shape()...)
		}
		return []*Value{ga, gb}
	}, a, b)
}

func sumToIf(need bool, g, x *Value) *Value {
	if !need {
		return nil
	}
	return SumTo(g, x.t.Shape()...)
}

// Neg returns −a.
func Neg(a *Value) *Value {
	return newOp(tensor.Neg(a.t), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{Neg(g)}
	}, a)
}

// Scale returns s·a for a constant s.
func Scale(a *Value, s float64) *Value {
	return newOp(tensor.Scale(a.t, s), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{Scale(g, s)}
	}, a)
}

// AddScalar returns a + s for a constant s.
func AddScalar(a *Value, s float64) *Value {
	return newOp(tensor.AddScalar(a.t, s), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{g}
	}, a)
}

// Exp returns eᵃ.
func Exp(a *Value) *Value {
	return newOp(tensor.Exp(a.t), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{Mul(g, out)}
	}, a)
}

// Log returns log a.
func Log(a *Value) *Value {
	return newOp(tensor.Log(a.t), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{Div(g, in[0])}
	}, a)
}

// Log1p returns log(1 + a).
func Log1p(a *Value) *Value {
	return newOp(tensor.Log1p(a.t), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{Div(g, AddScalar(in[0], 1))}
	}, a)
}

// Expm1 returns eᵃ − 1.
func Expm1(a *Value) *Value {
	return newOp(tensor.Expm1(a.t), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{Mul(g, AddScalar(out, 1))}
	}, a)
}

// Tanh returns tanh a.
func Tanh(a *Value) *Value {
	return newOp(tensor.Tanh(a.t), func(g, out *Value, in []*Value, need []bool) []*Value {
		// tanh' = 1 − tanh².
		return []*Value{Mul(g, AddScalar(Neg(Square(out)), 1))}
	}, a)
}

// Sigmoid returns 1/(1 + e^−a).
func Sigmoid(a *Value) *Value {
	return newOp(tensor.Sigmoid(a.t), func(g, out *Value, in []*Value, need []bool) []*Value {
		// σ' = σ(1 − σ).
		return []*Value{Mul(g, Mul(out, AddScalar(Neg(out), 1)))}
	}, a)
}

// Softplus returns log(1 + eᵃ), computed without overflow.
func Softplus(a *Value) *Value {
	return newOp(tensor.Softplus(a.t), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{Mul(g, Sigmoid(in[0]))}
	}, a)
}

// ELU returns a for a > 0 and α(eᵃ − 1) otherwise.
func ELU(a *Value, alpha float64) *Value {
	return newOp(tensor.ELU(a.t, alpha), func(g, out *Value, in []*Value, need []bool) []*Value {
		// ELU' = 1 where a > 0, else αeᵃ = out + α. The mask is a constant:
		// its derivative is zero almost everywhere.
		pos := Const(tensor.GreaterScalar(in[0].t, 0))
		neg := Const(tensor.AddScalar(tensor.Neg(pos.t), 1))
		return []*Value{Mul(g, Add(pos, Mul(neg, AddScalar(out, alpha))))}
	}, a)
}

// Square returns a².
func Square(a *Value) *Value {
	return newOp(tensor.Square(a.t), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{Mul(g, Scale(in[0], 2))}
	}, a)
}

// Sqrt returns √a.
func Sqrt(a *Value) *Value {
	return newOp(tensor.Sqrt(a.t), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{Div(g, Scale(out, 2))}
	}, a)
}

// Pow returns aᵖ for a constant exponent p.
func Pow(a *Value, p float64) *Value {
	return newOp(tensor.Pow(a.t, p), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{Mul(g, Scale(Pow(in[0], p-1), p))}
	}, a)
}

// Sum returns the sum of all elements as a rank-0 value.
func Sum(a *Value) *Value {
	return newOp(tensor.Sum(a.t), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{BroadcastTo(g, in[0].t.Shape()...)}
	}, a)
}

// Mean returns the mean of all elements as a rank-0 value.
func Mean(a *Value) *Value {
	return Scale(Sum(a), 1/float64(a.Len()))
}

// SumAxis sums over one axis, removing it.
func SumAxis(a *Value, axis int) *Value {
	if axis < 0 {
		axis += a.t.Rank()
	}
	return newOp(tensor.SumAxis(a.t, axis), func(g, out *Value, in []*Value, need []bool) []*Value {
		shape := in[0].t.Shape()
		kept := append([]int(nil), shape...)
		kept[axis] = 1
		return []*Value{BroadcastTo(Reshape(g, kept...), shape...)}
	}, a)
}

// MeanAxis averages over one axis, removing it.
func MeanAxis(a *Value, axis int) *Value {
	return Scale(SumAxis(a, axis), 1/float64(a.Dim(axis)))
}

// BroadcastTo repeats a to shape (NumPy rules).
func BroadcastTo(a *Value, shape ...int) *Value {
	if shapeEqual(a.t.Shape(), shape) {
		return a
	}
	return newOp(tensor.BroadcastTo(a.t, shape...), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{SumTo(g, in[0].t.Shape()...)}
	}, a)
}

// SumTo sums a down to shape: the adjoint of BroadcastTo.
func SumTo(a *Value, shape ...int) *Value {
	if shapeEqual(a.t.Shape(), shape) {
		return a
	}
	return newOp(tensor.SumTo(a.t, shape...), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{BroadcastTo(g, in[0].t.Shape()...)}
	}, a)
}

func shapeEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Reshape returns a with a new shape of the same size (one -1 is inferred).
func Reshape(a *Value, shape ...int) *Value {
	return newOp(a.t.Reshape(shape...), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{Reshape(g, in[0].t.Shape()...)}
	}, a)
}

// Transpose returns the transpose of a 2-D value.
func Transpose(a *Value) *Value {
	return newOp(tensor.Transpose(a.t), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{Transpose(g)}
	}, a)
}

// MatMul returns op(a)·op(b), op being a transpose when the flag is set.
func MatMul(a, b *Value, transA, transB bool) *Value {
	return newOp(tensor.MatMul(a.t, b.t, transA, transB), func(g, out *Value, in []*Value, need []bool) []*Value {
		// With Ā = op(A), B̄ = op(B): dĀ = G·B̄ᵀ and dB̄ = Āᵀ·G; a transposed
		// operand receives the transpose, expressed through the flags.
		var ga, gb *Value
		if need[0] {
			if transA {
				ga = MatMul(in[1], g, transB, true)
			} else {
				ga = MatMul(g, in[1], false, !transB)
			}
		}
		if need[1] {
			if transB {
				gb = MatMul(g, in[0], true, transA)
			} else {
				gb = MatMul(in[0], g, !transA, false)
			}
		}
		return []*Value{ga, gb}
	}, a, b)
}

// ConcatRows stacks values along the first axis.
func ConcatRows(vs ...*Value) *Value {
	ts := make([]*tensor.Tensor, len(vs))
	for i, v := range vs {
		ts[i] = v.t
	}
	return newOp(tensor.ConcatRows(ts...), func(g, out *Value, in []*Value, need []bool) []*Value {
		gs := make([]*Value, len(in))
		off := 0
		for i, v := range in {
			n := v.t.Dim(0)
			if need[i] {
				gs[i] = SliceRows(g, off, off+n)
			}
			off += n
		}
		return gs
	}, vs...)
}

// SliceRows returns rows [lo, hi) of a.
func SliceRows(a *Value, lo, hi int) *Value {
	return newOp(tensor.SliceRows(a.t, lo, hi), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{PadRows(g, lo, in[0].t.Dim(0)-hi)}
	}, a)
}

// SplitRows splits a along the first axis into n equal parts.
func SplitRows(a *Value, n int) []*Value {
	rows := a.t.Dim(0)
	if n <= 0 || rows%n != 0 {
		panic(fmt.Sprintf("autodiff: SplitRows of shape %v into %d equal parts", a.t.Shape(), n))
	}
	k := rows / n
	out := make([]*Value, n)
	for i := range out {
		out[i] = SliceRows(a, i*k, (i+1)*k)
	}
	return out
}

// PadRows adds rows of zeros above and below a.
func PadRows(a *Value, before, after int) *Value {
	return newOp(tensor.PadRows(a.t, before, after), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{SliceRows(g, before, before+in[0].t.Dim(0))}
	}, a)
}

// GatherRows returns the rows of a at the given indices.
func GatherRows(a *Value, idx []int) *Value {
	return newOp(tensor.GatherRows(a.t, idx), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{ScatterAddRows(g, idx, in[0].t.Dim(0))}
	}, a)
}

// ScatterAddRows adds row i of a into row idx[i] of an n-row zero value.
func ScatterAddRows(a *Value, idx []int, n int) *Value {
	return newOp(tensor.ScatterAddRows(a.t, idx, n), func(g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{GatherRows(g, idx)}
	}, a)
}
