package sm_test

import (
	"math"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// The objectives through the convolutional energy (nn.ResNetEnergy): every
// gradient-based one differentiates through the conv primitives' recorded
// backward passes, and the FD ones through their difference rules (stable)
// or stacked evaluations (naive). A tiny model keeps exact SM (one backward
// pass per pixel) cheap: 1×6×6 images, 2 blocks of 4 channels (6×6, then
// 3×3), a batch of 4.
const (
	resB          = 4
	resC, resH    = 1, 6
	resD          = resC * resH * resH
	resChannels   = 4
	resBlockCount = 2
)

type resProblem struct {
	m64, m32 *nn.ResNetEnergy // the same numbers in both dtypes
	x, u, n  *tensor.Tensor   // float64 data in [0, 1), unit directions, noise
}

func newResProblem() *resProblem {
	r := newRand(77)
	m := nn.NewResNetEnergy(f64, resC, resH, resH, &nn.ResNetConfig{Channels: resChannels, Blocks: resBlockCount}, r)
	m32, err := nn.ResNetFromTensors(nn.Tensors(m), resC, resH, resH, tensor.Float32)
	if err != nil {
		panic(err)
	}
	// Float32-representable data, so both dtypes see the same inputs.
	round := func(t *tensor.Tensor) *tensor.Tensor { return t.AsType(tensor.Float32).AsType(f64) }
	return &resProblem{
		m64: m, m32: m32,
		x: round(tensor.RandU(f64, r, 0, 1, resB, resD)),
		// Not rounded: FD-SSM rescales each row to radius ε exactly while SSM
		// uses V as given, so rows off the unit sphere by a float32 rounding
		// (6e-8) would leave an ε-independent gap of that relative size.
		u: unitRows(r, resB, resD),
		n: round(tensor.RandN(f64, r, resB, resD)),
	}
}

// TestResNetObjectives runs SSM, DSM, exact SM and FD-SSM / FD-DSM
// (float64 naive, float32 stable) through the ResNet energy and checks that
// each gives a finite loss and a finite, non-zero parameter gradient, and
// that the float32 stable FD objectives agree with float64: loss within
// 1e-4 relative and gradient cosine ≥ 0.9999 (measured: 1.7e-6 and
// 1 − 2e-12 for FD-SSM, 1.4e-8 and 1 − 7e-15 for FD-DSM), far from the O(1)
// errors of a missing or wrong rule.
func TestResNetObjectives(t *testing.T) {
	p := newResProblem()
	x32 := p.x.AsType(tensor.Float32)
	o64 := func(mode sm.FDMode) *sm.Options {
		return &sm.Options{V: p.u, Noise: p.n, FDMode: mode}
	}
	o32 := &sm.Options{V: p.u.AsType(tensor.Float32), Noise: p.n.AsType(tensor.Float32), FDMode: sm.FDStable}
	type run struct {
		name string
		m    *nn.ResNetEnergy
		loss func() *ad.Value
	}
	runs := []run{
		{"SSM", p.m64, func() *ad.Value { return sm.SSM(p.m64, p.x, &sm.Options{V: tensor.Scale(p.u, math.Sqrt(resD))}) }},
		{"DSM", p.m64, func() *ad.Value { return sm.DSM(p.m64, p.x, o64(sm.FDAuto)) }},
		{"ExactSM", p.m64, func() *ad.Value { return sm.ExactSM(p.m64, p.x) }},
		{"FDSSM/f64-naive", p.m64, func() *ad.Value { return sm.FDSSM(p.m64, p.x, o64(sm.FDNaive)) }},
		{"FDDSM/f64-naive", p.m64, func() *ad.Value { return sm.FDDSM(p.m64, p.x, o64(sm.FDNaive)) }},
		{"FDSSM/f32-stable", p.m32, func() *ad.Value { return sm.FDSSM(p.m32, x32, o32) }},
		{"FDDSM/f32-stable", p.m32, func() *ad.Value { return sm.FDDSM(p.m32, x32, o32) }},
	}
	type result struct {
		loss float64
		grad []float64
	}
	got := map[string]result{}
	for _, r := range runs {
		l, g := lossGrad(r.loss(), nn.Values(r.m))
		if math.IsNaN(l) || math.IsInf(l, 0) || !(normF(g) > 0) || math.IsInf(normF(g), 0) {
			t.Errorf("%s: loss %v, gradient norm %v", r.name, l, normF(g))
		}
		got[r.name] = result{l, g}
	}
	for _, obj := range []string{"FDSSM", "FDDSM"} {
		a, b := got[obj+"/f32-stable"], got[obj+"/f64-naive"]
		e, cos := relErr(a.loss, b.loss), cosine(a.grad, b.grad)
		t.Logf("%s: float32 stable vs float64: loss %.3g relative, 1 − cosine %.2g", obj, e, 1-cos)
		if e > 1e-4 || cos < 0.9999 {
			t.Errorf("%s: float32 stable loss %v vs float64 %v (relative %.3g), gradient cosine %.6f", obj, a.loss, b.loss, e, cos)
		}
	}
}

// TestResNetFDSSMConverges: FD-SSM converges to SSM at O(ε²) through the
// convolutional energy, in value and parameter gradient, with the same
// directions, in float64, evaluated naively and stably (TestFDConvergence's
// ranges of ε and bounds, as for MLPs). Measured slopes: 1.85 (value, naive:
// round-off of about 2e-11 shows at the two smallest ε) and 1.99 (gradient);
// 2.00 and 2.00 stable.
func TestResNetFDSSMConverges(t *testing.T) {
	p := newResProblem()
	params := nn.Values(p.m64)
	ref := sm.SSM(p.m64, p.x, &sm.Options{V: tensor.Scale(p.u, math.Sqrt(resD))})
	lr, gr := lossGrad(ref, params)
	for _, mode := range []sm.FDMode{sm.FDNaive, sm.FDStable} {
		t.Run(mode.String(), func(t *testing.T) {
			var val, grad []float64
			var cos, rel float64
			for _, eps := range epsAcc2 {
				lf, gf := lossGrad(sm.FDSSM(p.m64, p.x, &sm.Options{V: p.u, Eps: eps, FDMode: mode}), params)
				val = append(val, math.Abs(lf-lr))
				grad = append(grad, diffNorm(gf, gr))
				cos, rel = cosine(gf, gr), diffNorm(gf, gr)/normF(gr)
			}
			sv, sg := logLogSlope(epsAcc2, val), logLogSlope(epsAcc2, grad)
			t.Logf("value gaps %.3g (slope %.3f)\ngrad gaps %.3g (slope %.3f)\nat the smallest ε: 1 − cosine %.2g, relative error %.2g",
				val, sv, grad, sg, 1-cos, rel)
			if math.Abs(sv-2) > slopeTol || math.Abs(sg-2) > slopeTol {
				t.Errorf("gap slopes %.3f (value) and %.3f (gradient), want 2 ± %v", sv, sg, slopeTol)
			}
			if cos < minCosine || rel > maxRelGrad {
				t.Errorf("gradient cosine %.9f (want ≥ %v), relative error %.3g (want ≤ %g)", cos, minCosine, rel, maxRelGrad)
			}
		})
	}
}
