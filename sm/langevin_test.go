package sm_test

import (
	"math"
	"math/rand/v2"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// isoGaussian is E(x) = ‖x − μ‖²/(2s²) per row: p = N(μ, s²I).
func isoGaussian(mu []float64, s float64) sm.EnergyFunc {
	m := tensor.FromFloat64(tensor.Float64, mu)
	return func(x *ad.Value) *ad.Value {
		d := ad.Sub(x, ad.Const(m.AsType(x.DType())))
		return ad.Scale(ad.SumAxis(ad.Square(d), 1), 1/(2*s*s))
	}
}

// TestLangevinStationary runs unadjusted Langevin on N(μ, s²I). Its exact
// stationary law is N(μ, v·I) with v = s²/(1 − α/(4s²)) (the chain is a
// linear AR(1) recursion x' = (1 − α/(2s²))x + √α·n around μ), so the sample
// mean and variance after burn-in are compared with that, within 5 standard
// errors of the sample statistics of N independent chains.
func TestLangevinStationary(t *testing.T) {
	const n, s, alpha = 4000, 0.7, 0.05
	mu := []float64{1.5, -2}
	e := isoGaussian(mu, s)
	rng := rand.New(rand.NewPCG(1, 2))
	x0 := tensor.RandN(tensor.Float64, rng, n, 2)
	x := sm.Langevin(e, x0, 400, alpha, rng) // 400 steps: (1 − α/(2s²))^400 ≈ 1e-9 of the start remains
	v := s * s / (1 - alpha/(4*s*s))
	for j := range 2 {
		var mean, sq float64
		for i := range n {
			mean += x.At(i*2 + j)
		}
		mean /= n
		for i := range n {
			d := x.At(i*2+j) - mean
			sq += d * d
		}
		variance := sq / (n - 1)
		if se := math.Sqrt(v / n); math.Abs(mean-mu[j]) > 5*se {
			t.Errorf("coordinate %d: mean %.4f, want %.4f ± %.4f", j, mean, mu[j], 5*se)
		}
		if se := v * math.Sqrt(2.0/(n-1)); math.Abs(variance-v) > 5*se {
			t.Errorf("coordinate %d: variance %.4f, want %.4f ± %.4f", j, variance, v, 5*se)
		}
	}
	// Score models take the same path: the score of N(μ, s²I) is −(x − μ)/s².
	score := sm.ScoreFunc(func(x *ad.Value) *ad.Value {
		return ad.Scale(ad.Sub(x, ad.Const(tensor.FromFloat64(tensor.Float64, mu))), -1/(s*s))
	})
	a := sm.Langevin(e, x0, 5, alpha, rand.New(rand.NewPCG(3, 4)))
	b := sm.Langevin(score, x0, 5, alpha, rand.New(rand.NewPCG(3, 4)))
	for i := range a.Len() {
		if math.Abs(a.At(i)-b.At(i)) > 1e-12 {
			t.Fatalf("energy and score Langevin differ at %d: %v vs %v", i, a.At(i), b.At(i))
		}
	}
}

func TestLangevinDeterministicAndPure(t *testing.T) {
	e := isoGaussian([]float64{0, 0}, 1)
	x0 := tensor.RandN(tensor.Float64, rand.New(rand.NewPCG(5, 6)), 10, 2)
	before := x0.Clone()
	a := sm.AnnealedLangevin(e, x0, sm.GeometricSchedule(1, 0.01, 5), 3, 1e-3, rand.New(rand.NewPCG(7, 8)))
	b := sm.AnnealedLangevin(e, x0, sm.GeometricSchedule(1, 0.01, 5), 3, 1e-3, rand.New(rand.NewPCG(7, 8)))
	for i := range a.Len() {
		if a.At(i) != b.At(i) {
			t.Fatal("the same seed gave different samples")
		}
		if x0.At(i) != before.At(i) {
			t.Fatal("Langevin modified its starting batch")
		}
	}
}

func TestGeometricSchedule(t *testing.T) {
	s := sm.GeometricSchedule(1, 0.01, 3)
	want := []float64{1, 0.1, 0.01}
	for i := range want {
		if math.Abs(s[i]-want[i]) > 1e-15 {
			t.Fatalf("GeometricSchedule(1, 0.01, 3) = %v, want %v", s, want)
		}
	}
}

// TestExactSMLossBatches: the batched evaluation over a data set equals the
// exact SM loss of the whole set in one batch (rows are independent).
func TestExactSMLossBatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	m := nn.NewMLP(tensor.Float64, []int{3, 8, 1}, nn.Softplus, rng)
	data := tensor.RandN(tensor.Float64, rng, 10, 3)
	whole := sm.ExactSM(sm.EnergyFunc(m.Energy), data).Item()
	got := sm.ExactSMLoss(sm.EnergyFunc(m.Energy), data, 4) // batches of 4, 4, 2
	if math.Abs(got-whole) > 1e-12*math.Abs(whole) {
		t.Fatalf("ExactSMLoss in batches = %.15g, whole batch %.15g", got, whole)
	}
}

// TestExactScoreSMMatchesEnergy: a score network that is the gradient of an
// energy has the same exact SM loss as the energy (the trace of ∇s is the
// trace of the Hessian of log p).
func TestExactScoreSMMatchesEnergy(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	m := nn.NewMLP(tensor.Float64, []int{3, 8, 1}, nn.Softplus, rng)
	e := sm.EnergyFunc(m.Energy)
	data := tensor.RandN(tensor.Float64, rng, 6, 3)
	want := sm.ExactSM(e, data).Item()
	got := sm.ExactScoreSMLoss(sm.AsScore(e), data, 4)
	if math.Abs(got-want) > 1e-12*math.Abs(want) {
		t.Fatalf("ExactScoreSM of ∇log p = %.15g, ExactSM = %.15g", got, want)
	}
}
