package sm

import (
	"fmt"
	"math"
	"math/rand/v2"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// ScoreOf returns the score ∇x log p(x) = −∇x E(x) of an energy model at a
// batch, as a plain tensor (a first-order backward pass, nothing recorded).
func ScoreOf(m Energy, x *tensor.Tensor) *tensor.Tensor {
	xv := ad.Var(x)
	return tensor.Neg(ad.GradT(ad.Sum(m.Energy(xv)), xv))
}

// AsScore views an energy model as a score model (s = −∇x E).
func AsScore(m Energy) Score {
	return ScoreFunc(func(x *ad.Value) *ad.Value {
		return ad.Neg(ad.Grad(ad.Sum(m.Energy(x)), []*ad.Value{x}, ad.CreateGraph())[0])
	})
}

// Langevin runs unadjusted Langevin dynamics from x0 for the given number of
// steps: x ← x + (α/2)·s(x) + √α·n, n ~ N(0, I), with the score s of model m
// (an Energy or a Score) and step size α. It returns the final batch; x0 is
// not modified. The same seed gives the same samples.
func Langevin(m any, x0 *tensor.Tensor, steps int, alpha float64, rng *rand.Rand) *tensor.Tensor {
	score := scoreFn(m)
	x := x0
	for range steps {
		x = langevinStep(score, x, alpha, rng)
	}
	return x
}

func langevinStep(score func(*tensor.Tensor) *tensor.Tensor, x *tensor.Tensor, alpha float64, rng *rand.Rand) *tensor.Tensor {
	return temperedStep(score, x, alpha, 1, rng)
}

// temperedStep is one Langevin step at temperature temp: x + (α/2)·s(x) +
// √(α·temp)·n. At temp = 1 it is the plain step; its stationary law is
// p^(1/temp) (for small α).
func temperedStep(score func(*tensor.Tensor) *tensor.Tensor, x *tensor.Tensor, alpha, temp float64, rng *rand.Rand) *tensor.Tensor {
	n := tensor.RandN(x.DType(), rng, x.Shape()...)
	return tensor.Add(tensor.Add(x, tensor.Scale(score(x), alpha/2)), tensor.Scale(n, math.Sqrt(alpha*temp)))
}

func scoreFn(m any) func(*tensor.Tensor) *tensor.Tensor {
	switch m := m.(type) {
	case Energy:
		return func(x *tensor.Tensor) *tensor.Tensor { return ScoreOf(m, x) }
	case Score:
		return func(x *tensor.Tensor) *tensor.Tensor { return m.Score(ad.Const(x)).T() }
	}
	panic(fmt.Sprintf("sm: Langevin needs an Energy or a Score model, got %T", m))
}

// GeometricSchedule returns L noise levels from hi down to lo, equally spaced
// in log scale (Song & Ermon 2019).
func GeometricSchedule(hi, lo float64, levels int) []float64 {
	if levels == 1 {
		return []float64{lo}
	}
	out := make([]float64, levels)
	r := math.Log(lo / hi)
	for i := range out {
		out[i] = hi * math.Exp(r*float64(i)/float64(levels-1))
	}
	return out
}

// AnnealedLangevin runs Langevin dynamics over decreasing noise levels σ_1 >
// … > σ_L, stepsPerLevel steps at each, with the step size rule of Song &
// Ermon (2019): α_i = α·σ_i²/σ_L², so that the signal-to-noise ratio of each
// step is the same at every level. The model's score is used as is at every
// level (fdsm's models are not noise-conditional); large early steps let the
// chain cross between modes before the small ones refine it.
func AnnealedLangevin(m any, x0 *tensor.Tensor, sigmas []float64, stepsPerLevel int, alpha float64, rng *rand.Rand) *tensor.Tensor {
	score := scoreFn(m)
	last := sigmas[len(sigmas)-1]
	x := x0
	for _, s := range sigmas {
		a := alpha * s * s / (last * last)
		for range stepsPerLevel {
			x = langevinStep(score, x, a, rng)
		}
	}
	return x
}

// Denoise returns the empirical-Bayes denoiser x + σ²·s(x) of the batch x,
// with the score s of model m (an Energy or a Score). When s is the score of
// the σ-smoothed density p_σ = p ∗ N(0, σ²I), as DSM at σ trains it, this is
// Tweedie's formula: E[x_clean | x] for x = x_clean + σ·n. For a model
// trained by MDSM, whose loss is least when its score at noise level σ_i is
// (σ_i²/σ₀²)·∇log p_σi, σ = σ₀ gives E[x_clean | x] at each level σ_i. Applied to the end of (annealed)
// Langevin dynamics it removes the residual noise of the last level
// (Jolicoeur-Martineau et al. 2020, "Adversarial score matching and improved
// sampling for image generation"); after Langevin on p_σ it is the jump of
// walk-jump sampling (WalkJump). x is not modified.
func Denoise(m any, x *tensor.Tensor, sigma float64) *tensor.Tensor {
	if !(sigma >= 0) || math.IsInf(sigma, 0) {
		panic(fmt.Sprintf("sm: Denoise needs a finite σ ≥ 0, got %g", sigma))
	}
	return tensor.Add(x, tensor.Scale(scoreFn(m)(x), sigma*sigma))
}

// WalkJump is walk-jump sampling (Saremi & Hyvärinen 2019, "Neural
// Empirical Bayes"): the walk, steps of Langevin dynamics of step size α on
// the σ-smoothed density, whose score is the model's (a model trained by DSM
// at σ is its energy), then the jump ŷ = y + σ²·s(y) (Denoise) to the
// Bayes estimate of the clean point. Walking on the smoothed density mixes
// faster than on the data's (its modes are joined); the jump returns to the
// data's scale. The jump gives E[x | y], not a sample of p: its spread is
// that of the posterior means, smaller than p's by the posterior variance.
func WalkJump(m any, x0 *tensor.Tensor, steps int, alpha, sigma float64, rng *rand.Rand) *tensor.Tensor {
	return Denoise(m, Langevin(m, x0, steps, alpha, rng), sigma)
}

// TemperedLangevin runs one Langevin step per entry of temps, step k at
// temperature T_k: x ← x + (α/2)·s(x) + √(α·T_k)·n. Step k samples
// p^(1/T_k), with the step size α·T_k for the tempered log-density
// log p / T_k: the temperature and the effective step size fall together.
// T_k = 0 is a gradient-ascent step on log p. With MDSMTemperatures it is
// the reference sampler of MDSM (Li, Chen & Sommer 2019). x0 is not
// modified; the same seed gives the same samples.
func TemperedLangevin(m any, x0 *tensor.Tensor, temps []float64, alpha float64, rng *rand.Rand) *tensor.Tensor {
	score := scoreFn(m)
	x := x0
	for _, t := range temps {
		if !(t >= 0) || math.IsInf(t, 0) {
			panic(fmt.Sprintf("sm: TemperedLangevin needs finite temperatures ≥ 0, got %g", t))
		}
		x = temperedStep(score, x, alpha, t, rng)
	}
	return x
}

// MDSMTemperatures returns the temperature schedule of the MDSM reference
// sampler (Li, Chen & Sommer 2019, "Learning energy-based models in
// high-dimensional spaces with multi-scale denoising score matching"; code
// github.com/zengyi-li/MDSM, sample.py, annealing_schedule 'exp', with
// functions/sampling.py Annealed_Langevin_E), scaled to the given number of
// steps. The reference takes 2700 steps: 500 at tmax = 100, then 2000 falling
// geometrically, T_k = tmax·exp(−k·ln(tmax/tmin)/2000) for k = 0…1999, then
// 200 falling linearly from tmin = 1 to 0; its steps are x − (ε²/2)·∇E(x) +
// √T·ε·n with ε = 0.02 (TemperedLangevin with α = ε²), and it ends with the
// denoising step x − 0.1²·∇E(x) (Denoise with σ = σ₀ = 0.1). Other step
// counts keep the proportions 500 : 2000 : 200; MDSMTemperatures(2700, 100, 1)
// is the reference schedule.
func MDSMTemperatures(steps int, tmax, tmin float64) []float64 {
	if steps < 1 || !(tmin > 0) || !(tmax >= tmin) || math.IsInf(tmax, 0) {
		panic(fmt.Sprintf("sm: MDSMTemperatures needs steps ≥ 1 and tmax ≥ tmin > 0, got %d, %g, %g", steps, tmax, tmin))
	}
	hold := int(math.Round(float64(steps) * 500 / 2700))
	quench := int(math.Round(float64(steps) * 200 / 2700))
	anneal := steps - hold - quench
	out := make([]float64, 0, steps)
	for range hold {
		out = append(out, tmax)
	}
	rate := math.Log(tmax/tmin) / float64(anneal)
	for k := range anneal {
		out = append(out, tmax*math.Exp(-float64(k)*rate))
	}
	for j := range quench {
		f := 1.0 // numpy's linspace(1, 0, 1) is [1]
		if quench > 1 {
			f = 1 - float64(j)/float64(quench-1)
		}
		out = append(out, tmin*f)
	}
	return out
}
