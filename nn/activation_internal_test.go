package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// TestActivationTable checks every row of the activation table against its
// own operation, in float64: the name parses back; jet2's σ is the
// operation's value and its σ′ and σ″ are the operation's first and second
// derivatives by reverse mode; a fused kernel computes the operation. The
// derivatives are elementwise, so the gradient of Σσ(a) is σ′(a) and that
// of Σσ′(a) is σ″(a). Tolerance 1e-12: the two sides are different float64
// formulas of one function, a few ulps of values of order 1 apart.
func TestActivationTable(t *testing.T) {
	const tol = 1e-12
	// Away from 0, where ELU's second derivative jumps.
	vals := []float64{-3, -1.3, -0.4, 0.2, 0.9, 2.5}
	near := func(what string, got, want *tensor.Tensor) {
		t.Helper()
		g, w := got.ToFloat64(), want.ToFloat64()
		for i := range w {
			if math.Abs(g[i]-w[i]) > tol*max(1, math.Abs(w[i])) {
				t.Errorf("%s[%d] = %.17g, want %.17g", what, i, g[i], w[i])
			}
		}
	}
	for _, r := range activations {
		name := string(r.name)
		if a, err := ParseActivation(name); err != nil || a != r.name {
			t.Errorf("ParseActivation(%q) = %q, %v", name, a, err)
		}
		x := ad.Var(tensor.FromFloat64(tensor.Float64, vals, 2, 3))
		y, d1, d2 := r.jet2(x)
		near(name+" σ", y.T(), r.apply(x).T())
		g1 := ad.Grad(ad.Sum(r.apply(x)), []*ad.Value{x}, ad.CreateGraph())[0]
		near(name+" σ′", d1.T(), g1.T())
		near(name+" σ″", d2.T(), ad.GradT(ad.Sum(g1), x))
		if r.fused != tensor.ActNone {
			eye := ad.Const(tensor.FromFloat64(tensor.Float64, []float64{1, 0, 0, 0, 1, 0, 0, 0, 1}, 3, 3))
			near(name+" fused", ad.Dense(x, eye, nil, r.fused).T(), r.apply(x).T())
		}
	}
	if _, err := ParseActivation("relu"); err == nil || !strings.Contains(err.Error(), `"relu"`) ||
		!strings.Contains(err.Error(), "softplus, elu, tanh, swish, sigmoid or silu") {
		t.Errorf("ParseActivation(relu): %v, want an error naming it and listing the activations", err)
	}
	if got := Activations(); len(got) != len(activations) || got[0] != activations[0].name {
		t.Errorf("Activations() = %v", got)
	}
}

// TestActivationForwardPaths: a layer of a fused activation runs as one
// Dense node, with the same numbers as the operation applied after an
// unfused Dense; rand inputs, float64, tolerance as TestActivationTable.
func TestActivationForwardPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	x := ad.Const(tensor.RandN(tensor.Float64, rng, 4, 3))
	for _, r := range activations {
		m := NewMLP(tensor.Float64, []int{3, 5, 1}, r.name, rand.New(rand.NewPCG(1, 2)))
		got := m.Forward(x).T().ToFloat64()
		l0, l1 := m.Layers[0], m.Layers[1]
		h := r.apply(ad.Dense(x, l0.W, l0.B, tensor.ActNone))
		want := ad.Dense(h, l1.W, l1.B, tensor.ActNone).T().ToFloat64()
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-12*max(1, math.Abs(want[i])) {
				t.Errorf("%s: MLP output %d = %.17g, want %.17g", r.name, i, got[i], want[i])
			}
		}
	}
}
