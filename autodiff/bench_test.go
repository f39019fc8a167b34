package autodiff_test

import (
	"math/rand/v2"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// BenchmarkMLPGrad times one forward and backward pass (to the parameters) of
// a 784-512-512-1 softplus MLP energy at batch 128: the first-order work of one
// finite-difference training step's evaluation.
func BenchmarkMLPGrad(b *testing.B) {
	for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64} {
		b.Run(dt.String(), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			sizes := []int{784, 512, 512, 1}
			var params []*ad.Value
			for i := 0; i+1 < len(sizes); i++ {
				w := tensor.Scale(tensor.RandN(dt, rng, sizes[i+1], sizes[i]), 1/28.0)
				params = append(params, ad.Var(w), ad.Var(tensor.Zeros(dt, sizes[i+1])))
			}
			x := ad.Const(tensor.RandN(dt, rng, 128, 784))
			start := tensor.AllocatedBytes()
			b.ResetTimer()
			for range b.N {
				h := x
				for l := 0; l < len(params); l += 2 {
					h = ad.Add(ad.MatMul(h, params[l], false, true), params[l+1])
					if l+2 < len(params) {
						h = ad.Softplus(h)
					}
				}
				ad.Grad(ad.Sum(h), params)
			}
			b.ReportMetric(float64(tensor.AllocatedBytes()-start)/float64(b.N), "tensorB/op")
		})
	}
}
