package fd

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// tanhLayer is x ↦ tanh(x·W + b) on [N, d] → [N, k] (vector-valued), and
// with out set, x ↦ tanh(x·W + b)·out on [N, d] → [N] (a one-hidden-layer MLP).
// Its directional derivatives are exact: along a row v, the pre-activation
// moves by s = v·W, so the T-th derivative of unit j is s_j^T·P_T(y_j)
// (tanhPoly), y = tanh(x·W + b).
type tanhLayer struct {
	d, k   int
	w, b   []float64 // [d, k] row-major, [k]
	out    []float64 // [k] or nil
	dt     tensor.DType
	wv, bv *autodiff.Value
	outv   *autodiff.Value
}

func newTanhLayer(dt tensor.DType, d, k int, scalar bool, seed uint64) *tanhLayer {
	r := rand.New(rand.NewPCG(seed, 99))
	l := &tanhLayer{d: d, k: k, dt: dt, w: make([]float64, d*k), b: make([]float64, k)}
	for i := range l.w {
		l.w[i] = r.NormFloat64() / math.Sqrt(float64(d)) // unit-variance pre-activations
	}
	for i := range l.b {
		l.b[i] = 0.5 * r.NormFloat64()
	}
	if scalar {
		l.out = make([]float64, k)
		for i := range l.out {
			l.out[i] = r.NormFloat64() / math.Sqrt(float64(k))
		}
		l.outv = autodiff.Const(tensor.FromFloat64(dt, l.out, k, 1))
	}
	// Round the parameters to dt so that the float64 reference computes the
	// same function as the float32 model.
	l.wv = autodiff.Const(tensor.FromFloat64(dt, l.w, d, k))
	l.bv = autodiff.Const(tensor.FromFloat64(dt, l.b, k))
	l.w, l.b = l.wv.T().ToFloat64(), l.bv.T().ToFloat64()
	if scalar {
		l.out = l.outv.T().ToFloat64()
	}
	return l
}

func (l *tanhLayer) f(x *autodiff.Value) *autodiff.Value {
	h := autodiff.Tanh(autodiff.Add(autodiff.MatMul(x, l.wv, false, false), l.bv))
	if l.outv == nil {
		return h
	}
	return autodiff.Reshape(autodiff.MatMul(h, l.outv, false, false), -1)
}

// exact returns the T-th derivative of t ↦ f(x + t·v) at 0, row by row, in
// float64: [N·k] values for the layer, [N] for the MLP.
func (l *tanhLayer) exact(order int, x, v []float64) []float64 {
	n := len(x) / l.d
	p := tanhPoly(order)
	var res []float64
	for r := range n {
		var sum float64
		for j := range l.k {
			z, s := l.b[j], 0.0
			for i := range l.d {
				z += x[r*l.d+i] * l.w[i*l.k+j]
				s += v[r*l.d+i] * l.w[i*l.k+j]
			}
			dj := math.Pow(s, float64(order)) * polyVal(p, math.Tanh(z))
			if l.out == nil {
				res = append(res, dj)
			} else {
				sum += l.out[j] * dj
			}
		}
		if l.out != nil {
			res = append(res, sum)
		}
	}
	return res
}

// batch returns x [n, d] and a unit direction u [n, d] per row.
func batch(dt tensor.DType, n, d int, seed uint64) (x, u []float64) {
	r := rand.New(rand.NewPCG(seed, 5))
	x = make([]float64, n*d)
	u = make([]float64, n*d)
	for i := range x {
		x[i] = r.NormFloat64()
		u[i] = r.NormFloat64()
	}
	for row := range n {
		var s float64
		for _, e := range u[row*d : (row+1)*d] {
			s += e * e
		}
		for i := row * d; i < (row+1)*d; i++ {
			u[i] /= math.Sqrt(s)
		}
	}
	// Round to dt, so the reference sees the inputs the model sees.
	x = tensor.FromFloat64(dt, x).ToFloat64()
	u = tensor.FromFloat64(dt, u).ToFloat64()
	return x, u
}

func scaled(a []float64, s float64) []float64 {
	out := make([]float64, len(a))
	for i, e := range a {
		out[i] = s * e
	}
	return out
}

// relErr returns ‖got − want‖₂/‖want‖₂.
func relErr(got, want []float64) float64 {
	var num, den float64
	for i := range got {
		num += (got[i] - want[i]) * (got[i] - want[i])
		den += want[i] * want[i]
	}
	return math.Sqrt(num / den)
}

// The batched evaluator converges at the stencil's order on a vector-valued
// tanh layer ([N, k] outputs) and a scalar tanh MLP ([N] outputs). The
// result approximates ε^T·Dᵀf along the unit u; the reference is exact.
//
// Step ranges. With unit-variance pre-activations and unit directions, f
// and its derivatives along u are O(1), so relative to ε^T·Dᵀf the
// truncation error is about |C|·ε^p and the round-off of the weighted sum
// about u·Σ|w_i|/ε^T (u the unit round-off). The smallest step keeps the
// second at least 20× below the first, the largest keeps the next term of
// the expansion (relative size ε² for symmetric stencils, ε for one-sided)
// small:
//   - float64, O(ε²): ε from 1/80 to 1/5 (for D4 at 1/80: truncation 1e-4,
//     round-off 2e-7); O(ε⁴): 1/40 to 2/5; one-sided: up to 1/10;
//   - float32 (u ≈ 6e-8): D1 from 1/20 to 2/5 (at 1/20: 2e-4 vs 3e-6),
//     D2 from 1/10 to 2/5 (at 1/10: 1e-3 vs 5e-5).
func TestDirectionalConvergence(t *testing.T) {
	const n, d, k = 16, 5, 4
	type tc struct {
		dt     tensor.DType
		s      Stencil
		lo, hi float64
	}
	cases := []tc{
		{tensor.Float64, D1, 1.0 / 80, 1.0 / 5},
		{tensor.Float64, D2, 1.0 / 80, 1.0 / 5},
		{tensor.Float64, D3, 1.0 / 80, 1.0 / 5},
		{tensor.Float64, D4, 1.0 / 80, 1.0 / 5},
		{tensor.Float64, D1Acc4, 1.0 / 40, 2.0 / 5},
		{tensor.Float64, D2Acc4, 1.0 / 40, 2.0 / 5},
		{tensor.Float64, Must(Forward(1, 2)), 1.0 / 80, 1.0 / 10},
		{tensor.Float64, Must(Backward(2, 1)), 1.0 / 160, 1.0 / 10},
		{tensor.Float32, D1, 1.0 / 20, 2.0 / 5},
		{tensor.Float32, D2, 1.0 / 10, 2.0 / 5},
	}
	for _, c := range cases {
		for _, scalar := range []bool{false, true} {
			l := newTanhLayer(c.dt, d, k, scalar, 11)
			x, u := batch(c.dt, n, d, 12)
			var eps, errs []float64
			for h := c.lo; h <= c.hi*1.0001; h *= 2 {
				v := scaled(u, h)
				vt := tensor.FromFloat64(c.dt, v, n, d)
				got := DirectionalTensor(c.s, l.f, tensor.FromFloat64(c.dt, x, n, d), vt)
				// The reference uses the rounded step the model used.
				eps = append(eps, h)
				errs = append(errs, relErr(got.ToFloat64(), l.exact(c.s.Order(), x, vt.ToFloat64())))
			}
			got := slope(eps, errs)
			if math.Abs(got-float64(c.s.Accuracy())) > 0.3 {
				t.Errorf("%v %v scalar=%v: slope %.3f, want %d ± 0.3 (errors %.3g)", c.dt, c.s, scalar, got, c.s.Accuracy(), errs)
			}
			if testing.Verbose() {
				t.Logf("%v scalar=%-5v T=%d nodes %v: slope %.3f (want %d), errors %.2g", c.dt, scalar, c.s.Order(), c.s.Nodes(), got, c.s.Accuracy(), errs)
			}
		}
	}
}

// Both dtypes at the step docs/OBJECTIVES.md recommends for float32 O(ε²)
// stencils, ε = 0.03. The relative error is bounded by the truncation
// error, ‖ε⁴D⁴f‖/12 / ‖ε²D²f‖ (D2's error constant, ×1.1 for the next term),
// plus round-off: u·Σ|w_i|·‖f‖/‖ε²D²f‖ (u the unit round-off) times 4, for
// the rounding of x + γv and of f's own evaluation. In float32 the two are
// 1.5e-4 and 1.4e-3·4 here (measured error 1.8e-3); in float64 round-off is
// negligible and the error is the truncation term.
func TestDirectionalFloat32(t *testing.T) {
	const n, d, k, eps = 32, 6, 3, 0.03
	for _, c := range []struct {
		dt tensor.DType
		u  float64
	}{{tensor.Float32, 0x1p-24}, {tensor.Float64, 0x1p-53}} {
		l := newTanhLayer(c.dt, d, k, true, 21)
		x, u := batch(c.dt, n, d, 22)
		vt := tensor.FromFloat64(c.dt, scaled(u, eps), n, d)
		got := DirectionalTensor(D2, l.f, tensor.FromFloat64(c.dt, x, n, d), vt)
		if got.DType() != c.dt || !slices.Equal(got.Shape(), []int{n}) {
			t.Fatalf("%v: result %v %v", c.dt, got.DType(), got.Shape())
		}
		v := vt.ToFloat64()
		norm := func(a []float64) float64 { return math.Sqrt(dot(a, a)) }
		d2 := norm(l.exact(2, x, v))
		trunc := norm(l.exact(4, x, v)) / 12 / d2
		round := 4 * c.u * 4 * norm(l.exact(0, x, v)) / d2 // Σ|w_i| = 4 for D2
		if e := relErr(got.ToFloat64(), l.exact(2, x, v)); e > 1.1*trunc+round {
			t.Errorf("%v: relative error %.3g > truncation %.3g + round-off %.3g", c.dt, e, 1.1*trunc, round)
		}
	}
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// countingFunc wraps f, counting calls and recording the inputs.
type countingFunc struct {
	f      Func
	calls  int
	inputs []*tensor.Tensor
}

func (c *countingFunc) call(x *autodiff.Value) *autodiff.Value {
	c.calls++
	c.inputs = append(c.inputs, x.T().Clone())
	return c.f(x)
}

// Batched and non-batched evaluation agree to 1e-12 relative (the only
// difference is the batch size seen by f's kernels), f is called once and K
// times respectively, the stacked batch holds x + γ_i·v in rows
// i·N..(i+1)·N, and the inputs are not modified.
func TestBatchedMatchesNonBatched(t *testing.T) {
	const n, d, k = 8, 4, 3
	stencils := []Stencil{D1, D2, D3, D4, D1Acc4, D2Acc4, Must(Forward(2, 2)), Must(New([]float64{-0.5, 0.25, 1.5}, 1)), Must(Central(0, 2))}
	for _, scalar := range []bool{false, true} {
		l := newTanhLayer(tensor.Float64, d, k, scalar, 31)
		x, u := batch(tensor.Float64, n, d, 32)
		xt := tensor.FromFloat64(tensor.Float64, x, n, d)
		vt := tensor.FromFloat64(tensor.Float64, scaled(u, 0.1), n, d)
		x0, v0 := xt.Clone(), vt.Clone()
		for _, s := range stencils {
			cb := &countingFunc{f: l.f}
			cn := &countingFunc{f: l.f}
			yb := EvaluateTensor(s, cb.call, xt, vt)
			yn := EvaluateTensor(s, cn.call, xt, vt, NonBatched())
			if cb.calls != 1 || cn.calls != s.Len() {
				t.Errorf("%v: %d batched and %d non-batched calls, want 1 and %d", s, cb.calls, cn.calls, s.Len())
			}
			if len(yb) != s.Len() || len(yn) != s.Len() {
				t.Fatalf("%v: %d and %d evaluations", s, len(yb), len(yn))
			}
			wantShape := []int{n, k}
			if scalar {
				wantShape = []int{n}
			}
			for i, g := range s.Nodes() {
				if !slices.Equal(yb[i].Shape(), wantShape) || !slices.Equal(yn[i].Shape(), wantShape) {
					t.Fatalf("%v node %v: shapes %v and %v, want %v", s, g, yb[i].Shape(), yn[i].Shape(), wantShape)
				}
				if e := relErr(yb[i].ToFloat64(), yn[i].ToFloat64()); e > 1e-12 {
					t.Errorf("%v node %v: batched and non-batched differ by %.3g", s, g, e)
				}
				// Row layout of the stacked batch, and the non-batched inputs.
				want := make([]float64, n*d)
				for j := range want {
					want[j] = x[j] + g*u[j]*0.1
				}
				stack := cb.inputs[0].ToFloat64()
				if e := relErr(stack[i*n*d:(i+1)*n*d], want); e > 1e-15 {
					t.Errorf("%v: rows of node %v in the stacked batch differ from x + γv by %.3g", s, g, e)
				}
				if e := relErr(cn.inputs[i].ToFloat64(), want); e > 1e-15 {
					t.Errorf("%v: non-batched input for node %v differs from x + γv by %.3g", s, g, e)
				}
			}
			db := DirectionalTensor(s, l.f, xt, vt).ToFloat64()
			dn := DirectionalTensor(s, l.f, xt, vt, NonBatched()).ToFloat64()
			if e := relErr(db, dn); e > 1e-12 {
				t.Errorf("%v: Directional batched and non-batched differ by %.3g", s, e)
			}
		}
		if !slices.Equal(xt.ToFloat64(), x0.ToFloat64()) || !slices.Equal(vt.ToFloat64(), v0.ToFloat64()) {
			t.Error("evaluation modified x or v")
		}
	}
}

// Combine is Σ w_i y_i summed in node order, skipping multiplies by ±1 and
// terms with weight 0 without changing any bit.
func TestCombineMatchesNaiveSum(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, s := range []Stencil{D1, D2, D4, D2Acc4, Must(New([]float64{-1, 0, 1}, 1))} {
		ys := make([]*autodiff.Value, s.Len())
		for i := range ys {
			ys[i] = autodiff.Const(tensor.RandN(tensor.Float64, r, 7))
		}
		got := Combine(s, ys).T().ToFloat64()
		for j := range got {
			var want float64
			for i, w := range s.Weights() {
				want += w * ys[i].T().At(j)
			}
			if math.Abs(got[j]-want) > 1e-14*(1+math.Abs(want)) {
				t.Errorf("%v: Combine[%d] = %v, Σ w_i y_i = %v", s, j, got[j], want)
			}
		}
	}
}

// Gradients flow through the batched evaluator to f's parameters, exactly as
// the calculus says: for f_θ(x) = x·θ the first difference is v·θ, so
// ∂/∂θ Σ_rows D1 = Σ_rows v; for f_θ(x) = x²·θ the second difference is
// (2v²)·θ, so ∂/∂θ Σ_rows D2 = 2·Σ_rows v² (exact up to round-off).
func TestGradThroughDirectional(t *testing.T) {
	const n, d = 6, 3
	x, u := batch(tensor.Float64, n, d, 51)
	xv := autodiff.Const(tensor.FromFloat64(tensor.Float64, x, n, d))
	vv := autodiff.Const(tensor.FromFloat64(tensor.Float64, scaled(u, 0.1), n, d))
	theta := autodiff.Var(tensor.FromFloat64(tensor.Float64, []float64{0.3, -1.2, 0.7}, d, 1))
	lin := func(x *autodiff.Value) *autodiff.Value { return autodiff.MatMul(x, theta, false, false) }
	quad := func(x *autodiff.Value) *autodiff.Value {
		return autodiff.MatMul(autodiff.Square(x), theta, false, false)
	}
	for _, c := range []struct {
		s    Stencil
		f    Func
		want func(v float64) float64
	}{
		{D1, lin, func(v float64) float64 { return v }},
		{D2, quad, func(v float64) float64 { return 2 * v * v }},
	} {
		for _, opts := range [][]Option{nil, {NonBatched()}} {
			y := autodiff.Sum(Directional(c.s, c.f, xv, vv, opts...))
			g := autodiff.GradT(y, theta).ToFloat64()
			for j := range d {
				var want float64
				for r := range n {
					want += c.want(vv.T().At(r*d + j))
				}
				if math.Abs(g[j]-want) > 1e-12 {
					t.Errorf("%v opts %d: ∂/∂θ_%d = %v, want %v", c.s, len(opts), j, g[j], want)
				}
			}
		}
	}
	// Through an MLP: batched and non-batched gradients agree, with respect
	// to the weights and to the inputs.
	l := newTanhLayer(tensor.Float64, d, 5, true, 52)
	w := autodiff.Var(l.wv.T())
	xvar := autodiff.Var(xv.T())
	mlp := func(x *autodiff.Value) *autodiff.Value {
		h := autodiff.Tanh(autodiff.Add(autodiff.MatMul(x, w, false, false), l.bv))
		return autodiff.Reshape(autodiff.MatMul(h, l.outv, false, false), -1)
	}
	var grads [2][]*autodiff.Value
	for i, opts := range [][]Option{nil, {NonBatched()}} {
		y := autodiff.Sum(Directional(D2Acc4, mlp, xvar, vv, opts...))
		grads[i] = autodiff.Grad(y, []*autodiff.Value{w, xvar})
	}
	for j := range grads[0] {
		if e := relErr(grads[0][j].T().ToFloat64(), grads[1][j].T().ToFloat64()); e > 1e-12 {
			t.Errorf("gradient %d: batched and non-batched differ by %.3g", j, e)
		}
	}
}

func TestRichardsonValue(t *testing.T) {
	a := autodiff.Const(tensor.FromFloat64(tensor.Float64, []float64{1, 2, 3}))
	ar := autodiff.Const(tensor.FromFloat64(tensor.Float64, []float64{0.5, 2.5, -1}))
	got := RichardsonValue(a, ar, 2, 2).T().ToFloat64()
	for i := range got {
		if want := Richardson(a.T().At(i), ar.T().At(i), 2, 2); math.Abs(got[i]-want) > 1e-15*(1+math.Abs(want)) {
			t.Errorf("RichardsonValue[%d] = %v, want %v", i, got[i], want)
		}
	}
}

func TestEvaluatePanics(t *testing.T) {
	x := autodiff.Const(tensor.Zeros(tensor.Float64, 4, 2))
	id := func(x *autodiff.Value) *autodiff.Value { return x }
	cases := []struct {
		name string
		run  func()
		msg  string
	}{
		{"zero stencil", func() { Evaluate(Stencil{}, id, x, x) }, "zero Stencil"},
		{"shape mismatch", func() { Evaluate(D1, id, x, autodiff.Const(tensor.Zeros(tensor.Float64, 4, 3))) }, "shape"},
		{"dtype mismatch", func() { Evaluate(D1, id, x, autodiff.Const(tensor.Zeros(tensor.Float32, 4, 2))) }, "dtype"},
		{"rank 0", func() {
			s := autodiff.Const(tensor.Scalar(tensor.Float64, 1))
			Evaluate(D1, id, s, s)
		}, "shape"},
		{"f drops rows", func() {
			Evaluate(D2, func(x *autodiff.Value) *autodiff.Value { return autodiff.SliceRows(x, 0, 1) }, x, x)
		}, "f returned shape"},
		{"f drops rows non-batched", func() {
			Evaluate(D2, func(x *autodiff.Value) *autodiff.Value { return autodiff.SliceRows(x, 0, 1) }, x, x, NonBatched())
		}, "f returned shape"},
		{"combine length", func() { Combine(D2, []*autodiff.Value{x}) }, "Combine"},
	}
	for _, c := range cases {
		func() {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if r == nil || !strings.HasPrefix(msg, "fd: ") || !strings.Contains(msg, c.msg) {
					t.Errorf("%s: panic %v, want an fd: message containing %q", c.name, r, c.msg)
				}
			}()
			c.run()
		}()
	}
}
