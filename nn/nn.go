package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

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

// The activations score matching can use (see activations).
const (
	Softplus Activation = "softplus"
	ELU      Activation = "elu"
	Tanh     Activation = "tanh"
	Swish    Activation = "swish"
	Sigmoid  Activation = "sigmoid"
	SiLU     Activation = "silu"
)

// activation is what nn knows of an activation: the fused Dense kernel's
// activation if it has one (its derivative a function of its output, see
// autodiff.Dense), the autodiff operation otherwise, and jet2, σ(a), σ′(a)
// and σ″(a) written with autodiff operations (DKEF's forward-mode
// derivatives), so that they can be differentiated again.
type activation struct {
	name  Activation
	fused tensor.Act // tensor.ActNone: applied after an unfused Dense
	apply func(*ad.Value) *ad.Value
	jet2  func(a *ad.Value) (y, d1, d2 *ad.Value)
}

// activations is the table of activations, one row each, in the order
// ParseActivation lists them.
var activations = []activation{
	{Softplus, tensor.ActSoftplus, ad.Softplus, func(a *ad.Value) (y, d1, d2 *ad.Value) {
		s := ad.Sigmoid(a)
		return ad.Softplus(a), s, ad.Mul(s, oneMinus(s))
	}},
	{ELU, tensor.ActELU, func(x *ad.Value) *ad.Value { return ad.ELU(x, 1) }, func(a *ad.Value) (y, d1, d2 *ad.Value) {
		// α = 1: for a ≤ 0, σ′ = σ″ = eᵃ = y + 1; for a > 0, σ′ = 1, σ″ = 0.
		y = ad.ELU(a, 1)
		pos := ad.Const(tensor.GreaterScalar(a.T(), 0))
		neg := ad.Const(tensor.AddScalar(tensor.Neg(pos.T()), 1))
		d2 = ad.Mul(neg, ad.AddScalar(y, 1))
		return y, ad.Add(pos, d2), d2
	}},
	{Tanh, tensor.ActTanh, ad.Tanh, func(a *ad.Value) (y, d1, d2 *ad.Value) {
		y = ad.Tanh(a)
		d1 = oneMinus(ad.Square(y))
		return y, d1, ad.Mul(ad.Scale(y, -2), d1)
	}},
	{Swish, tensor.ActNone, func(x *ad.Value) *ad.Value { return ad.Mul(x, ad.Sigmoid(x)) }, func(a *ad.Value) (y, d1, d2 *ad.Value) {
		s := ad.Sigmoid(a)
		q := ad.Mul(s, oneMinus(s))
		y = ad.Mul(a, s)
		d1 = ad.Add(s, ad.Mul(a, q))
		return y, d1, ad.Mul(q, ad.AddScalar(ad.Mul(a, oneMinus(ad.Scale(s, 2))), 2))
	}},
	{Sigmoid, tensor.ActSigmoid, ad.Sigmoid, func(a *ad.Value) (y, d1, d2 *ad.Value) {
		y = ad.Sigmoid(a)
		d1 = ad.Mul(y, oneMinus(y))
		return y, d1, ad.Mul(d1, oneMinus(ad.Scale(y, 2)))
	}},
	// swish's function as one primitive (swish stays two operations, so
	// that its runs keep their numbers).
	{SiLU, tensor.ActNone, ad.SiLU, func(a *ad.Value) (y, d1, d2 *ad.Value) {
		s := ad.Sigmoid(a)
		q := ad.Mul(s, oneMinus(s))
		y = ad.SiLU(a)
		d1 = ad.Add(s, ad.Mul(a, q))
		return y, d1, ad.Mul(q, ad.AddScalar(ad.Mul(a, oneMinus(ad.Scale(s, 2))), 2))
	}},
}

func oneMinus(v *ad.Value) *ad.Value { return ad.AddScalar(ad.Neg(v), 1) }

// row returns a's row of the table (nil for a name not in it).
func (a Activation) row() *activation {
	for i := range activations {
		if activations[i].name == a {
			return &activations[i]
		}
	}
	return nil
}

// mustRow is row, panicking for a name not in the table (a programmer's
// error: names from outside go through ParseActivation).
func (a Activation) mustRow() *activation {
	if r := a.row(); r != nil {
		return r
	}
	panic(fmt.Sprintf("nn: unknown activation %q", string(a)))
}

// Activations returns the activation names, in the table's order (for a
// command's help text, say).
func Activations() []Activation {
	out := make([]Activation, len(activations))
	for i, r := range activations {
		out[i] = r.name
	}
	return out
}

// ParseActivation checks an activation name.
func ParseActivation(s string) (Activation, error) {
	var names []string
	for _, a := range Activations() {
		if string(a) == s {
			return a, nil
		}
		names = append(names, string(a))
	}
	last := len(names) - 1
	return "", fmt.Errorf("nn: unknown activation %q (want %s or %s)", s, strings.Join(names[:last], ", "), names[last])
}

// fused returns the tensor kernel's activation, if there is one.
func (a Activation) fused() (tensor.Act, bool) {
	r := a.row()
	if r == nil || r.fused == tensor.ActNone {
		return 0, false
	}
	return r.fused, true
}

// Apply applies the activation.
func (a Activation) Apply(x *ad.Value) *ad.Value { return a.mustRow().apply(x) }

// jet2 returns σ(a), σ′(a) and σ″(a), each written with autodiff operations
// so that they can be differentiated again.
func (act Activation) jet2(a *ad.Value) (y, d1, d2 *ad.Value) { return act.mustRow().jet2(a) }

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
