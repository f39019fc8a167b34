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

// tinyNICE is a NICE small enough for gradient checks and quadrature, with a
// non-zero scale so that the Σ s term is exercised.
func tinyNICE(dim int, prior nn.Prior, seed uint64) *nn.NICE {
	rng := rand.New(rand.NewPCG(seed, 11))
	m := nn.NewNICE(tensor.Float64, dim, &nn.NICEConfig{Couplings: 3, Hidden: 6, Depth: 2, Prior: prior}, rng)
	m.Scale = ad.Var(tensor.Scale(tensor.RandN(tensor.Float64, rng, dim), 0.3))
	return m
}

// niceFrom rebuilds tmpl with the parameter values ps, in Params order.
func niceFrom(tmpl *nn.NICE, ps []*ad.Value) *nn.NICE {
	m := &nn.NICE{Prior: tmpl.Prior}
	k := 0
	for _, c := range tmpl.Couplings {
		mlp := &nn.MLP{Act: c.Act}
		for range c.Layers {
			mlp.Layers = append(mlp.Layers, &nn.Linear{W: ps[k], B: ps[k+1]})
			k += 2
		}
		m.Couplings = append(m.Couplings, mlp)
	}
	m.Scale = ps[k]
	return m
}

// modelParamTensors returns the tensors of m's parameters, in order.
func modelParamTensors(m nn.Module) []*tensor.Tensor {
	var ts []*tensor.Tensor
	for _, p := range m.Params() {
		ts = append(ts, p.Value.T())
	}
	return ts
}

func modelMaxAbsDiff(a, b *tensor.Tensor) float64 {
	x, y := a.ToFloat64(), b.ToFloat64()
	var m float64
	for i := range x {
		m = max(m, math.Abs(x[i]-y[i]))
	}
	return m
}

func TestNICEParamNames(t *testing.T) {
	m := nn.NewNICE(tensor.Float32, 5, &nn.NICEConfig{Couplings: 2, Hidden: 7, Depth: 2}, rand.New(rand.NewPCG(1, 1)))
	want := []struct {
		name  string
		shape []int
	}{
		{"couplings.0.layers.0.weight", []int{7, 3}}, // even half (3) → odd half (2)
		{"couplings.0.layers.0.bias", []int{7}},
		{"couplings.0.layers.1.weight", []int{7, 7}},
		{"couplings.0.layers.1.bias", []int{7}},
		{"couplings.0.layers.2.weight", []int{2, 7}},
		{"couplings.0.layers.2.bias", []int{2}},
		{"couplings.1.layers.0.weight", []int{7, 2}}, // odd half → even half
		{"couplings.1.layers.0.bias", []int{7}},
		{"couplings.1.layers.1.weight", []int{7, 7}},
		{"couplings.1.layers.1.bias", []int{7}},
		{"couplings.1.layers.2.weight", []int{3, 7}},
		{"couplings.1.layers.2.bias", []int{3}},
		{"scale", []int{5}},
	}
	ps := m.Params()
	if len(ps) != len(want) {
		t.Fatalf("%d params, want %d", len(ps), len(want))
	}
	for i, p := range ps {
		if p.Name != want[i].name || fmt.Sprint(p.Value.Shape()) != fmt.Sprint(want[i].shape) {
			t.Errorf("param %d: %s %v, want %s %v", i, p.Name, p.Value.Shape(), want[i].name, want[i].shape)
		}
		if p.Value.DType() != tensor.Float32 || !p.Value.RequiresGrad() {
			t.Errorf("param %s: %v, requires grad %v", p.Name, p.Value.DType(), p.Value.RequiresGrad())
		}
	}
	if m.Dim() != 5 {
		t.Errorf("Dim %d, want 5", m.Dim())
	}
}

func TestNICEInverse(t *testing.T) {
	// Round trips are exact up to rounding: each coupling adds and then
	// subtracts the same computed shift, so 1e-12 (about 1e4 float64
	// epsilons at values of order 1–10) bounds the error (measured 9e-16).
	const tol = 1e-12
	for _, dim := range []int{2, 5} { // 5: halves of unequal size
		m := tinyNICE(dim, nn.GaussianPrior, uint64(dim))
		rng := rand.New(rand.NewPCG(2, uint64(dim)))
		x := tensor.RandN(tensor.Float64, rng, 7, dim)
		if d := modelMaxAbsDiff(m.Inverse(m.Forward(ad.Const(x))).T(), x); d > tol {
			t.Errorf("d=%d: |f⁻¹(f(x)) − x| = %g", dim, d)
		}
		if d := modelMaxAbsDiff(m.Forward(m.Inverse(ad.Const(x))).T(), x); d > tol {
			t.Errorf("d=%d: |f(f⁻¹(z)) − z| = %g", dim, d)
		}
	}
}

// numDet returns the determinant of a row-major n×n matrix by Gaussian
// elimination with partial pivoting.
func numDet(a []float64, n int) float64 {
	a = append([]float64(nil), a...)
	d := 1.0
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r*n+c]) > math.Abs(a[p*n+c]) {
				p = r
			}
		}
		if p != c {
			for k := range n {
				a[c*n+k], a[p*n+k] = a[p*n+k], a[c*n+k]
			}
			d = -d
		}
		d *= a[c*n+c]
		for r := c + 1; r < n; r++ {
			f := a[r*n+c] / a[c*n+c]
			for k := c; k < n; k++ {
				a[r*n+k] -= f * a[c*n+k]
			}
		}
	}
	return d
}

// LogProb equals a brute-force change of variables: log p_Z(f(x)) plus the
// log-determinant of a finite-difference Jacobian of f.
func TestNICELogProbChangeOfVariables(t *testing.T) {
	// Central differences with h = 1e-5 have truncation error h²·|f‴|/6 ≈
	// 1e-11 and round-off ε·|f|/h ≈ 1e-11 per Jacobian entry; 1e-8 on the
	// log-density leaves a wide margin (measured 2e-11).
	const h, tol = 1e-5, 1e-8
	for _, prior := range []nn.Prior{nn.GaussianPrior, nn.LogisticPrior} {
		for _, dim := range []int{2, 3} {
			t.Run(fmt.Sprintf("%s/d=%d", prior, dim), func(t *testing.T) {
				m := tinyNICE(dim, prior, 3)
				rng := rand.New(rand.NewPCG(3, uint64(dim)))
				const n = 5
				x := tensor.RandN(tensor.Float64, rng, n, dim)
				got := m.LogProb(ad.Const(x)).T()
				f := func(x *tensor.Tensor) []float64 { return m.Forward(ad.Const(x)).T().ToFloat64() }
				z := f(x)
				jac := make([][]float64, n) // jac[r] is row r's d×d Jacobian
				for r := range jac {
					jac[r] = make([]float64, dim*dim)
				}
				for j := range dim {
					xp, xm := x.Clone(), x.Clone()
					for r := range n {
						xp.Set(r*dim+j, x.At(r*dim+j)+h)
						xm.Set(r*dim+j, x.At(r*dim+j)-h)
					}
					fp, fm := f(xp), f(xm)
					for r := range n {
						for i := range dim {
							jac[r][i*dim+j] = (fp[r*dim+i] - fm[r*dim+i]) / (2 * h)
						}
					}
				}
				for r := range n {
					var lp float64
					for i := range dim {
						zi := z[r*dim+i]
						if prior == nn.LogisticPrior {
							lp += -math.Log1p(math.Exp(zi)) - math.Log1p(math.Exp(-zi))
						} else {
							lp += -0.5*zi*zi - 0.5*math.Log(2*math.Pi)
						}
					}
					want := lp + math.Log(math.Abs(numDet(jac[r], dim)))
					if math.Abs(got.At(r)-want) > tol {
						t.Errorf("row %d: LogProb %.12g, change of variables %.12g", r, got.At(r), want)
					}
				}
			})
		}
	}
}

// For d = 2 the density integrates to 1 on a grid.
func TestNICENormalised(t *testing.T) {
	// The midpoint rule on [−L, L]² with step h: for a smooth density whose
	// tails are Gaussian-like it converges faster than any power of h, and
	// the mass outside |x| ≤ 10 is far below 1e-10 (tails have scale
	// e^{|s|} ≲ 1.5 around shifts of order 1). Measured error 7e-13; 1e-6 is
	// the stated bound.
	const L, h, tol = 10.0, 0.05, 1e-6
	m := tinyNICE(2, nn.GaussianPrior, 4)
	k := int(math.Round(2 * L / h))
	grid := tensor.Zeros(tensor.Float64, k*k, 2)
	for i := range k {
		for j := range k {
			grid.Set(2*(i*k+j), -L+(float64(i)+0.5)*h)
			grid.Set(2*(i*k+j)+1, -L+(float64(j)+0.5)*h)
		}
	}
	var mass float64
	for _, lp := range m.LogProb(ad.Const(grid)).T().ToFloat64() {
		mass += math.Exp(lp) * h * h
	}
	if math.Abs(mass-1) > tol {
		t.Fatalf("∫p = %.12f, want 1 ± %g", mass, tol)
	}
}

func TestNICEEnergyGradients(t *testing.T) {
	for _, prior := range []nn.Prior{nn.GaussianPrior, nn.LogisticPrior} {
		t.Run(string(prior), func(t *testing.T) {
			tmpl := tinyNICE(3, prior, 5)
			x := tensor.RandN(tensor.Float64, rand.New(rand.NewPCG(5, 0)), 4, 3)
			f := func(xs []*ad.Value) *ad.Value { return niceFrom(tmpl, xs[1:]).Energy(xs[0]) }
			if err := adtest.Check(f, append([]*tensor.Tensor{x}, modelParamTensors(tmpl)...), 2, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// sm.ExactSM on NICE agrees with a finite-difference score and Laplacian of
// LogProb, and its parameter gradient (third derivatives of the network)
// passes a gradient check.
func TestNICEExactSM(t *testing.T) {
	// Step 1e-3: central first and second differences have truncation errors
	// h²·|f‴|/6 and h²·|f⁗|/12 ≈ 1e-7 and round-off ε·|f|/h² ≈ 1e-9; 1e-5
	// relative is two orders above (measured 7e-10).
	const h, rtol = 1e-3, 1e-5
	m := tinyNICE(3, nn.GaussianPrior, 6)
	const n, dim = 6, 3
	x := tensor.RandN(tensor.Float64, rand.New(rand.NewPCG(6, 0)), n, dim)
	got := sm.ExactSM(m, x).Item()

	lp := func(x *tensor.Tensor) []float64 { return m.LogProb(ad.Const(x)).T().ToFloat64() }
	l0 := lp(x)
	var want float64
	for j := range dim {
		xp, xm := x.Clone(), x.Clone()
		for r := range n {
			xp.Set(r*dim+j, x.At(r*dim+j)+h)
			xm.Set(r*dim+j, x.At(r*dim+j)-h)
		}
		lpp, lpm := lp(xp), lp(xm)
		for r := range n {
			s := (lpp[r] - lpm[r]) / (2 * h)
			want += 0.5*s*s + (lpp[r]-2*l0[r]+lpm[r])/(h*h)
		}
	}
	want /= n
	if math.Abs(got-want) > rtol*math.Abs(want) {
		t.Fatalf("ExactSM %.10g, finite differences %.10g", got, want)
	}

	f := func(ps []*ad.Value) *ad.Value { return sm.ExactSM(niceFrom(m, ps), x) }
	if err := adtest.Check(f, modelParamTensors(m), 1, nil); err != nil {
		t.Fatal(err)
	}
}

func TestNICESample(t *testing.T) {
	// f(samples) must follow the prior: 4000 draws of N(0, 1) per coordinate
	// give a mean within 5 standard errors (5/√4000 ≈ 0.08) of 0 and a
	// variance within 5·√(2/4000) ≈ 0.11 of 1.
	const n = 4000
	m := tinyNICE(4, nn.GaussianPrior, 7)
	x := m.Sample(n, rand.New(rand.NewPCG(7, 0)))
	if fmt.Sprint(x.Shape()) != "[4000 4]" {
		t.Fatalf("sample shape %v", x.Shape())
	}
	z := m.Forward(ad.Const(x)).T().ToFloat64()
	for j := range 4 {
		var s, s2 float64
		for r := range n {
			v := z[r*4+j]
			s += v
			s2 += v * v
		}
		mean := s / n
		variance := s2/n - mean*mean
		if math.Abs(mean) > 5/math.Sqrt(n) || math.Abs(variance-1) > 5*math.Sqrt(2.0/n) {
			t.Errorf("coordinate %d: latent mean %.3f, variance %.3f", j, mean, variance)
		}
	}
	// The logistic prior's draws have variance π²/3.
	ml := tinyNICE(2, nn.LogisticPrior, 7)
	zl := ml.Forward(ad.Const(ml.Sample(n, rand.New(rand.NewPCG(8, 0))))).T().ToFloat64()
	var s2 float64
	for _, v := range zl {
		s2 += v * v
	}
	// The variance of a squared logistic draw is (7π⁴/15 − π⁴/9) ≈ 34.6,
	// so the standard error of the mean square over 2n values is √(34.6/8000).
	if v := s2 / (2 * n); math.Abs(v-math.Pi*math.Pi/3) > 5*math.Sqrt(34.6/(2*n)) {
		t.Errorf("logistic latent mean square %.3f, want π²/3 ≈ 3.29", v)
	}
}

func TestNICEPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 0))
	for name, f := range map[string]func(){
		"dim 1":       func() { nn.NewNICE(tensor.Float64, 1, nil, rng) },
		"prior":       func() { nn.NewNICE(tensor.Float64, 2, &nn.NICEConfig{Prior: "cauchy"}, rng) },
		"input width": func() { tinyNICE(3, nn.GaussianPrior, 1).Energy(ad.Const(tensor.Zeros(tensor.Float64, 2, 4))) },
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

func TestLogitHelpers(t *testing.T) {
	const lambda = nn.LogitLambda
	rng := rand.New(rand.NewPCG(10, 0))
	x := tensor.RandU(tensor.Float64, rng, 0.01, 0.99, 3, 4)

	// InvLogit undoes Logit to rounding: y is of order 5 and the sigmoid's
	// derivative is at most ¼, so 1e-14 is a few epsilons.
	if d := modelMaxAbsDiff(nn.InvLogit(nn.Logit(x, lambda), lambda), x); d > 1e-14 {
		t.Errorf("InvLogit(Logit(x)) differs from x by %g", d)
	}

	// LogitLogDet is Σ log y′(x_i), checked by central differences
	// (h = 1e-6: the relative error is about h²·|y‴/y′| ≲ 1e-8 for
	// x ∈ [0.01, 0.99]).
	const h, tol = 1e-6, 1e-6
	ld := nn.LogitLogDet(x, lambda)
	yp := nn.Logit(tensor.AddScalar(x, h), lambda)
	ym := nn.Logit(tensor.AddScalar(x, -h), lambda)
	for r := range 3 {
		var want float64
		for i := range 4 {
			want += math.Log((yp.At(r*4+i) - ym.At(r*4+i)) / (2 * h))
		}
		if math.Abs(ld.At(r)-want) > tol {
			t.Errorf("row %d: LogitLogDet %.10g, numeric %.10g", r, ld.At(r), want)
		}
	}
	logpY := tensor.FromFloat64(tensor.Float64, []float64{-1, -2, -3}, 3)
	px := nn.PixelLogLikelihood(logpY, x, lambda)
	for r := range 3 {
		if want := logpY.At(r) + ld.At(r); math.Abs(px.At(r)-want) > 1e-12 {
			t.Errorf("row %d: PixelLogLikelihood %g, want %g", r, px.At(r), want)
		}
	}

	// At x = 1, 1 − p = λ: evaluated in float64, a float32 input gives the
	// float64 result rounded to float32 (relative 6e-8; 1e-6 allowed),
	// where float32 arithmetic would get 1 − p only to about 6%.
	edge := tensor.FromFloat64(tensor.Float64, []float64{1, 1, 0, 0.5}, 2, 2)
	e64, e32 := nn.LogitLogDet(edge, lambda), nn.LogitLogDet(edge.AsType(tensor.Float32), lambda)
	for r := range 2 {
		if math.Abs(e32.At(r)-e64.At(r)) > 1e-6*math.Abs(e64.At(r)) {
			t.Errorf("row %d: float32 LogitLogDet %.9g, float64 %.9g", r, e32.At(r), e64.At(r))
		}
	}

	// −d·ln 2·b nats is b bits per dimension.
	if b := nn.BitsPerDim(-784*math.Ln2*1.5, 784); math.Abs(b-1.5) > 1e-12 {
		t.Errorf("BitsPerDim %g, want 1.5", b)
	}
}
