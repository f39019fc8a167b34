package nn_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/autodiff/adtest"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// tinyDKEF is a DKEF small enough for gradient checks (d = 2, 5 inducing
// points, features 2→5→4, 2 kernels), with its base density moved away from
// N(0, I) so that every term of b is exercised.
func tinyDKEF(act nn.Activation, raw, features bool, seed uint64) *nn.DKEF {
	rng := rand.New(rand.NewPCG(seed, 21))
	m := nn.NewDKEF(tensor.Float64, 2, &nn.DKEFConfig{
		Inducing: 5, Hidden: []int{5, 4}, Act: act, Kernels: 2, RawInput: raw, Lambda: 0.1,
	}, rng)
	if !features {
		m.Features = nil
	}
	m.BaseMean = ad.Var(tensor.Scale(tensor.RandN(tensor.Float64, rng, 2), 0.3))
	m.BaseLogStd = ad.Var(tensor.Scale(tensor.RandN(tensor.Float64, rng, 2), 0.3))
	return m
}

// dkefFrom rebuilds tmpl with the parameter values ps, in Params order.
func dkefFrom(tmpl *nn.DKEF, ps []*ad.Value) *nn.DKEF {
	m := &nn.DKEF{RawInput: tmpl.RawInput, LogLambda: tmpl.LogLambda}
	k := 0
	if tmpl.Features != nil {
		m.Features = &nn.MLP{Act: tmpl.Features.Act}
		for range tmpl.Features.Layers {
			m.Features.Layers = append(m.Features.Layers, &nn.Linear{W: ps[k], B: ps[k+1]})
			k += 2
		}
	}
	m.Inducing, m.LogBandwidths, m.LogKernelWeights = ps[k], ps[k+1], ps[k+2]
	k += 3
	if tmpl.LogLambda.RequiresGrad() {
		m.LogLambda = ps[k]
		k++
	}
	m.BaseMean, m.BaseLogStd = ps[k], ps[k+1]
	return m
}

func TestDKEFParamNames(t *testing.T) {
	m := nn.NewDKEF(tensor.Float32, 3, &nn.DKEFConfig{Inducing: 7}, rand.New(rand.NewPCG(1, 3)))
	want := []string{
		"features.layers.0.weight [30 3]", "features.layers.0.bias [30]",
		"features.layers.1.weight [30 30]", "features.layers.1.bias [30]",
		"inducing_points [7 3]", "log_bandwidths [3]", "log_kernel_weights [3]", "log_lambda [1]",
		"base.mean [3]", "base.log_std [3]",
	}
	ps := m.Params()
	if len(ps) != len(want) {
		t.Fatalf("%d params, want %d", len(ps), len(want))
	}
	for i, p := range ps {
		if got := fmt.Sprintf("%s %v", p.Name, p.Value.Shape()); got != want[i] {
			t.Errorf("param %d: %s, want %s", i, got, want[i])
		}
	}
	fixed := nn.NewDKEF(tensor.Float32, 3, &nn.DKEFConfig{FixedLambda: true}, rand.New(rand.NewPCG(1, 3)))
	for _, p := range fixed.Params() {
		if p.Name == "log_lambda" {
			t.Error("a fixed λ is listed as a parameter")
		}
	}
}

// The closed-form G and b are right: the α Fit returns is a stationary point
// of the exact score-matching loss (computed by sm.ExactSM with autodiff
// Hessians) plus (λ/2)‖α‖² on the fitting batch. At α = 0 the same gradient
// is b, so the ratio of the two norms measures the error of the closed forms.
func TestDKEFFitIsStationary(t *testing.T) {
	// Measured ratios are below 1e-14; 1e-9 leaves room for the condition
	// number of G + λI (λ = 0.1) without hiding a wrong term, which gives a
	// ratio of order 1.
	const tol = 1e-9
	cases := []struct {
		act           nn.Activation
		raw, features bool
	}{
		{nn.Softplus, false, true},
		{nn.Softplus, true, true},
		{nn.Softplus, true, false},
		{nn.Tanh, false, true},
		{nn.Sigmoid, false, true},
		{nn.Swish, false, true},
		{nn.ELU, true, true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/raw=%v/features=%v", c.act, c.raw, c.features), func(t *testing.T) {
			m := tinyDKEF(c.act, c.raw, c.features, 2)
			x := tensor.RandN(tensor.Float64, rand.New(rand.NewPCG(2, 0)), 8, 2)
			lambda := math.Exp(m.LogLambda.T().At(0))
			gradAt := func(alpha *tensor.Tensor) []float64 {
				a := ad.Var(alpha)
				m.Alpha = a
				loss := ad.Add(sm.ExactSM(m, x), ad.Scale(ad.Sum(ad.Square(a)), lambda/2))
				return ad.GradT(loss, a).ToFloat64()
			}
			alpha := m.Fit(x).T()
			g := gradAt(alpha)
			b := gradAt(tensor.ZerosLike(alpha))
			if r := vecNorm(g) / vecNorm(b); !(r < tol) {
				t.Fatalf("‖∇J(α)‖/‖∇J(0)‖ = %g, want < %g", r, tol)
			}
		})
	}
}

func vecNorm(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

func TestDKEFGradients(t *testing.T) {
	tmpl := tinyDKEF(nn.Softplus, true, true, 3)
	rng := rand.New(rand.NewPCG(3, 0))
	xfit := tensor.RandN(tensor.Float64, rng, 6, 2)
	x := tensor.RandN(tensor.Float64, rng, 4, 2)

	// With respect to every parameter, α re-fitted inside the function, so
	// the check runs through Solve and the closed-form derivatives; order 2
	// because it is cheap here, though training needs only order 1.
	t.Run("params", func(t *testing.T) {
		f := func(ps []*ad.Value) *ad.Value {
			m := dkefFrom(tmpl, ps)
			m.Fit(xfit)
			return m.Energy(ad.Const(x))
		}
		if err := adtest.Check(f, modelParamTensors(tmpl), 2, nil); err != nil {
			t.Fatal(err)
		}
	})
	// The two-batch training loss: α fitted on one batch, sliced score
	// matching on another, differentiated with respect to the parameters
	// (fourth derivatives of φ, through Solve).
	t.Run("ssm", func(t *testing.T) {
		o := &sm.Options{V: tensor.RandN(tensor.Float64, rand.New(rand.NewPCG(3, 1)), 4, 2)}
		f := func(ps []*ad.Value) *ad.Value {
			m := dkefFrom(tmpl, ps)
			m.Fit(xfit)
			return sm.SSM(m, x, o)
		}
		if err := adtest.Check(f, modelParamTensors(tmpl), 1, nil); err != nil {
			t.Fatal(err)
		}
	})
	// With respect to x at order 2, what score-matching losses need.
	t.Run("x", func(t *testing.T) {
		f := func(xs []*ad.Value) *ad.Value {
			m := dkefFrom(tmpl, nn.Values(tmpl))
			m.Fit(xfit)
			return m.Energy(xs[0])
		}
		if err := adtest.Check(f, []*tensor.Tensor{x}, 2, nil); err != nil {
			t.Fatal(err)
		}
	})
}

// After Fit on samples of a Gaussian that q0 = N(0, I) does not match, the
// exact score-matching loss on held-out samples is lower than with α = 0.
func TestDKEFFitLowersSMLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 0))
	sample := func(n int) *tensor.Tensor {
		// N((1, −0.5), Σ) with standard deviations 0.5 and 1.5, correlation 0.6.
		x := tensor.Zeros(tensor.Float64, n, 2)
		for r := range n {
			a, b := rng.NormFloat64(), rng.NormFloat64()
			x.Set(2*r, 1+0.5*a)
			x.Set(2*r+1, -0.5+1.5*(0.6*a+0.8*b))
		}
		return x
	}
	// The true density's loss is E[½‖s‖² + tr ∇s] = −½ tr Σ⁻¹ = −2.5/0.72.
	const optimum = -2.5 / 0.72
	fit, held := sample(200), sample(200)
	m := nn.NewDKEF(tensor.Float64, 2, &nn.DKEFConfig{Inducing: 20, Hidden: []int{10}, Kernels: 2, RawInput: true}, rng)
	m.Inducing = ad.Var(tensor.SliceRows(fit, 0, 20).Clone())
	m.MedianBandwidths(fit)
	m.Alpha = ad.Const(tensor.Zeros(tensor.Float64, 20))
	base := sm.ExactSMLoss(m, held, 200)
	m.Fit(fit)
	fitted := sm.ExactSMLoss(m, held, 200)
	t.Logf("held-out exact SM loss: %.4f with α = 0, %.4f fitted, %.4f for the true density", base, fitted, optimum)
	if !(fitted < base) {
		t.Fatalf("fitted loss %.4f is not below %.4f", fitted, base)
	}
	// Untrained features, 20 inducing points and λ = 1e-2 close about half
	// of the gap to the true density's loss (measured 47%); a quarter is
	// the bound.
	if gain := (base - fitted) / (base - optimum); gain < 0.25 {
		t.Fatalf("Fit closes %.0f%% of the gap to the optimum, want ≥ 25%%", 100*gain)
	}
}

func TestDKEFMedianBandwidths(t *testing.T) {
	const tol = 1e-12                          // a log and an exp of values of order 1
	m := tinyDKEF(nn.Softplus, true, false, 7) // raw input only: distances are ‖x_i − x_j‖
	// Pairwise distances 1, 2 and 3 (points 0, 1 and 3 on a line): median 2.
	x := tensor.FromFloat64(tensor.Float64, []float64{0, 0, 1, 0, 3, 0}, 3, 2)
	m.MedianBandwidths(x)
	for r, want := range []float64{2 / math.Sqrt2, 2 * math.Sqrt2} {
		if got := math.Exp(m.LogBandwidths.T().At(r)); math.Abs(got-want) > tol {
			t.Errorf("σ_%d = %.15g, want %.15g", r, got, want)
		}
	}
}

func TestDKEFFloat32(t *testing.T) {
	// The same model in float32 and float64 gives energies within 1e-3
	// relative: the Gram matrix and the system are formed in float32 (7
	// significant digits) and the solve amplifies their error by at most the
	// condition number of G + λI, below 1e3 with λ = 0.1 here.
	const rtol = 1e-3
	m64 := tinyDKEF(nn.Softplus, true, true, 5)
	var ps []*ad.Value
	for _, p := range m64.Params() {
		ps = append(ps, ad.Var(p.Value.T().AsType(tensor.Float32)))
	}
	m32 := dkefFrom(m64, ps)
	m32.LogLambda = ad.Const(m64.LogLambda.T().AsType(tensor.Float32))
	rng := rand.New(rand.NewPCG(5, 0))
	xfit, x := tensor.RandN(tensor.Float64, rng, 6, 2), tensor.RandN(tensor.Float64, rng, 4, 2)
	m64.Fit(xfit)
	m32.Fit(xfit.AsType(tensor.Float32))
	e64 := m64.Energy(ad.Const(x)).T()
	e32 := m32.Energy(ad.Const(x.AsType(tensor.Float32))).T()
	if e32.DType() != tensor.Float32 {
		t.Fatalf("dtype %v", e32.DType())
	}
	for i := range 4 {
		if math.Abs(e32.At(i)-e64.At(i)) > rtol*math.Abs(e64.At(i)) {
			t.Errorf("row %d: float32 %g, float64 %g", i, e32.At(i), e64.At(i))
		}
	}
}

func TestDKEFPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"energy before fit": func() { tinyDKEF(nn.Softplus, false, true, 6).Energy(ad.Const(tensor.Zeros(tensor.Float64, 1, 2))) },
		"input width":       func() { tinyDKEF(nn.Softplus, false, true, 6).Fit(tensor.Zeros(tensor.Float64, 3, 4)) },
		"no kernel input":   func() { tinyDKEF(nn.Softplus, false, false, 6).Fit(tensor.Zeros(tensor.Float64, 3, 2)) },
		"bad config": func() {
			nn.NewDKEF(tensor.Float64, 2, &nn.DKEFConfig{Lambda: -1}, rand.New(rand.NewPCG(6, 0)))
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r, _ := recover().(string); len(r) < 4 || r[:4] != "nn: " {
					t.Fatalf("panic %q, want an nn: message", r)
				}
			}()
			f()
		})
	}
}
