package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkDirect compares, on one goroutine, the direct kernels with the
// packed implicit GEMM (PatchesTimes, TimesPatches) at the ResNet energy's
// 3×3 convolutions (32 and 64 channels; as many images a call as
// tensor's convolutions give one: 1 at 32×32 and 16×16, 7 at 8×8), in GFLOP/s of the products' 2·m·n·k:
//
//	go test -run XXX -bench Direct ./internal/gemm
func BenchmarkDirect(b *testing.B) {
	for _, s := range []struct{ hw, c, n int }{{32, 32, 1}, {8, 32, 7}, {16, 64, 1}} {
		rng := rand.New(rand.NewPCG(1, 2))
		q := Patches{H: s.hw, W: s.hw, C: s.c, KH: 3, KW: 3, Stride: 1, PadH: 1, PadW: 1}
		n, o := s.n, s.c
		ho, wo := q.Out()
		m, k := n*ho*wo, q.Cols()
		x := matrix[float32](rng, 1, n*q.H*q.W*q.C, n*q.H*q.W*q.C, 0)
		w := matrix[float32](rng, o, k, k, 0)
		g := matrix[float32](rng, m, o, o, 0)
		out := make([]float32, m*o)
		dw := make([]float32, o*k)
		panels := make([]float32, DirectPanelsLen(o, k))
		DirectPanels(panels, w, o, k)
		flop := 2 * float64(m*o*k)
		for _, v := range []struct {
			name string
			f    func()
		}{
			{"forward/packed", func() { PatchesTimes(q, x, m, true, o, w, k, 0, out, o) }},
			{"forward/direct", func() { DirectForward(q, x, n, panels, o, out) }},
			{"weightgrad/packed", func() { TimesPatches(true, o, m, g, o, q, x, 0, dw, k) }},
			{"weightgrad/direct", func() { DirectWeightGrad(q, x, n, g, o, dw) }},
		} {
			b.Run(fmt.Sprintf("%dx%dx%dx%d/%s", s.n, s.hw, s.hw, s.c, v.name), func(b *testing.B) {
				for range b.N {
					v.f()
				}
				b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
