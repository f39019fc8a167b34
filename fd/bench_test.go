package fd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// benchMLP is the energy network of the paper's MNIST experiments in size:
// 784-512-512-1 with softplus, float32, fixed random weights (scaled by
// 1/√fan-in so activations stay O(1)). The parameters are variables, so the
// forward pass records the graph as in training.
type benchMLP struct {
	params []*autodiff.Value // w1, b1, w2, b2, w3, b3
}

func newBenchMLP(dt tensor.DType) *benchMLP {
	r := rand.New(rand.NewPCG(2020, 1))
	sizes := []int{784, 512, 512, 1}
	m := &benchMLP{}
	for i := 0; i+1 < len(sizes); i++ {
		w := tensor.Scale(tensor.RandN(dt, r, sizes[i], sizes[i+1]), 1/math.Sqrt(float64(sizes[i])))
		m.params = append(m.params, autodiff.Var(w), autodiff.Var(tensor.Zeros(dt, sizes[i+1])))
	}
	return m
}

func (m *benchMLP) f(x *autodiff.Value) *autodiff.Value {
	h := x
	for i := 0; i < len(m.params); i += 2 {
		h = autodiff.Add(autodiff.MatMul(h, m.params[i], false, false), m.params[i+1])
		if i+2 < len(m.params) {
			h = autodiff.Softplus(h)
		}
	}
	return autodiff.Reshape(h, -1)
}

// mlpFlops is the multiply-add count ×2 of one forward pass over rows rows.
func mlpFlops(rows int) float64 { return 2 * float64(rows) * (784*512 + 512*512 + 512) }

// BenchmarkDirectional evaluates the T = 2 stencil D2 (3 nodes) through the
// MLP at batch 128: one call on 384 stacked rows versus three calls on 128.
//
//	go test ./fd -run '^$' -bench Directional -benchtime 20x -count 5
func BenchmarkDirectional(b *testing.B) {
	const n = 128
	m := newBenchMLP(tensor.Float32)
	r := rand.New(rand.NewPCG(1, 2))
	x := autodiff.Const(tensor.RandN(tensor.Float32, r, n, 784))
	v := autodiff.Const(tensor.Scale(tensor.RandN(tensor.Float32, r, n, 784), 0.1/math.Sqrt(784)))
	for _, mode := range []struct {
		name string
		opts []Option
	}{{"batched", nil}, {"nonbatched", []Option{NonBatched()}}} {
		b.Run(mode.name, func(b *testing.B) {
			for b.Loop() {
				Directional(D2, m.f, x, v, mode.opts...)
			}
			b.ReportMetric(mlpFlops(D2.Len()*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkDirectionalGrad adds the backward pass to all weights and biases
// of Σ_rows D2, what one FD training step costs beyond the loss arithmetic.
func BenchmarkDirectionalGrad(b *testing.B) {
	const n = 128
	m := newBenchMLP(tensor.Float32)
	r := rand.New(rand.NewPCG(1, 2))
	x := autodiff.Const(tensor.RandN(tensor.Float32, r, n, 784))
	v := autodiff.Const(tensor.Scale(tensor.RandN(tensor.Float32, r, n, 784), 0.1/math.Sqrt(784)))
	for _, mode := range []struct {
		name string
		opts []Option
	}{{"batched", nil}, {"nonbatched", []Option{NonBatched()}}} {
		b.Run(mode.name, func(b *testing.B) {
			for b.Loop() {
				y := autodiff.Sum(Directional(D2, m.f, x, v, mode.opts...))
				autodiff.Grad(y, m.params)
			}
		})
	}
}
