package autodiff_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/autodiff/adtest"
	"github.com/fdsm/fdsm/tensor"
)

// Tests of the convolution primitives: the forward pass against a direct
// NCHW convolution written here with loops (PyTorch's definition), gradient
// checks to order 2 (3 for Conv2D), and the difference rules through a small
// convolutional energy.

// convCase is one convolution: N images of C×H×W, O filters of KH×KW.
type convCase struct {
	n, c, h, w, o, kh, kw, stride, pad int
}

func (c convCase) String() string {
	return fmt.Sprintf("%dx%dx%dx%d/o%d/k%dx%d/s%d/p%d", c.n, c.c, c.h, c.w, c.o, c.kh, c.kw, c.stride, c.pad)
}

// convCases covers odd sizes (5, 7), C = 1..3, strides 1 and 2, padding 0
// and 1, a non-square image and kernel, and a 1×1 kernel (the Im2Col-free
// path) with and without stride.
var convCases = []convCase{
	{2, 1, 5, 5, 2, 3, 3, 1, 0},
	{2, 2, 5, 5, 3, 3, 3, 1, 1},
	{1, 3, 7, 7, 2, 3, 3, 2, 1},
	{2, 2, 7, 5, 2, 3, 2, 2, 0},
	{2, 3, 5, 5, 2, 1, 1, 1, 0},
	{1, 2, 5, 5, 3, 1, 1, 2, 0},
}

// directConv is PyTorch's conv2d on NCHW rows x [N, C·H·W] with w
// [O, C, KH, KW], b [O]: [N, O·Ho·Wo], by the definition's loops.
func directConv(cc convCase, x, w, b []float64) []float64 {
	ho := (cc.h+2*cc.pad-cc.kh)/cc.stride + 1
	wo := (cc.w+2*cc.pad-cc.kw)/cc.stride + 1
	out := make([]float64, cc.n*cc.o*ho*wo)
	for n := range cc.n {
		for o := range cc.o {
			for i := range ho {
				for j := range wo {
					s := b[o]
					for c := range cc.c {
						for p := range cc.kh {
							for q := range cc.kw {
								ih, iw := i*cc.stride-cc.pad+p, j*cc.stride-cc.pad+q
								if ih < 0 || ih >= cc.h || iw < 0 || iw >= cc.w {
									continue
								}
								s += w[((o*cc.c+c)*cc.kh+p)*cc.kw+q] * x[((n*cc.c+c)*cc.h+ih)*cc.w+iw]
							}
						}
					}
					out[((n*cc.o+o)*ho+i)*wo+j] = s
				}
			}
		}
	}
	return out
}

// convNCHW applies Conv2D to NCHW rows and returns NCHW rows.
func convNCHW(cc convCase, x, w, b *ad.Value, act tensor.Act) *ad.Value {
	return ad.NHWCToNCHW(ad.Conv2DAct(ad.NCHWToNHWC(x, cc.c, cc.h, cc.w), w, b, cc.stride, cc.pad, act))
}

// TestConv2DForward compares Conv2D with the direct convolution in float64
// and in float32. Tolerances: float64 sums of at most C·KH·KW = 27 products
// in another order (1e-13 relative to the output's size, ~100 ulp of
// margin); float32 against the float64 reference on the same inputs,
// 27 roundings of 6e-8 each and the GEMM's order (1e-5).
func TestConv2DForward(t *testing.T) {
	for _, cc := range convCases {
		for _, dt := range []tensor.DType{tensor.Float64, tensor.Float32} {
			t.Run(cc.String()+"/"+dt.String(), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(1, 2))
				x := tensor.RandN(dt, rng, cc.n, cc.c*cc.h*cc.w)
				w := tensor.RandN(dt, rng, cc.o, cc.c, cc.kh, cc.kw)
				b := tensor.RandN(dt, rng, cc.o)
				got := convNCHW(cc, ad.Const(x), ad.Const(w), ad.Const(b), tensor.ActNone)
				want := directConv(cc, x.ToFloat64(), w.ToFloat64(), b.ToFloat64())
				tol := 1e-13
				if dt == tensor.Float32 {
					tol = 1e-5
				}
				if e := maxRelErr(got.T().ToFloat64(), want); e > tol {
					t.Errorf("relative error %.3g > %.3g", e, tol)
				}
			})
		}
	}
}

// TestAvgPool2DForward compares AvgPool2D with a direct average (padding
// counted, as PyTorch's count_include_pad=True) and GlobalAvgPool2D with a
// mean over pixels, in float64 (tolerance: a few roundings of a 9-term sum).
func TestAvgPool2DForward(t *testing.T) {
	for _, tc := range []struct{ n, h, w, c, k, s, p int }{
		{2, 4, 4, 3, 2, 2, 0}, {1, 5, 5, 2, 2, 2, 0}, {2, 5, 7, 1, 3, 2, 1}, {1, 7, 7, 2, 3, 1, 1},
	} {
		rng := rand.New(rand.NewPCG(3, 4))
		x := tensor.RandN(tensor.Float64, rng, tc.n, tc.h, tc.w, tc.c)
		xs := x.ToFloat64()
		got := ad.AvgPool2D(ad.Const(x), tc.k, tc.s, tc.p).T().ToFloat64()
		ho, wo := (tc.h+2*tc.p-tc.k)/tc.s+1, (tc.w+2*tc.p-tc.k)/tc.s+1
		want := make([]float64, tc.n*ho*wo*tc.c)
		for n := range tc.n {
			for i := range ho {
				for j := range wo {
					for c := range tc.c {
						var s float64
						for p := range tc.k {
							for q := range tc.k {
								ih, iw := i*tc.s-tc.p+p, j*tc.s-tc.p+q
								if ih >= 0 && ih < tc.h && iw >= 0 && iw < tc.w {
									s += xs[((n*tc.h+ih)*tc.w+iw)*tc.c+c]
								}
							}
						}
						want[((n*ho+i)*wo+j)*tc.c+c] = s / float64(tc.k*tc.k)
					}
				}
			}
		}
		if e := maxRelErr(got, want); e > 1e-14 {
			t.Errorf("AvgPool2D %+v: relative error %.3g", tc, e)
		}
		g := ad.GlobalAvgPool2D(ad.Const(x)).T().ToFloat64()
		for n := range tc.n {
			for c := range tc.c {
				var s float64
				for p := range tc.h * tc.w {
					s += xs[(n*tc.h*tc.w+p)*tc.c+c]
				}
				if want := s / float64(tc.h*tc.w); math.Abs(g[n*tc.c+c]-want) > 1e-14*(1+math.Abs(want)) {
					t.Errorf("GlobalAvgPool2D %+v [%d, %d] = %v, want %v", tc, n, c, g[n*tc.c+c], want)
				}
			}
		}
	}
}

// curve makes a linear op's output enter a nonlinear function, so that the
// second and third derivatives checked are not all zero.
func curve(v *ad.Value) *ad.Value { return ad.Mul(v, ad.Tanh(v)) }

// TestConvGradients checks Conv2D (input, weight and bias) to order 3 and
// the fused softplus variant to order 2 (order 3 on the first case: its
// Dense rule uses the activation's derivative from the output), over all
// convCases, with adtest's default tolerances.
func TestConvGradients(t *testing.T) {
	for i, cc := range convCases {
		for _, act := range []tensor.Act{tensor.ActNone, tensor.ActSoftplus} {
			order := 3
			if act != tensor.ActNone && i > 0 {
				order = 2
			}
			t.Run(fmt.Sprintf("%v/%v/order%d", cc, act, order), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(5, 6))
				x := tensor.RandN(tensor.Float64, rng, cc.n, cc.c*cc.h*cc.w)
				w := tensor.Scale(tensor.RandN(tensor.Float64, rng, cc.o, cc.c, cc.kh, cc.kw), 0.5)
				b := tensor.RandN(tensor.Float64, rng, cc.o)
				f := func(v []*ad.Value) *ad.Value { return curve(convNCHW(cc, v[0], v[1], v[2], act)) }
				if err := adtest.Check(f, []*tensor.Tensor{x, w, b}, order, nil); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestConvPrimitiveGradients checks the linear primitives (AvgPool2D to
// order 3 in TestAvgPool2DGradients) and the compositions to order 2.
func TestConvPrimitiveGradients(t *testing.T) {
	win := func(k, s, p int) tensor.Window { return tensor.Window{KH: k, KW: k, Stride: s, Pad: p} }
	cases := []struct {
		name  string
		shape []int
		f     func(x *ad.Value) *ad.Value
	}{
		{"Im2Col/5x5x2/k3s1p1", []int{2, 5, 5, 2}, func(x *ad.Value) *ad.Value { return ad.Im2Col(x, win(3, 1, 1)) }},
		{"Im2Col/7x7x3/k3s2p0", []int{1, 7, 7, 3}, func(x *ad.Value) *ad.Value { return ad.Im2Col(x, win(3, 2, 0)) }},
		{"Col2Im/5x5x2/k3s2p1", []int{2 * 9, 18}, func(x *ad.Value) *ad.Value { return ad.Col2Im(x, win(3, 2, 1), 5, 5, 2) }},
		{"Col2Im/7x5x1/k2s1p0", []int{24, 4}, func(x *ad.Value) *ad.Value {
			return ad.Col2Im(x, tensor.Window{KH: 2, KW: 2, Stride: 1, Pad: 0}, 7, 5, 1)
		}},
		{"BatchTranspose", []int{2, 3, 5}, ad.BatchTranspose},
		{"AvgPool2D/5x5x2/k2s2p0", []int{2, 5, 5, 2}, func(x *ad.Value) *ad.Value { return ad.AvgPool2D(x, 2, 2, 0) }},
		{"AvgPool2D/7x7x1/k3s2p1", []int{1, 7, 7, 1}, func(x *ad.Value) *ad.Value { return ad.AvgPool2D(x, 3, 2, 1) }},
		{"GlobalAvgPool2D", []int{2, 5, 3, 3}, ad.GlobalAvgPool2D},
		{"NCHWToNHWC", []int{2, 3 * 5 * 5}, func(x *ad.Value) *ad.Value { return ad.NCHWToNHWC(x, 3, 5, 5) }},
		{"NHWCToNCHW", []int{2, 5, 7, 3}, ad.NHWCToNCHW},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 8))
			x := tensor.RandN(tensor.Float64, rng, c.shape...)
			f := func(v []*ad.Value) *ad.Value { return curve(c.f(v[0])) }
			if err := adtest.Check(f, []*tensor.Tensor{x}, 2, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// convEnergy is a small convolutional energy on rows [N, 2·7·7] (NCHW),
// built from every new operation: layout conversion, a strided fused
// softplus convolution, average pooling, a plain convolution, the
// softplus(x) − log 2 activation, global pooling and a quadratic readout.
// Parameters of another dtype than x's are converted (as constants), so the
// float64 reference can evaluate the float32 model's numbers.
func convEnergy(params []*ad.Value) func(*ad.Value) *ad.Value {
	return func(x *ad.Value) *ad.Value {
		ps := params
		if ps[0].DType() != x.DType() {
			ps = make([]*ad.Value, len(params))
			for i, p := range params {
				ps[i] = ad.Const(p.T().AsType(x.DType()))
			}
		}
		h := ad.NCHWToNHWC(x, 2, 7, 7)
		h = ad.Conv2DAct(h, ps[0], ps[1], 2, 1, tensor.ActSoftplus) // [N, 4, 4, 3]
		h = ad.AvgPool2D(h, 2, 1, 0)                                // [N, 3, 3, 3]
		h = ad.Conv2D(h, ps[2], ps[3], 1, 1)                        // [N, 3, 3, 4]
		h = ad.AddScalar(ad.Softplus(h), -math.Ln2)
		h = ad.GlobalAvgPool2D(ad.NCHWToNHWC(ad.NHWCToNCHW(h), 4, 3, 3)) // [N, 4]
		return ad.Reshape(ad.MatMul(ad.Square(h), ps[4], false, false), -1)
	}
}

func convEnergyParams(rng *rand.Rand, dt tensor.DType) []*ad.Value {
	shapes := [][]int{{3, 2, 3, 3}, {3}, {4, 3, 3, 3}, {4}, {4, 1}}
	ps := make([]*ad.Value, len(shapes))
	for i, s := range shapes {
		ps[i] = ad.Const(tensor.Scale(tensor.RandN(tensor.Float64, rng, s...), 0.5).AsType(dt))
	}
	return ps
}

// TestDeltaConv: the difference rules through the convolutional energy
// agree with the direct differences f(x + Δx) − f(x) evaluated in float64
// (checkDelta's tolerances), for one and three differences, and the central
// pair (Central) agrees with the direct central differences. Softplus
// outside Dense has no central rule, so its second difference goes through
// the plain rule (first-difference accuracy, as TestCentral's "plain"
// cases: 2e-2 in float32).
func TestDeltaConv(t *testing.T) {
	for _, dt := range deltaDTypes {
		for _, k := range []int{1, 3} {
			t.Run(fmt.Sprintf("K=%d/%v", k, dt), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(9, 10))
				ps := convEnergyParams(rng, dt)
				x := tensor.RandN(tensor.Float64, rng, 3, 2*7*7)
				checkDelta(t, convEnergy(ps), x, randDiffs(rng, k, 1e-2, 3, 2*7*7), dt)
			})
		}
		t.Run("Central/"+dt.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, 10))
			ps := convEnergyParams(rng, dt)
			ref := make([]*ad.Value, len(ps))
			for i, p := range ps {
				ref[i] = ad.Const(p.T().AsType(tensor.Float64))
			}
			x := tensor.RandN(tensor.Float64, rng, 3, 2*7*7)
			tolD, tolS := 1e-9, 1e-6
			if dt == tensor.Float32 {
				tolD, tolS = 2e-5, 2e-2
			}
			checkCentral(t, convEnergy(ps), convEnergy(ref), x, randDiffs(rng, 2, 1e-2, 3, 2*7*7), dt, tolD, tolS)
		})
	}
}

// TestDeltaConvGrad: the parameter gradient of a loss built from Delta's
// differences through the conv energy matches finite differences (adtest,
// order 1 and 2), so FD objectives can train conv models.
func TestDeltaConvGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	ps := convEnergyParams(rng, tensor.Float64)
	ts := make([]*tensor.Tensor, len(ps))
	for i, p := range ps {
		ts[i] = p.T()
	}
	x := ad.Const(tensor.RandN(tensor.Float64, rng, 2, 2*7*7))
	dx := ad.Const(tensor.Scale(tensor.RandN(tensor.Float64, rng, 2, 2*7*7), 0.1))
	f := func(v []*ad.Value) *ad.Value {
		_, d := ad.Delta(convEnergy(v), x, []*ad.Value{dx})
		return ad.Sum(ad.Square(d[0]))
	}
	if err := adtest.Check(f, ts, 2, nil); err != nil {
		t.Fatal(err)
	}
}

func TestConvPanics(t *testing.T) {
	f64 := tensor.Float64
	z := func(s ...int) *ad.Value { return ad.Const(tensor.Zeros(f64, s...)) }
	for _, tc := range []struct {
		name, want string
		fn         func()
	}{
		{"conv rank", "Conv2D input [2 25], weight [3 1 3 3]", func() { ad.Conv2D(z(2, 25), z(3, 1, 3, 3), nil, 1, 0) }},
		{"conv channels", "want [N, H, W, C], [O, C, KH, KW]", func() { ad.Conv2D(z(2, 5, 5, 2), z(3, 1, 3, 3), nil, 1, 0) }},
		{"conv bias", "bias [2]", func() { ad.Conv2D(z(2, 5, 5, 1), z(3, 1, 3, 3), z(2), 1, 0) }},
		{"pool rank", "AvgPool2D input [2 25]", func() { ad.AvgPool2D(z(2, 25), 2, 2, 0) }},
		{"layout", "NCHWToNHWC of shape [2 24] as 3×3×3", func() { ad.NCHWToNHWC(z(2, 24), 3, 3, 3) }},
	} {
		func() {
			defer func() {
				if msg := fmt.Sprint(recover()); !strings.HasPrefix(msg, "autodiff: ") || !strings.Contains(msg, tc.want) {
					t.Errorf("%s: panic %q, want one containing %q", tc.name, msg, tc.want)
				}
			}()
			tc.fn()
		}()
	}
}
