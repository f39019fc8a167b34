package autodiff_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/autodiff/adtest"
	"github.com/fdsm/fdsm/tensor"
)

// float32Tol bounds the relative disagreement between the float32 and float64
// evaluation of one op and its gradient: a few hundred float32 ulps
// (ε₃₂ ≈ 6e-8), since inputs are rounded before the op and the op's condition
// number is O(1) on these domains.
const float32Tol = 2e-5

func maxRelDiff(a, b *tensor.Tensor) float64 {
	x, y := a.ToFloat64(), b.ToFloat64()
	scale := 0.0
	for _, v := range y {
		scale = math.Max(scale, math.Abs(v))
	}
	var worst float64
	for i := range x {
		worst = math.Max(worst, math.Abs(x[i]-y[i])/math.Max(scale, 1e-30))
	}
	return worst
}

// TestFloat32MatchesFloat64 evaluates every op and its seeded gradient in both
// dtypes on the same (float32-representable) inputs.
func TestFloat32MatchesFloat64(t *testing.T) {
	run := func(t *testing.T, f func(xs []*ad.Value) *ad.Value, ins []*tensor.Tensor) {
		eval := func(dt tensor.DType) (*tensor.Tensor, []*tensor.Tensor) {
			xs := make([]*ad.Value, len(ins))
			for i, x := range ins {
				xs[i] = ad.Var(x.AsType(dt))
			}
			y := f(xs)
			seed := tensor.OnesLike(y.T())
			for i := range seed.Len() {
				seed.Set(i, 1+0.25*float64(i%3)) // a non-uniform cotangent
			}
			gs := ad.Grad(y, xs, ad.WithSeed(ad.Const(seed)))
			out := make([]*tensor.Tensor, len(gs))
			for i, g := range gs {
				out[i] = g.T()
			}
			return y.T(), out
		}
		y32, g32 := eval(tensor.Float32)
		y64, g64 := eval(tensor.Float64)
		if y32.DType() != tensor.Float32 {
			t.Fatalf("float32 inputs gave a %v output", y32.DType())
		}
		if d := maxRelDiff(y32, y64); d > float32Tol {
			t.Errorf("value: float32 and float64 differ by %.3g relative", d)
		}
		for i := range g32 {
			if d := maxRelDiff(g32[i], g64[i]); d > float32Tol {
				t.Errorf("gradient %d: float32 and float64 differ by %.3g relative", i, d)
			}
		}
	}
	round32 := func(x *tensor.Tensor) *tensor.Tensor { return x.AsType(tensor.Float32).AsType(tensor.Float64) }
	for _, c := range unaryCases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 12))
			x := round32(input(rng, c.dom, 3, 4))
			run(t, func(xs []*ad.Value) *ad.Value { return c.f(xs[0]) }, []*tensor.Tensor{x})
		})
	}
	for _, c := range binaryCases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(13, 14))
			a, b := round32(input(rng, anyReal, 3, 4)), round32(input(rng, c.domB, 4))
			run(t, func(xs []*ad.Value) *ad.Value { return c.f(xs[0], xs[1]) }, []*tensor.Tensor{a, b})
		})
	}
	for _, act := range []tensor.Act{tensor.ActNone, tensor.ActSoftplus, tensor.ActTanh, tensor.ActSigmoid, tensor.ActELU} {
		t.Run("Dense/"+act.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(17, 18))
			x, w, b := round32(input(rng, anyReal, 6, 5)), round32(input(rng, anyReal, 4, 5)), round32(input(rng, anyReal, 4))
			run(t, func(xs []*ad.Value) *ad.Value { return ad.Dense(xs[0], xs[1], xs[2], act) }, []*tensor.Tensor{x, w, b})
		})
	}
	t.Run("MatMul", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(15, 16))
		a, b := round32(input(rng, anyReal, 7, 9)), round32(input(rng, anyReal, 5, 9))
		run(t, func(xs []*ad.Value) *ad.Value { return ad.MatMul(xs[0], xs[1], false, true) }, []*tensor.Tensor{a, b})
	})
}

// mlpEnergy is a small softplus MLP energy E(x) = w3·sp(W2·sp(W1x + b1) + b2),
// one value per row of x; params are W1 [h, d], b1 [h], W2 [h, h], b2 [h], w3 [1, h].
func mlpEnergy(x *ad.Value, p []*ad.Value) *ad.Value {
	h := ad.Softplus(ad.Add(ad.MatMul(x, p[0], false, true), p[1]))
	h = ad.Softplus(ad.Add(ad.MatMul(h, p[2], false, true), p[3]))
	return ad.Reshape(ad.MatMul(h, p[4], false, true), -1)
}

func mlpParams(rng *rand.Rand, d, h int) []*tensor.Tensor {
	return []*tensor.Tensor{
		tensor.RandN(tensor.Float64, rng, h, d), tensor.RandN(tensor.Float64, rng, h),
		tensor.Scale(tensor.RandN(tensor.Float64, rng, h, h), 0.5), tensor.RandN(tensor.Float64, rng, h),
		tensor.RandN(tensor.Float64, rng, 1, h),
	}
}

// TestMLPHessianTrace checks the Hessian trace of each row's energy, by one
// backward pass per coordinate, against second differences.
func TestMLPHessianTrace(t *testing.T) {
	const B, d, h = 4, 3, 8
	rng := rand.New(rand.NewPCG(21, 22))
	ps := mlpParams(rng, d, h)
	params := make([]*ad.Value, len(ps))
	for i, p := range ps {
		params[i] = ad.Const(p)
	}
	xt := tensor.RandN(tensor.Float64, rng, B, d)
	x := ad.Var(xt)
	tr := ad.RowHessianTrace(ad.Sum(mlpEnergy(x, params)), x)

	energy := func(xt *tensor.Tensor) []float64 { return mlpEnergy(ad.Const(xt), params).T().ToFloat64() }
	// Second difference step: error ≈ h²·E⁗/12 + 4ε₆₄|E|/h² ≈ 1e-8·O(1) + 1e-8.
	const step = 1e-4
	want := make([]float64, B)
	e0 := energy(xt)
	for j := range d {
		plus, minus := xt.Clone(), xt.Clone()
		for b := range B {
			plus.Set(b*d+j, plus.At(b*d+j)+step)
			minus.Set(b*d+j, minus.At(b*d+j)-step)
		}
		ep, em := energy(plus), energy(minus)
		for b := range B {
			want[b] += (ep[b] - 2*e0[b] + em[b]) / (step * step)
		}
	}
	for b := range B {
		if got := tr.T().At(b); math.Abs(got-want[b]) > 1e-5*(1+math.Abs(want[b])) {
			t.Errorf("row %d: Hessian trace %.10g by autodiff, %.10g by second differences", b, got, want[b])
		}
	}

	// The trace is differentiable in the parameters (third-order use, as exact
	// score matching needs): check Σ_b tr H_b against finite differences in θ.
	f := func(ps []*ad.Value) *ad.Value {
		x := ad.Var(xt)
		return ad.Sum(ad.RowHessianTrace(ad.Sum(mlpEnergy(x, ps)), x, ad.CreateGraph()))
	}
	if err := adtest.Check(f, ps, 1, nil); err != nil {
		t.Fatal(err)
	}
}

func TestHVPAndVJP(t *testing.T) {
	// f(x) = Σ x³ has Hessian diag(6x): Hv = 6x⊙v; VJP of y = x² is 2x⊙v.
	x := ad.Var(tensor.FromFloat64(tensor.Float64, []float64{1, -2, 0.5}))
	v := ad.Const(tensor.FromFloat64(tensor.Float64, []float64{0.5, 1, -4}))
	hv := ad.HVP(ad.Sum(ad.Pow(x, 3)), x, v).T().ToFloat64()
	vjp := ad.VJP(ad.Square(x), x, v).T().ToFloat64()
	for i, want := range []float64{3, -12, -12} {
		if math.Abs(hv[i]-want) > 1e-12 {
			t.Errorf("HVP[%d] = %g, want %g", i, hv[i], want)
		}
	}
	for i, want := range []float64{1, -4, -4} {
		if math.Abs(vjp[i]-want) > 1e-12 {
			t.Errorf("VJP[%d] = %g, want %g", i, vjp[i], want)
		}
	}
}

func TestGradOfUnusedAndConst(t *testing.T) {
	x := ad.Var(tensor.FromFloat64(tensor.Float64, []float64{1, 2}))
	z := ad.Var(tensor.FromFloat64(tensor.Float64, []float64{3}))
	c := ad.Const(tensor.FromFloat64(tensor.Float64, []float64{5, 6}))
	y := ad.Sum(ad.Mul(x, c))
	g := ad.Grad(y, []*ad.Value{x, z, c})
	if got := g[0].T().ToFloat64(); got[0] != 5 || got[1] != 6 {
		t.Errorf("∂y/∂x = %v, want [5 6]", got)
	}
	if got := g[1].T().ToFloat64(); got[0] != 0 {
		t.Errorf("gradient with respect to an unused variable = %v, want 0", got)
	}
	if got := g[2].T().ToFloat64(); got[0] != 0 || got[1] != 0 {
		t.Errorf("gradient with respect to a constant = %v, want 0", got)
	}
	if g[0].RequiresGrad() {
		t.Error("a first-order gradient without CreateGraph is recorded")
	}
	if !ad.Grad(ad.Sum(ad.Pow(x, 3)), []*ad.Value{x}, ad.CreateGraph())[0].RequiresGrad() {
		t.Error("a CreateGraph gradient of x³ is not differentiable")
	}
}

func TestShapePanicsNameBothShapes(t *testing.T) {
	defer func() {
		r := fmt.Sprint(recover())
		if r == "<nil>" || !contains(r, "[3 4]") || !contains(r, "[5 6]") {
			t.Fatalf("panic %q does not name both shapes", r)
		}
	}()
	a := ad.Const(tensor.Zeros(tensor.Float64, 3, 4))
	b := ad.Const(tensor.Zeros(tensor.Float64, 5, 6))
	ad.MatMul(a, b, false, false)
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestConcurrentGraphs builds and differentiates independent graphs in
// several goroutines (run with -race); each must give the sequential answer.
func TestConcurrentGraphs(t *testing.T) {
	const workers = 8
	rng := rand.New(rand.NewPCG(31, 32))
	ps := mlpParams(rng, 3, 6)
	xs := make([]*tensor.Tensor, workers)
	for i := range xs {
		xs[i] = tensor.RandN(tensor.Float64, rng, 5, 3)
	}
	compute := func(xt *tensor.Tensor) []float64 {
		params := make([]*ad.Value, len(ps))
		for i, p := range ps {
			params[i] = ad.Var(p)
		}
		x := ad.Var(xt)
		e := ad.Sum(mlpEnergy(x, params))
		gx := ad.Grad(e, []*ad.Value{x}, ad.CreateGraph())[0]
		loss := ad.Sum(ad.Square(gx))
		return ad.Grad(loss, params[:1])[0].T().ToFloat64()
	}
	want := make([][]float64, workers)
	for i := range want {
		want[i] = compute(xs[i])
	}
	got := make([][]float64, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = compute(xs[i]) }()
	}
	wg.Wait()
	for i := range workers {
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Fatalf("worker %d: element %d = %v concurrently, %v sequentially", i, j, got[i][j], want[i][j])
			}
		}
	}
}

// TestReleaseGraph: releasing the graph during the walk gives the same
// gradients bit for bit, drops the intermediate tensors, lowers the measured
// peak, and refuses CreateGraph.
func TestReleaseGraph(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	ps := mlpParams(rng, 3, 16)
	xt := tensor.RandN(tensor.Float64, rng, 32, 3)
	build := func() (*ad.Value, []*ad.Value, *ad.Value) {
		params := make([]*ad.Value, len(ps))
		for i, p := range ps {
			params[i] = ad.Var(p)
		}
		x := ad.Var(xt)
		gx := ad.Grad(ad.Sum(mlpEnergy(x, params)), []*ad.Value{x}, ad.CreateGraph())[0]
		h := ad.Square(gx) // an intermediate node to check release on
		return ad.Sum(h), params, h
	}
	loss, params, _ := build()
	var keep ad.GradStats
	want := ad.Grad(loss, params, ad.TrackStats(&keep))
	loss2, params2, h := build()
	var rel ad.GradStats
	got := ad.Grad(loss2, params2, ad.ReleaseGraph(), ad.TrackStats(&rel))
	for i := range want {
		a, b := want[i].T().ToFloat64(), got[i].T().ToFloat64()
		for j := range a {
			if a[j] != b[j] {
				t.Fatalf("gradient %d differs with ReleaseGraph at %d: %v vs %v", i, j, b[j], a[j])
			}
		}
	}
	if h.T() != nil {
		t.Error("an intermediate value kept its tensor after ReleaseGraph")
	}
	if loss2.T() == nil || params2[0].T() == nil {
		t.Error("ReleaseGraph dropped the output or a variable")
	}
	if rel.GraphBytes != keep.GraphBytes || rel.PeakBytes >= keep.PeakBytes {
		t.Errorf("peak with release %d, without %d (graph %d, %d): want a lower peak", rel.PeakBytes, keep.PeakBytes, rel.GraphBytes, keep.GraphBytes)
	}
	defer func() {
		if recover() == nil {
			t.Error("ReleaseGraph with CreateGraph did not panic")
		}
	}()
	l3, p3, _ := build()
	ad.Grad(l3, p3, ad.ReleaseGraph(), ad.CreateGraph())
}

// TestConsume checks Consume against plain Grad on a loss that uses the
// parameters twice (an energy and its recorded input gradient, as exact SM
// and DSM do): each gradient handed over equals Grad's bit for bit, each is
// handed over once, and, because the callback overwrites the parameter with
// NaN as an optimizer update would overwrite it, a rule that read a
// parameter after its handover would spread NaN into the later gradients.
func TestConsume(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	// Few rows and wide layers, so that the gradients (of the 48×48 W2
	// above all) outweigh the activations, as in an MNIST MLP.
	ps := mlpParams(rng, 3, 48)
	xt := tensor.RandN(tensor.Float64, rng, 4, 3)
	build := func() (*ad.Value, []*ad.Value) {
		params := make([]*ad.Value, len(ps))
		for i, p := range ps {
			params[i] = ad.Var(p.Clone())
		}
		x := ad.Var(xt)
		gx := ad.Grad(ad.Sum(mlpEnergy(x, params)), []*ad.Value{x}, ad.CreateGraph())[0]
		return ad.Add(ad.Sum(ad.Square(gx)), ad.Sum(mlpEnergy(x, params))), params
	}
	loss, params := build()
	var keep ad.GradStats
	want := ad.Grad(loss, params, ad.ReleaseGraph(), ad.TrackStats(&keep))
	loss2, params2 := build()
	unused := ad.Var(tensor.Ones(tensor.Float64, 2))
	xs := append(params2, unused)
	var st ad.GradStats
	seen := make([]int, len(xs))
	var order []int
	got := ad.Grad(loss2, xs, ad.ReleaseGraph(), ad.TrackStats(&st), ad.Consume(func(i int, g *ad.Value) {
		seen[i]++
		order = append(order, i)
		var w []float64
		if i < len(want) {
			w = want[i].T().ToFloat64()
		} else {
			w = make([]float64, 2) // the unused variable's gradient is zero
		}
		for j, v := range g.T().ToFloat64() {
			if v != w[j] {
				t.Fatalf("gradient %d element %d: Consume gives %v, Grad %v", i, j, v, w[j])
			}
		}
		xs[i].T().Fill(math.NaN())
	}))
	for i, n := range seen {
		if n != 1 || got[i] != nil {
			t.Errorf("x %d handed over %d times, Grad returned %v; want once and nil", i, n, got[i])
		}
	}
	if order[0] == 0 || order[len(order)-1] != len(xs)-1 {
		t.Errorf("handover order %v: want the last layer's before the first's, and the unused variable last", order)
	}
	// A first-order loss peaks at the end of its walk, holding every
	// gradient, unless they are consumed.
	first := func() (*ad.Value, []*ad.Value) {
		params := make([]*ad.Value, len(ps))
		for i, p := range ps {
			params[i] = ad.Var(p)
		}
		return ad.Sum(mlpEnergy(ad.Const(xt), params)), params
	}
	l1, p1 := first()
	ad.Grad(l1, p1, ad.ReleaseGraph(), ad.TrackStats(&keep))
	l2, p2 := first()
	ad.Grad(l2, p2, ad.ReleaseGraph(), ad.TrackStats(&st), ad.Consume(func(int, *ad.Value) {}))
	if st.PeakBytes >= keep.PeakBytes {
		t.Errorf("peak with Consume %d, without %d: want lower", st.PeakBytes, keep.PeakBytes)
	}
	defer func() {
		if recover() == nil {
			t.Error("Consume with CreateGraph did not panic")
		}
	}()
	l3, p3 := build()
	ad.Grad(l3, p3, ad.CreateGraph(), ad.Consume(func(int, *ad.Value) {}))
}

// TestConsumeRepeatedX checks Consume when an x appears twice among xs
// (each position is handed the full gradient once, and the walk keeps the
// entry until the last handover), and that a following Grad, which reuses
// the first's bookkeeping, returns every gradient rather than taking them
// as already handed over.
func TestConsumeRepeatedX(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	// 32 elements: above bufpool.MinLen, so released buffers are pooled
	// (and, in tests, poisoned).
	at, bt := tensor.RandN(tensor.Float64, rng, 32), tensor.RandN(tensor.Float64, rng, 32)
	build := func() (*ad.Value, *ad.Value, *ad.Value) {
		a, b := ad.Var(at.Clone()), ad.Var(bt.Clone())
		return ad.Sum(ad.Mul(ad.Square(a), ad.Exp(b))), a, b
	}
	y, a, b := build()
	want := ad.Grad(y, []*ad.Value{a, b})
	y, a, b = build()
	xs := []*ad.Value{a, b, a}
	seen := make([]int, len(xs))
	got := ad.Grad(y, xs, ad.ReleaseGraph(), ad.Consume(func(i int, g *ad.Value) {
		seen[i]++
		w := want[i%2].T().ToFloat64()
		for j, v := range g.T().ToFloat64() {
			if v != w[j] {
				t.Fatalf("x %d element %d: Consume gives %v, Grad %v", i, j, v, w[j])
			}
		}
	}))
	for i, n := range seen {
		if n != 1 || got[i] != nil {
			t.Errorf("x %d handed over %d times, Grad returned %v; want once and nil", i, n, got[i])
		}
	}
	y, a, b = build()
	again := ad.Grad(y, []*ad.Value{a, b, a}, ad.ReleaseGraph())
	for i, g := range again {
		if g == nil {
			t.Fatalf("Grad after a consuming Grad returned nil for x %d", i)
		}
		if w := want[i%2].T().ToFloat64(); g.T().ToFloat64()[0] != w[0] {
			t.Errorf("x %d: gradient %v, want %v", i, g.T().ToFloat64(), w)
		}
	}
}
