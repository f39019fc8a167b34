package nn_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/autodiff/adtest"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// quadraticFrom rebuilds tmpl with the parameter values ps, in Params order.
func quadraticFrom(tmpl *nn.Quadratic, ps []*ad.Value) *nn.Quadratic {
	m := &nn.Quadratic{Trunk: &nn.MLP{Act: tmpl.Trunk.Act}}
	k := 0
	for range tmpl.Trunk.Layers {
		m.Trunk.Layers = append(m.Trunk.Layers, &nn.Linear{W: ps[k], B: ps[k+1]})
		k += 2
	}
	m.L1 = &nn.Linear{W: ps[k], B: ps[k+1]}
	m.L2 = &nn.Linear{W: ps[k+2], B: ps[k+3]}
	m.LQ = &nn.Linear{W: ps[k+4], B: ps[k+5]}
	return m
}

func TestQuadraticParamNames(t *testing.T) {
	m := nn.NewQuadratic(tensor.Float32, 3, &nn.QuadraticConfig{Hidden: []int{5, 4}}, rand.New(rand.NewPCG(1, 2)))
	want := []string{
		"trunk.layers.0.weight [5 3]", "trunk.layers.0.bias [5]",
		"trunk.layers.1.weight [4 5]", "trunk.layers.1.bias [4]",
		"l1.weight [1 4]", "l1.bias [1]", "l2.weight [1 4]", "l2.bias [1]", "lq.weight [1 4]", "lq.bias [1]",
	}
	ps := m.Params()
	if len(ps) != len(want) {
		t.Fatalf("%d params, want %d", len(ps), len(want))
	}
	for i, p := range ps {
		if got := fmt.Sprintf("%s %v", p.Name, p.Value.Shape()); got != want[i] {
			t.Errorf("param %d: %s, want %s", i, got, want[i])
		}
	}
}

// Energy returns [N] and matches the formula computed with tensor kernels.
func TestQuadraticEnergyValue(t *testing.T) {
	const tol = 1e-12 // a handful of float64 roundings on values of order 1
	rng := rand.New(rand.NewPCG(2, 2))
	m := nn.NewQuadratic(tensor.Float64, 3, &nn.QuadraticConfig{Hidden: []int{6, 5}}, rng)
	x := tensor.RandN(tensor.Float64, rng, 7, 3)
	e := m.Energy(ad.Const(x))
	if fmt.Sprint(e.Shape()) != "[7]" {
		t.Fatalf("Energy shape %v, want [7]", e.Shape())
	}
	lin := func(l *nn.Linear, h *tensor.Tensor) *tensor.Tensor {
		return tensor.Add(tensor.MatMul(h, l.W.T(), false, true), l.B.T())
	}
	h := x
	for _, l := range m.Trunk.Layers {
		h = tensor.Softplus(lin(l, h))
	}
	want := tensor.Add(tensor.Mul(lin(m.L1, h), lin(m.L2, h)), lin(m.LQ, tensor.Square(h)))
	for i := range 7 {
		if math.Abs(e.T().At(i)-want.At(i)) > tol {
			t.Errorf("row %d: Energy %.15g, formula %.15g", i, e.T().At(i), want.At(i))
		}
	}
}

func TestQuadraticGradients(t *testing.T) {
	// Swish has no fused kernel, so it takes the unfused path; ELU is left
	// out because its second derivative jumps at 0, where a finite
	// difference across the kink is wrong.
	for _, act := range []nn.Activation{nn.Softplus, nn.Tanh, nn.Swish} {
		t.Run(string(act), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 3))
			tmpl := nn.NewQuadratic(tensor.Float64, 3, &nn.QuadraticConfig{Hidden: []int{5, 4}, Act: act}, rng)
			x := tensor.RandN(tensor.Float64, rng, 4, 3)
			f := func(xs []*ad.Value) *ad.Value { return quadraticFrom(tmpl, xs[1:]).Energy(xs[0]) }
			if err := adtest.Check(f, append([]*tensor.Tensor{x}, modelParamTensors(tmpl)...), 2, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}
