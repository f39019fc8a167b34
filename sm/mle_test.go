package sm_test

import (
	"math"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// MLE of a NICE is −mean log p, and one step of gradient descent on it
// raises the likelihood of the batch.
func TestMLENICE(t *testing.T) {
	r := newRand(1)
	m := nn.NewNICE(f64, 4, &nn.NICEConfig{Couplings: 2, Hidden: 8, Depth: 1}, r)
	x := tensor.RandN(f64, r, 16, 4)
	loss := sm.MLE(m, x, nil)
	lp := m.LogProb(ad.Const(x)).T().ToFloat64()
	var want float64
	for _, v := range lp {
		want -= v
	}
	want /= float64(len(lp))
	// Both are a mean of the same 16 float64 values: agreement to rounding.
	if got := loss.Item(); math.Abs(got-want) > 1e-12*math.Abs(want) {
		t.Fatalf("MLE = %v, want −mean log p = %v", got, want)
	}
	params := nn.Values(m)
	grads := ad.Grad(loss, params)
	for i, p := range params {
		p.T().CopyFrom(tensor.Sub(p.T(), tensor.Scale(grads[i].T(), 1e-3)))
	}
	if after := sm.MLE(m, x, nil).Item(); !(after < want) {
		t.Errorf("a gradient step on MLE did not lower it: %v → %v", want, after)
	}
}

// MLE is not an objective of the registry: it is valid for normalised
// models only.
func TestMLENotInRegistry(t *testing.T) {
	if _, err := sm.Lookup("mle"); err == nil {
		t.Error(`sm.Lookup("mle") succeeded; MLE must not be offered for unnormalised energies`)
	}
}
