package sm_test

import (
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/autodiff/adtest"
	"github.com/fdsm/fdsm/fd"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// The parameter gradient of every objective matches finite differences over
// the parameters (adtest.Check at order 1, which is what training needs).
// V and Noise are fixed, so each objective is a deterministic function of
// the parameters; the model is rebuilt from the parameter values Check
// passes in.

// gradCheckSettings: adtest's defaults (step 1e-3 with a 4-point O(h⁴)
// stencil, RTol 1e-6) except ATol, lowered from 1e-7 to 1e-12 so the check
// stays relative: the MDSM losses carry c = 1e-4 and their directional
// derivatives here are ~1e-4 (measured 9.8e-5; the others 2e-3 to 0.18), so
// the default ATol would allow a 1e-3 relative error. Measured worst
// disagreement: 8e-10 relative (FDSSM), three orders below RTol.
var gradCheckSettings = &adtest.Settings{ATol: 1e-12}

func TestObjectiveParamGradients(t *testing.T) {
	const b, d = 4, 3
	r := newRand(3)
	energy := nn.NewMLP(f64, []int{d, 8, 8, 1}, nn.Softplus, r)
	score := nn.NewMLP(f64, []int{d, 8, d}, nn.Softplus, r)
	x := tensor.RandN(f64, r, b, d)
	// Gaussian rows: the gradient-based objectives use them as given, the
	// FD ones rescale them to their sphere.
	v := tensor.RandN(f64, r, b, d)
	noise := tensor.RandN(f64, r, b, d)
	o := &sm.Options{V: v, Noise: noise}
	o4 := &sm.Options{V: v, Noise: noise, First: fd.D1Acc4, Second: fd.D2Acc4}

	energyCases := []struct {
		name string
		f    func(m sm.Energy) *ad.Value
	}{
		{"ExactSM", func(m sm.Energy) *ad.Value { return sm.ExactSM(m, x) }},
		{"SSM", func(m sm.Energy) *ad.Value { return sm.SSM(m, x, o) }},
		{"SSMVR", func(m sm.Energy) *ad.Value { return sm.SSMVR(m, x, o) }},
		{"DSM", func(m sm.Energy) *ad.Value { return sm.DSM(m, x, o) }},
		{"SlicedDSM", func(m sm.Energy) *ad.Value { return sm.SlicedDSM(m, x, o) }},
		{"MDSM", func(m sm.Energy) *ad.Value { return sm.MDSM(m, x, o) }},
		{"FDSSM", func(m sm.Energy) *ad.Value { return sm.FDSSM(m, x, o) }},
		{"FDDSM", func(m sm.Energy) *ad.Value { return sm.FDDSM(m, x, o) }},
		{"FDMDSM", func(m sm.Energy) *ad.Value { return sm.FDMDSM(m, x, o) }},
		{"FDSSM/acc4", func(m sm.Energy) *ad.Value { return sm.FDSSM(m, x, o4) }},
		{"FDDSM/acc4", func(m sm.Energy) *ad.Value { return sm.FDDSM(m, x, o4) }},
		{"FDMDSM/acc4", func(m sm.Energy) *ad.Value { return sm.FDMDSM(m, x, o4) }},
	}
	for _, c := range energyCases {
		t.Run(c.name, func(t *testing.T) {
			f := func(ps []*ad.Value) *ad.Value { return c.f(mlpFrom(ps)) }
			if err := adtest.Check(f, paramTensors(energy), 1, gradCheckSettings); err != nil {
				t.Error(err)
			}
		})
	}

	scoreCases := []struct {
		name string
		f    func(m sm.Score) *ad.Value
	}{
		{"ScoreSSMVR", func(m sm.Score) *ad.Value { return sm.ScoreSSMVR(m, x, o) }},
		{"FDScoreSSMVR", func(m sm.Score) *ad.Value { return sm.FDScoreSSMVR(m, x, o) }},
		{"FDScoreSSMVR/acc4", func(m sm.Score) *ad.Value { return sm.FDScoreSSMVR(m, x, o4) }},
	}
	for _, c := range scoreCases {
		t.Run(c.name, func(t *testing.T) {
			f := func(ps []*ad.Value) *ad.Value { return c.f(mlpFrom(ps)) }
			if err := adtest.Check(f, paramTensors(score), 1, gradCheckSettings); err != nil {
				t.Error(err)
			}
		})
	}
}
