package nn

import (
	"fmt"
	"math/rand/v2"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// QuadraticConfig configures NewQuadratic. A nil *QuadraticConfig, or a zero
// field, means the default.
type QuadraticConfig struct {
	// Hidden lists the trunk's layer widths after the input (default
	// [128, 128], a library choice for tabular and toy data).
	Hidden []int
	// Act is the trunk's activation (default Softplus).
	Act Activation
}

// Quadratic is the energy with a quadratic head used for the deep energy
// models of the paper:
//
//	E(x) = l1(h)·l2(h) + lq(h ⊙ h),   h = trunk(x),
//
// where the trunk applies the activation after every layer (the last
// included) and l1, l2, lq are Linear layers to width 1. A linear head on h
// would make E as flat as the features far from the data; the products let
// it grow quadratically in them.
//
// Parameters are named "trunk.layers.<i>.weight" / ".bias", "l1.weight",
// "l1.bias", "l2.weight", "l2.bias", "lq.weight" and "lq.bias".
type Quadratic struct {
	// Trunk holds the feature layers and activation. Its own Forward is not
	// used: Features activates the last layer too.
	Trunk *MLP
	// L1, L2 and LQ are the head's Linear layers, each [1, width].
	L1, L2, LQ *Linear
}

// NewQuadratic returns a Quadratic energy on d inputs with PyTorch-style
// initialisation.
func NewQuadratic(dt tensor.DType, d int, cfg *QuadraticConfig, rng *rand.Rand) *Quadratic {
	hidden, act := []int{128, 128}, Softplus
	if cfg != nil {
		if len(cfg.Hidden) > 0 {
			hidden = cfg.Hidden
		}
		if cfg.Act != "" {
			act = cfg.Act
		}
	}
	if d < 1 {
		panic(fmt.Sprintf("nn: NewQuadratic needs d ≥ 1, got %d", d))
	}
	trunk := NewMLP(dt, append([]int{d}, hidden...), act, rng)
	w := hidden[len(hidden)-1]
	return &Quadratic{
		Trunk: trunk,
		L1:    NewLinear(dt, w, 1, rng),
		L2:    NewLinear(dt, w, 1, rng),
		LQ:    NewLinear(dt, w, 1, rng),
	}
}

// Features returns h = trunk(x) for a batch [N, d], with the activation after
// every layer.
func (m *Quadratic) Features(x *ad.Value) *ad.Value {
	h := x
	fused, ok := m.Trunk.Act.fused()
	for _, l := range m.Trunk.Layers {
		if ok {
			h = ad.Dense(h, l.W, l.B, fused)
		} else {
			h = m.Trunk.Act.Apply(ad.Dense(h, l.W, l.B, tensor.ActNone))
		}
	}
	return h
}

// Energy returns E(x), one value per row ([N]).
func (m *Quadratic) Energy(x *ad.Value) *ad.Value {
	h := m.Features(x)
	e := ad.Add(ad.Mul(m.L1.Forward(h), m.L2.Forward(h)), m.LQ.Forward(ad.Square(h)))
	return ad.Reshape(e, -1)
}

// Params implements Module.
func (m *Quadratic) Params() []Param {
	var ps []Param
	for _, p := range m.Trunk.Params() {
		ps = append(ps, Param{"trunk." + p.Name, p.Value})
	}
	for _, h := range []struct {
		name string
		l    *Linear
	}{{"l1", m.L1}, {"l2", m.L2}, {"lq", m.LQ}} {
		ps = append(ps, Param{h.name + ".weight", h.l.W}, Param{h.name + ".bias", h.l.B})
	}
	return ps
}
