package sm_test

import (
	"fmt"
	"math"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// Reproducibility: the same Options.Rand seed gives bitwise the same loss
// and gradient, and explicit V / Noise holding the numbers the generator
// would have drawn (noise first, B rows; then M·B projection rows; see
// Options.Rand) give the same loss. Bitwise equality is the property under
// test here: both sides run the same code on the same numbers in one binary,
// so no compiler freedom (fused multiply-adds) can separate them.

// How an objective uses its projections.
type projUse int

const (
	projNone    projUse = iota // no projections (DSM, MDSM)
	projAsGiven                // drawn from Options.Projection, used as given
	projSphere                 // Gaussian draws rescaled to the objective's sphere
)

type reproCase struct {
	name  string
	noise bool // draws the DSM noise (before any projection)
	proj  projUse
	multi bool // honours Options.M (the DSM family does not yet: see TestDSMFamilyMultipleProjections)
	score bool // takes a score network
	run   func(e sm.Energy, s sm.Score, x *tensor.Tensor, o *sm.Options) *ad.Value
}

var reproCases = []reproCase{
	{"SSM", false, projAsGiven, true, false, func(e sm.Energy, _ sm.Score, x *tensor.Tensor, o *sm.Options) *ad.Value { return sm.SSM(e, x, o) }},
	{"SSMVR", false, projAsGiven, true, false, func(e sm.Energy, _ sm.Score, x *tensor.Tensor, o *sm.Options) *ad.Value { return sm.SSMVR(e, x, o) }},
	{"ScoreSSMVR", false, projAsGiven, true, true, func(_ sm.Energy, s sm.Score, x *tensor.Tensor, o *sm.Options) *ad.Value {
		return sm.ScoreSSMVR(s, x, o)
	}},
	{"DSM", true, projNone, false, false, func(e sm.Energy, _ sm.Score, x *tensor.Tensor, o *sm.Options) *ad.Value { return sm.DSM(e, x, o) }},
	{"MDSM", true, projNone, false, false, func(e sm.Energy, _ sm.Score, x *tensor.Tensor, o *sm.Options) *ad.Value { return sm.MDSM(e, x, o) }},
	{"SlicedDSM", true, projSphere, false, false, func(e sm.Energy, _ sm.Score, x *tensor.Tensor, o *sm.Options) *ad.Value { return sm.SlicedDSM(e, x, o) }},
	{"FDSSM", false, projSphere, true, false, func(e sm.Energy, _ sm.Score, x *tensor.Tensor, o *sm.Options) *ad.Value { return sm.FDSSM(e, x, o) }},
	{"FDDSM", true, projSphere, false, false, func(e sm.Energy, _ sm.Score, x *tensor.Tensor, o *sm.Options) *ad.Value { return sm.FDDSM(e, x, o) }},
	{"FDMDSM", true, projSphere, false, false, func(e sm.Energy, _ sm.Score, x *tensor.Tensor, o *sm.Options) *ad.Value { return sm.FDMDSM(e, x, o) }},
	{"FDScoreSSMVR", false, projSphere, true, true, func(_ sm.Energy, s sm.Score, x *tensor.Tensor, o *sm.Options) *ad.Value {
		return sm.FDScoreSSMVR(s, x, o)
	}},
}

// sphereTol: for the gradient-based objectives with Sphere projections the
// test normalises the Gaussian draws itself, which may round differently
// from the package in the last bit of each entry (a few ulps, ~1e-16
// relative); through the O(1)-conditioned losses that is ~1e-15 relative.
const sphereTol = 1e-14

// sphereRows rescales each row to length r.
func sphereRows(v *tensor.Tensor, r float64) *tensor.Tensor {
	out := v.Clone()
	d := v.Dim(1)
	for i := range v.Dim(0) {
		var ss float64
		for j := range d {
			ss += v.At(i*d+j) * v.At(i*d+j)
		}
		s := r / math.Sqrt(ss)
		for j := range d {
			out.Set(i*d+j, v.At(i*d+j)*s)
		}
	}
	return out
}

// explicitDraws draws, from a fresh generator with the given seed, what the
// objective would draw: the noise first, then the projections.
func explicitDraws(seed uint64, c reproCase, proj sm.Projection, m, b, d int) (noise, v *tensor.Tensor) {
	r := newRand(seed)
	if c.noise {
		noise = tensor.RandN(f64, r, b, d)
	}
	switch c.proj {
	case projAsGiven:
		switch proj {
		case sm.Rademacher:
			v = tensor.Rademacher(f64, r, m*b, d)
		case sm.Gaussian:
			v = tensor.RandN(f64, r, m*b, d)
		case sm.Sphere:
			v = sphereRows(tensor.RandN(f64, r, m*b, d), math.Sqrt(float64(d)))
		}
	case projSphere:
		v = tensor.RandN(f64, r, m*b, d) // the objective rescales the rows
	}
	return noise, v
}

func sameBits(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

func TestReproducibility(t *testing.T) {
	const b, d, seed = 5, 3, 99
	r := newRand(4)
	energy := nn.NewMLP(f64, []int{d, 8, 8, 1}, nn.Softplus, r)
	score := nn.NewMLP(f64, []int{d, 8, d}, nn.Softplus, r)
	x := tensor.RandN(f64, r, b, d)
	xBefore := x.Clone()
	for _, c := range reproCases {
		params := nn.Values(energy)
		if c.score {
			params = nn.Values(score)
		}
		projs := []sm.Projection{sm.Rademacher}
		if c.proj == projAsGiven {
			projs = append(projs, sm.Gaussian, sm.Sphere)
		}
		ms := []int{1}
		if c.multi {
			ms = append(ms, 3)
		}
		for _, proj := range projs {
			for _, m := range ms {
				t.Run(fmt.Sprintf("%s/%v/M=%d", c.name, proj, m), func(t *testing.T) {
					drawn := func() *ad.Value {
						return c.run(energy, score, x, &sm.Options{Rand: newRand(seed), Projection: proj, M: m})
					}
					l1, g1 := lossGrad(drawn(), params)
					l2, g2 := lossGrad(drawn(), params)
					if math.Float64bits(l1) != math.Float64bits(l2) || !sameBits(g1, g2) {
						t.Errorf("same seed, different results: loss %.17g vs %.17g", l1, l2)
					}

					noise, v := explicitDraws(seed, c, proj, m, b, d)
					var noiseBefore, vBefore *tensor.Tensor
					if noise != nil {
						noiseBefore = noise.Clone()
					}
					if v != nil {
						vBefore = v.Clone()
					}
					le := c.run(energy, score, x, &sm.Options{V: v, Noise: noise, Projection: proj, M: m}).Item()
					if c.proj == projAsGiven && proj == sm.Sphere {
						if e := relErr(le, l1); e > sphereTol {
							t.Errorf("explicit V/Noise: loss %.17g, drawn %.17g (relative %.2g > %g)", le, l1, e, sphereTol)
						}
					} else if math.Float64bits(le) != math.Float64bits(l1) {
						t.Errorf("explicit V/Noise: loss %.17g, drawn %.17g; want bitwise equal", le, l1)
					}

					// The call must not modify its inputs (STYLE.md practice 7).
					if !sameBits(x.ToFloat64(), xBefore.ToFloat64()) {
						t.Fatal("the objective modified the batch x")
					}
					if noise != nil && !sameBits(noise.ToFloat64(), noiseBefore.ToFloat64()) {
						t.Error("the objective modified Options.Noise")
					}
					if v != nil && !sameBits(v.ToFloat64(), vBefore.ToFloat64()) {
						t.Error("the objective modified Options.V")
					}

					// A different seed gives a different loss: the
					// randomness is actually used.
					if l3 := c.run(energy, score, x, &sm.Options{Rand: newRand(seed + 1), Projection: proj, M: m}).Item(); l3 == l1 {
						t.Errorf("seeds %d and %d give the same loss %.17g", seed, seed+1, l1)
					}
				})
			}
		}
	}
}

// ExactSM draws nothing: it needs no Options and is a pure function of the
// model and the batch.
func TestExactSMDeterministic(t *testing.T) {
	r := newRand(5)
	energy := nn.NewMLP(f64, []int{3, 8, 8, 1}, nn.Softplus, r)
	x := tensor.RandN(f64, r, 5, 3)
	l1, g1 := lossGrad(sm.ExactSM(energy, x), nn.Values(energy))
	l2, g2 := lossGrad(sm.ExactSM(energy, x), nn.Values(energy))
	if math.Float64bits(l1) != math.Float64bits(l2) || !sameBits(g1, g2) {
		t.Errorf("ExactSM not reproducible: %.17g vs %.17g", l1, l2)
	}
}

// With M projections per sample, a DSM-family objective is the mean over the
// M projection blocks of the objective with one projection per sample (same
// noise): V's rows m·B..(m+1)·B hold projection m of every sample.
// (SlicedDSM, FDDSM and FDMDSM once paired M·B projections with B noisy
// rows and panicked; this test caught it.)
func TestDSMFamilyMultipleProjections(t *testing.T) {
	const b, d, m = 4, 3, 3
	r := newRand(6)
	energy := nn.NewMLP(f64, []int{d, 8, 8, 1}, nn.Softplus, r)
	x := tensor.RandN(f64, r, b, d)
	noise := tensor.RandN(f64, r, b, d)
	v := tensor.RandN(f64, r, m*b, d)
	for _, c := range reproCases {
		if !c.noise || c.proj != projSphere {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			got := c.run(energy, nil, x, &sm.Options{V: v, Noise: noise, M: m}).Item()
			var want float64
			for k := range m {
				vk := tensor.SliceRows(v, k*b, (k+1)*b)
				want += c.run(energy, nil, x, &sm.Options{V: vk, Noise: noise}).Item() / m
			}
			if e := relErr(got, want); e > closedFormTol {
				t.Errorf("M = %d: %.15g, mean of the %d single-projection losses %.15g (relative %.2g > %g)",
					m, got, m, want, e, closedFormTol)
			}
		})
	}
}
