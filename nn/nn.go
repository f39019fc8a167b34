package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// Param is a named trainable tensor.
type Param struct {
	Name  string
	Value *ad.Value // a variable (ad.Var)
}

// Module is anything with parameters.
type Module interface {
	// Params returns the parameters in a fixed order with unique names.
	Params() []Param
}

// Values returns the parameters' values, in order, for autodiff.Grad.
func Values(m Module) []*ad.Value {
	ps := m.Params()
	out := make([]*ad.Value, len(ps))
	for i, p := range ps {
		out[i] = p.Value
	}
	return out
}

// Linear is y = x·Wᵀ + b with W shaped [out, in] (PyTorch's layout).
type Linear struct {
	W, B *ad.Value
}

// NewLinear returns a Linear layer with PyTorch's default initialisation:
// W and b uniform on [−1/√in, 1/√in] (kaiming_uniform with a = √5 reduces to
// this bound for W).
func NewLinear(dt tensor.DType, in, out int, rng *rand.Rand) *Linear {
	bound := 1 / math.Sqrt(float64(in))
	return &Linear{
		W: ad.Var(tensor.RandU(dt, rng, -bound, bound, out, in)),
		B: ad.Var(tensor.RandU(dt, rng, -bound, bound, out)),
	}
}

// Forward applies the layer to a batch [N, in], giving [N, out].
func (l *Linear) Forward(x *ad.Value) *ad.Value {
	return ad.Dense(x, l.W, l.B, tensor.ActNone)
}

// Activation names a smooth elementwise nonlinearity. ReLU is absent on
// purpose: its Hessian is zero almost everywhere, which breaks score matching.
type Activation string

// The activations score matching can use.
const (
	Softplus Activation = "softplus"
	ELU      Activation = "elu"
	Tanh     Activation = "tanh"
	Swish    Activation = "swish"
	Sigmoid  Activation = "sigmoid"
)

// ParseActivation checks an activation name.
func ParseActivation(s string) (Activation, error) {
	switch a := Activation(s); a {
	case Softplus, ELU, Tanh, Swish, Sigmoid:
		return a, nil
	}
	return "", fmt.Errorf("nn: unknown activation %q (want softplus, elu, tanh, swish or sigmoid)", s)
}

// fused returns the tensor kernel's activation, if there is one.
func (a Activation) fused() (tensor.Act, bool) {
	switch a {
	case Softplus:
		return tensor.ActSoftplus, true
	case ELU:
		return tensor.ActELU, true
	case Tanh:
		return tensor.ActTanh, true
	case Sigmoid:
		return tensor.ActSigmoid, true
	}
	return 0, false
}

// Apply applies the activation.
func (a Activation) Apply(x *ad.Value) *ad.Value {
	switch a {
	case Softplus:
		return ad.Softplus(x)
	case ELU:
		return ad.ELU(x, 1)
	case Tanh:
		return ad.Tanh(x)
	case Swish:
		return ad.Mul(x, ad.Sigmoid(x))
	case Sigmoid:
		return ad.Sigmoid(x)
	}
	panic(fmt.Sprintf("nn: unknown activation %q", string(a)))
}

// MLP is a stack of Linear layers with an activation between them (none
// after the last). Its parameters are named "layers.<i>.weight" and
// "layers.<i>.bias" for the i-th Linear layer, counting from 0.
type MLP struct {
	Layers []*Linear
	Act    Activation
}

// NewMLP builds an MLP with the given layer widths, e.g. [784, 512, 512, 1].
func NewMLP(dt tensor.DType, sizes []int, act Activation, rng *rand.Rand) *MLP {
	if len(sizes) < 2 {
		panic(fmt.Sprintf("nn: NewMLP needs at least an input and an output width, got %v", sizes))
	}
	m := &MLP{Act: act}
	for i := 0; i+1 < len(sizes); i++ {
		m.Layers = append(m.Layers, NewLinear(dt, sizes[i], sizes[i+1], rng))
	}
	return m
}

// Forward maps a batch [N, in] to [N, out]. Layers whose activation has a
// fused kernel (all but swish) run as one autodiff.Dense node each.
func (m *MLP) Forward(x *ad.Value) *ad.Value {
	h := x
	fused, ok := m.Act.fused()
	for i, l := range m.Layers {
		switch {
		case i+1 == len(m.Layers):
			h = ad.Dense(h, l.W, l.B, tensor.ActNone)
		case ok:
			h = ad.Dense(h, l.W, l.B, fused)
		default:
			h = m.Act.Apply(ad.Dense(h, l.W, l.B, tensor.ActNone))
		}
	}
	return h
}

// Params implements Module.
func (m *MLP) Params() []Param {
	var ps []Param
	for i, l := range m.Layers {
		ps = append(ps, Param{fmt.Sprintf("layers.%d.weight", i), l.W}, Param{fmt.Sprintf("layers.%d.bias", i), l.B})
	}
	return ps
}

// Energy returns E(x), one value per row ([N]); the last layer must have
// width 1.
func (m *MLP) Energy(x *ad.Value) *ad.Value {
	y := m.Forward(x)
	if y.Dim(1) != 1 {
		panic(fmt.Sprintf("nn: MLP.Energy needs an output width of 1, got shape %v", y.Shape()))
	}
	return ad.Reshape(y, -1)
}

// Score returns the output as a score vector per row ([N, d]); the last layer
// must have the input's width.
func (m *MLP) Score(x *ad.Value) *ad.Value {
	y := m.Forward(x)
	if y.Dim(1) != x.Dim(1) {
		panic(fmt.Sprintf("nn: MLP.Score needs an output width equal to the input's %d, got shape %v", x.Dim(1), y.Shape()))
	}
	return y
}
