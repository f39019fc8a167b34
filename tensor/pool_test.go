package tensor_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/tensor"
)

// poolCases are the ResNet's 2×2 pool (stride 2, even and odd sizes: the
// last row of an odd image is in no window), overlapping windows with
// padding (k 3, stride 1 and 2), a stride larger than the window (pixels
// between windows), a 1×1 window with padding (windows wholly in the
// padding), a window as large as the padded image, and 1–5 channels.
var poolCases = []struct{ n, h, w, c, k, stride, pad int }{
	{2, 4, 4, 3, 2, 2, 0},
	{1, 5, 7, 2, 2, 2, 0},
	{2, 5, 7, 1, 3, 2, 1},
	{1, 7, 6, 5, 3, 1, 1},
	{2, 7, 7, 2, 2, 3, 0},
	{1, 3, 2, 4, 1, 1, 1},
	{3, 3, 3, 2, 5, 1, 1},
	{1, 1, 1, 1, 1, 1, 0},
}

func poolName(dt tensor.DType, n, h, w, c, k, stride, pad int) string {
	return fmt.Sprintf("%v/%dx%dx%dx%d/k%ds%dp%d", dt, n, h, w, c, k, stride, pad)
}

// poolRef is AvgPool2D by its definition on NHWC x, in float64, with the
// sum of the window's magnitudes (the rounding bound's scale) beside it.
func poolRef(x []float64, n, h, w, c, k, stride, pad int) (y, mag []float64) {
	ho, wo := (h+2*pad-k)/stride+1, (w+2*pad-k)/stride+1
	y, mag = make([]float64, n*ho*wo*c), make([]float64, n*ho*wo*c)
	for b := range n {
		for oh := range ho {
			for ow := range wo {
				for ch := range c {
					var s, m float64
					for kh := range k {
						for kw := range k {
							ih, iw := oh*stride-pad+kh, ow*stride-pad+kw
							if ih >= 0 && ih < h && iw >= 0 && iw < w {
								v := x[((b*h+ih)*w+iw)*c+ch]
								s, m = s+v, m+math.Abs(v)
							}
						}
					}
					i := ((b*ho+oh)*wo+ow)*c + ch
					y[i], mag[i] = s/float64(k*k), m/float64(k*k)
				}
			}
		}
	}
	return y, mag
}

// poolAdjointRef is AvgPool2DAdjoint by scattering: every output pixel's
// cotangent, divided by k², added to each pixel of its window in the image.
func poolAdjointRef(g []float64, n, h, w, c, k, stride, pad int) (x, mag []float64) {
	ho, wo := (h+2*pad-k)/stride+1, (w+2*pad-k)/stride+1
	x, mag = make([]float64, n*h*w*c), make([]float64, n*h*w*c)
	for b := range n {
		for oh := range ho {
			for ow := range wo {
				for kh := range k {
					for kw := range k {
						ih, iw := oh*stride-pad+kh, ow*stride-pad+kw
						if ih < 0 || ih >= h || iw < 0 || iw >= w {
							continue
						}
						for ch := range c {
							v := g[((b*ho+oh)*wo+ow)*c+ch] / float64(k*k)
							x[((b*h+ih)*w+iw)*c+ch] += v
							mag[((b*h+ih)*w+iw)*c+ch] += math.Abs(v)
						}
					}
				}
			}
		}
	}
	return x, mag
}

// checkPool compares got with want element by element: a sum of at most k²
// terms, then a scaling, is off by at most (k² + 1) roundings of the sum of
// the terms' magnitudes (u = 2⁻²⁴ or 2⁻⁵³; the float64 reference's own
// error is below the float64 bound's margin of 2).
func checkPool(t *testing.T, name string, dt tensor.DType, k int, got, want, mag []float64) {
	t.Helper()
	u := 0x1p-53
	if dt == tensor.Float32 {
		u = 0x1p-24
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", name, len(got), len(want))
	}
	for i := range want {
		if !(math.Abs(got[i]-want[i]) <= 2*float64(k*k+1)*u*mag[i]) { // NaN fails
			t.Fatalf("%s: element %d = %v, want %v", name, i, got[i], want[i])
		}
	}
}

// TestAvgPool2D checks the forward kernel against the definition and against
// the composition it replaces in autodiff, the mean of each channel's taps
// in Im2Col's patch matrix (columns (c, kh, kw)), on the same numbers.
func TestAvgPool2D(t *testing.T) {
	for _, dt := range bothDTypes {
		for _, tc := range poolCases {
			name := poolName(dt, tc.n, tc.h, tc.w, tc.c, tc.k, tc.stride, tc.pad)
			rng := rand.New(rand.NewPCG(1, 2))
			x := tensor.RandN(dt, rng, tc.n, tc.h, tc.w, tc.c)
			before := x.Clone()
			y := tensor.AvgPool2D(x, tc.k, tc.stride, tc.pad)
			win := tensor.Window{KH: tc.k, KW: tc.k, Stride: tc.stride, Pad: tc.pad}
			ho, wo := win.Out(tc.h, tc.w)
			if want := []int{tc.n, ho, wo, tc.c}; !slices.Equal(y.Shape(), want) {
				t.Fatalf("%s: shape %v, want %v", name, y.Shape(), want)
			}
			want, mag := poolRef(x.ToFloat64(), tc.n, tc.h, tc.w, tc.c, tc.k, tc.stride, tc.pad)
			checkPool(t, name, dt, tc.k, y.ToFloat64(), want, mag)
			old := tensor.MeanAxis(tensor.Im2Col(x.AsType(tensor.Float64), win).Reshape(tc.n*ho*wo*tc.c, tc.k*tc.k), 1)
			checkPool(t, name+" against Im2Col+MeanAxis", dt, tc.k, y.ToFloat64(), old.ToFloat64(), mag)
			if !slices.Equal(x.ToFloat64(), before.ToFloat64()) {
				t.Errorf("%s: AvgPool2D modified its input", name)
			}
		}
	}
}

// TestAvgPool2DAdjoint checks the adjoint kernel against the scattering
// definition, and the identity ⟨AvgPool2D(x), g⟩ = ⟨x, AvgPool2DAdjoint(g)⟩:
// both sides sum the same products in different orders (a few hundred
// terms: 1e-12 relative in float64, 1e-5 in float32, as TestCol2ImIsAdjoint).
func TestAvgPool2DAdjoint(t *testing.T) {
	for _, dt := range bothDTypes {
		tol := 1e-12
		if dt == tensor.Float32 {
			tol = 1e-5
		}
		for _, tc := range poolCases {
			name := poolName(dt, tc.n, tc.h, tc.w, tc.c, tc.k, tc.stride, tc.pad)
			rng := rand.New(rand.NewPCG(3, 4))
			x := tensor.RandN(dt, rng, tc.n, tc.h, tc.w, tc.c)
			ho, wo := tensor.Window{KH: tc.k, KW: tc.k, Stride: tc.stride, Pad: tc.pad}.Out(tc.h, tc.w)
			g := tensor.RandN(dt, rng, tc.n, ho, wo, tc.c)
			back := tensor.AvgPool2DAdjoint(g, tc.k, tc.stride, tc.pad, tc.h, tc.w)
			if want := []int{tc.n, tc.h, tc.w, tc.c}; !slices.Equal(back.Shape(), want) {
				t.Fatalf("%s: shape %v, want %v", name, back.Shape(), want)
			}
			want, mag := poolAdjointRef(g.ToFloat64(), tc.n, tc.h, tc.w, tc.c, tc.k, tc.stride, tc.pad)
			checkPool(t, name, dt, tc.k, back.ToFloat64(), want, mag)
			lhs, rhs := dot64(tensor.AvgPool2D(x, tc.k, tc.stride, tc.pad), g), dot64(x, back)
			if !(math.Abs(lhs-rhs) <= tol*(1+math.Abs(lhs))) {
				t.Errorf("%s: ⟨AvgPool2D x, g⟩ = %v, ⟨x, AvgPool2DAdjoint g⟩ = %v", name, lhs, rhs)
			}
		}
	}
}

// TestAvgPool2DAdjointUpsamples: with k = stride and no padding, every
// pixel is in exactly one window, and the adjoint is g/k² repeated over
// each k×k block; for k = 2, 1/4 is exact, so it is g·0.25 bit for bit.
func TestAvgPool2DAdjointUpsamples(t *testing.T) {
	for _, dt := range bothDTypes {
		rng := rand.New(rand.NewPCG(5, 6))
		g := tensor.RandN(dt, rng, 2, 3, 4, 5)
		gs := g.ToFloat64()
		up := tensor.AvgPool2DAdjoint(g, 2, 2, 0, 6, 8).ToFloat64()
		for b := range 2 {
			for ih := range 6 {
				for iw := range 8 {
					for c := range 5 {
						if got, want := up[((b*6+ih)*8+iw)*5+c], gs[((b*3+ih/2)*4+iw/2)*5+c]*0.25; got != want {
							t.Fatalf("%v: [%d, %d, %d, %d] = %v, want %v", dt, b, ih, iw, c, got, want)
						}
					}
				}
			}
		}
	}
}

// TestPoolKernelsIndependentOfGOMAXPROCS: both kernels give the same bits
// for 1, 2, 3 and 8 workers, on a batch of 64 images of 16×16×8 (2048
// elements each: eight chunks of eight images at the kernels' grain).
func TestPoolKernelsIndependentOfGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rng := rand.New(rand.NewPCG(7, 8))
	x := tensor.RandN(tensor.Float32, rng, 64, 16, 16, 8)
	g := tensor.RandN(tensor.Float32, rng, 64, 8, 8, 8)
	run := func() [][]float64 {
		return [][]float64{
			tensor.AvgPool2D(x, 2, 2, 0).ToFloat64(), tensor.AvgPool2D(x, 3, 2, 1).ToFloat64(),
			tensor.AvgPool2DAdjoint(g, 2, 2, 0, 16, 16).ToFloat64(), tensor.AvgPool2DAdjoint(g, 3, 2, 1, 16, 16).ToFloat64(),
		}
	}
	runtime.GOMAXPROCS(1)
	want := run()
	for _, procs := range []int{2, 3, 8} {
		runtime.GOMAXPROCS(procs)
		for i, got := range run() {
			if !slices.Equal(got, want[i]) {
				t.Errorf("GOMAXPROCS=%d: result %d differs from GOMAXPROCS=1", procs, i)
			}
		}
	}
}

func TestPoolShapePanics(t *testing.T) {
	f32 := tensor.Float32
	for _, tc := range []struct {
		name, want string
		fn         func()
	}{
		{"pool rank", "AvgPool2D needs NHWC images [N, H, W, C], got shape [2 9]", func() { tensor.AvgPool2D(tensor.Zeros(f32, 2, 9), 2, 2, 0) }},
		{"pool too large", "does not fit an image of 2×5", func() { tensor.AvgPool2D(tensor.Zeros(f32, 1, 2, 5, 1), 3, 1, 0) }},
		{"pool stride", "Stride ≥ 1", func() { tensor.AvgPool2D(tensor.Zeros(f32, 1, 4, 4, 1), 2, 0, 0) }},
		{"adjoint rank", "AvgPool2DAdjoint needs NHWC images [N, Ho, Wo, C], got shape [4]", func() {
			tensor.AvgPool2DAdjoint(tensor.Zeros(f32, 4), 2, 2, 0, 4, 4)
		}},
		{"adjoint size", "AvgPool2DAdjoint of shape [1 3 2 1] to 4×4 images with k=2, stride 2, pad 0 (want [N, 2, 2, C])", func() {
			tensor.AvgPool2DAdjoint(tensor.Zeros(f32, 1, 3, 2, 1), 2, 2, 0, 4, 4)
		}},
	} {
		func() {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "tensor: ") {
					t.Errorf("%s: panic %q, want one containing %q", tc.name, msg, tc.want)
				}
			}()
			tc.fn()
		}()
	}
}

// BenchmarkAvgPool2DKernels times the two kernels alone at the ResNet's
// pooling shape (32 images of 32×32×32, k = stride = 2, float32), their
// results handed back to the pool as a training step's would be.
func BenchmarkAvgPool2DKernels(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := tensor.RandN(tensor.Float32, rng, 32, 32, 32, 32)
	g := tensor.RandN(tensor.Float32, rng, 32, 16, 16, 32)
	b.Run("forward", func(b *testing.B) {
		var a tensor.Arena
		for range b.N {
			a.Add(tensor.AvgPool2D(x, 2, 2, 0))
			a.Release()
		}
		b.SetBytes(int64(4 * (x.Len() + g.Len())))
	})
	b.Run("adjoint", func(b *testing.B) {
		var a tensor.Arena
		for range b.N {
			a.Add(tensor.AvgPool2DAdjoint(g, 2, 2, 0, 32, 32))
			a.Release()
		}
		b.SetBytes(int64(4 * (x.Len() + g.Len())))
	})
}
