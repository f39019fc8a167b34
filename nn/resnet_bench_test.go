package nn_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// BenchmarkResNetEnergyGrad times one forward pass of the default
// ResNetEnergy (3 blocks of 32 channels) on MNIST padded to 32×32 and one
// first-order backward pass to the input and the parameters: the model
// evaluation inside one step of an FD objective (a naive FD-SSM step stacks
// three such batches). It reports the step's tensor allocation.
func BenchmarkResNetEnergyGrad(b *testing.B) {
	for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64} {
		for _, n := range []int{32, 64} {
			b.Run(fmt.Sprintf("%v/N%d", dt, n), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 2))
				m := nn.NewResNetEnergy(dt, 1, 32, 32, nil, rng)
				x := ad.Var(tensor.RandU(dt, rng, 0, 1, n, 1024))
				wrt := append([]*ad.Value{x}, nn.Values(m)...)
				start := tensor.AllocatedBytes()
				b.ResetTimer()
				for range b.N {
					ad.Grad(ad.Sum(m.Energy(x)), wrt)
				}
				b.ReportMetric(float64(tensor.AllocatedBytes()-start)/float64(b.N), "tensorB/op")
			})
		}
	}
}
