package sm_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// llGauss is the energy E(x) = ½(x − μ)ᵀP(x − μ) + shift, built from
// autodiff ops, whose normaliser is known:
// log Z = (d/2)·log 2π − ½·log det P − shift.
type llGauss struct {
	mu, p *ad.Value
	shift float64
	logZ  float64
}

// newLLGauss returns the Gaussian with mean mu and precision p (row-major
// d×d, symmetric positive definite) in dtype dt.
func newLLGauss(dt tensor.DType, mu, p []float64, shift float64) *llGauss {
	d := len(mu)
	return &llGauss{
		mu:    ad.Const(tensor.FromFloat64(dt, mu)),
		p:     ad.Const(tensor.FromFloat64(dt, p, d, d)),
		shift: shift,
		logZ:  0.5*float64(d)*math.Log(2*math.Pi) - 0.5*math.Log(llDet(p, d)) - shift,
	}
}

func (g *llGauss) Energy(x *ad.Value) *ad.Value {
	z := ad.Sub(x, g.mu)
	return ad.AddScalar(ad.Scale(ad.SumAxis(ad.Mul(z, ad.MatMul(z, g.p, false, false)), 1), 0.5), g.shift)
}

// logp returns the exact log-density of each row of x.
func (g *llGauss) logp(x *tensor.Tensor) []float64 {
	e := g.Energy(ad.Const(x)).T().ToFloat64()
	for i := range e {
		e[i] = -e[i] - g.logZ
	}
	return e
}

// llDet is the determinant by Gaussian elimination (d ≤ 3 here).
func llDet(p []float64, d int) float64 {
	a := append([]float64(nil), p...)
	det := 1.0
	for k := range d {
		det *= a[k*d+k]
		for i := k + 1; i < d; i++ {
			f := a[i*d+k] / a[k*d+k]
			for j := k; j < d; j++ {
				a[i*d+j] -= f * a[k*d+j]
			}
		}
	}
	return det
}

func llRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x11)) }

// llMean is the mean of v.
func llMean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// 2-D test Gaussian: precision [[2, 0.6], [0.6, 1]] (covariance eigenvalues
// 0.43 and 1.28, so standard deviations at most 1.14), mean (0.3, −0.5).
var (
	llMu2 = []float64{0.3, -0.5}
	llP2  = []float64{2, 0.6, 0.6, 1}
)

// TestLogLikelihoodGrid2D: on a box reaching 10 standard deviations from
// the mean the outside mass is below 1e-20, and the midpoint rule on a
// Gaussian has error of order exp(−2π²σ²/h²) (the trapezoid rule's for
// analytic integrands, Trefethen and Weideman, SIAM Review 2014), below
// 1e-30 for h = 0.12, σ ≥ 0.65: what remains is rounding, hence 1e-9 in
// float64. In float32 the energies carry relative errors of ~1e-7, hence
// 1e-5.
func TestLogLikelihoodGrid2D(t *testing.T) {
	for _, c := range []struct {
		dt    tensor.DType
		shift float64
		tol   float64
	}{
		{tensor.Float64, 0, 1e-9},
		{tensor.Float64, -1000, 1e-9}, // exp(−E) overflows float64: log-sum-exp must cope
		{tensor.Float64, 800, 1e-9},   // exp(−E) underflows
		{tensor.Float32, 0, 1e-5},
	} {
		g := newLLGauss(c.dt, llMu2, llP2, c.shift)
		data := tensor.Add(tensor.RandN(c.dt, llRand(1), 100, 2), tensor.FromFloat64(c.dt, llMu2))
		lo, hi := [2]float64{0.3 - 12, -0.5 - 12}, [2]float64{0.3 + 12, -0.5 + 12}
		mean, logZ := sm.LogLikelihoodGrid2D(g, lo, hi, 200, data)
		if math.Abs(logZ-g.logZ) > c.tol*math.Max(1, math.Abs(g.logZ)) {
			t.Errorf("%v shift %v: log Z = %.12g, want %.12g", c.dt, c.shift, logZ, g.logZ)
		}
		if want := llMean(g.logp(data)); math.Abs(mean-want) > c.tol*math.Max(1, math.Abs(g.logZ)) {
			t.Errorf("%v shift %v: mean log-likelihood %.12g, want %.12g", c.dt, c.shift, mean, want)
		}
	}
}

// TestLogLikelihoodGrid2DOutsideMass: the documented behaviour when the box
// misses mass. A box that stops at the mean of x₀ holds exactly half of
// every Gaussian's mass, so log Z comes out low by log 2.
func TestLogLikelihoodGrid2DOutsideMass(t *testing.T) {
	g := newLLGauss(tensor.Float64, llMu2, llP2, 0)
	data := tensor.FromFloat64(tensor.Float64, llMu2, 1, 2)
	_, logZ := sm.LogLikelihoodGrid2D(g, [2]float64{0.3, -12.5}, [2]float64{12.3, 11.5}, 400, data)
	if want := g.logZ - math.Log(2); math.Abs(logZ-want) > 1e-6 {
		t.Errorf("half box: log Z = %.9f, want %.9f", logZ, want)
	}
}

// TestLogLikelihoodGrid2DCoarse: with a coarse grid (h = 1.2, about one
// standard deviation) the quadrature error is visible but bounded, and it
// shrinks as the grid refines.
func TestLogLikelihoodGrid2DCoarse(t *testing.T) {
	g := newLLGauss(tensor.Float64, llMu2, llP2, 0)
	data := tensor.FromFloat64(tensor.Float64, llMu2, 1, 2)
	lo, hi := [2]float64{-11.7, -12.5}, [2]float64{12.3, 11.5}
	prev := math.Inf(1)
	for _, n := range []int{20, 30, 40} {
		_, logZ := sm.LogLikelihoodGrid2D(g, lo, hi, n, data)
		err := math.Abs(logZ - g.logZ)
		t.Logf("n = %d: |log Z error| = %.3g", n, err)
		if err >= prev || err > 0.05 {
			t.Errorf("n = %d: error %g (previous %g)", n, err, prev)
		}
		prev = err
	}
}

func TestLogLikelihoodGrid2DPanics(t *testing.T) {
	g := newLLGauss(tensor.Float64, llMu2, llP2, 0)
	ok := tensor.Zeros(tensor.Float64, 3, 2)
	for _, c := range []struct {
		name   string
		lo, hi [2]float64
		n      int
		data   *tensor.Tensor
	}{
		{"nil data", [2]float64{-1, -1}, [2]float64{1, 1}, 10, nil},
		{"3-D data", [2]float64{-1, -1}, [2]float64{1, 1}, 10, tensor.Zeros(tensor.Float64, 3, 3)},
		{"no rows", [2]float64{-1, -1}, [2]float64{1, 1}, 10, tensor.Zeros(tensor.Float64, 0, 2)},
		{"empty box", [2]float64{1, -1}, [2]float64{1, 1}, 10, ok},
		{"no grid", [2]float64{-1, -1}, [2]float64{1, 1}, 0, ok},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(r.(string), "sm: LogLikelihoodGrid2D") {
					t.Errorf("%s: panic %v, want an sm: LogLikelihoodGrid2D message", c.name, r)
				}
			}()
			sm.LogLikelihoodGrid2D(g, c.lo, c.hi, c.n, c.data)
		}()
	}
}

// 3-D test Gaussian for importance sampling: precision eigenvalues between
// 0.6 and 2.6, all above the 1/8 that N(0, 4I) needs for finite weight
// variance.
var (
	llMu3 = []float64{0.5, -0.3, 0.2}
	llP3  = []float64{1.5, 0.3, -0.2, 0.3, 1.0, 0.4, -0.2, 0.4, 2.0}
)

// TestLogZImportance: the estimate is within 4 standard errors of the truth
// plus the delta method's bias, stderr²/2 (a 4σ event has probability 6e-5,
// and the seeds are fixed); a shifted energy whose exp(−E) overflows float64
// works the same; the standard error shrinks like 1/√n (16 times the samples:
// a ratio of 4, accepted within 3…5.3 since the estimate of the standard error
// is itself random); the same seed gives the same answer.
func TestLogZImportance(t *testing.T) {
	g := newLLGauss(tensor.Float64, llMu3, llP3, 0)
	var errs []float64
	for _, n := range []int{2000, 32000} {
		logZ, se := sm.LogZImportance(g, 3, n, 4096, llRand(2))
		if !(se > 0) || math.Abs(logZ-g.logZ) > 4*se+se*se/2 {
			t.Errorf("n = %d: log Z = %.5f ± %.5f, want %.5f", n, logZ, se, g.logZ)
		}
		t.Logf("n = %d: log Z = %.5f ± %.5f, truth %.5f", n, logZ, se, g.logZ)
		errs = append(errs, se)
		again, se2 := sm.LogZImportance(g, 3, n, 1000, llRand(2)) // other batch size, same draws
		if math.Abs(again-logZ) > 1e-12 || math.Abs(se2-se) > 1e-12 {
			t.Errorf("n = %d: not reproducible: %v ± %v, then %v ± %v", n, logZ, se, again, se2)
		}
	}
	if r := errs[0] / errs[1]; r < 3 || r > 5.3 {
		t.Errorf("stderr %g at 2000 samples, %g at 32000: ratio %.2f, want about 4", errs[0], errs[1], r)
	}

	shifted := newLLGauss(tensor.Float64, llMu3, llP3, -1000)
	logZ, se := sm.LogZImportance(shifted, 3, 2000, 4096, llRand(2))
	if math.Abs(logZ-shifted.logZ) > 4*se+se*se/2 || math.IsInf(logZ, 0) {
		t.Errorf("shifted by −1000: log Z = %.5f ± %.5f, want %.5f", logZ, se, shifted.logZ)
	}

	// A broader proposal also works, and float32 models take SampleDType.
	g32 := newLLGauss(tensor.Float32, llMu3, llP3, 0)
	logZ, se = sm.LogZImportance(g32, 3, 8000, 4096, llRand(3), sm.ProposalStd(3), sm.SampleDType(tensor.Float32))
	if math.Abs(logZ-g.logZ) > 4*se+se*se/2+1e-5 {
		t.Errorf("σ = 3, float32: log Z = %.5f ± %.5f, want %.5f", logZ, se, g.logZ)
	}
}

// TestLogZImportanceCoverage: over 20 seeds the truth lies within 2 standard
// errors (a 95% interval) at least 14 times; fewer would mean the standard
// error is too small (binomial(20, 0.95) falls below 15 with probability
// 1.6%, below 14 with 0.3%).
func TestLogZImportanceCoverage(t *testing.T) {
	g := newLLGauss(tensor.Float64, llMu3, llP3, 0)
	hits := 0
	for seed := range uint64(20) {
		logZ, se := sm.LogZImportance(g, 3, 1000, 1000, llRand(100+seed))
		if math.Abs(logZ-g.logZ) <= 2*se {
			hits++
		}
	}
	t.Logf("truth within 2 stderr in %d of 20 runs", hits)
	if hits < 14 {
		t.Errorf("truth within 2 stderr in %d of 20 runs", hits)
	}
}

func TestLogLikelihoodIS(t *testing.T) {
	g := newLLGauss(tensor.Float64, llMu3, llP3, 0)
	data := tensor.Add(tensor.RandN(tensor.Float64, llRand(4), 50, 3), tensor.FromFloat64(tensor.Float64, llMu3))
	mean, logZ, se := sm.LogLikelihoodIS(g, data, 8000, 4096, llRand(5))
	want := llMean(g.logp(data))
	if math.Abs(mean-want) > 4*se+se*se/2 {
		t.Errorf("mean log-likelihood %.5f ± %.5f, want %.5f", mean, se, want)
	}
	// The data term is exact: mean + log Z is the mean of −E.
	if exact := want + g.logZ; math.Abs(mean+logZ-exact) > 1e-12 {
		t.Errorf("mean + log Z = %.12f, want %.12f", mean+logZ, exact)
	}
	// The samples take the data's dtype.
	g32 := newLLGauss(tensor.Float32, llMu3, llP3, 0)
	mean32, _, se32 := sm.LogLikelihoodIS(g32, data.AsType(tensor.Float32), 8000, 4096, llRand(5))
	if math.Abs(mean32-want) > 4*se32+se32*se32/2+1e-5 {
		t.Errorf("float32: mean log-likelihood %.5f ± %.5f, want %.5f", mean32, se32, want)
	}
}

func TestLogZImportancePanics(t *testing.T) {
	g := newLLGauss(tensor.Float64, llMu3, llP3, 0)
	for _, c := range []struct {
		name              string
		d, samples, batch int
		opts              []sm.ISOption
	}{
		{"d = 0", 0, 10, 10, nil},
		{"one sample", 3, 1, 10, nil},
		{"batch 0", 3, 10, 0, nil},
		{"σ = 0", 3, 10, 10, []sm.ISOption{sm.ProposalStd(0)}},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(r.(string), "sm: LogZImportance") {
					t.Errorf("%s: panic %v, want an sm: LogZImportance message", c.name, r)
				}
			}()
			sm.LogZImportance(g, c.d, c.samples, c.batch, llRand(1), c.opts...)
		}()
	}
}

// TestEffectiveSampleSize: Kish's (Σw)²/Σw² in closed form: n for n equal
// weights (at any scale, even one exp cannot represent), 1 for one weight
// that dominates, (Σw)²/Σw² = (1+2)²/(1+4) = 9/5 for weights 1 and 2; 0 for
// all-zero weights, NaN for a NaN one.
func TestEffectiveSampleSize(t *testing.T) {
	for _, c := range []struct {
		name string
		logw []float64
		want float64
	}{
		{"1000 equal", slices.Repeat([]float64{-3}, 1000), 1000},
		{"equal, beyond float64", slices.Repeat([]float64{5000}, 7), 7},
		{"one dominant", append(slices.Repeat([]float64{-800}, 999), 0), 1},
		{"1 and 2", []float64{0, math.Log(2)}, 9.0 / 5},
		{"all zero", []float64{math.Inf(-1), math.Inf(-1)}, 0},
	} {
		if got := sm.EffectiveSampleSize(c.logw); math.Abs(got-c.want) > 1e-9*c.want {
			t.Errorf("%s: ESS %v, want %v", c.name, got, c.want)
		}
	}
	if got := sm.EffectiveSampleSize([]float64{0, math.NaN()}); !math.IsNaN(got) {
		t.Errorf("a NaN weight: ESS %v, want NaN", got)
	}
}

// TestReportESS: LogZImportance reports the ESS of its weights. A proposal
// equal to the (normalised) model has equal weights, so ESS = n exactly up to
// rounding; a proposal far narrower than the model (σ = 0.05 against a
// model standard deviation of 10) has weights exp(χ²₃/2) of infinite
// variance, dominated by its outermost draws.
func TestReportESS(t *testing.T) {
	const n = 4000
	var ess float64
	// N(0, 4I) in 3-D, the default proposal itself: precision 1/4 on the diagonal.
	g := newLLGauss(tensor.Float64, []float64{0, 0, 0}, []float64{0.25, 0, 0, 0, 0.25, 0, 0, 0, 0.25}, 0)
	sm.LogZImportance(g, 3, n, 1000, llRand(6), sm.ReportESS(&ess))
	if math.Abs(ess-n) > 1e-6*n {
		t.Errorf("proposal = model: ESS %v, want %d", ess, n)
	}
	broad := newLLGauss(tensor.Float64, []float64{0, 0, 0}, []float64{0.01, 0, 0, 0, 0.01, 0, 0, 0, 0.01}, 0)
	sm.LogZImportance(broad, 3, n, 1000, llRand(6), sm.ProposalStd(0.05), sm.ReportESS(&ess))
	if !(ess >= 1) || ess > n/10 {
		t.Errorf("narrow proposal: ESS %v, want far below %d", ess, n)
	}
	t.Logf("narrow proposal: ESS %.1f of %d", ess, n)
}
