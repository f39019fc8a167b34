package autodiff_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// BenchmarkConv2DGrad times one forward and backward pass (to the input, the
// weight and the bias) of a 3×3, stride 1, padding 1 convolution with a
// softplus at MNIST size (32×32 after zero-padding the 28×28 digits): the
// first layer (1 → 32 channels) and an inner one (32 → 32). It reports the
// GEMM work's rate (forward 2·N·Ho·Wo·C·9·O flops, backward twice that).
func BenchmarkConv2DGrad(b *testing.B) {
	for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64} {
		for _, n := range []int{32, 64} {
			for _, cin := range []int{1, 32} {
				const hw, cout = 32, 32
				b.Run(fmt.Sprintf("%v/N%d/%dx%dx%dto%d", dt, n, cin, hw, hw, cout), func(b *testing.B) {
					rng := rand.New(rand.NewPCG(1, 2))
					x := ad.Var(tensor.RandN(dt, rng, n, hw, hw, cin))
					w := ad.Var(tensor.Scale(tensor.RandN(dt, rng, cout, cin, 3, 3), 0.1))
					bias := ad.Var(tensor.Zeros(dt, cout))
					// A cotangent for the output, as from the layer above.
					seed := ad.WithSeed(ad.Const(tensor.RandN(dt, rng, n, hw, hw, cout)))
					start := tensor.AllocatedBytes()
					b.ResetTimer()
					for range b.N {
						y := ad.Conv2DAct(x, w, bias, 1, 1, tensor.ActSoftplus)
						ad.Grad(y, []*ad.Value{x, w, bias}, seed)
					}
					flops := 3 * 2 * float64(n*hw*hw*cin*9*cout)
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					b.ReportMetric(float64(tensor.AllocatedBytes()-start)/float64(b.N), "tensorB/op")
				})
			}
		}
	}
}
