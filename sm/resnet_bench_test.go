package sm_test

import (
	"fmt"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// BenchmarkResNetStep times one training step without the optimizer update
// (the objective and a first-order backward pass to the parameters that
// releases the graph) on the default nn.ResNetEnergy (3 blocks of 32
// channels) on 1×32×32 images, float32: the FD objectives with the stable
// and the naive evaluation, and the gradient-based ones they replace. It
// reports the step's tensor allocation besides -benchmem's, and its CPU
// time (both cores; steadier than the wall clock on a shared machine).
func BenchmarkResNetStep(b *testing.B) {
	type objective struct {
		name string
		loss func(sm.Energy, *tensor.Tensor, *sm.Options) *ad.Value
		mode sm.FDMode
	}
	objs := []objective{
		{"FDSSM-stable", sm.FDSSM, sm.FDStable},
		{"FDDSM-stable", sm.FDDSM, sm.FDStable},
		{"FDSSM-naive", sm.FDSSM, sm.FDNaive},
		{"SSM", sm.SSM, sm.FDAuto},
		{"DSM", sm.DSM, sm.FDAuto},
	}
	for _, n := range []int{32, 64} {
		for _, o := range objs {
			b.Run(fmt.Sprintf("%s/N%d", o.name, n), func(b *testing.B) {
				rng := newRand(3)
				m := nn.NewResNetEnergy(tensor.Float32, 1, 32, 32, nil, rng)
				params := nn.Values(m)
				x := tensor.RandU(tensor.Float32, rng, 0, 1, n, 1024)
				start, cpu := tensor.AllocatedBytes(), cpuTime()
				b.ResetTimer()
				for i := range b.N {
					opts := &sm.Options{Rand: newRand(uint64(i)), FDMode: o.mode}
					ad.Grad(o.loss(m, x, opts), params, ad.ReleaseGraph())
				}
				b.ReportMetric(float64(tensor.AllocatedBytes()-start)/float64(b.N), "tensorB/op")
				b.ReportMetric((cpuTime()-cpu).Seconds()*1e3/float64(b.N), "cpu-ms/op")
			})
		}
	}
}
