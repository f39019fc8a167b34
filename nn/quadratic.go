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
	head := NewQuadHead(dt, hidden[len(hidden)-1], rng)
	return &Quadratic{Trunk: trunk, L1: head.L1, L2: head.L2, LQ: head.LQ}
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
	return m.head().Energy(m.Features(x))
}

func (m *Quadratic) head() *QuadHead { return &QuadHead{L1: m.L1, L2: m.L2, LQ: m.LQ} }

// Params implements Module.
func (m *Quadratic) Params() []Param {
	var ps []Param
	for _, p := range m.Trunk.Params() {
		ps = append(ps, Param{"trunk." + p.Name, p.Value})
	}
	return append(ps, m.head().Params()...)
}

// QuadHead is the paper's quadratic energy head on features h [N, w]:
//
//	E = l1(h)·l2(h) + lq(h ⊙ h),
//
// with l1, l2, lq Linear layers to width 1. A linear head would make E as
// flat as the features far from the data; the products let it grow
// quadratically in them. Quadratic (MLP features) and ResNetEnergy
// (convolutional features) share it. Parameters are named "l1.weight",
// "l1.bias", "l2.weight", "l2.bias", "lq.weight" and "lq.bias".
type QuadHead struct {
	L1, L2, LQ *Linear // each [1, w]
}

// NewQuadHead returns a head on w features with PyTorch's initialisation
// (drawn in the order l1, l2, lq).
func NewQuadHead(dt tensor.DType, w int, rng *rand.Rand) *QuadHead {
	return &QuadHead{L1: NewLinear(dt, w, 1, rng), L2: NewLinear(dt, w, 1, rng), LQ: NewLinear(dt, w, 1, rng)}
}

// Energy returns E for features h [N, w], one value per row ([N]).
func (q *QuadHead) Energy(h *ad.Value) *ad.Value {
	e := ad.Add(ad.Mul(q.L1.Forward(h), q.L2.Forward(h)), q.LQ.Forward(ad.Square(h)))
	return ad.Reshape(e, -1)
}

// Params implements Module.
func (q *QuadHead) Params() []Param {
	return []Param{
		{"l1.weight", q.L1.W}, {"l1.bias", q.L1.B},
		{"l2.weight", q.L2.W}, {"l2.bias", q.L2.B},
		{"lq.weight", q.LQ.W}, {"lq.bias", q.LQ.B},
	}
}
