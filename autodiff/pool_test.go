package autodiff_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/autodiff/adtest"
	"github.com/fdsm/fdsm/tensor"
)

// Tests of the average-pooling primitive AvgPool2D and its adjoint: against
// the composition it replaced (Im2Col, then the mean of each channel's k²
// taps), gradients to order 3, the difference rules (plain and on joints)
// against direct and central differences, and determinism.

// poolCase is AvgPool2D on N images of H×W×C with a k×k window.
type poolCase struct{ n, h, w, c, k, stride, pad int }

func (p poolCase) String() string {
	return fmt.Sprintf("%dx%dx%dx%d/k%ds%dp%d", p.n, p.h, p.w, p.c, p.k, p.stride, p.pad)
}

func (p poolCase) out() (ho, wo int) {
	return tensor.Window{KH: p.k, KW: p.k, Stride: p.stride, Pad: p.pad}.Out(p.h, p.w)
}

// adPoolCases: the ResNet's 2×2 pool (even and odd sizes), overlapping
// padded windows, and a stride larger than the window (uncovered pixels).
var adPoolCases = []poolCase{
	{2, 4, 4, 3, 2, 2, 0},
	{1, 5, 5, 2, 2, 2, 0},
	{2, 5, 7, 1, 3, 2, 1},
	{1, 5, 4, 2, 3, 1, 1},
	{1, 7, 7, 2, 2, 3, 0},
}

// avgPoolComposed is AvgPool2D as it was built before it was a primitive:
// Im2Col's columns (c, kh, kw) put a channel's k² taps side by side.
func avgPoolComposed(x *ad.Value, k, stride, pad int) *ad.Value {
	n, h, w, c := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	win := tensor.Window{KH: k, KW: k, Stride: stride, Pad: pad}
	ho, wo := win.Out(h, w)
	taps := ad.Reshape(ad.Im2Col(x, win), n*ho*wo*c, k*k)
	return ad.Reshape(ad.MeanAxis(taps, 1), n, ho, wo, c)
}

// TestAvgPool2DMatchesComposition: the primitive's value and input gradient
// (for a random cotangent) equal the composition's, in float64 and float32.
// Both sum at most k² = 9 terms, in another order for the gradient: 1e-14
// (float64) and 1e-6 (float32) relative to the largest element, a few ulps
// of a 9-term sum with margin.
func TestAvgPool2DMatchesComposition(t *testing.T) {
	for _, dt := range deltaDTypes {
		tol := 1e-14
		if dt == tensor.Float32 {
			tol = 1e-6
		}
		for _, pc := range adPoolCases {
			t.Run(pc.String()+"/"+dt.String(), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(1, 2))
				x := ad.Var(tensor.RandN(dt, rng, pc.n, pc.h, pc.w, pc.c))
				ho, wo := pc.out()
				seed := ad.WithSeed(ad.Const(tensor.RandN(dt, rng, pc.n, ho, wo, pc.c)))
				y := ad.AvgPool2D(x, pc.k, pc.stride, pc.pad)
				yc := avgPoolComposed(x, pc.k, pc.stride, pc.pad)
				if !slices.Equal(y.Shape(), yc.Shape()) {
					t.Fatalf("shape %v, composition %v", y.Shape(), yc.Shape())
				}
				if e := maxRelErr(y.T().ToFloat64(), yc.T().ToFloat64()); e > tol {
					t.Errorf("value: relative error %.3g > %.3g", e, tol)
				}
				g := ad.Grad(y, []*ad.Value{x}, seed)[0]
				gc := ad.Grad(yc, []*ad.Value{x}, seed)[0]
				if e := maxRelErr(g.T().ToFloat64(), gc.T().ToFloat64()); e > tol {
					t.Errorf("gradient: relative error %.3g > %.3g", e, tol)
				}
			})
		}
	}
}

// TestAvgPool2DGradients checks AvgPool2D and AvgPool2DAdjoint to order 3
// (the VJP of each is the other, so order 3 goes through both twice) with
// adtest's default tolerances; curve makes the higher derivatives nonzero.
func TestAvgPool2DGradients(t *testing.T) {
	for _, pc := range adPoolCases {
		ho, wo := pc.out()
		for _, adj := range []bool{false, true} {
			name, shape := "AvgPool2D/"+pc.String(), []int{pc.n, pc.h, pc.w, pc.c}
			f := func(v []*ad.Value) *ad.Value { return curve(ad.AvgPool2D(v[0], pc.k, pc.stride, pc.pad)) }
			if adj {
				name, shape = "AvgPool2DAdjoint/"+pc.String(), []int{pc.n, ho, wo, pc.c}
				f = func(v []*ad.Value) *ad.Value {
					return curve(ad.AvgPool2DAdjoint(v[0], pc.k, pc.stride, pc.pad, pc.h, pc.w))
				}
			}
			t.Run(name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(3, 4))
				x := tensor.RandN(tensor.Float64, rng, shape...)
				if err := adtest.Check(f, []*tensor.Tensor{x}, 3, nil); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// poolDeltaFunc is a nonlinear function of rows [N, H·W·C] (2-D: Delta
// carries joints, so AvgPool2D's batch rule runs) or of one vector
// [N·H·W·C] (no joints: its plain difference rule runs) through AvgPool2D,
// then AvgPool2DAdjoint, with a tanh before each so that the differences
// entering them are not those of the input.
func poolDeltaFunc(pc poolCase) func(*ad.Value) *ad.Value {
	return func(x *ad.Value) *ad.Value {
		h := ad.Tanh(ad.Reshape(x, pc.n, pc.h, pc.w, pc.c))
		h = ad.Tanh(ad.AvgPool2D(h, pc.k, pc.stride, pc.pad))
		h = ad.AvgPool2DAdjoint(h, pc.k, pc.stride, pc.pad, pc.h, pc.w)
		return ad.Reshape(ad.Square(h), x.Shape()...)
	}
}

// TestDeltaAvgPool2D: the difference rules of both primitives agree with
// the direct differences f(x + Δx) − f(x) in float64 (checkDelta's
// tolerances), for one and three differences, on joints and without; and
// Central agrees with the direct central differences (TestDeltaConv's
// tolerances: tanh has no central rule, so the second difference is at
// first-difference accuracy in float32).
func TestDeltaAvgPool2D(t *testing.T) {
	for _, pc := range adPoolCases {
		f := poolDeltaFunc(pc)
		for _, joint := range []bool{true, false} {
			shape := []int{pc.n, pc.h * pc.w * pc.c}
			if !joint {
				shape = []int{pc.n * pc.h * pc.w * pc.c}
			}
			for _, dt := range deltaDTypes {
				for _, k := range []int{1, 3} {
					t.Run(fmt.Sprintf("%v/joint=%v/K=%d/%v", pc, joint, k, dt), func(t *testing.T) {
						rng := rand.New(rand.NewPCG(5, 6))
						x := tensor.RandN(tensor.Float64, rng, shape...)
						checkDelta(t, f, x, randDiffs(rng, k, 1e-2, shape...), dt)
					})
				}
				t.Run(fmt.Sprintf("%v/joint=%v/Central/%v", pc, joint, dt), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(5, 6))
					x := tensor.RandN(tensor.Float64, rng, shape...)
					tolD, tolS := 1e-9, 1e-6
					if dt == tensor.Float32 {
						tolD, tolS = 2e-5, 2e-2
					}
					checkCentral(t, f, f, x, randDiffs(rng, 2, 1e-2, shape...), dt, tolD, tolS)
				})
			}
		}
	}
}

// TestAvgPool2DGOMAXPROCS: a forward and backward pass through both
// primitives gives the same bits with 1, 2 and 8 workers (64 images of
// 16×16×8: many chunks of whole images).
func TestAvgPool2DGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rng := rand.New(rand.NewPCG(7, 8))
	xt := tensor.RandN(tensor.Float32, rng, 64, 16, 16, 8)
	seed := ad.WithSeed(ad.Const(tensor.RandN(tensor.Float32, rng, 64, 16, 16, 8)))
	run := func() [][]uint64 {
		x := ad.Var(xt)
		y := ad.AvgPool2DAdjoint(ad.Tanh(ad.AvgPool2D(x, 3, 2, 1)), 3, 2, 1, 16, 16)
		return [][]uint64{floatBits(y.T()), floatBits(ad.Grad(y, []*ad.Value{x}, seed)[0].T())}
	}
	runtime.GOMAXPROCS(1)
	want := run()
	for _, procs := range []int{2, 8} {
		runtime.GOMAXPROCS(procs)
		for i, got := range run() {
			if !slices.Equal(got, want[i]) {
				t.Errorf("GOMAXPROCS=%d: result %d differs from GOMAXPROCS=1", procs, i)
			}
		}
	}
}

// BenchmarkAvgPool2D times one forward and backward pass of 2×2 average
// pooling, stride 2, at the ResNet's shape (32 images of 32×32×32, float32),
// through the primitive and through the Im2Col + MeanAxis composition it
// replaced. As in a training step, the graph is released by the backward
// pass and the output and gradient are handed back after it, so the
// buffers are reused rather than taken fresh from the heap.
func BenchmarkAvgPool2D(b *testing.B) {
	for _, impl := range []struct {
		name string
		f    func(x *ad.Value, k, stride, pad int) *ad.Value
	}{{"primitive", ad.AvgPool2D}, {"composition", avgPoolComposed}} {
		b.Run(impl.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			x := ad.Var(tensor.RandN(tensor.Float32, rng, 32, 32, 32, 32))
			seed := ad.WithSeed(ad.Const(tensor.RandN(tensor.Float32, rng, 32, 16, 16, 32)))
			var arena tensor.Arena
			start := tensor.AllocatedBytes()
			b.ResetTimer()
			for range b.N {
				y := impl.f(x, 2, 2, 0)
				g := ad.Grad(y, []*ad.Value{x}, seed, ad.ReleaseGraph())
				arena.Add(y.T())
				arena.Add(g[0].T())
				arena.Release()
			}
			b.ReportMetric(float64(tensor.AllocatedBytes()-start)/float64(b.N), "tensorB/op")
		})
	}
}
