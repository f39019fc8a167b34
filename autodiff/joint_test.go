package autodiff_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// jointCase is a model on which the stable FD objectives are compared with
// and without the joint chain.
type jointCase struct {
	name string
	make func(dt tensor.DType, rng *rand.Rand) (sm.Energy, []*ad.Value)
}

var jointCases = []jointCase{
	// Every conv primitive: Im2Col, Col2Im (backward), 1×1 convolution,
	// average pooling, BatchTranspose (3 channels), global pooling.
	{"resnet", func(dt tensor.DType, rng *rand.Rand) (sm.Energy, []*ad.Value) {
		m := nn.NewResNetEnergy(dt, 3, 8, 8, &nn.ResNetConfig{Channels: 8, Blocks: 2}, rng)
		return m, nn.Values(m)
	}},
	// Fused Dense layers only, then the quadratic head.
	{"mlp-softplus", func(dt tensor.DType, rng *rand.Rand) (sm.Energy, []*ad.Value) {
		m := nn.NewQuadratic(dt, 192, &nn.QuadraticConfig{Hidden: []int{32, 32}}, rng)
		return m, nn.Values(m)
	}},
	// An unfused activation x·σ(x): joints built for Mul and Sigmoid.
	{"mlp-swish", func(dt tensor.DType, rng *rand.Rand) (sm.Energy, []*ad.Value) {
		m := nn.NewQuadratic(dt, 192, &nn.QuadraticConfig{Hidden: []int{32, 32}, Act: nn.Swish}, rng)
		return m, nn.Values(m)
	}},
}

// stableFDRun holds a stable FD objective's loss and parameter gradient.
type stableFDRun struct {
	dt   tensor.DType
	loss []uint64  // the loss's bits
	grad []float64 // the gradient, flattened
}

// stableFDRuns evaluates stable FD-SSM and FD-DSM on every jointCase in
// float32 and float64 (batch 4 of 3×8×8 images or 192-vectors).
func stableFDRuns() map[string]stableFDRun {
	out := map[string]stableFDRun{}
	for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64} {
		for _, c := range jointCases {
			rng := rand.New(rand.NewPCG(11, 12))
			m, params := c.make(dt, rng)
			x := tensor.RandU(dt, rng, 0, 1, 4, 192)
			o := &sm.Options{V: tensor.RandN(dt, rng, 4, 192), Noise: tensor.RandN(dt, rng, 4, 192), FDMode: sm.FDStable}
			for _, obj := range []struct {
				name string
				loss func(sm.Energy, *tensor.Tensor, *sm.Options) *ad.Value
			}{{"FDSSM", sm.FDSSM}, {"FDDSM", sm.FDDSM}} {
				loss := obj.loss(m, x, o)
				r := stableFDRun{dt: dt, loss: floatBits(loss.T())}
				for _, g := range ad.Grad(loss, params) {
					r.grad = append(r.grad, g.T().ToFloat64()...)
				}
				out[fmt.Sprintf("%s/%v/%s", c.name, dt, obj.name)] = r
			}
		}
	}
	return out
}

func floatBits(t *tensor.Tensor) []uint64 {
	var out []uint64
	if t.DType() == tensor.Float32 {
		for _, v := range t.Float32s() {
			out = append(out, uint64(math.Float32bits(v)))
		}
		return out
	}
	for _, v := range t.Float64s() {
		out = append(out, math.Float64bits(v))
	}
	return out
}

// TestJointChainSameNumbers: continuing the joints through the conv
// primitives and the other primitives (the chain) changes no computed
// number: the stable FD objectives' losses are bit for bit those of the
// evaluation that breaks the chain at every primitive but Dense (the code
// before the chain; its losses and gradients were checked bitwise against
// that code). The parameter gradients are the same sums of the same
// cotangent terms, but a joint is one node where the broken chain had a base
// and a difference: terms that met at those two now meet at the joint, in
// another association, so gradients differ by rounding: measured
// ‖Δg‖/‖g‖ ≤ 8u in float32 and 18u in float64 (0 for the softplus MLP,
// whose graph is unchanged), against 256u allowed here.
func TestJointChainSameNumbers(t *testing.T) {
	on := stableFDRuns()
	restore := ad.SetChainJoints(false)
	off := stableFDRuns()
	restore()
	for name, want := range off {
		got := on[name]
		if got.loss[0] != want.loss[0] {
			t.Errorf("%s: loss bits %x with the chain, %x without", name, got.loss[0], want.loss[0])
		}
		var num, den float64
		for i := range want.grad {
			num += (got.grad[i] - want.grad[i]) * (got.grad[i] - want.grad[i])
			den += want.grad[i] * want.grad[i]
		}
		u := 0x1p-53
		if got.dt == tensor.Float32 {
			u = 0x1p-24
		}
		if rel := math.Sqrt(num / den); !(rel <= 256*u) {
			t.Errorf("%s: gradients with and without the chain differ by %.3g relative (%.0fu)", name, rel, rel/u)
		}
	}
}

// TestJointChainSameDifferences: Delta and Central through the ResNet energy,
// and through a function of the batch rules the ResNet does not use
// forward (Col2Im, Neg, Sub, a BatchTranspose of a joint, a sum over axis
// 0, which breaks the chain), give bit for bit the same values and
// differences with and without the chain.
func TestJointChainSameDifferences(t *testing.T) {
	for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64} {
		rng := rand.New(rand.NewPCG(5, 6))
		m, _ := jointCases[0].make(dt, rng)
		w1 := ad.Var(tensor.RandN(dt, rng, 36, 192))
		w2 := ad.Var(tensor.RandN(dt, rng, 3, 4))
		linear := func(x *ad.Value) *ad.Value {
			n := x.Dim(0)
			h := ad.Dense(x, w1, nil, tensor.ActSoftplus)
			img := ad.Col2Im(ad.Reshape(h, 4*n, 9), tensor.Window{KH: 3, KW: 3, Stride: 1, Pad: 1}, 2, 2, 1)
			a := ad.Neg(ad.Reshape(img, n, 2, 2))
			b := ad.BatchTranspose(ad.Scale(ad.Reshape(img, n, 2, 2), 0.5))
			c := ad.Reshape(ad.Sub(a, b), n, 4)
			c = ad.Add(c, ad.SumAxis(c, 0)) // broadcast: no batch rule
			return ad.SumAxis(ad.Dense(c, w2, nil, tensor.ActTanh), 1)
		}
		x := ad.Const(tensor.RandU(dt, rng, 0, 1, 4, 192))
		vs := []*ad.Value{ad.Const(tensor.RandN(dt, rng, 4, 192)), ad.Const(tensor.RandN(dt, rng, 4, 192))}
		run := func() [][]uint64 {
			var out [][]uint64
			y, dys := ad.Delta(m.Energy, x, vs)
			yc, ds, ss := ad.Central(m.Energy, x, vs)
			yl, dls := ad.Delta(linear, x, vs)
			ycl, dl, sl := ad.Central(linear, x, vs)
			dys = append(append(append(append(dys, yl, ycl), dls...), dl...), sl...)
			for _, v := range append(append(append([]*ad.Value{y, yc}, dys...), ds...), ss...) {
				out = append(out, floatBits(v.T()))
			}
			return out
		}
		on := run()
		restore := ad.SetChainJoints(false)
		off := run()
		restore()
		for i := range off {
			if fmt.Sprint(on[i]) != fmt.Sprint(off[i]) {
				t.Errorf("%v: output %d differs with the chain", dt, i)
			}
		}
	}
}

// TestJointChainGOMAXPROCS: the stable FD objectives through the joint chain
// give the same bits with GOMAXPROCS 1 and 2.
func TestJointChainGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(1)
	one := stableFDRuns()
	runtime.GOMAXPROCS(2)
	two := stableFDRuns()
	for name, a := range one {
		b := two[name]
		if a.loss[0] != b.loss[0] || fmt.Sprint(a.grad) != fmt.Sprint(b.grad) {
			t.Errorf("%s: GOMAXPROCS 1 and 2 differ", name)
		}
	}
}
