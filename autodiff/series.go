package autodiff

import (
	"fmt"

	"github.com/fdsm/fdsm/tensor"
)

// Taylor mode of any order (Jet).
//
// Jet2 carries the first two derivatives along a direction; Jet carries any
// number K of them. Every value h carries its normalised Taylor coefficients
// along v,
//
//	h_k = (1/k!) dᵏ/dtᵏ h(x + tv) at t = 0,   k = 1 … K
//
// (h_0 is the value itself), and each primitive's series rule maps its
// inputs' coefficients to its output's by the rules of univariate Taylor
// arithmetic (Griewank & Walther, Evaluating Derivatives, 2nd ed., 2008,
// chapter 13):
//
//	linear L         y_k = L(a_k)
//	product a·b      y_k = Σ_{j=0…k} a_j b_{k−j}          (Leibniz; MatMul and the convolutions likewise)
//	quotient a/b     y_k = (a_k − Σ_{j=1…k} b_j y_{k−j}) / b_0
//	y′ = g(t)·a′     y_k = (1/k) Σ_{j=1…k} j a_j g_{k−j}    (exp: g = y; tanh: 1 − y²; sigmoid: y − y²;
//	                                                    softplus: σ(a); log: 1/a; ELU: 1 or y + α)
//	√a               y_k = (a_k − Σ_{j=1…k−1} y_j y_{k−j}) / (2y_0)
//	a^e              y_k = Σ_{j=1…k} (e·j − k + j) a_j y_{k−j} / (k a_0)
//
// The third form needs g's coefficients only to order k − 1, so y and g are
// built up together, one order at a time. With h_k in hand the k-th
// derivative is k!·h_k.
//
// The cost is K applications of each linear map (each GEMM runs K times on
// the batch) and O(K²) elementwise products per non-linear primitive. Jet2
// is the order-2 case with its rules fused for speed (both orders in one
// GEMM, an activation's rule as one node) and serves the objectives; Jet is
// the general form, for derivatives of any order (BenchmarkScalingOrder sets
// it beside nested Grad and fd's stencils) and as the reference Jet2 is
// tested against. Like every rule of the package, the series rules are
// written with differentiable operations, so a loss built from the
// coefficients is differentiated to the parameters by one ordinary Grad.

// series holds the coefficients h_1 … h_K of a value (index k−1 for order
// k), each shaped like the value; an entry is nil where it is zero, and a nil
// series means the value does not depend on the point.
type series []*Value

// seriesRule returns the coefficients of a primitive's output from its
// inputs': sIn[j] is nil when input j does not depend on the point. A nil
// result means the output's coefficients are all zero.
type seriesRule func(p any, out *Value, in []*Value, sIn []series) series

// NoSeriesRuleError is the panic value of Jet when the function evaluated
// uses a primitive that has no series (order-K Taylor) rule.
type NoSeriesRuleError struct {
	// Primitive names the primitive (its descriptor's name).
	Primitive string
}

// Error implements error.
func (e *NoSeriesRuleError) Error() string {
	return fmt.Sprintf("autodiff: Jet: primitive %s has no series (order-K Taylor) rule", e.Primitive)
}

// Jet returns y = f(x) and the first order derivatives of t ↦ f(x + t·v) at
// t = 0, elementwise in f's output: d[k−1] = dᵏ/dtᵏ f(x + tv) for
// k = 1 … order, each shaped like y. For f acting on the rows of x
// separately (a model's energy per sample), row b of d[k−1] is that row's
// k-th directional derivative along row b of v; several directions per
// point are stacked in the batch. f is evaluated once, recorded, and its
// graph is then interpreted with each primitive's series rule (see the notes
// in series.go); the results are differentiable in everything f used by
// one ordinary Grad.
//
// f must compute its result from its argument with this package's
// operations. Jet panics with a *NoSeriesRuleError if f uses a primitive
// without a series rule (Solve and the fused difference nodes of Delta have
// none), and if order < 1 or v is not shaped like x.
func Jet(f func(*Value) *Value, x, v *Value, order int) (y *Value, d []*Value) {
	installSeriesRules()
	if order < 1 {
		panic(fmt.Sprintf("autodiff: Jet of order %d, want ≥ 1", order))
	}
	checkDirections("Jet", x, []*Value{v})
	xm := mark(x)
	y = f(xm)
	sx := make(series, order)
	sx[0] = v
	s := seriesRun(y, xm, sx)
	d = make([]*Value, order)
	fact := 1.0
	for k := range order {
		fact *= float64(k + 1)
		switch {
		case s == nil || s[k] == nil:
			d[k] = Scratch(tensor.ZerosLike(y.t))
		case k == 0:
			d[k] = s[k]
		default:
			d[k] = Scale(s[k], fact)
		}
	}
	return y, d
}

// seriesRun interprets the recorded graph of y from x, whose coefficients
// are sx, with the series rules, in the topological order of dependents,
// and returns y's coefficients (nil when y does not depend on x).
func seriesRun(y, x *Value, sx series) series {
	all := map[*Value]series{x: sx}
	for _, v := range dependents(y, x) {
		var sIn []series
		for i, in := range v.inputs {
			if s := all[in]; s != nil {
				if sIn == nil {
					sIn = make([]series, len(v.inputs))
				}
				sIn[i] = s
			}
		}
		if sIn == nil {
			continue
		}
		if v.prim.series == nil {
			panic(&NoSeriesRuleError{Primitive: v.prim.name})
		}
		s := v.prim.series(v.params, v, v.inputs, sIn)
		if s == nil {
			continue
		}
		if len(s) != len(sx) {
			panic(fmt.Sprintf("autodiff: internal error: %s series of order %d, want %d", primName(v), len(s), len(sx)))
		}
		for k, c := range s {
			if c != nil && (!shapeEqual(c.Shape(), v.Shape()) || c.DType() != v.DType()) {
				panic(fmt.Sprintf("autodiff: internal error: %s coefficient %d is %v %v, want %v %v",
					primName(v), k+1, c.DType(), c.Shape(), v.DType(), v.Shape()))
			}
		}
		all[v] = s
	}
	return all[y]
}

// order returns the number of coefficients the inputs carry.
func seriesOrder(sIn []series) int {
	for _, s := range sIn {
		if s != nil {
			return len(s)
		}
	}
	return 0
}

// coef returns coefficient j of a value with h_0 = v0 and coefficients s
// (nil where zero).
func coef(v0 *Value, s series, j int) *Value {
	if j == 0 {
		return v0
	}
	if s == nil {
		return nil
	}
	return s[j-1]
}

// nonZero returns s, or nil if every entry is nil.
func nonZero(s series) series {
	for _, c := range s {
		if c != nil {
			return s
		}
	}
	return nil
}

// fitTo broadcasts v (nil stays nil) to shape if it differs.
func fitTo(v *Value, shape []int) *Value {
	if v == nil || shapeEqual(v.Shape(), shape) {
		return v
	}
	return BroadcastTo(v, shape...)
}

// seriesLinear is the rule of a linear primitive: its difference rule
// applied to each order's coefficients (the difference of a linear map is
// the map).
func seriesLinear(p any, out *Value, in []*Value, sIn []series) series {
	res := make(series, seriesOrder(sIn))
	for k := range res {
		dIn := make([]*Value, len(in))
		moving := false
		for i, s := range sIn {
			if s != nil && s[k] != nil {
				dIn[i] = Reshape(s[k], withK(1, in[i].Shape())...)
				moving = true
			}
		}
		if !moving {
			continue
		}
		if d := out.prim.diff(p, out, in, dIn, 1); d != nil {
			res[k] = Reshape(d, out.Shape()...)
		}
	}
	return nonZero(res)
}

// seriesProduct returns the coefficients of the bilinear f(a, b) (a and b
// with values a0, b0 and coefficients sa, sb; either may be nil):
// y_k = Σ_{j=0…k} f(a_j, b_{k−j}), the j = 0 and j = k terms dropped
// where the other factor does not move.
func seriesProduct(f func(a, b *Value) *Value, a0, b0 *Value, sa, sb series, order int, shape []int) series {
	res := make(series, order)
	for k := 1; k <= order; k++ {
		var sum *Value
		for j := 0; j <= k; j++ {
			aj, bj := coef(a0, sa, j), coef(b0, sb, k-j)
			if aj == nil || bj == nil {
				continue
			}
			sum = addDiff(sum, f(aj, bj))
		}
		res[k-1] = fitTo(sum, shape)
	}
	return nonZero(res)
}

// seriesQuotient returns the coefficients of y = a/b (value y0):
// y_k = (a_k − Σ_{j=1…k} b_j y_{k−j}) / b_0.
func seriesQuotient(y0, b0 *Value, sa, sb series, order int) series {
	ys := make(series, order)
	for k := 1; k <= order; k++ {
		num := coef(nil, sa, k)
		for j := 1; j <= k; j++ {
			bj, yk := coef(nil, sb, j), coef(y0, ys, k-j)
			if bj == nil || yk == nil {
				continue
			}
			num = subNil(num, Mul(bj, yk))
		}
		if num != nil {
			ys[k-1] = fitTo(Div(num, b0), y0.Shape())
		}
	}
	return nonZero(ys)
}

// seriesODE returns the coefficients of y (value y0) from y′ = g·a′, the
// coefficients of a being sa: y_k = (1/k) Σ_{j=1…k} j a_j g_{k−j}. g(m, ys)
// returns g's coefficient m (g_0 its value; nil for zero) and may read ys's
// coefficients up to m, which are known by then.
func seriesODE(y0 *Value, sa series, g func(m int, ys series) *Value) series {
	order := len(sa)
	ys := make(series, order)
	gs := make([]*Value, order)
	for k := 1; k <= order; k++ {
		gs[k-1] = g(k-1, ys)
		var sum *Value
		for j := 1; j <= k; j++ {
			aj, gm := sa[j-1], gs[k-j]
			if aj == nil || gm == nil {
				continue
			}
			t := Mul(aj, gm)
			if j > 1 {
				t = Scale(t, float64(j))
			}
			sum = addDiff(sum, t)
		}
		if sum != nil && k > 1 {
			sum = Scale(sum, 1/float64(k))
		}
		ys[k-1] = fitTo(sum, y0.Shape())
	}
	return nonZero(ys)
}

// selfProduct returns Σ_{i=0…m} y_i y_{m−i} (nil for zero) for y with
// value y0 and coefficients ys: the coefficient m of y².
func selfProduct(y0 *Value, ys series, m int) *Value {
	var sum *Value
	for i := 0; i <= m; i++ {
		a, b := coef(y0, ys, i), coef(y0, ys, m-i)
		if a != nil && b != nil {
			sum = addDiff(sum, Mul(a, b))
		}
	}
	return sum
}

// sigmoidSeries returns the coefficients of s = σ(a), value s0, from
// s′ = s(1 − s)·a′.
func sigmoidSeries(s0 *Value, sa series) series {
	return seriesODE(s0, sa, func(m int, ss series) *Value {
		if m == 0 {
			return Mul(s0, oneMinus(s0))
		}
		return subNil(ss[m-1], selfProduct(s0, ss, m))
	})
}

// actSeries returns the coefficients of y = φ(z) for a fused layer's
// activation, y0 the output, from z's coefficients, every g read from y
// (softplus's σ(z) is φ′ = actDeriv(y)).
func actSeries(act tensor.Act, y0 *Value, sz series) series {
	switch act {
	case tensor.ActNone:
		return sz
	case tensor.ActSoftplus:
		return softplusSeries(y0, actDeriv(y0, act), sz)
	case tensor.ActTanh:
		return tanhSeries(y0, sz)
	case tensor.ActSigmoid:
		return sigmoidSeries(y0, sz)
	case tensor.ActELU:
		return eluSeries(y0, tensor.GreaterScalar(y0.t, 0), 1, sz)
	}
	panic(fmt.Sprintf("autodiff: Jet: activation %v has no series rule", act))
}

// softplusSeries: y′ = σ(a)·a′, σ's coefficients (to order K − 1) from its
// own recurrence, s0 = σ(a).
func softplusSeries(y0, s0 *Value, sa series) series {
	ss := sigmoidSeries(s0, sa)
	return seriesODE(y0, sa, func(m int, _ series) *Value { return coef(s0, ss, m) })
}

// tanhSeries: y′ = (1 − y²)·a′.
func tanhSeries(y0 *Value, sa series) series {
	return seriesODE(y0, sa, func(m int, ys series) *Value {
		if m == 0 {
			return oneMinusSq(y0)
		}
		return subNil(nil, selfProduct(y0, ys, m))
	})
}

// eluSeries: y′ = a′ where a > 0 (pos), y′ = (y + α)·a′ elsewhere.
func eluSeries(y0 *Value, pos *tensor.Tensor, alpha float64, sa series) series {
	neg := Scratch(tensor.AddScalar(tensor.Neg(pos), 1))
	return seriesODE(y0, sa, func(m int, ys series) *Value {
		if m == 0 {
			return Add(Scratch(pos), Mul(neg, AddScalar(y0, alpha)))
		}
		return mulNil(neg, ys[m-1])
	})
}
