package bench

import (
	"os"
	"testing"
	"time"

	"github.com/fdsm/fdsm/tensor"
)

// BenchmarkObjective times one training step (objective + backward to the
// parameters) for every objective on every configuration, float32, and
// reports ms/step, the step's peak tensor bytes, and the tensor bytes it
// allocates. Exact SM runs only on the toy configuration unless FDSM_LONG=1
// (at d = 784 it costs 784 recorded backward passes per step).
//
//	go test -run XXX -bench Objective -benchmem ./bench
func BenchmarkObjective(b *testing.B) {
	long := os.Getenv("FDSM_LONG") == "1"
	for _, name := range []string{"sm", "ssm", "ssm-vr", "fd-ssm", "dsm", "fd-dsm", "mdsm", "fd-mdsm", "fd-ssm-vr"} {
		for _, cfg := range Configs {
			if name == "sm" && cfg.Name != "toy" && !long {
				continue
			}
			b.Run(name+"/"+cfg.Name, func(b *testing.B) {
				s, err := NewStep(cfg, name, tensor.Float32, 1)
				if err != nil {
					b.Fatal(err)
				}
				s.Run() // warm up
				b.ReportAllocs()
				var peak int64
				start := tensor.AllocatedBytes()
				t0 := time.Now()
				b.ResetTimer()
				for range b.N {
					peak = max(peak, s.Run().PeakBytes)
				}
				b.StopTimer()
				b.ReportMetric(float64(time.Since(t0).Microseconds())/1e3/float64(b.N), "ms/step")
				b.ReportMetric(float64(peak), "peak-bytes")
				b.ReportMetric(float64(tensor.AllocatedBytes()-start)/float64(b.N), "tensor-B/op")
			})
		}
	}
}
