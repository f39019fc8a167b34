package bench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/fd"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

var long = os.Getenv("FDSM_LONG") == "1"

// runSteps times b.N training steps of s and reports ms/step (the mean, GC
// pauses included) and median-ms/step (the PyTorch peer's statistic), the step's peak
// tensor bytes with the parameters (peak-bytes) and without them
// (step-peak-bytes, what the step allocates: the figure objectives are
// compared by), that peak less the gradients too (act-peak-bytes), the
// tensor bytes it allocates (tensor-B/op), and the bytes it takes from the
// heap as a percentage of those (heap-%-of-tensor: B/op over tensor-B/op,
// for a steady step that reuses its buffers well under 1).
// GFLOP/step is the step's matrix-product work (tensor.ProductFLOPs).
// B/op and allocs/op come from -benchmem.
func runSteps(b *testing.B, s *Step) {
	// Warm up: first-use allocations, page faults, and the buffer pool (the
	// optimizer state takes buffers the first step hands back, so the pool
	// is stocked for a steady step only after the second).
	for range 3 {
		s.Run()
	}
	b.ReportAllocs()
	var peak, step, act int64
	times := make([]float64, 0, b.N)
	start := tensor.AllocatedBytes()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap0 := ms.TotalAlloc
	flop0 := tensor.ProductFLOPs()
	t0 := time.Now()
	b.ResetTimer()
	for range b.N {
		t1 := time.Now()
		r := s.Run()
		times = append(times, float64(time.Since(t1).Nanoseconds())/1e6)
		peak, step, act = max(peak, r.PeakBytes), max(step, r.StepBytes), max(act, r.ActivationBytes)
	}
	b.StopTimer()
	b.ReportMetric(float64(time.Since(t0).Microseconds())/1e3/float64(b.N), "ms/step")
	b.ReportMetric(float64(tensor.ProductFLOPs()-flop0)/1e9/float64(b.N), "GFLOP/step")
	b.ReportMetric(medianF(times), "median-ms/step")
	b.ReportMetric(float64(peak), "peak-bytes")
	b.ReportMetric(float64(step), "step-peak-bytes")
	b.ReportMetric(float64(act), "act-peak-bytes")
	tensorBytes := float64(tensor.AllocatedBytes() - start)
	b.ReportMetric(tensorBytes/float64(b.N), "tensor-B/op")
	runtime.ReadMemStats(&ms)
	b.ReportMetric(100*float64(ms.TotalAlloc-heap0)/tensorBytes, "heap-%-of-tensor")
}

// BenchmarkObjective times one training step (objective, backward to the
// parameters, Adam update) for every objective of an energy MLP on every
// configuration, float32, and the score-network pair (score-ssm-vr vs
// fd-ssm-vr) on a score MLP of the same hidden sizes. Exact SM ("sm") is the
// forward Laplacian on the MLPs; "sm-dpass" is exact SM by d recorded
// backward passes (what "sm" falls back to, and does on the ResNets). Where
// a step costs many seconds (the d-pass path at d = 784, both paths on
// mnist-large and the ResNets) they run only with FDSM_LONG=1.
//
//	go test -run XXX -bench Objective -benchmem ./bench
func BenchmarkObjective(b *testing.B) {
	energy := []string{"sm", "sm-dpass", "ssm", "ssm-vr", "fd-ssm", "dsm", "fd-dsm", "mdsm", "fd-mdsm", "taylor-ssm", "taylor-dsm", "taylor-ssm-vr"}
	for _, cfg := range Configs() {
		for _, name := range energy {
			switch {
			case name == "sm-dpass" && cfg.ResNet != nil:
				continue // "sm" is the d-pass path there
			case name == "sm" && cfg.Sizes[0] > 2 && !long && cfg.Name != "mnist-mlp",
				name == "sm-dpass" && cfg.Sizes[0] > 2 && !long:
				continue // seconds to minutes per step (see above)
			}
			b.Run(name+"/"+cfg.Name, func(b *testing.B) {
				s, err := newExactStep(cfg, name)
				if err != nil {
					b.Fatal(err)
				}
				runSteps(b, s)
			})
		}
		if cfg.ResNet != nil {
			continue // no convolutional score network
		}
		for _, name := range []string{"ssm-vr", "fd-ssm-vr", "taylor-ssm-vr"} {
			b.Run("score-"+name+"/"+cfg.Name, func(b *testing.B) {
				s, err := NewScoreStep(cfg, name, tensor.Float32, 1)
				if err != nil {
					b.Fatal(err)
				}
				runSteps(b, s)
			})
		}
	}
}

// BenchmarkFDBatching compares each FD objective with its stencil points
// stacked into one batch (one model call) and evaluated one call per point
// (the paper's non-parallel ablation), both with the naive evaluation.
func BenchmarkFDBatching(b *testing.B) {
	for _, cfg := range Configs() {
		for _, name := range []string{"fd-ssm", "fd-dsm"} {
			for _, nobatch := range []bool{false, true} {
				mode := "batched"
				if nobatch {
					mode = "nonbatched"
				}
				b.Run(name+"/"+cfg.Name+"/"+mode, func(b *testing.B) {
					s, err := NewStep(cfg, name, tensor.Float32, 1)
					if err != nil {
						b.Fatal(err)
					}
					// Naive evaluation both ways, so only the batching differs
					// (the stable float32 path has no non-batched form).
					s.Options.NonBatched = nobatch
					s.Options.FDMode = sm.FDNaive
					runSteps(b, s)
				})
			}
		}
	}
}

// BenchmarkScalingDim sweeps the data dimension d with the hidden layers
// fixed (d-256-256-1, batch 64): exact SM by the forward Laplacian ("sm")
// carries a Jacobian of min(d, 256) columns per unit; by d recorded
// backward passes ("sm-dpass") it costs d passes; SSM and FD-SSM cost a
// fixed number of passes whatever d.
func BenchmarkScalingDim(b *testing.B) {
	for _, d := range []int{2, 8, 32, 128, 512} {
		for _, name := range []string{"sm", "sm-dpass", "ssm", "fd-ssm"} {
			if name == "sm-dpass" && d > 128 && !long {
				continue
			}
			b.Run(fmt.Sprintf("%s/d=%d", name, d), func(b *testing.B) {
				s, err := newExactStep(Config{Name: fmt.Sprintf("d%d", d), Sizes: []int{d, 256, 256, 1}, Batch: 64}, name)
				if err != nil {
					b.Fatal(err)
				}
				runSteps(b, s)
			})
		}
	}
}

// newExactStep is NewStep (float32, seed 1) that also knows "sm-dpass":
// exact SM by d recorded backward passes whatever the model.
func newExactStep(cfg Config, name string) (*Step, error) {
	if name != "sm-dpass" {
		return NewStep(cfg, name, tensor.Float32, 1)
	}
	obj := sm.Objective{Name: name, Energy: func(m sm.Energy, x *tensor.Tensor, _ *sm.Options) *ad.Value { return sm.ExactSMDPass(m, x) }}
	return newStep(cfg, obj, false, tensor.Float32, 1)
}

// BenchmarkScalingOrder compares two ways of getting a T-th order
// directional derivative D_vᵀ E(x) of a 64-256-256-1 softplus energy (batch
// 64) and backpropagating it to the parameters: autodiff nested T times
// (each level a recorded backward pass of ⟨∇x(previous), v⟩), against the
// central O(ε²) stencil of fd (T + 1 or T + 2 evaluations in one batch, one
// ordinary backward pass), and against Taylor mode (ad.Jet: the exact
// derivative, K applications of each layer's GEMM and O(T²) elementwise
// products, one ordinary backward pass).
func BenchmarkScalingOrder(b *testing.B) {
	const d, batch = 64, 64
	rng := rand.New(rand.NewPCG(3, 4))
	m := nn.NewMLP(tensor.Float32, []int{d, 256, 256, 1}, nn.Softplus, rng)
	params := nn.Values(m)
	x := tensor.RandN(tensor.Float32, rng, batch, d)
	v := tensor.Scale(tensor.RandN(tensor.Float32, rng, batch, d), 0.1)
	for _, order := range []int{1, 2, 3, 4} {
		b.Run(fmt.Sprintf("autodiff/T=%d", order), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				xv := ad.Var(x)
				y := m.Energy(xv) // [B]
				for range order {
					g := ad.Grad(ad.Sum(y), []*ad.Value{xv}, ad.CreateGraph())[0]
					y = ad.SumAxis(ad.Mul(g, ad.Const(v)), 1) // ⟨∇x y, v⟩ per row
				}
				ad.Grad(ad.Sum(y), params)
			}
		})
		b.Run(fmt.Sprintf("stencil/T=%d", order), func(b *testing.B) {
			st := fd.Must(fd.Central(order, 2))
			b.ReportAllocs()
			for range b.N {
				y := fd.Directional(st, m.Energy, ad.Const(x), ad.Const(v))
				ad.Grad(ad.Sum(y), params)
			}
		})
		b.Run(fmt.Sprintf("jet/T=%d", order), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				_, d := ad.Jet(m.Energy, ad.Const(x), ad.Const(v), order)
				ad.Grad(ad.Sum(d[order-1]), params)
			}
		})
	}
}

// Ensure the objectives the suite names exist (a renamed objective must
// fail here, not silently drop out of the benchmarks).
func TestBenchmarkObjectivesExist(t *testing.T) {
	for _, n := range append([]string{"sm", "ssm", "ssm-vr", "fd-ssm", "dsm", "fd-dsm", "mdsm", "fd-mdsm"}, TableObjectives()...) {
		if _, err := sm.Lookup(n); err != nil {
			t.Error(err)
		}
	}
	for _, n := range []string{"ssm-vr", "fd-ssm-vr"} {
		if _, err := NewScoreStep(Configs()[0], n, tensor.Float32, 1); err != nil {
			t.Error(err)
		}
	}
}
