package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// Tolerances for comparing an optimizer's trajectory with the equations
// evaluated in float64: float64 runs differ by rounding only (a few ulp per
// step); float32 runs store parameters and buffers rounded to float32
// (2⁻²⁴ ≈ 6e-8 relative) at each of a handful of steps.
const (
	tol64 = 1e-12
	tol32 = 2e-6
)

var optDTypes = []tensor.DType{tensor.Float32, tensor.Float64}

func optTol(dt tensor.DType) float64 {
	if dt == tensor.Float32 {
		return tol32
	}
	return tol64
}

func optNear(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func optParam(dt tensor.DType, name string, v ...float64) Param {
	return Param{Name: name, Value: ad.Var(tensor.FromFloat64(dt, v))}
}

// optRun applies steps of opt to one parameter starting at p0, with the
// gradient at each step given by grad(step, p) (a copy of the parameter),
// and returns the parameter after each step.
func optRun(opt Optimizer, dt tensor.DType, p0 []float64, lr float64, steps int, grad func(step int, p []float64) []float64) [][]float64 {
	p := optParam(dt, "w", p0...)
	var out [][]float64
	for s := range steps {
		g := tensor.FromFloat64(dt, grad(s, p.Value.T().ToFloat64()))
		opt.Step([]Param{p}, []*tensor.Tensor{g}, lr)
		out = append(out, p.Value.T().ToFloat64())
	}
	return out
}

func optConstGrad(g ...float64) func(int, []float64) []float64 {
	return func(int, []float64) []float64 { return g }
}

func optCheck(t *testing.T, name string, dt tensor.DType, got [][]float64, want [][]float64) {
	t.Helper()
	for s := range want {
		for i := range want[s] {
			if !optNear(got[s][i], want[s][i], optTol(dt)) {
				t.Errorf("%s %v: step %d element %d = %.15g, want %.15g", name, dt, s+1, i, got[s][i], want[s][i])
			}
		}
	}
}

// Two steps of PyTorch's update equations worked by hand, with p₀ = 1, a raw
// gradient of 1 at both steps, lr = 0.1, μ = 0.9, λ = 0.1. Every number is
// exact in decimal, so the expected values carry no rounding of their own.
func TestSGDHandComputed(t *testing.T) {
	for _, dt := range optDTypes {
		// Plain momentum, L2 decay: g = 1 + 0.1·p.
		// step 1: g = 1.1, b = 1.1, p = 1 − 0.11 = 0.89
		// step 2: g = 1.089, b = 0.99 + 1.089 = 2.079, p = 0.89 − 0.2079 = 0.6821
		o := NewSGD(0.9)
		o.WeightDecay = WeightDecay{Coef: 0.1}
		optCheck(t, "SGD", dt, optRun(o, dt, []float64{1}, 0.1, 2, optConstGrad(1)), [][]float64{{0.89}, {0.6821}})

		// Nesterov: the step uses g + μ·b.
		// step 1: g = 1.1, b = 1.1, g + μb = 2.09, p = 0.791
		// step 2: g = 1.0791, b = 0.99 + 1.0791 = 2.0691, g + μb = 2.94129, p = 0.496871
		o = NewSGD(0.9)
		o.Nesterov = true
		o.WeightDecay = WeightDecay{Coef: 0.1}
		optCheck(t, "SGD nesterov", dt, optRun(o, dt, []float64{1}, 0.1, 2, optConstGrad(1)), [][]float64{{0.791}, {0.496871}})

		// Decoupled decay: p ← p·(1 − lr·λ) = 0.99·p first.
		// step 1: p = 0.99, b = 1, p = 0.89
		// step 2: p = 0.8811, b = 1.9, p = 0.6911
		o = NewSGD(0.9)
		o.WeightDecay = WeightDecay{Coef: 0.1, Decoupled: true}
		optCheck(t, "SGD decoupled", dt, optRun(o, dt, []float64{1}, 0.1, 2, optConstGrad(1)), [][]float64{{0.89}, {0.6911}})

		// No momentum: p ← p − lr·g.
		optCheck(t, "SGD plain", dt, optRun(NewSGD(0), dt, []float64{1, -1}, 0.1, 2, optConstGrad(0.5, 2)), [][]float64{{0.95, -1.2}, {0.9, -1.4}})
	}
}

// With a constant gradient g and no decay, the recurrences have closed
// forms: b_t = g(1−μᵗ)/(1−μ), so p_t = p₀ − lr·g·Σ_{k≤t}(1−μᵏ)/(1−μ).
func TestSGDMomentumClosedForm(t *testing.T) {
	const lr, mu, steps = 0.05, 0.8, 6
	g := []float64{0.5, -1, 2}
	p0 := []float64{1, -2, 0.25}
	for _, dt := range optDTypes {
		got := optRun(NewSGD(mu), dt, p0, lr, steps, optConstGrad(g...))
		want := make([][]float64, steps)
		for s := range steps {
			var sum float64
			for k := 1; k <= s+1; k++ {
				sum += (1 - math.Pow(mu, float64(k))) / (1 - mu)
			}
			for i := range g {
				want[s] = append(want[s], p0[i]-lr*g[i]*sum)
			}
		}
		optCheck(t, "SGD", dt, got, want)
	}
}

// Adam with a constant gradient: m_t/(1−β₁ᵗ) = g and v_t/(1−β₂ᵗ) = g², so
// bias correction makes every step exactly lr·g/(|g| + ε):
// p_t = p₀ − t·lr·g/(|g| + ε). Without bias correction the first steps
// would be about (1−β₁)/√(1−β₂) ≈ 3.2 times larger.
func TestAdamClosedForm(t *testing.T) {
	const lr, steps = 0.01, 5
	g := []float64{0.5, -1e-3, 4}
	p0 := []float64{1, -2, 0.25}
	for _, dt := range optDTypes {
		o := NewAdam()
		got := optRun(o, dt, p0, lr, steps, optConstGrad(g...))
		want := make([][]float64, steps)
		for s := range steps {
			for i := range g {
				want[s] = append(want[s], p0[i]-float64(s+1)*lr*g[i]/(math.Abs(g[i])+o.Eps))
			}
		}
		optCheck(t, "Adam", dt, got, want)
	}
}

// Two Adam steps with gradients 1 and then −2, p₀ = 0, lr = 0.1, worked by
// hand from PyTorch's equations:
//
//	step 1: m = 0.1, v = 0.001, m̂ = 1, v̂ = 1,  p = −0.1/(1 + 1e-8)
//	step 2: m = 0.09 − 0.2 = −0.11, v = 0.000999 + 0.004 = 0.004999,
//	        m̂ = −0.11/0.19, v̂ = 0.004999/0.001999,
//	        p = p₁ − 0.1·m̂/(√v̂ + 1e-8)
func TestAdamHandComputed(t *testing.T) {
	p1 := -0.1 / (1 + 1e-8)
	p2 := p1 - 0.1*(-0.11/0.19)/(math.Sqrt(0.004999/0.001999)+1e-8)
	grads := [][]float64{{1}, {-2}}
	for _, dt := range optDTypes {
		got := optRun(NewAdam(), dt, []float64{0}, 0.1, 2, func(s int, _ []float64) []float64 { return grads[s] })
		optCheck(t, "Adam", dt, got, [][]float64{{p1}, {p2}})
	}
	// p₂ ≈ −0.0633896, a number to recognise in a PyTorch run.
	if math.Abs(p2+0.0633896) > 1e-7 {
		t.Errorf("hand-computed p₂ = %.9g", p2)
	}
}

// refAdam is Adam as PyTorch's documentation writes it (Algorithm box of
// torch.optim.Adam and AdamW), one scalar at a time, for a gradient that
// depends on the parameter.
func refAdam(p0, lr, b1, b2, eps float64, wd WeightDecay, steps int, grad func(float64) float64) []float64 {
	p, m, v := p0, 0.0, 0.0
	var out []float64
	for t := 1; t <= steps; t++ {
		g := grad(p)
		if wd.Decoupled {
			p -= lr * wd.Coef * p
		} else {
			g += wd.Coef * p
		}
		m = b1*m + (1-b1)*g
		v = b2*v + (1-b2)*g*g
		mh := m / (1 - math.Pow(b1, float64(t)))
		vh := v / (1 - math.Pow(b2, float64(t)))
		p -= lr * mh / (math.Sqrt(vh) + eps)
		out = append(out, p)
	}
	return out
}

// Adam with weight decay, both kinds, on f(p) = p⁴/4 + p (gradient p³ + 1,
// changing every step), against refAdam.
func TestAdamWeightDecay(t *testing.T) {
	grad := func(p float64) float64 { return p*p*p + 1 }
	for _, dt := range optDTypes {
		for _, wd := range []WeightDecay{{Coef: 0.1}, {Coef: 0.1, Decoupled: true}} {
			o := NewAdam()
			o.Beta1, o.Beta2, o.Eps = 0.8, 0.99, 1e-6
			o.WeightDecay = wd
			got := optRun(o, dt, []float64{1.5}, 0.05, 6, func(_ int, p []float64) []float64 { return []float64{grad(p[0])} })
			ref := refAdam(1.5, 0.05, 0.8, 0.99, 1e-6, wd, 6, grad)
			want := make([][]float64, len(ref))
			for i, r := range ref {
				want[i] = []float64{r}
			}
			optCheck(t, fmt.Sprintf("Adam %+v", wd), dt, got, want)
		}
	}
}

// RMSProp with a constant gradient g: v_t = g²(1−αᵗ), so each step is
// lr·g/(|g|·√(1−αᵗ) + ε). Step 1 with g = 1, α = 0.99, lr = 0.01 moves
// 0.01/(0.1 + 1e-8) ≈ 0.1: the first steps are large, as in PyTorch.
func TestRMSPropClosedForm(t *testing.T) {
	const lr, alpha, steps = 0.01, 0.99, 5
	g := []float64{1, -0.25}
	p0 := []float64{1, 0}
	for _, dt := range optDTypes {
		o := NewRMSProp()
		got := optRun(o, dt, p0, lr, steps, optConstGrad(g...))
		want := make([][]float64, steps)
		pos := append([]float64(nil), p0...)
		for s := range steps {
			for i := range g {
				pos[i] -= lr * g[i] / (math.Abs(g[i])*math.Sqrt(1-math.Pow(alpha, float64(s+1))) + o.Eps)
			}
			want[s] = append([]float64(nil), pos...)
		}
		optCheck(t, "RMSProp", dt, got, want)

		// With momentum μ and L2 decay λ, by hand (g = 1 + λp, p₀ = 1,
		// λ = 0.5, μ = 0.5, lr = 0.01, α = 0.99, ε = 0):
		// step 1: g = 1.5, v = 0.0225, u = 1.5/0.15 = 10, b = 10, p = 0.9
		// step 2: g = 1.45, v = 0.022275 + 0.021025 = 0.0433, u = 1.45/√0.0433,
		//         b = 5 + u, p = 0.9 − 0.01·b
		o = NewRMSProp()
		o.Eps, o.Momentum = 0, 0.5
		o.WeightDecay = WeightDecay{Coef: 0.5}
		got = optRun(o, dt, []float64{1}, lr, 2, optConstGrad(1))
		optCheck(t, "RMSProp momentum", dt, got, [][]float64{{0.9}, {0.9 - 0.01*(5+1.45/math.Sqrt(0.0433))}})
	}
}

// Adam drives an ill-conditioned quadratic ½Σhᵢ(pᵢ − cᵢ)² (curvatures 1 to
// 100) to its minimum once the cosine schedule has annealed the rate.
func TestAdamQuadraticConverges(t *testing.T) {
	h := []float64{1, 10, 100}
	c := []float64{1, -2, 3}
	const steps = 1500
	sched := Cosine(0.1, 0, 50)
	for _, dt := range optDTypes {
		p := optParam(dt, "w", 0, 0, 0)
		o := NewAdam()
		for s := range steps {
			x := p.Value.T().ToFloat64()
			g := make([]float64, len(x))
			for i := range x {
				g[i] = h[i] * (x[i] - c[i])
			}
			o.Step([]Param{p}, []*tensor.Tensor{tensor.FromFloat64(dt, g)}, sched(s, steps))
		}
		for i, x := range p.Value.T().ToFloat64() {
			// 1e-3: far above float32 rounding of values near 3 (2e-7),
			// far below the starting distance (≥ 1).
			if math.Abs(x-c[i]) > 1e-3 {
				t.Errorf("%v: p[%d] = %v, want %v", dt, i, x, c[i])
			}
		}
	}
}

func TestStepInPlaceAndGradsUntouched(t *testing.T) {
	for _, opt := range []Optimizer{NewSGD(0.9), NewAdam(), NewRMSProp()} {
		p := optParam(tensor.Float32, "w", 1, 2)
		before := p.Value.T()
		g := tensor.FromFloat64(tensor.Float32, []float64{0.5, -0.5})
		opt.Step([]Param{p}, []*tensor.Tensor{g}, 0.1)
		if p.Value.T() != before {
			t.Errorf("%T: parameter tensor replaced, want an in-place update", opt)
		}
		if got := g.ToFloat64(); got[0] != 0.5 || got[1] != -0.5 {
			t.Errorf("%T: gradient modified to %v", opt, got)
		}
		if got := before.ToFloat64(); got[0] == 1 || got[1] == 2 {
			t.Errorf("%T: parameter not updated: %v", opt, got)
		}
	}
}

func TestStepMismatchPanics(t *testing.T) {
	p := optParam(tensor.Float32, "w", 1, 2)
	for name, grads := range map[string][]*tensor.Tensor{
		"length": {},
		"dtype":  {tensor.FromFloat64(tensor.Float64, []float64{1, 2})},
		"shape":  {tensor.FromFloat64(tensor.Float32, []float64{1, 2, 3})},
		"nil":    {nil},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "nn: Adam.Step") {
					t.Errorf("%s mismatch: recovered %v, want an nn: Adam.Step panic", name, r)
				}
			}()
			NewAdam().Step([]Param{p}, grads, 0.1)
		}()
	}
}

func TestGradNormAndClip(t *testing.T) {
	for _, dt := range optDTypes {
		a := tensor.FromFloat64(dt, []float64{3, 4})
		b := tensor.FromFloat64(dt, []float64{12}, 1, 1)
		grads := []*tensor.Tensor{a, b}
		if n := GradNorm(grads); n != 13 {
			t.Errorf("%v: GradNorm = %v, want 13 (3-4-12-13)", dt, n)
		}
		// Below the threshold: untouched, same tensors.
		if n := ClipGradNorm(grads, 20); n != 13 || grads[0] != a || grads[1] != b {
			t.Errorf("%v: ClipGradNorm(20) = %v, replaced %v %v", dt, n, grads[0] != a, grads[1] != b)
		}
		// Above: scaled by 6.5/(13 + 1e-6) (PyTorch's guard), new tensors.
		n := ClipGradNorm(grads, 6.5)
		if n != 13 {
			t.Errorf("%v: ClipGradNorm returned %v, want the pre-clip norm 13", dt, n)
		}
		c := 6.5 / (13 + 1e-6)
		want := [][]float64{{3 * c, 4 * c}, {12 * c}}
		for i, g := range grads {
			for j, v := range g.ToFloat64() {
				if !optNear(v, want[i][j], optTol(dt)) {
					t.Errorf("%v: clipped grads[%d][%d] = %v, want %v", dt, i, j, v, want[i][j])
				}
			}
		}
		if !optNear(GradNorm(grads), 13*c, optTol(dt)) {
			t.Errorf("%v: norm after clipping %v, want 6.5·13/(13 + 1e-6)", dt, GradNorm(grads))
		}
		if a.At(0) != 3 || b.At(0) != 12 {
			t.Errorf("%v: ClipGradNorm modified its input tensors", dt)
		}
		// Non-finite: reported, nothing scaled.
		nan := []*tensor.Tensor{tensor.FromFloat64(dt, []float64{1, math.NaN()})}
		if n := ClipGradNorm(nan, 1); !math.IsNaN(n) || nan[0].At(0) != 1 {
			t.Errorf("%v: ClipGradNorm of NaN = %v, grads[0][0] = %v", dt, n, nan[0].At(0))
		}
	}
	// Squares of 1e200 overflow float64; the norm must not.
	big := []*tensor.Tensor{tensor.FromFloat64(tensor.Float64, []float64{3e200, 4e200})}
	if n := GradNorm(big); !optNear(n, 5e200, tol64) {
		t.Errorf("GradNorm(3e200, 4e200) = %v, want 5e200", n)
	}
	if n := GradNorm([]*tensor.Tensor{tensor.FromFloat64(tensor.Float64, []float64{1, math.Inf(-1)})}); !math.IsInf(n, 1) {
		t.Errorf("GradNorm with −Inf = %v, want +Inf", n)
	}
}

// State and LoadState round trip: a copy of an optimizer continues exactly
// as the original.
func TestOptimStateRoundTrip(t *testing.T) {
	mk := func() []Optimizer {
		s := NewSGD(0.9)
		s.Nesterov = true
		r := NewRMSProp()
		r.Momentum = 0.5
		return []Optimizer{s, NewAdam(), r}
	}
	orig, copies := mk(), mk()
	for i, o := range orig {
		p := optParam(tensor.Float32, "w", 1, -1)
		q := optParam(tensor.Float32, "w", 0, 0)
		for s := range 3 {
			o.Step([]Param{p}, []*tensor.Tensor{tensor.FromFloat64(tensor.Float32, []float64{float64(s), 1})}, 0.1)
		}
		st := o.State()
		if st.Scalars["step"] != 3 {
			t.Errorf("%T: state step %v, want 3", o, st.Scalars["step"])
		}
		q.Value.T().CopyFrom(p.Value.T())
		if err := copies[i].LoadState([]Param{q}, st); err != nil {
			t.Fatalf("%T: LoadState: %v", o, err)
		}
		// The loaded state is a copy: changing st must not matter.
		for _, v := range st.Tensors {
			v.Fill(1e6)
		}
		for s := range 2 {
			g := tensor.FromFloat64(tensor.Float32, []float64{-float64(s), 2})
			o.Step([]Param{p}, []*tensor.Tensor{g}, 0.1)
			copies[i].Step([]Param{q}, []*tensor.Tensor{g}, 0.1)
		}
		pf, qf := p.Value.T().Float32s(), q.Value.T().Float32s()
		if pf[0] != qf[0] || pf[1] != qf[1] {
			t.Errorf("%T: continued copy %v differs from original %v", o, qf, pf)
		}
	}
}

func TestLoadStateErrors(t *testing.T) {
	p := optParam(tensor.Float32, "w", 1, 2)
	o := NewAdam()
	o.Step([]Param{p}, []*tensor.Tensor{tensor.FromFloat64(tensor.Float32, []float64{1, 1})}, 0.1)
	good := o.State()
	with := func(f func(*OptimState)) OptimState {
		st := OptimState{Kind: good.Kind, Tensors: map[string]*tensor.Tensor{}, Scalars: map[string]float64{}}
		for k, v := range good.Tensors {
			st.Tensors[k] = v
		}
		for k, v := range good.Scalars {
			st.Scalars[k] = v
		}
		f(&st)
		return st
	}
	cases := []struct {
		name string
		st   OptimState
		want string
	}{
		{"kind", with(func(s *OptimState) { s.Kind = "sgd" }), `for "sgd", not "adam"`},
		{"unknown tensor", with(func(s *OptimState) { s.Tensors["momentum_buffer.w"] = tensor.Zeros(tensor.Float32, 2) }), `"momentum_buffer.w": not a buffer`},
		{"unknown param", with(func(s *OptimState) { s.Tensors["exp_avg.v"] = tensor.Zeros(tensor.Float32, 2) }), `"exp_avg.v": not a buffer`},
		{"shape", with(func(s *OptimState) { s.Tensors["exp_avg.w"] = tensor.Zeros(tensor.Float32, 3) }), `"exp_avg.w" is float32 [3], parameter "w" is float32 [2]`},
		{"dtype", with(func(s *OptimState) { s.Tensors["exp_avg_sq.w"] = tensor.Zeros(tensor.Float64, 2) }), `"exp_avg_sq.w" is float64 [2]`},
		{"missing", with(func(s *OptimState) { delete(s.Tensors, "exp_avg_sq.w") }), `missing "exp_avg_sq.w"`},
		{"fractional step", with(func(s *OptimState) { s.Scalars["step"] = 1.5 }), `"step" is 1.5`},
		{"negative step", with(func(s *OptimState) { s.Scalars["step"] = -1 }), `"step" is -1`},
		{"unknown scalar", with(func(s *OptimState) { s.Scalars["lr"] = 1 }), `unknown scalar "lr"`},
	}
	for _, c := range cases {
		fresh := NewAdam()
		err := fresh.LoadState([]Param{p}, c.st)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: LoadState error %v, want one containing %s", c.name, err, c.want)
		}
		if st := fresh.State(); len(st.Tensors) != 0 || st.Scalars["step"] != 0 {
			t.Errorf("%s: a failed LoadState changed the state", c.name)
		}
	}
	// SGD without momentum has no buffers; with step 0 none are required.
	if err := NewSGD(0).LoadState([]Param{p}, OptimState{Kind: "sgd", Scalars: map[string]float64{"step": 4}}); err != nil {
		t.Errorf("SGD without momentum: %v", err)
	}
	if err := NewAdam().LoadState([]Param{p}, OptimState{Kind: "adam"}); err != nil {
		t.Errorf("fresh Adam state: %v", err)
	}
}

func TestSchedules(t *testing.T) {
	const lr, minLR, total = 0.1, 0.001, 110
	checks := []struct {
		name      string
		got, want float64
	}{
		{"constant", Constant(lr)(57, total), lr},
		{"cosine start", Cosine(lr, minLR, 0)(0, total), lr},
		{"cosine middle", Cosine(lr, minLR, 0)(total/2, total), (lr + minLR) / 2},
		{"cosine end", Cosine(lr, minLR, 0)(total, total), minLR},
		{"cosine past end", Cosine(lr, minLR, 0)(total+5, total), minLR},
		{"warmup first", Cosine(lr, minLR, 10)(0, total), lr / 10},
		{"warmup last", Cosine(lr, minLR, 10)(9, total), lr},
		{"cosine after warmup", Cosine(lr, minLR, 10)(10, total), lr},
		{"cosine middle after warmup", Cosine(lr, minLR, 10)(60, total), (lr + minLR) / 2},
		{"cosine end after warmup", Cosine(lr, minLR, 10)(total, total), minLR},
		{"warmup longer than optRun", Cosine(lr, minLR, 10)(10, 5), minLR},
		{"step decay start", StepDecay(lr, 0.5, 30)(0, total), lr},
		{"step decay before drop", StepDecay(lr, 0.5, 30)(29, total), lr},
		{"step decay after drop", StepDecay(lr, 0.5, 30)(30, total), lr / 2},
		{"step decay twice", StepDecay(lr, 0.5, 30)(65, total), lr / 4},
	}
	for _, c := range checks {
		if !optNear(c.got, c.want, tol64) {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
	// The cosine decreases monotonically after the warmup.
	s := Cosine(lr, minLR, 10)
	for step := 10; step < total; step++ {
		if s(step+1, total) > s(step, total) {
			t.Errorf("cosine rises from step %d to %d", step, step+1)
		}
	}
}

// stepOnly hides the ParamStepper methods of an optimizer, to test Update's
// fallback.
type stepOnly struct{ Optimizer }

// TestUpdateMatchesStep: Update (gradients consumed as they become final,
// with in-place updates during the backward pass) leaves the same parameters
// and optimizer state, bit for bit, as Grad followed by Step, over a few
// steps of a loss that uses the parameters in a recorded backward pass too.
func TestUpdateMatchesStep(t *testing.T) {
	for _, dt := range optDTypes {
		for name, mk := range map[string]func() Optimizer{
			"adam":     func() Optimizer { return NewAdamW(0.01) },
			"sgd":      func() Optimizer { return &SGD{Momentum: 0.9, Nesterov: true} },
			"rmsprop":  func() Optimizer { return &RMSProp{Alpha: 0.99, Eps: 1e-8, Momentum: 0.5} },
			"fallback": func() Optimizer { return stepOnly{NewAdam()} },
		} {
			run := func(fused bool) (*MLP, Optimizer) {
				rng := rand.New(rand.NewPCG(3, 4))
				m := NewMLP(dt, []int{3, 16, 16, 1}, Softplus, rng)
				x := tensor.RandN(dt, rng, 8, 3)
				opt := mk()
				for range 3 {
					xv := ad.Var(x)
					gx := ad.Grad(ad.Sum(m.Energy(xv)), []*ad.Value{xv}, ad.CreateGraph())[0]
					loss := ad.Add(ad.Mean(ad.Square(gx)), ad.Mean(m.Energy(xv)))
					if fused {
						Update(loss, m.Params(), opt, 1e-2)
						continue
					}
					gs := ad.Grad(loss, Values(m))
					grads := make([]*tensor.Tensor, len(gs))
					for i, g := range gs {
						grads[i] = g.T()
					}
					opt.Step(m.Params(), grads, 1e-2)
				}
				return m, opt
			}
			mw, ow := run(false)
			mg, og := run(true)
			for i, p := range mw.Params() {
				a, b := p.Value.T().ToFloat64(), mg.Params()[i].Value.T().ToFloat64()
				for j := range a {
					if a[j] != b[j] {
						t.Fatalf("%v %s: %s[%d] = %v after Update, %v after Step", dt, name, p.Name, j, b[j], a[j])
					}
				}
			}
			sw, sg := ow.State(), og.State()
			for k, tw := range sw.Tensors {
				a, b := tw.ToFloat64(), sg.Tensors[k].ToFloat64()
				for j := range a {
					if a[j] != b[j] {
						t.Fatalf("%v %s: state %s[%d] = %v after Update, %v after Step", dt, name, k, j, b[j], a[j])
					}
				}
			}
		}
	}
}
