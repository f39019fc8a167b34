package quality

import (
	"fmt"
	"math/rand/v2"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// Image geometry: MNIST digits, 28×28 gray pixels in [0, 1], as rows of 784.
const (
	Side    = 28
	Pixels  = Side * Side
	Classes = 10
	// FeatureDim is the width of the penultimate layer, whose activations
	// the Fréchet distance compares (LeNet-5's F6 layer).
	FeatureDim = 84
)

// LeNet is LeNet-5 (LeCun et al. 1998) as it is usually rebuilt: a 5×5
// convolution to 6 channels (padded, 28×28), 2×2 average pooling, a 5×5
// convolution to 16 channels (10×10), 2×2 pooling, then dense layers
// 400 → 120 → 84 → 10, ELU after every layer but the last. Average pooling is
// LeNet-5's subsampling; ELU stands in for ReLU, which fdsm's fused kernels
// lack.
type LeNet struct {
	C1, C3     *nn.Conv2D
	F5, F6, F7 *nn.Linear
}

// NewLeNet returns a LeNet with PyTorch's default initialisation from rng.
func NewLeNet(rng *rand.Rand) *LeNet {
	dt := tensor.Float32
	return &LeNet{
		C1: nn.NewConv2D(dt, 1, 6, 5, 1, 2, true, rng),
		C3: nn.NewConv2D(dt, 6, 16, 5, 1, 0, true, rng),
		F5: nn.NewLinear(dt, 16*5*5, 120, rng),
		F6: nn.NewLinear(dt, 120, FeatureDim, rng),
		F7: nn.NewLinear(dt, FeatureDim, Classes, rng),
	}
}

// Params lists the parameters under stable names (the safetensors keys).
func (m *LeNet) Params() []nn.Param {
	return []nn.Param{
		{Name: "c1.weight", Value: m.C1.W}, {Name: "c1.bias", Value: m.C1.B},
		{Name: "c3.weight", Value: m.C3.W}, {Name: "c3.bias", Value: m.C3.B},
		{Name: "f5.weight", Value: m.F5.W}, {Name: "f5.bias", Value: m.F5.B},
		{Name: "f6.weight", Value: m.F6.W}, {Name: "f6.bias", Value: m.F6.B},
		{Name: "f7.weight", Value: m.F7.W}, {Name: "f7.bias", Value: m.F7.B},
	}
}

// Forward maps images x [N, 784] (float32, row-major 28×28) to the
// penultimate features [N, 84] and the class logits [N, 10].
func (m *LeNet) Forward(x *ad.Value) (features, logits *ad.Value) {
	if x.T().Rank() != 2 || x.Dim(1) != Pixels {
		panic(fmt.Sprintf("quality: LeNet input %v (want [N, %d])", x.Shape(), Pixels))
	}
	n := x.Dim(0)
	h := ad.Reshape(x, n, Side, Side, 1)
	h = ad.AvgPool2D(ad.Conv2DAct(h, m.C1.W, m.C1.B, 1, 2, tensor.ActELU), 2, 2, 0) // [N, 14, 14, 6]
	h = ad.AvgPool2D(ad.Conv2DAct(h, m.C3.W, m.C3.B, 1, 0, tensor.ActELU), 2, 2, 0) // [N, 5, 5, 16]
	h = ad.Dense(ad.Reshape(h, n, 16*5*5), m.F5.W, m.F5.B, tensor.ActELU)           // [N, 120]
	features = ad.Dense(h, m.F6.W, m.F6.B, tensor.ActELU)                           // [N, 84]
	return features, ad.Dense(features, m.F7.W, m.F7.B, tensor.ActNone)             // [N, 10]
}

// LeNetFromTensors builds a LeNet from the tensors of a weights file,
// checking that every parameter is there with its shape and dtype.
func LeNetFromTensors(ts map[string]*tensor.Tensor) (*LeNet, error) {
	m := NewLeNet(rand.New(rand.NewPCG(0, 0)))
	for _, p := range m.Params() {
		t, ok := ts[p.Name]
		if !ok {
			return nil, fmt.Errorf("no tensor %q", p.Name)
		}
		if !t.SameShape(p.Value.T()) || t.DType() != p.Value.DType() {
			return nil, fmt.Errorf("tensor %q is %s%v, want %s%v", p.Name, t.DType(), t.Shape(), p.Value.DType(), p.Value.Shape())
		}
		p.Value.T().CopyFrom(t)
	}
	return m, nil
}
