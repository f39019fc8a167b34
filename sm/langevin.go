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
	n := tensor.RandN(x.DType(), rng, x.Shape()...)
	return tensor.Add(tensor.Add(x, tensor.Scale(score(x), alpha/2)), tensor.Scale(n, math.Sqrt(alpha)))
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
