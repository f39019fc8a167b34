package autodiff

import (
	"math/rand/v2"
	"testing"

	"github.com/fdsm/fdsm/tensor"
)

// The softplus difference kernels of the stable FD evaluation, at the size
// of one mnist-mlp hidden layer (128 rows × 512, one difference block) with
// the small steps FD-DSM takes (|δ| ~ 6e-4: ε = 1e-3 on a 784-d sphere).
func softplusKernelInputs(n int) (y, sv, ev, dy, g []float32) {
	rng := rand.New(rand.NewPCG(1, 1))
	z := tensor.RandN(tensor.Float32, rng, n).Float32s()
	y, sv, ev = make([]float32, n), make([]float32, n), make([]float32, n)
	for i, zi := range z {
		y[i] = softplus32(zi)
		sv[i], ev[i] = sigmoidPair(y[i], &scalar32)
	}
	dy = tensor.Scale(tensor.RandN(tensor.Float32, rng, n), 6e-4).Float32s()
	g = tensor.RandN(tensor.Float32, rng, 2*n).Float32s()
	return
}

func BenchmarkSoftplusDeltaKernels(b *testing.B) {
	const n = 128 * 512
	y, sv, ev, dy, g := softplusKernelInputs(n)
	b.Run("forward", func(b *testing.B) {
		d := make([]float32, n)
		for b.Loop() {
			copy(d, dy)
			actDeltaForward(d, y, sv, ev, tensor.ActSoftplus, &scalar32)
		}
	})
	b.Run("grad", func(b *testing.B) {
		gp := make([]float32, 2*n)
		for b.Loop() {
			jointGrad(gp[:n], gp[n:], g[:n], g[n:], y, dy, sv, ev, tensor.ActSoftplus, &scalar32)
		}
	})
}
