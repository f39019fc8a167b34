package sm_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// Gaussian data N(μ, s²I) smoothed by N(0, σ²I) is N(μ, V·I), V = s² + σ²,
// and the posterior mean of the clean point is E[x | y] = μ + (s²/V)(y − μ):
// the closed forms the tests below check the samplers against.

// TestDenoiseIsPosteriorMean: the jump y + σ²∇log p_σ(y) on the smoothed
// Gaussian's energy is E[x | y] exactly (to rounding).
func TestDenoiseIsPosteriorMean(t *testing.T) {
	const s, sigma = 0.4, 0.3
	mu := []float64{1, -0.5, 2}
	v := s*s + sigma*sigma
	y := tensor.RandN(tensor.Float64, rand.New(rand.NewPCG(1, 2)), 20, 3)
	before := y.Clone()
	got := sm.Denoise(isoGaussian(mu, math.Sqrt(v)), y, sigma)
	for i := range got.Len() {
		want := mu[i%3] + s*s/v*(y.At(i)-mu[i%3])
		if math.Abs(got.At(i)-want) > 1e-12 {
			t.Fatalf("Denoise at %d = %.15g, E[x|y] = %.15g", i, got.At(i), want)
		}
		if y.At(i) != before.At(i) {
			t.Fatal("Denoise modified its input")
		}
	}
}

// moments returns the mean and the sample variance of column j of x [n, d].
func moments(x *tensor.Tensor, j int) (mean, variance float64) {
	n, d := x.Dim(0), x.Dim(1)
	for i := range n {
		mean += x.At(i*d + j)
	}
	mean /= float64(n)
	for i := range n {
		e := x.At(i*d+j) - mean
		variance += e * e
	}
	return mean, variance / float64(n-1)
}

// TestWalkJumpGaussian: walk-jump on the smoothed Gaussian. The walk's
// stationary law is N(μ, w·I), w = V/(1 − α/(4V)) (the AR(1) recursion of
// TestLangevinStationary), and the jump maps it to N(μ, (s²/V)²·w·I): the
// law of the posterior means. Mean and variance are checked within 5
// standard errors of N independent chains.
func TestWalkJumpGaussian(t *testing.T) {
	const n, s, sigma, alpha = 4000, 0.5, 0.5, 0.05
	mu := []float64{1.5, -2}
	v := s*s + sigma*sigma
	rng := rand.New(rand.NewPCG(3, 4))
	x0 := tensor.RandN(tensor.Float64, rng, n, 2)
	// 400 steps: (1 − α/(2V))^400 ≈ 2e-18 of the start remains.
	x := sm.WalkJump(isoGaussian(mu, math.Sqrt(v)), x0, 400, alpha, sigma, rng)
	want := (s * s / v) * (s * s / v) * v / (1 - alpha/(4*v))
	for j := range 2 {
		mean, variance := moments(x, j)
		if se := math.Sqrt(want / n); math.Abs(mean-mu[j]) > 5*se {
			t.Errorf("coordinate %d: mean %.4f, want %.4f ± %.4f", j, mean, mu[j], 5*se)
		}
		if se := want * math.Sqrt(2.0/(n-1)); math.Abs(variance-want) > 5*se {
			t.Errorf("coordinate %d: variance %.4f, want %.4f ± %.4f", j, variance, want, 5*se)
		}
	}
}

// TestDenoiseAfterAnnealed: annealed Langevin on a narrow Gaussian's
// smoothed density ends at the smoothed spread; the final denoising step
// brings the samples to the data, by the factor s²/V in distance.
func TestDenoiseAfterAnnealed(t *testing.T) {
	const n, s, sigma = 2000, 0.05, 0.3
	mu := []float64{0.5, 0.5, 0.5, 0.5}
	v := s*s + sigma*sigma
	e := isoGaussian(mu, math.Sqrt(v))
	rng := rand.New(rand.NewPCG(5, 6))
	x0 := tensor.RandU(tensor.Float64, rng, 0, 1, n, 4)
	// α = 0.01 at the last level: 60 steps there leave (1 − α/(2V))^60 ≈ 0.04 of
	// the start, and the levels before it more than mixed.
	y := sm.AnnealedLangevin(e, x0, sm.GeometricSchedule(1, sigma, 4), 60, 0.01, rng)
	z := sm.Denoise(e, y, sigma)
	dist := func(x *tensor.Tensor) float64 {
		var q float64
		for i := range x.Len() {
			d := x.At(i) - mu[i%4]
			q += d * d
		}
		return q / n
	}
	raw, den := dist(y), dist(z)
	// E‖z − μ‖² = (s²/V)²·E‖y − μ‖² exactly (z − μ = (s²/V)(y − μ)).
	if math.Abs(den-(s*s/v)*(s*s/v)*raw) > 1e-9*raw {
		t.Errorf("denoised squared distance %.6g, want (s²/V)²·%.6g", den, raw)
	}
	if raw < 2*4*v/3 || den > raw/100 {
		t.Errorf("squared distance to the data %.4g before denoising (the smoothed spread 4V = %.4g), %.4g after: want a hundredfold fall", raw, 4*v, den)
	}
}

// TestTemperedLangevinStationary: at a constant temperature T the chain
// samples p^(1/T): N(μ, T·s²) for N(μ, s²); with the step α·T on the
// tempered density, the AR(1) variance is T·s²/(1 − α/(4s²)).
func TestTemperedLangevinStationary(t *testing.T) {
	const n, s, alpha, temp = 4000, 0.7, 0.03, 3
	mu := []float64{1, 2}
	rng := rand.New(rand.NewPCG(7, 8))
	x0 := tensor.RandN(tensor.Float64, rng, n, 2)
	temps := make([]float64, 600) // (1 − α/(2s²))^600 ≈ 1e-8 of the start remains
	for i := range temps {
		temps[i] = temp
	}
	x := sm.TemperedLangevin(isoGaussian(mu, s), x0, temps, alpha, rng)
	want := temp * s * s / (1 - alpha/(4*s*s))
	for j := range 2 {
		mean, variance := moments(x, j)
		if se := math.Sqrt(want / n); math.Abs(mean-mu[j]) > 5*se {
			t.Errorf("coordinate %d: mean %.4f, want %.4f ± %.4f", j, mean, mu[j], 5*se)
		}
		if se := want * math.Sqrt(2.0/(n-1)); math.Abs(variance-want) > 5*se {
			t.Errorf("coordinate %d: variance %.4f, want %.4f ± %.4f", j, variance, want, 5*se)
		}
	}
	// Temperature 1 is plain Langevin, bit for bit.
	ones := temps[:5]
	for i := range ones {
		ones[i] = 1
	}
	a := sm.TemperedLangevin(isoGaussian(mu, s), x0, ones, alpha, rand.New(rand.NewPCG(9, 9)))
	b := sm.Langevin(isoGaussian(mu, s), x0, 5, alpha, rand.New(rand.NewPCG(9, 9)))
	for i := range a.Len() {
		if a.At(i) != b.At(i) {
			t.Fatalf("TemperedLangevin at T = 1 differs from Langevin at %d", i)
		}
	}
}

// TestMDSMTemperatures: 2700 steps are the reference schedule of
// github.com/zengyi-li/MDSM sample.py ('exp'): 500 at Tmax, 2000 falling as
// Tmax·exp(−k·ln(Tmax/Tmin)/2000), 200 falling linearly from Tmin to 0.
func TestMDSMTemperatures(t *testing.T) {
	T := sm.MDSMTemperatures(2700, 100, 1)
	if len(T) != 2700 {
		t.Fatalf("%d temperatures, want 2700", len(T))
	}
	for _, c := range []struct {
		k    int
		want float64
	}{
		{0, 100}, {499, 100}, {500, 100},
		{1500, 100 * math.Exp(-1000*math.Log(100)/2000)}, // √(100·1) = 10
		{2499, 100 * math.Exp(-1999*math.Log(100)/2000)},
		{2500, 1}, {2600, 1 - 100.0/199}, {2699, 0},
	} {
		if math.Abs(T[c.k]-c.want) > 1e-12*max(1, c.want) {
			t.Errorf("T[%d] = %.15g, want %.15g", c.k, T[c.k], c.want)
		}
	}
	if math.Abs(T[1500]-10) > 1e-12 {
		t.Errorf("T[1500] = %g, want 10", T[1500])
	}
	for k := 1; k < len(T); k++ {
		if T[k] > T[k-1] {
			t.Fatalf("the temperature rises at step %d: %g → %g", k, T[k-1], T[k])
		}
	}
	// Scaled down, the proportions hold: 27 steps are 5 at Tmax, 20, 2.
	small := sm.MDSMTemperatures(27, 100, 1)
	if len(small) != 27 || small[4] != 100 || small[5] != 100 || small[24] == 100 || small[25] != 1 || small[26] != 0 {
		t.Errorf("MDSMTemperatures(27, 100, 1) = %v", small)
	}
}

// TestSamplersDeterministic: the same seed gives the same bits, whatever
// GOMAXPROCS, for walk-jump and the tempered sampler on an MLP energy.
func TestSamplersDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	m := nn.NewMLP(tensor.Float32, []int{16, 64, 64, 1}, nn.Softplus, rand.New(rand.NewPCG(10, 11)))
	e := sm.EnergyFunc(m.Energy)
	x0 := tensor.RandN(tensor.Float32, rand.New(rand.NewPCG(12, 13)), 256, 16)
	draw := func() [2]*tensor.Tensor {
		return [2]*tensor.Tensor{
			sm.WalkJump(e, x0, 5, 1e-2, 0.3, rand.New(rand.NewPCG(14, 15))),
			sm.Denoise(e, sm.TemperedLangevin(e, x0, sm.MDSMTemperatures(8, 100, 1), 4e-4, rand.New(rand.NewPCG(14, 15))), 0.1),
		}
	}
	runtime.GOMAXPROCS(1)
	a := draw()
	b := draw()
	runtime.GOMAXPROCS(2)
	c := draw()
	for s, name := range []string{"walk-jump", "tempered + denoise"} {
		for i := range a[s].Len() {
			if math.Float64bits(a[s].At(i)) != math.Float64bits(b[s].At(i)) {
				t.Fatalf("%s: the same seed gave different samples at %d", name, i)
			}
			if math.Float64bits(a[s].At(i)) != math.Float64bits(c[s].At(i)) {
				t.Fatalf("%s: GOMAXPROCS 1 and 2 differ at %d: %v vs %v", name, i, a[s].At(i), c[s].At(i))
			}
		}
	}
}
