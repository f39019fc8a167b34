package autodiff

import (
	"fmt"

	igemm "github.com/fdsm/fdsm/internal/kernel/gemm"
	"github.com/fdsm/fdsm/tensor"
)

// Convolutions and pooling on images stored channels last (NHWC): a value
// [N, H, W, C] whose every pixel's C channels are contiguous. A convolution
// is an implicit GEMM: the product of the patch matrix [N·Ho·Wo, C·KH·KW]
// with the weight [O, C·KH·KW]ᵀ, its panels packed straight from the images
// so that no patch matrix is built (tensor.Conv2D). Its output [N·Ho·Wo, O]
// is again NHWC, so layers chain without transposes and a bias is a row
// vector. Weights keep PyTorch's layout [O, C, KH, KW].
//
// Conv2D and Conv2DAct are one fused node, act(conv(x, W) + b) (see
// layerMap), over three bilinear primitives, the convolution and its input
// and weight gradients, whose VJPs are each two of them (see convLinear).
// The other primitives are linear maps, each paired with its adjoint so
// that every vector-Jacobian product is again one of them: Im2Col ↔ Col2Im,
// AvgPool2D ↔ AvgPool2DAdjoint, and BatchTranspose (its own adjoint);
// GlobalAvgPool2D and the layout conversions are compositions of these with
// MeanAxis and Reshape. Derivatives of every order then come for free.
// Being linear and acting on each image alone, each linear primitive's
// difference rule is the primitive applied to the stacked differences (the
// K differences of an [N, …] value are K·N more images), and its batch rule
// applies it to the joint [x; Δx_1; …; Δx_K], (K+1)·N images (see Delta).
// When only the images change, the fused convolution's difference rule is
// one implicit GEMM over the K·N difference images (see denseJoint).

// Im2Col returns the patch matrix [N·Ho·Wo, C·KH·KW] of NHWC images x
// [N, H, W, C] (see tensor.Im2Col). Its adjoint is Col2Im.
func Im2Col(x *Value, win tensor.Window) *Value {
	return opWith(tensor.Im2Col(x.t, win), &im2ColP, win, x)
}

// Col2Im adds the entries of a patch matrix cols [N·Ho·Wo, C·KH·KW] back
// into the pixels they came from, giving NHWC images [N, H, W, C] (see
// tensor.Col2Im). It is the adjoint of Im2Col, and Im2Col is its adjoint.
func Col2Im(cols *Value, win tensor.Window, h, w, c int) *Value {
	return opWith(tensor.Col2Im(cols.t, win, h, w, c), &col2ImP, col2ImParams{win, h, w, c}, cols)
}

// col2ImParams are Col2Im's parameters.
type col2ImParams struct {
	win     tensor.Window
	h, w, c int
}

// BatchTranspose transposes each matrix of a [B, M, N] value, giving
// [B, N, M]: the conversion between NCHW images ([N, C, H·W]) and NHWC ones
// ([N, H·W, C]). It is its own adjoint.
func BatchTranspose(a *Value) *Value {
	return op(tensor.BatchTranspose(a.t), &batchTransposeP, a)
}

// Conv2D is PyTorch's conv2d (a cross-correlation) on NHWC images:
//
//	y[n, i, j, o] = b[o] + Σ_{c, kh, kw} w[o, c, kh, kw]·x[n, i·s − p + kh, j·s − p + kw, c]
//
// for x [N, H, W, C], weight w [O, C, KH, KW] (PyTorch's layout), bias b
// [O] or nil, stride s and zero padding p; the result is [N, Ho, Wo, O] with
// Ho = (H + 2p − KH)/s + 1 (rounded down), likewise Wo.
//
// It is one fused node (see fused and layerMap): the convolution as a
// product of the patch matrix with the weight, computed without building
// the patch matrix (tensor.Conv2D), with the bias added in the same pass.
// Its VJPs are again convolutions (tensor.Conv2DInputGrad,
// tensor.Conv2DWeightGrad), so derivatives of every order and the FD
// difference rules come from the fused node's rules. A 1×1 convolution with
// stride 1 and no padding is the product of the pixels [N·H·W, C] with W.
func Conv2D(x, w, b *Value, stride, pad int) *Value {
	return Conv2DAct(x, w, b, stride, pad, tensor.ActNone)
}

// Conv2DAct is act(Conv2D(x, w, b, stride, pad)) as one fused Dense node
// after Im2Col (see Dense): the activation is applied in the GEMM's output
// pass, and the difference rules of FD evaluation (Delta, Central) use
// Dense's fused, float32-stable activation rules.
func Conv2DAct(x, w, b *Value, stride, pad int, act tensor.Act) *Value {
	if x.t.Rank() != 4 || w.t.Rank() != 4 || w.Dim(1) != x.Dim(3) || (b != nil && (b.t.Rank() != 1 || b.Dim(0) != w.Dim(0))) {
		bs := "nil"
		if b != nil {
			bs = fmt.Sprint(b.Shape())
		}
		panic(fmt.Sprintf("autodiff: Conv2D input %v, weight %v, bias %s (want [N, H, W, C], [O, C, KH, KW] and [O] or nil)",
			x.Shape(), w.Shape(), bs))
	}
	n, h, wd, c := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	o, kh, kw := w.Dim(0), w.Dim(2), w.Dim(3)
	win := tensor.Window{KH: kh, KW: kw, Stride: stride, Pad: pad}
	ho, wo := win.Out(h, wd)
	var y *Value
	if kh == 1 && kw == 1 && stride == 1 && pad == 0 {
		y = Dense(Reshape(x, n*h*wd, c), Reshape(w, o, c), b, act)
	} else {
		y = fused(layerMap{conv: true, win: win, h: h, w: wd}, x, w, b, act)
	}
	return Reshape(y, n, ho, wo, o)
}

// AvgPool2D averages NHWC images x [N, H, W, C] over k×k windows moved
// stride pixels at a time, with zero padding pad counted in the average
// (PyTorch's avg_pool2d with count_include_pad=True): [N, Ho, Wo, C].
//
// It is one linear primitive (tensor.AvgPool2D) whose adjoint,
// AvgPool2DAdjoint, is its vector-Jacobian product and vice versa.
func AvgPool2D(x *Value, k, stride, pad int) *Value {
	if x.t.Rank() != 4 {
		panic(fmt.Sprintf("autodiff: AvgPool2D input %v (want [N, H, W, C])", x.Shape()))
	}
	return opWith(tensor.AvgPool2D(x.t, k, stride, pad), &avgPoolP, poolParams{k: k, stride: stride, pad: pad}, x)
}

// poolParams are the parameters of AvgPool2D (k, stride, pad) and
// AvgPool2DAdjoint (also the images' size h×w).
type poolParams struct{ k, stride, pad, h, w int }

// AvgPool2DAdjoint spreads each entry of g [N, Ho, Wo, C], divided by k²,
// over its window's pixels in h×w images, giving [N, h, w, C] (see
// tensor.AvgPool2DAdjoint): the adjoint of AvgPool2D, whose adjoint it is.
func AvgPool2DAdjoint(g *Value, k, stride, pad, h, w int) *Value {
	if g.t.Rank() != 4 {
		panic(fmt.Sprintf("autodiff: AvgPool2DAdjoint input %v (want [N, Ho, Wo, C])", g.Shape()))
	}
	return opWith(tensor.AvgPool2DAdjoint(g.t, k, stride, pad, h, w), &avgPoolAdjP, poolParams{k, stride, pad, h, w}, g)
}

// GlobalAvgPool2D averages NHWC images x [N, H, W, C] over all pixels,
// giving [N, C].
func GlobalAvgPool2D(x *Value) *Value {
	if x.t.Rank() != 4 {
		panic(fmt.Sprintf("autodiff: GlobalAvgPool2D input %v (want [N, H, W, C])", x.Shape()))
	}
	return MeanAxis(Reshape(x, x.Dim(0), x.Dim(1)*x.Dim(2), x.Dim(3)), 1)
}

// NCHWToNHWC converts images stored channels first, as rows x [N, C·H·W]
// (or [N, C, H, W]), to NHWC [N, H, W, C]. A single channel needs no
// transpose: the result is a reshape.
func NCHWToNHWC(x *Value, c, h, w int) *Value {
	if x.t.Rank() < 1 || x.Len() != x.Dim(0)*c*h*w {
		panic(fmt.Sprintf("autodiff: NCHWToNHWC of shape %v as %d×%d×%d images", x.Shape(), c, h, w))
	}
	n := x.Dim(0)
	if c == 1 {
		return Reshape(x, n, h, w, 1)
	}
	return Reshape(BatchTranspose(Reshape(x, n, c, h*w)), n, h, w, c)
}

// NHWCToNCHW converts NHWC images x [N, H, W, C] to channels-first rows
// [N, C·H·W], the inverse of NCHWToNHWC.
func NHWCToNCHW(x *Value) *Value {
	if x.t.Rank() != 4 {
		panic(fmt.Sprintf("autodiff: NHWCToNCHW input %v (want [N, H, W, C])", x.Shape()))
	}
	n, h, w, c := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	if c == 1 {
		return Reshape(x, n, h*w)
	}
	return Reshape(BatchTranspose(Reshape(x, n, h*w, c)), n, c*h*w)
}

// layerMap is the linear map L of a fused layer act(L(x, W) + b) (see
// fused): the matrix product x·Wᵀ of Dense (the zero value), or the
// convolution of NHWC images x [N, H, W, C] with a weight W [O, C, KH, KW]
// as an implicit GEMM (tensor.Conv2D), whose output rows [N·Ho·Wo, O] are the
// output pixels. The fused node, its VJP and its float32-stable difference
// rules are written once, in terms of these methods.
type layerMap struct {
	conv bool
	win  tensor.Window
	h, w int // the input images' size
}

// rows returns the output rows of L on x (or on a joint of x).
func (l layerMap) rows(x *Value) int {
	if !l.conv {
		return x.Dim(0)
	}
	ho, wo := l.win.Out(l.h, l.w)
	return x.Dim(0) * ho * wo
}

// forward returns L(x, w).
func (l layerMap) forward(x, w *tensor.Tensor) *tensor.Tensor {
	if !l.conv {
		return tensor.MatMul(x, w, false, true)
	}
	return tensor.Conv2D(x, w, l.win)
}

// forwardInto overwrites out with L(x, w) (out and x may be row views).
func (l layerMap) forwardInto(out, x, w *tensor.Tensor) {
	if l.conv {
		tensor.Conv2DInto(out, x, w, l.win)
		return
	}
	m, nout, nin := x.Dim(0), w.Dim(0), w.Dim(1)
	if out.DType() == tensor.Float32 {
		igemm.Gemm(false, true, m, nout, nin, 1, x.Float32s(), nin, w.Float32s(), nin, 0, out.Float32s(), nout)
	} else {
		igemm.Gemm(false, true, m, nout, nin, 1, x.Float64s(), nin, w.Float64s(), nin, 0, out.Float64s(), nout)
	}
}

// apply is L(x, w) as a differentiable value.
func (l layerMap) apply(x, w *Value) *Value {
	if !l.conv {
		return MatMul(x, w, false, true)
	}
	return convLinear(x, w, l.win)
}

// gradX is the VJP of L with respect to x for the output cotangent g.
func (l layerMap) gradX(g, w *Value) *Value {
	if !l.conv {
		return MatMul(g, w, false, false)
	}
	return convInputGrad(g, w, l.win, l.h, l.w)
}

// gradW is the VJP of L with respect to w for the output cotangent g.
func (l layerMap) gradW(g, x *Value) *Value {
	if !l.conv {
		return MatMul(g, x, true, false)
	}
	return convWeightGrad(g, x, l.win)
}

// The three convolution primitives are bilinear, and the VJP of each is two
// of them, so the family is closed under differentiation: with F(x, W) the
// convolution, I(g, W) its input gradient and V(g, x) its weight gradient,
//
//	F:  x̄ = I(ḡ, W),  W̄ = V(ḡ, x)
//	I:  ḡ = F(h̄, W),  W̄ = V(g, h̄)
//	V:  ḡ = F(x, H̄),  x̄ = I(g, H̄)
//
// (each by ⟨h̄, I(g, W)⟩ = ⟨F(h̄, W), g⟩ and ⟨H̄, V(g, x)⟩ = ⟨F(x, H̄), g⟩).

// convLinear is the convolution F(x, w) of NHWC images x [N, H, W, C] with a
// weight w [O, C, KH, KW], as rows [N·Ho·Wo, O] (tensor.Conv2D).
func convLinear(x, w *Value, win tensor.Window) *Value {
	return opWith(tensor.Conv2D(x.t, w.t, win), &convP, win, x, w)
}

// convInputGrad is the input gradient I(g, w) of convLinear on h×wd images:
// for the output cotangent g [N·Ho·Wo, O], the images' cotangent
// [N, H, W, C] (tensor.Conv2DInputGrad).
func convInputGrad(g, w *Value, win tensor.Window, h, wd int) *Value {
	return opWith(tensor.Conv2DInputGrad(g.t, w.t, win, h, wd), &convInputGradP, col2ImParams{win: win, h: h, w: wd}, g, w)
}

// convWeightGrad is the weight gradient V(g, x) of convLinear: for the
// output cotangent g [N·Ho·Wo, O] and the images x [N, H, W, C], the
// weight's cotangent [O, C, KH, KW] (tensor.Conv2DWeightGrad).
func convWeightGrad(g, x *Value, win tensor.Window) *Value {
	return opWith(tensor.Conv2DWeightGrad(g.t, x.t, win), &convWeightGradP, win, g, x)
}

// bilinearDiff is the difference rule of a bilinear primitive f(a, b):
// Δf = f(Δa, b + Δb) + f(a, Δb), exact, per difference. When only a changes
// and f acts on each leading-axis block of a alone (batchA), the K
// differences go through f at once as K times more blocks.
func bilinearDiff(f func(a, b *Value) *Value, out *Value, in, dIn []*Value, k int, batchA bool) *Value {
	a, b := in[0], in[1]
	if batchA && dIn[1] == nil {
		return Reshape(f(rowsK(dIn[0]), b), withK(k, out.Shape())...)
	}
	return stackK(k, out.Shape(), func(i int) *Value {
		var d *Value
		if dIn[0] != nil {
			bb := b
			if dIn[1] != nil {
				bb = Add(b, sliceK(dIn[1], i))
			}
			d = f(sliceK(dIn[0], i), bb)
		}
		if dIn[1] != nil {
			d = addDiff(d, f(a, sliceK(dIn[1], i)))
		}
		return d
	})
}

// The descriptors of the operations above (see primitive).
var im2ColP, col2ImP, batchTransposeP, avgPoolP, avgPoolAdjP, convP, convInputGradP, convWeightGradP primitive

func init() {
	im2ColP = primitive{name: "Im2Col",
		vjp: func(p any, g, out *Value, in []*Value, need []bool) []*Value {
			s := in[0].t.Shape()
			return []*Value{Col2Im(g, p.(tensor.Window), s[1], s[2], s[3])}
		},
		diff: im2ColDiff, pair: im2ColDiff,
		batch: func(p any, j []*Value, _ []int) *Value { return Im2Col(j[0], p.(tensor.Window)) },
	}
	col2ImP = primitive{name: "Col2Im",
		vjp: func(p any, g, out *Value, in []*Value, need []bool) []*Value {
			return []*Value{Im2Col(g, p.(col2ImParams).win)}
		},
		diff: col2ImDiff, pair: col2ImDiff,
		batch: func(p any, j []*Value, _ []int) *Value {
			c := p.(col2ImParams)
			return Col2Im(j[0], c.win, c.h, c.w, c.c)
		},
	}
	batchTransposeP = primitive{name: "BatchTranspose",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			return []*Value{BatchTranspose(g)}
		},
		diff: batchTransposeDiff, pair: batchTransposeDiff,
		batch: func(_ any, j []*Value, _ []int) *Value { return BatchTranspose(j[0]) },
	}
	avgPoolP = primitive{name: "AvgPool2D",
		vjp: func(p any, g, out *Value, in []*Value, need []bool) []*Value {
			q := p.(poolParams)
			return []*Value{AvgPool2DAdjoint(g, q.k, q.stride, q.pad, in[0].Dim(1), in[0].Dim(2))}
		},
		diff: avgPoolDiff, pair: avgPoolDiff,
		batch: func(p any, j []*Value, _ []int) *Value {
			q := p.(poolParams)
			return AvgPool2D(j[0], q.k, q.stride, q.pad)
		},
	}
	avgPoolAdjP = primitive{name: "AvgPool2DAdjoint",
		vjp: func(p any, gg, out *Value, in []*Value, need []bool) []*Value {
			q := p.(poolParams)
			return []*Value{AvgPool2D(gg, q.k, q.stride, q.pad)}
		},
		diff: avgPoolAdjDiff, pair: avgPoolAdjDiff,
		batch: func(p any, j []*Value, _ []int) *Value {
			q := p.(poolParams)
			return AvgPool2DAdjoint(j[0], q.k, q.stride, q.pad, q.h, q.w)
		},
	}
	convP = primitive{name: "convLinear",
		vjp: func(p any, g, out *Value, in []*Value, need []bool) []*Value {
			win := p.(tensor.Window)
			gs := make([]*Value, 2)
			if need[0] {
				gs[0] = convInputGrad(g, in[1], win, in[0].Dim(1), in[0].Dim(2))
			}
			if need[1] {
				gs[1] = convWeightGrad(g, in[0], win)
			}
			return gs
		},
		diff: func(p any, out *Value, in, dIn []*Value, k int) *Value {
			win := p.(tensor.Window)
			return bilinearDiff(func(a, b *Value) *Value { return convLinear(a, b, win) }, out, in, dIn, k, true)
		},
	}
	convInputGradP = primitive{name: "convInputGrad",
		vjp: func(p any, gg, out *Value, in []*Value, need []bool) []*Value {
			win := p.(col2ImParams).win
			gs := make([]*Value, 2)
			if need[0] {
				gs[0] = Reshape(convLinear(gg, in[1], win), in[0].Shape()...)
			}
			if need[1] {
				gs[1] = convWeightGrad(in[0], gg, win)
			}
			return gs
		},
		diff: func(p any, out *Value, in, dIn []*Value, k int) *Value {
			c := p.(col2ImParams)
			return bilinearDiff(func(a, b *Value) *Value { return convInputGrad(a, b, c.win, c.h, c.w) }, out, in, dIn, k, true)
		},
	}
	convWeightGradP = primitive{name: "convWeightGrad",
		vjp: func(p any, gg, out *Value, in []*Value, need []bool) []*Value {
			win := p.(tensor.Window)
			gs := make([]*Value, 2)
			if need[0] {
				gs[0] = Reshape(convLinear(in[1], gg, win), in[0].Shape()...)
			}
			if need[1] {
				gs[1] = convInputGrad(Reshape(in[0], -1, gg.Dim(0)), gg, win, in[1].Dim(1), in[1].Dim(2))
			}
			return gs
		},
		diff: func(p any, out *Value, in, dIn []*Value, k int) *Value {
			win := p.(tensor.Window)
			return bilinearDiff(func(a, b *Value) *Value { return convWeightGrad(a, b, win) }, out, in, dIn, k, false)
		},
	}
}

// The difference rules of the linear image primitives: the K differences of
// N images are K·N more images.

func im2ColDiff(p any, out *Value, in, dIn []*Value, k int) *Value {
	return Reshape(Im2Col(rowsK(dIn[0]), p.(tensor.Window)), withK(k, out.Shape())...)
}

func col2ImDiff(p any, out *Value, in, dIn []*Value, k int) *Value {
	c := p.(col2ImParams)
	return Reshape(Col2Im(rowsK(dIn[0]), c.win, c.h, c.w, c.c), withK(k, out.Shape())...)
}

func batchTransposeDiff(_ any, out *Value, in, dIn []*Value, k int) *Value {
	return Reshape(BatchTranspose(rowsK(dIn[0])), withK(k, out.Shape())...)
}

func avgPoolDiff(p any, out *Value, in, dIn []*Value, kd int) *Value {
	q := p.(poolParams)
	return Reshape(AvgPool2D(rowsK(dIn[0]), q.k, q.stride, q.pad), withK(kd, out.Shape())...)
}

func avgPoolAdjDiff(p any, out *Value, in, dIn []*Value, kd int) *Value {
	q := p.(poolParams)
	return Reshape(AvgPool2DAdjoint(rowsK(dIn[0]), q.k, q.stride, q.pad, q.h, q.w), withK(kd, out.Shape())...)
}
