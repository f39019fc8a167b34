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

// exactTol is the agreement asked of ExactSM by the forward Laplacian with
// the d-pass path in float64 (issue 21 item 3: 1e-10).
const exactTol = 1e-10

// maxRel is max|a − b| / max|b|.
func maxRel(a, b []float64) float64 {
	var num, den float64
	for i := range b {
		num, den = math.Max(num, math.Abs(a[i]-b[i])), math.Max(den, math.Abs(b[i]))
	}
	return num / den
}

// TestExactSMLaplacian: for nn's MLP energies, every activation, several
// depths (both bases of the forward Laplacian: d below and above the first
// width), ExactSM's loss and parameter gradient equal the d-pass path's to
// 1e-10, and ExactSMLoss equals the mean of the d-pass losses.
func TestExactSMLaplacian(t *testing.T) {
	for _, act := range nn.Activations() {
		for _, sizes := range [][]int{{3, 8, 1}, {3, 8, 6, 1}, {10, 6, 5, 1}, {10, 4, 6, 5, 1}} {
			t.Run(fmt.Sprintf("%s/%v", act, sizes), func(t *testing.T) {
				r := newRand(31)
				m := nn.NewMLP(f64, sizes, act, r)
				x := tensor.RandN(f64, r, 6, sizes[0])
				l, g := lossGrad(sm.ExactSM(m, x), nn.Values(m))
				wl, wg := lossGrad(sm.ExactSMDPass(m, x), nn.Values(m))
				if e := math.Abs(l-wl) / math.Abs(wl); e > exactTol {
					t.Errorf("loss %.17g, d-pass %.17g (relative %g)", l, wl, e)
				}
				if e := maxRel(g, wg); e > exactTol {
					t.Errorf("parameter gradient differs from the d-pass path's by %g", e)
				}
				if got := sm.ExactSMLoss(m, x, 4); math.Abs(got-wl)/math.Abs(wl) > exactTol {
					t.Errorf("ExactSMLoss %.17g, d-pass %.17g", got, wl)
				}
			})
		}
	}
}

// TestExactSMLaplacianModels: the other energies the rules cover, NICE
// (x through Transpose and GatherRows into its couplings' MLPs: the identity
// basis) and the quadratic energy, equal the d-pass path to 1e-10 in loss
// and parameter gradient.
func TestExactSMLaplacianModels(t *testing.T) {
	r := newRand(43)
	const d = 6
	x := tensor.RandN(f64, r, 5, d)
	for name, m := range map[string]interface {
		sm.Energy
		nn.Module
	}{
		"nice":      nn.NewNICE(f64, d, &nn.NICEConfig{Couplings: 2, Hidden: 7, Depth: 2}, r),
		"quadratic": nn.NewQuadratic(f64, d, nil, r),
	} {
		if _, err := ad.LaplacianBytes(func(z *ad.Value) *ad.Value { return m.Energy(z) }, ad.Const(x)); err != nil {
			t.Fatalf("%s: not covered: %v", name, err)
		}
		l, g := lossGrad(sm.ExactSM(m, x), nn.Values(m))
		wl, wg := lossGrad(sm.ExactSMDPass(m, x), nn.Values(m))
		if e := math.Abs(l-wl) / math.Abs(wl); e > exactTol {
			t.Errorf("%s: loss %.17g, d-pass %.17g (relative %g)", name, l, wl, e)
		}
		if e := maxRel(g, wg); e > exactTol {
			t.Errorf("%s: parameter gradient differs from the d-pass path's by %g", name, e)
		}
	}
}

// TestExactSMFallback: a model the forward-Laplacian rules do not cover (the
// convolutional energy) goes through the d-pass path: the same bits, loss
// and gradient, as ExactSMDPass.
func TestExactSMFallback(t *testing.T) {
	p := newResProblem()
	l, g := lossGrad(sm.ExactSM(p.m64, p.x), nn.Values(p.m64))
	wl, wg := lossGrad(sm.ExactSMDPass(p.m64, p.x), nn.Values(p.m64))
	if math.Float64bits(l) != math.Float64bits(wl) {
		t.Errorf("loss %.17g, d-pass %.17g", l, wl)
	}
	for i := range wg {
		if math.Float64bits(g[i]) != math.Float64bits(wg[i]) {
			t.Fatalf("gradient element %d %.17g, d-pass %.17g", i, g[i], wg[i])
		}
	}
}

// TestExactSMFloat32: float32 ExactSM (forward Laplacian) points its
// parameter gradient where float64's does (cosine ≥ 0.99999, as the other
// objectives' float32 tests ask).
func TestExactSMFloat32(t *testing.T) {
	r := newRand(41)
	m := nn.NewMLP(f64, []int{20, 16, 16, 1}, nn.Softplus, r)
	m32 := nn.NewMLP(tensor.Float32, []int{20, 16, 16, 1}, nn.Softplus, r)
	for i, p := range nn.Values(m) {
		nn.Values(m32)[i].T().CopyFrom(p.T().AsType(tensor.Float32))
	}
	x := tensor.RandN(f64, r, 16, 20)
	_, g := lossGrad(sm.ExactSM(m, x), nn.Values(m))
	_, g32 := lossGrad(sm.ExactSM(m32, x.AsType(tensor.Float32)), nn.Values(m32))
	if c := dotF(g, g32) / math.Sqrt(dotF(g, g)*dotF(g32, g32)); c < 0.99999 {
		t.Errorf("cosine of the float32 and float64 gradients %v", c)
	}
}
