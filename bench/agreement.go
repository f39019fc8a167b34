package bench

import (
	"math"
	"math/rand/v2"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// Agreement measures how far a float32 finite-difference objective is from
// its float64 evaluation on the same weights, batch, projections and noise:
// the cosine of the two parameter gradients and the relative error of the
// loss, for the stable float32 evaluation (sm.FDStable, the default) and the
// naive one (sm.FDNaive).
type Agreement struct {
	StableCos     float64 `json:"stable_grad_cos"`
	StableLossErr float64 `json:"stable_loss_rel_err"`
	NaiveCos      float64 `json:"naive_grad_cos"`
	NaiveLossErr  float64 `json:"naive_loss_rel_err"`
}

// Agreement evaluates s's objective (an FD one) on batch x at the model's
// current weights, with directions and noise drawn from seed, in float64
// (the reference) and in float32 both ways. The float64 model holds the
// float32 weights exactly.
func (s *Step) Agreement(x *tensor.Tensor, seed uint64) Agreement {
	m32 := s.model
	m64, err := s.Config.NewModel(tensor.Float64, s.score, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		panic(err) // s was built from the same configuration
	}
	ps64 := m64.Params()
	for i, p := range m32.Params() {
		ps64[i].Value.T().CopyFrom(p.Value.T().AsType(tensor.Float64))
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	x64 := f32Exact(x.AsType(tensor.Float64))
	v := f32Exact(tensor.RandN(tensor.Float64, rng, x.Dim(0), x.Dim(1)))
	noise := f32Exact(tensor.RandN(tensor.Float64, rng, x.Dim(0), x.Dim(1)))
	l64, g64 := lossAndGrad(s.Objective, s.score, m64, x64, &sm.Options{V: v, Noise: noise, FDMode: sm.FDNaive})
	run := func(mode sm.FDMode) (cos, lossErr float64) {
		o := &sm.Options{V: v.AsType(tensor.Float32), Noise: noise.AsType(tensor.Float32), FDMode: mode}
		l, g := lossAndGrad(s.Objective, s.score, m32, x64.AsType(tensor.Float32), o)
		return cosineF(g, g64), math.Abs(l-l64) / math.Abs(l64)
	}
	var a Agreement
	a.StableCos, a.StableLossErr = run(sm.FDStable)
	a.NaiveCos, a.NaiveLossErr = run(sm.FDNaive)
	return a
}

// f32Exact rounds t to float32 and back, so both precisions see the same numbers.
func f32Exact(t *tensor.Tensor) *tensor.Tensor {
	return t.AsType(tensor.Float32).AsType(tensor.Float64)
}

// lossAndGrad evaluates an objective and its flattened parameter gradient.
func lossAndGrad(ob sm.Objective, score bool, m Model, x *tensor.Tensor, o *sm.Options) (float64, []float64) {
	var loss *ad.Value
	if score {
		loss = ob.Score(m.(sm.Score), x, o)
	} else {
		loss = ob.Energy(m, x, o)
	}
	var g []float64
	for _, t := range ad.Grad(loss, nn.Values(m)) {
		g = append(g, t.T().ToFloat64()...)
	}
	return loss.Item(), g
}

// relErrF is ‖a − b‖/‖b‖.
func relErrF(a, b []float64) float64 {
	var d, n float64
	for i := range a {
		d += (a[i] - b[i]) * (a[i] - b[i])
		n += b[i] * b[i]
	}
	return math.Sqrt(d / n)
}

// cosineF is the cosine of the angle between a and b.
func cosineF(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	return ab / math.Sqrt(aa*bb)
}
