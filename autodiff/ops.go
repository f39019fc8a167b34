package autodiff

import (
	"fmt"
	"slices"

	"github.com/fdsm/fdsm/tensor"
)

// Each operation below computes its result with a tensor kernel (which
// checks the shapes, panicking with both on misuse) and records it with its
// primitive's descriptor; the descriptors, one row per primitive with its
// vector-Jacobian product and difference rules, follow in the table of
// init. Every rule is written with this package's
// differentiable operations.

// Add returns a + b with broadcasting.
func Add(a, b *Value) *Value { return op(tensor.Add(a.t, b.t), &addP, a, b) }

// Sub returns a − b with broadcasting.
func Sub(a, b *Value) *Value { return op(tensor.Sub(a.t, b.t), &subP, a, b) }

// Mul returns a · b elementwise with broadcasting.
func Mul(a, b *Value) *Value { return op(tensor.Mul(a.t, b.t), &mulP, a, b) }

// Div returns a / b elementwise with broadcasting.
func Div(a, b *Value) *Value { return op(tensor.Div(a.t, b.t), &divP, a, b) }

// Where returns, elementwise, a where mask is nonzero and b elsewhere (all
// three of one dtype and shape; mask is a constant: the selection is
// piecewise constant). It reads only the value it keeps, so an infinity in
// the other cannot leak in, and its vector-Jacobian product is Where again.
func Where(mask *tensor.Tensor, a, b *Value) *Value {
	return opWith(tensor.Where(mask, a.t, b.t), &whereP, mask, a, b)
}

// Neg returns −a.
func Neg(a *Value) *Value { return op(tensor.Neg(a.t), &negP, a) }

// Scale returns s·a for a constant s.
func Scale(a *Value, s float64) *Value { return opWith(tensor.Scale(a.t, s), &scaleP, s, a) }

// AddScalar returns a + s for a constant s.
func AddScalar(a *Value, s float64) *Value {
	return opWith(tensor.AddScalar(a.t, s), &addScalarP, s, a)
}

// Exp returns eᵃ.
func Exp(a *Value) *Value { return op(tensor.Exp(a.t), &expP, a) }

// Log returns log a.
func Log(a *Value) *Value { return op(tensor.Log(a.t), &logP, a) }

// Log1p returns log(1 + a).
func Log1p(a *Value) *Value { return op(tensor.Log1p(a.t), &log1pP, a) }

// Expm1 returns eᵃ − 1.
func Expm1(a *Value) *Value { return op(tensor.Expm1(a.t), &expm1P, a) }

// Square returns a².
func Square(a *Value) *Value { return op(tensor.Square(a.t), &squareP, a) }

// Sqrt returns √a.
func Sqrt(a *Value) *Value { return op(tensor.Sqrt(a.t), &sqrtP, a) }

// Pow returns aᵖ for a constant exponent p.
func Pow(a *Value, p float64) *Value { return opWith(tensor.Pow(a.t, p), &powP, p, a) }

// Sum returns the sum of all elements as a rank-0 value.
func Sum(a *Value) *Value { return op(tensor.Sum(a.t), &sumP, a) }

// Mean returns the mean of all elements as a rank-0 value.
func Mean(a *Value) *Value {
	return Scale(Sum(a), 1/float64(a.Len()))
}

// SumAxis sums over one axis, removing it.
func SumAxis(a *Value, axis int) *Value {
	if axis < 0 {
		axis += a.t.Rank()
	}
	pr := &sumAxisP
	if axis == 0 {
		pr = &sumAxis0P // summing over the batch axis would mix a joint's blocks
	}
	return opWith(tensor.SumAxis(a.t, axis), pr, axis, a)
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
	return opWith(tensor.BroadcastTo(a.t, shape...), &broadcastP, shape, a)
}

// SumTo sums a down to shape: the adjoint of BroadcastTo.
func SumTo(a *Value, shape ...int) *Value {
	if shapeEqual(a.t.Shape(), shape) {
		return a
	}
	return opWith(tensor.SumTo(a.t, shape...), &sumToP, shape, a)
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
	return opWith(a.t.Reshape(shape...), &reshapeP, shape, a)
}

// Transpose returns the transpose of a 2-D value.
func Transpose(a *Value) *Value { return op(tensor.Transpose(a.t), &transposeP, a) }

// matMulFlags are MatMul's parameters.
type matMulFlags struct{ transA, transB bool }

// MatMul returns op(a)·op(b), op being a transpose when the flag is set.
func MatMul(a, b *Value, transA, transB bool) *Value {
	return opWith(tensor.MatMul(a.t, b.t, transA, transB), &matMulP, matMulFlags{transA, transB}, a, b)
}

// ConcatRows stacks values along the first axis.
func ConcatRows(vs ...*Value) *Value {
	ts := make([]*tensor.Tensor, len(vs))
	for i, v := range vs {
		ts[i] = v.t
	}
	return op(tensor.ConcatRows(ts...), &concatP, vs...)
}

// SliceRows returns rows [lo, hi) of a.
func SliceRows(a *Value, lo, hi int) *Value {
	return opWith(tensor.SliceRows(a.t, lo, hi), &sliceRowsP, [2]int{lo, hi}, a)
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
	return opWith(tensor.PadRows(a.t, before, after), &padRowsP, [2]int{before, after}, a)
}

// GatherRows returns the rows of a at the given indices.
func GatherRows(a *Value, idx []int) *Value {
	return opWith(tensor.GatherRows(a.t, idx), &gatherP, idx, a)
}

// scatterParams are ScatterAddRows's parameters.
type scatterParams struct {
	idx []int
	n   int
}

// ScatterAddRows adds row i of a into row idx[i] of an n-row zero value.
func ScatterAddRows(a *Value, idx []int, n int) *Value {
	return opWith(tensor.ScatterAddRows(a.t, idx, n), &scatterP, scatterParams{idx, n}, a)
}

func sumToIf(need bool, g, x *Value) *Value {
	if !need {
		return nil
	}
	return SumTo(g, x.t.Shape()...)
}

// The descriptors of the operations above (see primitive).
var (
	addP, subP, mulP, divP, whereP, negP, scaleP, addScalarP primitive
	expP, logP, log1pP, expm1P                               primitive
	squareP, sqrtP, powP, sumP, sumAxisP, sumAxis0P          primitive
	broadcastP, sumToP, reshapeP, transposeP, matMulP        primitive
	concatP, sliceRowsP, padRowsP, gatherP, scatterP         primitive
)

func init() {
	addP = primitive{name: "Add",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			return []*Value{sumToIf(need[0], g, in[0]), sumToIf(need[1], g, in[1])}
		},
		diff: addDiff2, pair: addDiff2,
		batch: func(_ any, j []*Value, _ []int) *Value { return Add(j[0], j[1]) },
	}
	subP = primitive{name: "Sub",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			var gb *Value
			if need[1] {
				gb = SumTo(Neg(g), in[1].t.Shape()...)
			}
			return []*Value{sumToIf(need[0], g, in[0]), gb}
		},
		diff: subDiff, pair: subDiff,
		batch: func(_ any, j []*Value, _ []int) *Value { return Sub(j[0], j[1]) },
	}
	mulP = primitive{name: "Mul",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			var ga, gb *Value
			if need[0] {
				ga = SumTo(Mul(g, in[1]), in[0].t.Shape()...)
			}
			if need[1] {
				gb = SumTo(Mul(g, in[0]), in[1].t.Shape()...)
			}
			return []*Value{ga, gb}
		},
		diff: mulDiff, pair: mulPair,
	}
	divP = primitive{name: "Div",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			var ga, gb *Value
			if need[0] {
				ga = SumTo(Div(g, in[1]), in[0].t.Shape()...)
			}
			if need[1] {
				// ∂(a/b)/∂b = −a/b² = −out/b.
				gb = SumTo(Neg(Div(Mul(g, out), in[1])), in[1].t.Shape()...)
			}
			return []*Value{ga, gb}
		},
		diff: divDiff, pair: divPair,
	}
	whereP = primitive{name: "Where",
		vjp: func(p any, g, out *Value, in []*Value, need []bool) []*Value {
			mask := p.(*tensor.Tensor)
			zero := zerosLike(g)
			var ga, gb *Value
			if need[0] {
				ga = Where(mask, g, zero)
			}
			if need[1] {
				gb = Where(mask, zero, g)
			}
			return []*Value{ga, gb}
		},
		diff: whereDiff, pair: whereDiff,
	}
	negP = primitive{name: "Neg",
		vjp:  func(_ any, g, out *Value, in []*Value, need []bool) []*Value { return []*Value{Neg(g)} },
		diff: negDiff, pair: negDiff,
		batch: func(_ any, j []*Value, _ []int) *Value { return Neg(j[0]) },
	}
	scaleP = primitive{name: "Scale",
		vjp: func(p any, g, out *Value, in []*Value, need []bool) []*Value {
			return []*Value{Scale(g, p.(float64))}
		},
		diff: scaleDiff, pair: scaleDiff,
		batch: func(p any, j []*Value, _ []int) *Value { return Scale(j[0], p.(float64)) },
	}
	// No batch rule: on a joint it would add s to the differences too.
	// Delta builds its joint from base and differences.
	addScalarP = primitive{name: "AddScalar",
		vjp:  func(_ any, g, out *Value, in []*Value, need []bool) []*Value { return []*Value{g} },
		diff: identityDiff, pair: identityDiff,
	}
	expP = primitive{name: "Exp",
		vjp:  func(_ any, g, out *Value, in []*Value, need []bool) []*Value { return []*Value{Mul(g, out)} },
		diff: expDiff, pair: expPair,
	}
	logP = primitive{name: "Log",
		vjp:  func(_ any, g, out *Value, in []*Value, need []bool) []*Value { return []*Value{Div(g, in[0])} },
		diff: logDiff,
	}
	log1pP = primitive{name: "Log1p",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			return []*Value{Div(g, AddScalar(in[0], 1))}
		},
		diff: log1pDiff,
	}
	expm1P = primitive{name: "Expm1",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			return []*Value{Mul(g, AddScalar(out, 1))}
		},
		diff: expm1Diff,
	}
	squareP = primitive{name: "Square",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			return []*Value{Mul(g, Scale(in[0], 2))}
		},
		diff: squareDiff, pair: squarePair,
	}
	sqrtP = primitive{name: "Sqrt",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			return []*Value{Div(g, Scale(out, 2))}
		},
		diff: sqrtDiff,
	}
	powP = primitive{name: "Pow",
		vjp: func(p any, g, out *Value, in []*Value, need []bool) []*Value {
			e := p.(float64)
			return []*Value{Mul(g, Scale(Pow(in[0], e-1), e))}
		},
		diff: powDiff,
	}
	sumP = primitive{name: "Sum",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			return []*Value{BroadcastTo(g, in[0].t.Shape()...)}
		},
		diff: sumDiff, pair: sumDiff,
	}
	sumAxis0P = primitive{name: "SumAxis",
		vjp: func(p any, g, out *Value, in []*Value, need []bool) []*Value {
			shape := in[0].t.Shape()
			kept := append([]int(nil), shape...)
			kept[p.(int)] = 1
			return []*Value{BroadcastTo(Reshape(g, kept...), shape...)}
		},
		diff: sumAxisDiff, pair: sumAxisDiff,
	}
	sumAxisP = sumAxis0P // over an axis ≥ 1: with a batch rule
	sumAxisP.batch = func(p any, j []*Value, _ []int) *Value { return SumAxis(j[0], p.(int)) }
	broadcastP = primitive{name: "BroadcastTo",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			return []*Value{SumTo(g, in[0].t.Shape()...)}
		},
		diff: broadcastDiff, pair: broadcastDiff,
	}
	sumToP = primitive{name: "SumTo",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			return []*Value{BroadcastTo(g, in[0].t.Shape()...)}
		},
		diff: sumToDiff, pair: sumToDiff,
	}
	reshapeP = primitive{name: "Reshape",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			return []*Value{Reshape(g, in[0].t.Shape()...)}
		},
		diff: reshapeDiff, pair: reshapeDiff,
		batch: func(_ any, j []*Value, js []int) *Value { return Reshape(j[0], js...) },
	}
	transposeP = primitive{name: "Transpose",
		vjp:  func(_ any, g, out *Value, in []*Value, need []bool) []*Value { return []*Value{Transpose(g)} },
		diff: transposeDiff, pair: transposeDiff,
	}
	matMulP = primitive{name: "MatMul",
		vjp: func(p any, g, out *Value, in []*Value, need []bool) []*Value {
			// With Ā = op(A), B̄ = op(B): dĀ = G·B̄ᵀ and dB̄ = Āᵀ·G; a transposed
			// operand receives the transpose, expressed through the flags.
			f := p.(matMulFlags)
			var ga, gb *Value
			if need[0] {
				if f.transA {
					ga = MatMul(in[1], g, f.transB, true)
				} else {
					ga = MatMul(g, in[1], false, !f.transB)
				}
			}
			if need[1] {
				if f.transB {
					gb = MatMul(g, in[0], true, f.transA)
				} else {
					gb = MatMul(in[0], g, !f.transA, false)
				}
			}
			return []*Value{ga, gb}
		},
		diff: matMulDiff, pair: matMulPair,
	}
	concatP = primitive{name: "ConcatRows",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
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
		},
		diff: concatDiff, pair: concatDiff,
	}
	sliceRowsP = primitive{name: "SliceRows",
		vjp: func(p any, g, out *Value, in []*Value, need []bool) []*Value {
			r := p.([2]int)
			return []*Value{PadRows(g, r[0], in[0].t.Dim(0)-r[1])}
		},
		diff: sliceRowsDiff, pair: sliceRowsDiff,
	}
	padRowsP = primitive{name: "PadRows",
		vjp: func(p any, g, out *Value, in []*Value, need []bool) []*Value {
			before := p.([2]int)[0]
			return []*Value{SliceRows(g, before, before+in[0].t.Dim(0))}
		},
		diff: padRowsDiff, pair: padRowsDiff,
	}
	gatherP = primitive{name: "GatherRows",
		vjp: func(p any, g, out *Value, in []*Value, need []bool) []*Value {
			return []*Value{ScatterAddRows(g, p.([]int), in[0].t.Dim(0))}
		},
		diff: gatherDiff, pair: gatherDiff,
	}
	scatterP = primitive{name: "ScatterAddRows",
		vjp: func(p any, g, out *Value, in []*Value, need []bool) []*Value {
			return []*Value{GatherRows(g, p.(scatterParams).idx)}
		},
		diff: scatterDiff, pair: scatterDiff,
	}
}

// Difference rules (see Delta): out(in + dIn) − out(in) for K stacked input
// differences, written without subtracting nearly equal numbers.

// Linear unary ops: Δy = op(Δa).
func negDiff(_ any, out *Value, in, dIn []*Value, k int) *Value { return Neg(dIn[0]) }

func scaleDiff(p any, out *Value, in, dIn []*Value, k int) *Value { return Scale(dIn[0], p.(float64)) }

func identityDiff(_ any, out *Value, in, dIn []*Value, k int) *Value { return dIn[0] }

// Where(m, a + α, b + β) − Where(m, a, b) = Where(m, α, β).
func whereDiff(p any, out *Value, in, dIn []*Value, k int) *Value {
	mask := p.(*tensor.Tensor)
	shape := out.Shape()
	da, db := fitK(dIn[0], k, shape), fitK(dIn[1], k, shape)
	if da == nil {
		da = Const(tensor.Zeros(out.DType(), withK(k, shape)...))
	}
	if db == nil {
		db = Const(tensor.Zeros(out.DType(), withK(k, shape)...))
	}
	masks := make([]*tensor.Tensor, k)
	for i := range masks {
		masks[i] = mask.Reshape(withK(1, shape)...)
	}
	return Where(tensor.ConcatRows(masks...), da, db)
}

// binary returns the two differences expanded to broadcast against [K]+out.
func binary(out *Value, dIn []*Value) (da, db *Value) {
	r := out.t.Rank()
	return expandK(dIn[0], r), expandK(dIn[1], r)
}

func addDiff2(_ any, out *Value, in, dIn []*Value, k int) *Value {
	da, db := binary(out, dIn)
	return fitK(addDiff(da, db), k, out.Shape())
}

func subDiff(_ any, out *Value, in, dIn []*Value, k int) *Value {
	da, db := binary(out, dIn)
	var d *Value
	switch {
	case db == nil:
		d = da
	case da == nil:
		d = Neg(db)
	default:
		d = Sub(da, db)
	}
	return fitK(d, k, out.Shape())
}

// (a + α)(b + β) − ab = α(b + β) + aβ.
func mulDiff(_ any, out *Value, in, dIn []*Value, k int) *Value {
	da, db := binary(out, dIn)
	var d *Value
	switch {
	case db == nil:
		d = Mul(da, in[1])
	case da == nil:
		d = Mul(in[0], db)
	default:
		d = Add(Mul(da, Add(in[1], db)), Mul(in[0], db))
	}
	return fitK(d, k, out.Shape())
}

// (a + α)/(b + β) − a/b = (α − (a/b)β)/(b + β).
func divDiff(_ any, out *Value, in, dIn []*Value, k int) *Value {
	da, db := binary(out, dIn)
	if db == nil {
		return fitK(Div(da, in[1]), k, out.Shape())
	}
	num := Neg(Mul(out, db))
	if da != nil {
		num = Sub(da, Mul(out, db))
	}
	return fitK(Div(num, Add(in[1], db)), k, out.Shape())
}

// e^(a+α) − eᵃ = eᵃ·expm1(α).
// exp(a + α) − exp a = exp(a)·expm1(α), which keeps the digits for small α;
// for |α| > 1 the two values differ by a factor of e at least, so it is the
// plain difference, which also stays finite where exp(a) underflows to 0 and
// expm1(α) overflows (0·∞). The selections read only the branch they keep
// (Where), and the product branch sees α only where it is small, so neither
// branch can put a NaN into the other's gradient.
func expDiff(_ any, out *Value, in, dIn []*Value, k int) *Value {
	da := fitK(dIn[0], k, out.Shape())
	large := tensor.GreaterScalar(tensor.Abs(da.t), 1)
	if !anyNonZero(large) {
		return Mul(out, Expm1(da)) // FD steps are small: one form, no selection
	}
	small := Where(large, zerosLike(da), da)
	prod := Mul(out, Expm1(small))
	direct := Sub(Exp(Add(in[0], da)), out)
	return Where(large, direct, prod)
}

// log(a + α) − log a = log1p(α/a).
func logDiff(_ any, out *Value, in, dIn []*Value, k int) *Value { return Log1p(Div(dIn[0], in[0])) }

// log1p(a + α) − log1p(a) = log1p(α/(1 + a)).
func log1pDiff(_ any, out *Value, in, dIn []*Value, k int) *Value {
	return Log1p(Div(dIn[0], AddScalar(in[0], 1)))
}

// expm1(a + α) − expm1(a) = eᵃ·expm1(α) = (out + 1)·expm1(α).
func expm1Diff(_ any, out *Value, in, dIn []*Value, k int) *Value {
	return Mul(AddScalar(out, 1), Expm1(dIn[0]))
}

// anyNonZero reports whether t has a non-zero element. It reads the
// storage in place (ToFloat64 would copy it, once per rule call).
func anyNonZero(t *tensor.Tensor) bool {
	if t.DType() == tensor.Float32 {
		return slices.ContainsFunc(t.Float32s(), func(v float32) bool { return v != 0 })
	}
	return slices.ContainsFunc(t.Float64s(), func(v float64) bool { return v != 0 })
}

// (a + α)² − a² = (2a + α)α.
func squareDiff(_ any, out *Value, in, dIn []*Value, k int) *Value {
	return Mul(Add(Scale(in[0], 2), dIn[0]), dIn[0])
}

// √(a + α) − √a = α/(√(a + α) + √a).
func sqrtDiff(_ any, out *Value, in, dIn []*Value, k int) *Value {
	return Div(dIn[0], Add(Sqrt(Add(in[0], dIn[0])), out))
}

// (a + α)ᵖ − aᵖ = aᵖ·expm1(p·log1p(α/a)) where a and a + α have one sign;
// where the sign changes (or a = 0) nothing large cancels and the direct
// difference is used.
func powDiff(pp any, out *Value, in, dIn []*Value, k int) *Value {
	p := pp.(float64)
	a, da := in[0], dIn[0]
	// 1 where a(a + α) ≤ 0 (a sign change, a zero, or a NaN).
	ca := constOn(out, a)
	cross := oneMinus(positive(Mul(ca, Add(ca, constOn(out, da)))))
	if !anyNonZero(cross.t) {
		return Mul(out, Expm1(Scale(Log1p(Div(da, a)), p)))
	}
	ok := oneMinus(cross)
	safeA := Add(Mul(a, ok), cross) // 1 where the sign changes
	d := Mul(out, Expm1(Scale(Log1p(Div(Mul(ok, da), safeA)), p)))
	direct := Sub(Pow(Add(a, Mul(cross, da)), p), out)
	return Add(d, Mul(cross, direct))
}

// Σ(a + α) − Σa = Σα, per difference.
func sumDiff(_ any, out *Value, in, dIn []*Value, k int) *Value {
	d := dIn[0]
	if d.Len() == 0 {
		return Const(tensor.Zeros(out.DType(), k))
	}
	return SumAxis(Reshape(d, k, d.Len()/k), 1)
}

func sumAxisDiff(p any, out *Value, in, dIn []*Value, k int) *Value {
	return SumAxis(dIn[0], p.(int)+1)
}

func broadcastDiff(_ any, out *Value, in, dIn []*Value, k int) *Value {
	return BroadcastTo(expandK(dIn[0], out.t.Rank()), withK(k, out.Shape())...)
}

func sumToDiff(_ any, out *Value, in, dIn []*Value, k int) *Value {
	src, dst := in[0].Shape(), out.Shape()
	pad := make([]int, 0, len(src))
	for range len(src) - len(dst) {
		pad = append(pad, 1)
	}
	pad = append(pad, dst...)
	return Reshape(SumTo(dIn[0], withK(k, pad)...), withK(k, dst)...)
}

func reshapeDiff(_ any, out *Value, in, dIn []*Value, k int) *Value {
	return Reshape(dIn[0], withK(k, out.Shape())...)
}

func transposeDiff(_ any, out *Value, in, dIn []*Value, k int) *Value {
	return stackK(k, out.Shape(), func(i int) *Value { return Transpose(sliceK(dIn[0], i)) })
}

// op(A + ΔA)·op(B + ΔB) − op(A)·op(B) = op(ΔA)·op(B + ΔB) + op(A)·op(ΔB). With
// only A changing and A not transposed, the K differences are one product.
func matMulDiff(p any, out *Value, in, dIn []*Value, k int) *Value {
	transA, transB := p.(matMulFlags).transA, p.(matMulFlags).transB
	a, b, da, db := in[0], in[1], dIn[0], dIn[1]
	if db == nil && !transA {
		m, n := out.Dim(0), out.Dim(1)
		return Reshape(MatMul(Reshape(da, k*m, a.Dim(1)), b, false, transB), k, m, n)
	}
	return stackK(k, out.Shape(), func(i int) *Value {
		var d *Value
		if da != nil {
			bb := b
			if db != nil {
				bb = Add(b, sliceK(db, i))
			}
			d = MatMul(sliceK(da, i), bb, transA, transB)
		}
		if db != nil {
			d = addDiff(d, MatMul(a, sliceK(db, i), transA, transB))
		}
		return d
	})
}

func concatDiff(_ any, out *Value, in, dIn []*Value, k int) *Value {
	parts := make([]*Value, 0, k*len(in))
	for i := range k {
		for j, v := range in {
			if dIn[j] == nil {
				parts = append(parts, zerosLike(constOn(out, v)))
			} else {
				parts = append(parts, sliceK(dIn[j], i))
			}
		}
	}
	return Reshape(ConcatRows(parts...), withK(k, out.Shape())...)
}

func sliceRowsDiff(p any, out *Value, in, dIn []*Value, k int) *Value {
	lo, hi := p.([2]int)[0], p.([2]int)[1]
	n := in[0].Dim(0)
	if k == 1 {
		return Reshape(SliceRows(sliceK(dIn[0], 0), lo, hi), withK(1, out.Shape())...)
	}
	rows := rowsK(dIn[0])
	parts := make([]*Value, k)
	for i := range parts {
		parts[i] = SliceRows(rows, i*n+lo, i*n+hi)
	}
	return Reshape(ConcatRows(parts...), withK(k, out.Shape())...)
}

func padRowsDiff(p any, out *Value, in, dIn []*Value, k int) *Value {
	before, after := p.([2]int)[0], p.([2]int)[1]
	return stackK(k, out.Shape(), func(i int) *Value { return PadRows(sliceK(dIn[0], i), before, after) })
}

// stackedIndex repeats idx for each of k blocks of n rows: k·n + idx[j].
func stackedIndex(idx []int, k, n int) []int {
	out := make([]int, 0, k*len(idx))
	for i := range k {
		for _, r := range idx {
			out = append(out, i*n+r)
		}
	}
	return out
}

func gatherDiff(p any, out *Value, in, dIn []*Value, k int) *Value {
	idx := p.([]int)
	return Reshape(GatherRows(rowsK(dIn[0]), stackedIndex(idx, k, in[0].Dim(0))), withK(k, out.Shape())...)
}

func scatterDiff(p any, out *Value, in, dIn []*Value, k int) *Value {
	idx, n := p.(scatterParams).idx, p.(scatterParams).n
	return Reshape(ScatterAddRows(rowsK(dIn[0]), stackedIndex(idx, k, n), k*n), withK(k, out.Shape())...)
}

// Central (pair) rules: the inputs' differences are stacks [D; S] of the
// central differences D = (Δ₊ − Δ₋)/2, S = Δ₊ + Δ₋ (see Central); with
// Δ± = S/2 ± D the rules below write D′ and S′ of the output without
// subtracting nearly equal numbers. A nil result asks Delta to go through
// the plain rule.

// mulPair: with one factor changing the product is linear in it; with both,
// D′ = D_a·b + a·D_b + (S_a·D_b + D_a·S_b)/2 and
// S′ = S_a·b + a·S_b + S_a·S_b/2 + 2·D_a·D_b.
func mulPair(_ any, out *Value, in, dIn []*Value, k int) *Value {
	if dIn[0] == nil || dIn[1] == nil {
		return mulDiff(nil, out, in, dIn, k)
	}
	r := out.t.Rank()
	da, sa := splitCentral(dIn[0], r)
	db, sb := splitCentral(dIn[1], r)
	a, b := in[0], in[1]
	d := Add(Add(Mul(da, b), Mul(a, db)), Scale(Add(Mul(sa, db), Mul(da, sb)), 0.5))
	s := Add(Add(Mul(sa, b), Mul(a, sb)), Add(Scale(Mul(sa, sb), 0.5), Scale(Mul(da, db), 2)))
	return joinCentral(d, s, k/2, out.Shape())
}

// squarePair: D′ = D(2a + S), S′ = S(2a + S/2) + 2D².
func squarePair(_ any, out *Value, in, dIn []*Value, k int) *Value {
	d, s := splitCentral(dIn[0], out.t.Rank())
	a2 := Scale(in[0], 2)
	return joinCentral(Mul(d, Add(a2, s)), Add(Mul(s, Add(a2, Scale(s, 0.5))), Scale(Square(d), 2)), k/2, out.Shape())
}

// expPair: with c = cosh D − 1 = 2·sinh²(D/2),
// S′ = 2eᵃ(expm1(S/2)(1 + c) + c) and D′ = eᵃ·e^(S/2)·sinh D, the sinh
// terms from expm1 of both signs (their difference does not cancel).
func expPair(_ any, out *Value, in, dIn []*Value, k int) *Value {
	p := k / 2
	d, s := splitCentral(dIn[0], out.t.Rank())
	d, h := fitK(d, p, out.Shape()), fitK(Scale(s, 0.5), p, out.Shape())
	// The points are a + h ± d. Where |d| + |h| > 1 the values differ by a
	// factor of e at least and are combined directly; elsewhere by the
	// forms below, on inputs zeroed where they are not used (see expDiff).
	large := tensor.GreaterScalar(tensor.Add(tensor.Abs(d.t), tensor.Abs(h.t)), 1)
	anyLarge := anyNonZero(large)
	ds, hs := d, h
	if anyLarge {
		ds, hs = Where(large, zerosLike(d), d), Where(large, zerosLike(h), h)
	}
	sinh := func(v *Value) *Value { return Scale(Sub(Expm1(v), Expm1(Neg(v))), 0.5) }
	c := Scale(Square(sinh(Scale(ds, 0.5))), 2)
	sOut := Scale(Mul(out, Add(Mul(Expm1(hs), AddScalar(c, 1)), c)), 2)
	dOut := Mul(Mul(out, Exp(hs)), sinh(ds))
	if !anyLarge {
		return joinCentral(dOut, sOut, p, out.Shape()) // FD steps are small: no selection
	}
	ep, em := Exp(Add(in[0], Add(h, d))), Exp(Add(in[0], Sub(h, d)))
	dDirect := Scale(Sub(ep, em), 0.5)
	sDirect := Sub(Add(ep, em), Scale(out, 2))
	return joinCentral(Where(large, dDirect, dOut), Where(large, sDirect, sOut), p, out.Shape())
}

// divPair: linear when only the numerator changes.
func divPair(_ any, out *Value, in, dIn []*Value, k int) *Value {
	if dIn[1] != nil {
		return nil
	}
	return divDiff(nil, out, in, dIn, k)
}

// matMulPair: linear when only one factor changes.
func matMulPair(p any, out *Value, in, dIn []*Value, k int) *Value {
	if dIn[0] != nil && dIn[1] != nil {
		return nil
	}
	return matMulDiff(p, out, in, dIn, k)
}
