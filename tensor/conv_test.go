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

// convCases are odd and even image sizes, 1–3 channels, strides 1–2,
// paddings 0–1 and non-square kernels, including windows that cover the
// whole image and ones that stop short of its last row (stride 2 on an even
// size).
var convCases = []struct {
	n, h, w, c int
	win        tensor.Window
}{
	{1, 1, 1, 1, tensor.Window{KH: 1, KW: 1, Stride: 1, Pad: 0}},
	{2, 5, 5, 1, tensor.Window{KH: 3, KW: 3, Stride: 1, Pad: 1}},
	{2, 5, 7, 3, tensor.Window{KH: 3, KW: 3, Stride: 2, Pad: 1}},
	{3, 7, 5, 2, tensor.Window{KH: 3, KW: 2, Stride: 2, Pad: 0}},
	{1, 6, 6, 2, tensor.Window{KH: 2, KW: 2, Stride: 2, Pad: 0}},
	{2, 4, 4, 3, tensor.Window{KH: 3, KW: 3, Stride: 2, Pad: 1}},
	{1, 3, 3, 2, tensor.Window{KH: 5, KW: 5, Stride: 1, Pad: 1}},
}

// patchRef is the entry of Im2Col's output at (row, col), from the
// definition: the pixel under tap (kh, kw) of channel ch at output (oh, ow).
func patchRef(x []float64, h, w, c int, win tensor.Window, ho, wo, row, col int) float64 {
	b, rest := row/(ho*wo), row%(ho*wo)
	oh, ow := rest/wo, rest%wo
	kk := win.KH * win.KW
	ch, tap := col/kk, col%kk
	ih, iw := oh*win.Stride-win.Pad+tap/win.KW, ow*win.Stride-win.Pad+tap%win.KW
	if ih < 0 || ih >= h || iw < 0 || iw >= w {
		return 0
	}
	return x[((b*h+ih)*w+iw)*c+ch]
}

func TestIm2Col(t *testing.T) {
	for _, dt := range bothDTypes {
		for _, tc := range convCases {
			name := fmt.Sprintf("%v/%dx%dx%dx%d/%+v", dt, tc.n, tc.h, tc.w, tc.c, tc.win)
			rng := rand.New(rand.NewPCG(1, 2))
			x := tensor.RandN(dt, rng, tc.n, tc.h, tc.w, tc.c)
			before := x.Clone()
			cols := tensor.Im2Col(x, tc.win)
			ho, wo := tc.win.Out(tc.h, tc.w)
			want := []int{tc.n * ho * wo, tc.c * tc.win.KH * tc.win.KW}
			if !slices.Equal(cols.Shape(), want) {
				t.Fatalf("%s: shape %v, want %v", name, cols.Shape(), want)
			}
			xs, got := x.ToFloat64(), cols.ToFloat64()
			for r := range want[0] {
				for c := range want[1] {
					// A copy: exact.
					if ref := patchRef(xs, tc.h, tc.w, tc.c, tc.win, ho, wo, r, c); got[r*want[1]+c] != ref {
						t.Fatalf("%s: [%d, %d] = %v, want %v", name, r, c, got[r*want[1]+c], ref)
					}
				}
			}
			if !x.SameShape(before) || !slices.Equal(x.ToFloat64(), before.ToFloat64()) {
				t.Errorf("%s: Im2Col modified its input", name)
			}
		}
	}
}

// Col2Im is the adjoint of Im2Col: ⟨Im2Col(x), y⟩ = ⟨x, Col2Im(y)⟩ for all
// x, y. Both sides are sums of the same products in different orders, so
// they agree to the rounding of a sum of a few hundred terms (1e-12 relative
// in float64, 1e-5 in float32: sumTol's order for these sizes).
func TestCol2ImIsAdjoint(t *testing.T) {
	for _, dt := range bothDTypes {
		tol := 1e-12
		if dt == tensor.Float32 {
			tol = 1e-5
		}
		for _, tc := range convCases {
			name := fmt.Sprintf("%v/%dx%dx%dx%d/%+v", dt, tc.n, tc.h, tc.w, tc.c, tc.win)
			rng := rand.New(rand.NewPCG(3, 4))
			x := tensor.RandN(dt, rng, tc.n, tc.h, tc.w, tc.c)
			ho, wo := tc.win.Out(tc.h, tc.w)
			y := tensor.RandN(dt, rng, tc.n*ho*wo, tc.c*tc.win.KH*tc.win.KW)
			back := tensor.Col2Im(y, tc.win, tc.h, tc.w, tc.c)
			if want := []int{tc.n, tc.h, tc.w, tc.c}; !slices.Equal(back.Shape(), want) {
				t.Fatalf("%s: Col2Im shape %v, want %v", name, back.Shape(), want)
			}
			lhs, rhs := dot64(tensor.Im2Col(x, tc.win), y), dot64(x, back)
			if math.Abs(lhs-rhs) > tol*(1+math.Abs(lhs)) {
				t.Errorf("%s: ⟨Im2Col x, y⟩ = %v, ⟨x, Col2Im y⟩ = %v", name, lhs, rhs)
			}
		}
	}
}

func TestBatchTranspose(t *testing.T) {
	for _, dt := range bothDTypes {
		rng := rand.New(rand.NewPCG(5, 6))
		x := tensor.RandN(dt, rng, 3, 4, 5)
		y := tensor.BatchTranspose(x)
		if !slices.Equal(y.Shape(), []int{3, 5, 4}) {
			t.Fatalf("%v: shape %v", dt, y.Shape())
		}
		xs, ys := x.ToFloat64(), y.ToFloat64()
		for b := range 3 {
			for i := range 4 {
				for j := range 5 {
					if ys[(b*5+j)*4+i] != xs[(b*4+i)*5+j] {
						t.Fatalf("%v: [%d, %d, %d] differs", dt, b, j, i)
					}
				}
			}
		}
	}
}

// The kernels split the batch into chunks of whole images whose boundaries
// do not depend on the worker count: results are bitwise identical for any
// GOMAXPROCS. The batch (64 images of 16×16×8 with a 3×3 window) spans many
// chunks of convGrain patch elements.
func TestConvKernelsIndependentOfGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	win := tensor.Window{KH: 3, KW: 3, Stride: 1, Pad: 1}
	rng := rand.New(rand.NewPCG(7, 8))
	x := tensor.RandN(tensor.Float32, rng, 64, 16, 16, 8)
	y := tensor.RandN(tensor.Float32, rng, 64*16*16, 8*9)
	run := func() (a, b []float64) {
		return tensor.Im2Col(x, win).ToFloat64(), tensor.Col2Im(y, win, 16, 16, 8).ToFloat64()
	}
	runtime.GOMAXPROCS(1)
	a1, b1 := run()
	for _, procs := range []int{2, 3, 8} {
		runtime.GOMAXPROCS(procs)
		a, b := run()
		if !slices.Equal(a, a1) || !slices.Equal(b, b1) {
			t.Errorf("GOMAXPROCS=%d differs from GOMAXPROCS=1", procs)
		}
	}
}

func TestConvShapePanics(t *testing.T) {
	f32 := tensor.Float32
	win := tensor.Window{KH: 3, KW: 3, Stride: 1, Pad: 0}
	for _, tc := range []struct {
		name, want string
		fn         func()
	}{
		{"im2col rank", "[N, H, W, C], got shape [2 9]", func() { tensor.Im2Col(tensor.Zeros(f32, 2, 9), win) }},
		{"too small", "does not fit an image of 2×5", func() { tensor.Im2Col(tensor.Zeros(f32, 1, 2, 5, 1), win) }},
		{"bad stride", "Stride ≥ 1", func() { tensor.Im2Col(tensor.Zeros(f32, 1, 5, 5, 1), tensor.Window{KH: 1, KW: 1}) }},
		{"col2im width", "Col2Im of shape [9 4]", func() { tensor.Col2Im(tensor.Zeros(f32, 9, 4), win, 5, 5, 1) }},
		{"batch transpose", "[B, M, N], got [2 3]", func() { tensor.BatchTranspose(tensor.Zeros(f32, 2, 3)) }},
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

func dot64(a, b *tensor.Tensor) float64 {
	x, y := a.ToFloat64(), b.ToFloat64()
	var s float64
	for i := range x {
		s += x[i] * y[i]
	}
	return s
}

// implicitCases add to convCases the shapes of the ResNet energy (3×3,
// padding 1, 32 channels, and its first layer's single channel) and a
// padding as wide as the window (the input gradient's transposed
// convolution then has none).
var implicitCases = append([]struct {
	n, h, w, c int
	win        tensor.Window
}{
	{2, 8, 8, 32, tensor.Window{KH: 3, KW: 3, Stride: 1, Pad: 1}},
	{1, 9, 7, 1, tensor.Window{KH: 3, KW: 3, Stride: 1, Pad: 1}},
	{2, 5, 6, 3, tensor.Window{KH: 3, KW: 3, Stride: 1, Pad: 2}},
}, convCases...)

// TestConv2DImplicit checks the implicit-GEMM kernels against the Im2Col
// path they replace, evaluated in float64 on the same numbers: Conv2D =
// Im2Col(x)·Wᵀ, Conv2DInputGrad = Col2Im(g·W), Conv2DWeightGrad =
// gᵀ·Im2Col(x), W = w reshaped [O, C·KH·KW]. Tolerance: sums of at most
// C·KH·KW = 288 (forward, input gradient) or N·Ho·Wo = 128 (weight
// gradient) products in another order, relative to the sum of their
// magnitudes: 300·u, u = 2⁻²⁴ (float32) or 2⁻⁵³ (float64).
func TestConv2DImplicit(t *testing.T) {
	for _, dt := range bothDTypes {
		for _, tc := range implicitCases {
			for _, o := range []int{1, 5, 32} {
				name := fmt.Sprintf("%v/%dx%dx%dx%d/%+v/o%d", dt, tc.n, tc.h, tc.w, tc.c, tc.win, o)
				rng := rand.New(rand.NewPCG(3, 4))
				ho, wo := tc.win.Out(tc.h, tc.w)
				k := tc.c * tc.win.KH * tc.win.KW
				x := tensor.RandN(dt, rng, tc.n, tc.h, tc.w, tc.c)
				w := tensor.RandN(dt, rng, o, tc.c, tc.win.KH, tc.win.KW)
				g := tensor.RandN(dt, rng, tc.n*ho*wo, o)
				x64, w64, g64 := x.AsType(tensor.Float64), w.AsType(tensor.Float64).Reshape(o, k), g.AsType(tensor.Float64)
				abs := func(t *tensor.Tensor) *tensor.Tensor { return tensor.Abs(t) }
				cols := tensor.Im2Col(x64, tc.win)
				check := func(what string, got, want, bound *tensor.Tensor) {
					t.Helper()
					u := 0x1p-53
					if dt == tensor.Float32 {
						u = 0x1p-24
					}
					if !slices.Equal(got.Shape(), want.Shape()) {
						t.Fatalf("%s %s: shape %v, want %v", name, what, got.Shape(), want.Shape())
					}
					gv, wv, bv := got.ToFloat64(), want.ToFloat64(), bound.ToFloat64()
					for i := range wv {
						if math.Abs(gv[i]-wv[i]) > 300*u*bv[i]+1e-300 {
							t.Fatalf("%s %s: element %d = %v, want %v (bound %g)", name, what, i, gv[i], wv[i], bv[i])
						}
					}
				}
				check("Conv2D", tensor.Conv2D(x, w, tc.win), tensor.MatMul(cols, w64, false, true),
					tensor.MatMul(abs(cols), abs(w64), false, true))
				check("Conv2DInputGrad", tensor.Conv2DInputGrad(g, w, tc.win, tc.h, tc.w),
					tensor.Col2Im(tensor.MatMul(g64, w64, false, false), tc.win, tc.h, tc.w, tc.c),
					tensor.Col2Im(tensor.MatMul(abs(g64), abs(w64), false, false), tc.win, tc.h, tc.w, tc.c))
				check("Conv2DWeightGrad", tensor.Conv2DWeightGrad(g, x, tc.win),
					tensor.MatMul(g64, cols, true, false).Reshape(o, tc.c, tc.win.KH, tc.win.KW),
					tensor.MatMul(abs(g64), abs(cols), true, false).Reshape(o, tc.c, tc.win.KH, tc.win.KW))
			}
		}
	}
}

// TestConv2DImplicitIndependentOfGOMAXPROCS: the three kernels give the same
// bits for any worker count, on a batch of many chunks (64 images of
// 16×16×32: 2.4M multiply-adds per image, two images per chunk of convWork).
func TestConv2DImplicitIndependentOfGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	win := tensor.Window{KH: 3, KW: 3, Stride: 1, Pad: 1}
	rng := rand.New(rand.NewPCG(7, 8))
	x := tensor.RandN(tensor.Float32, rng, 64, 16, 16, 32)
	w := tensor.RandN(tensor.Float32, rng, 32, 32, 3, 3)
	g := tensor.RandN(tensor.Float32, rng, 64*16*16, 32)
	run := func() [][]float64 {
		return [][]float64{tensor.Conv2D(x, w, win).ToFloat64(), tensor.Conv2DInputGrad(g, w, win, 16, 16).ToFloat64(),
			tensor.Conv2DWeightGrad(g, x, win).ToFloat64()}
	}
	runtime.GOMAXPROCS(1)
	want := run()
	for _, procs := range []int{2, 3, 8} {
		runtime.GOMAXPROCS(procs)
		for i, got := range run() {
			if !slices.Equal(got, want[i]) {
				t.Errorf("GOMAXPROCS=%d: kernel %d differs from GOMAXPROCS=1", procs, i)
			}
		}
	}
}
