package tensor

import (
	"fmt"

	"github.com/fdsm/fdsm/internal/kernel/bufpool"
	igemm "github.com/fdsm/fdsm/internal/kernel/gemm"
	"github.com/fdsm/fdsm/internal/kernel/parallel"
)

// Kernels for 2-D convolution on images stored channels last (NHWC): a
// batch is [N, H, W, C], one pixel's C channels contiguous. With that layout
// a convolution is one product of the patch matrix with the weight, whose
// output is again NHWC,
//
//	P(x) [N·Ho·Wo, KH·KW·C]  ×  Wpᵀ, Wp = weight permuted to [O, KH, KW, C]  →  [N·Ho·Wo, O] = [N, Ho, Wo, O],
//
// so convolutions chain without transposes, a 1×1 convolution is a plain
// matrix product and a bias is a row vector. P(x) is never built on the hot
// path: float32 convolutions run the direct kernel of internal/kernel/gemm (which
// reads the once-padded images in place), float64 ones the implicit GEMM
// (which packs P's panels from the images). Im2Col and Col2Im materialise P
// with PyTorch's column order (c, kh, kw), for tests and strided input
// gradients.

// Window is the geometry of a 2-D sliding window (a convolution kernel or a
// pooling window): KH×KW taps, moved Stride pixels at a time over the image
// padded with Pad zeros on every side.
type Window struct {
	KH, KW, Stride, Pad int
}

// Out returns the output size (Ho, Wo) of the window over an h×w image:
// (h + 2·Pad − KH)/Stride + 1, likewise for w, rounded down as PyTorch does.
// It panics if the window does not fit or a field is out of range.
func (win Window) Out(h, w int) (ho, wo int) {
	if win.KH < 1 || win.KW < 1 || win.Stride < 1 || win.Pad < 0 {
		panic(fmt.Sprintf("tensor: window %+v (want KH, KW, Stride ≥ 1 and Pad ≥ 0)", win))
	}
	if h < 1 || w < 1 || h+2*win.Pad < win.KH || w+2*win.Pad < win.KW {
		panic(fmt.Sprintf("tensor: window %+v does not fit an image of %d×%d", win, h, w))
	}
	return (h+2*win.Pad-win.KH)/win.Stride + 1, (w+2*win.Pad-win.KW)/win.Stride + 1
}

// convGrain is the number of patch elements a parallel chunk of images should
// hold (a few hundred kB): below it the kernels run on the caller's goroutine.
// Chunks are whole images, so no two chunks write the same element and the
// result does not depend on the number of workers.
const convGrain = 1 << 16

// Im2Col returns the patch matrix of a batch of NHWC images x [N, H, W, C]:
// row (n, oh, ow) of the result [N·Ho·Wo, C·KH·KW] holds the window at
// output pixel (oh, ow) of image n, column (c, kh, kw) the input pixel
// (oh·Stride − Pad + kh, ow·Stride − Pad + kw) of channel c, or 0 where that
// falls in the padding.
func Im2Col(x *Tensor, win Window) *Tensor {
	if x.Rank() != 4 {
		panic(fmt.Sprintf("tensor: Im2Col needs NHWC images [N, H, W, C], got shape %v", x.shape))
	}
	n, h, w, c := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	ho, wo := win.Out(h, w)
	out := alloc(x.dtype, []int{n * ho * wo, c * win.KH * win.KW})
	g := geom{h, w, c, ho, wo, win}
	if x.dtype == Float32 {
		im2col(out.f32, x.f32, n, g)
	} else {
		im2col(out.f64, x.f64, n, g)
	}
	return out
}

// Col2Im is the adjoint of Im2Col: it adds every entry of a patch matrix
// cols [N·Ho·Wo, C·KH·KW] into the pixel it was copied from, giving NHWC
// images [N, H, W, C] (entries that came from the padding are dropped). N is
// cols' row count divided by Ho·Wo.
func Col2Im(cols *Tensor, win Window, h, w, c int) *Tensor {
	ho, wo := win.Out(h, w)
	kc := c * win.KH * win.KW
	if cols.Rank() != 2 || cols.shape[1] != kc || cols.shape[0]%(ho*wo) != 0 {
		panic(fmt.Sprintf("tensor: Col2Im of shape %v to %d×%d×%d images with window %+v (want [N·%d, %d])",
			cols.shape, h, w, c, win, ho*wo, kc))
	}
	n := cols.shape[0] / (ho * wo)
	out := alloc(cols.dtype, []int{n, h, w, c})
	g := geom{h, w, c, ho, wo, win}
	if cols.dtype == Float32 {
		col2im(out.f32, cols.f32, n, g)
	} else {
		col2im(out.f64, cols.f64, n, g)
	}
	return out
}

// geom is everything the two kernels need about one image and its patches.
type geom struct {
	h, w, c, ho, wo int
	win             Window
}

// imagesPerChunk returns the number of images a parallel chunk holds.
func (g geom) imagesPerChunk() int {
	return max(1, convGrain/max(1, g.ho*g.wo*g.c*g.win.KH*g.win.KW))
}

// The two kernels below walk the same loops: for every output pixel (oh, ow)
// of image b, the patch row r = (b·Ho + oh)·Wo + ow, and for every tap
// (kh, kw) inside the image, the pixel's C channels px, which sit in the
// row at columns ch·KH·KW + kh·KW + kw. The loops are written out in both
// rather than shared through a callback: an indirect call per tap cost more
// than the copy itself (a quarter of a ResNet step).

func im2col[T float](dst, src []T, n int, g geom) {
	win, c := g.win, g.c
	img, kk := g.h*g.w*c, win.KH*win.KW
	rowLen := c * kk
	parallel.For(n, g.imagesPerChunk(), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			s := src[b*img : (b+1)*img]
			for oh := range g.ho {
				ih0 := oh*win.Stride - win.Pad
				for ow := range g.wo {
					iw0 := ow*win.Stride - win.Pad
					row := dst[((b*g.ho+oh)*g.wo+ow)*rowLen:][:rowLen]
					if ih0 >= 0 && ih0+win.KH <= g.h && iw0 >= 0 && iw0+win.KW <= g.w {
						// Inside the image: the row is written in order,
						// reading each channel's window.
						i := 0
						for ch := range c {
							for kh := range win.KH {
								p := ((ih0+kh)*g.w+iw0)*c + ch
								for range win.KW {
									row[i] = s[p]
									i++
									p += c
								}
							}
						}
						continue
					}
					for kh := range win.KH {
						ih := ih0 + kh
						if ih < 0 || ih >= g.h {
							continue // padding: the row stays 0
						}
						for kw := range win.KW {
							iw := iw0 + kw
							if iw < 0 || iw >= g.w {
								continue
							}
							px := s[(ih*g.w+iw)*c:][:c]
							t := kh*win.KW + kw
							for ch, v := range px {
								row[ch*kk+t] = v
							}
						}
					}
				}
			}
		}
	})
}

func col2im[T float](dst, src []T, n int, g geom) {
	win, c := g.win, g.c
	img, kk := g.h*g.w*c, win.KH*win.KW
	rowLen := c * kk
	parallel.For(n, g.imagesPerChunk(), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			d := dst[b*img : (b+1)*img]
			for oh := range g.ho {
				for ow := range g.wo {
					row := src[((b*g.ho+oh)*g.wo+ow)*rowLen:][:rowLen]
					for kh := range win.KH {
						ih := oh*win.Stride - win.Pad + kh
						if ih < 0 || ih >= g.h {
							continue // padding: dropped
						}
						for kw := range win.KW {
							iw := ow*win.Stride - win.Pad + kw
							if iw < 0 || iw >= g.w {
								continue
							}
							px := d[(ih*g.w+iw)*c:][:c]
							t := kh*win.KW + kw
							for ch := range px {
								px[ch] += row[ch*kk+t]
							}
						}
					}
				}
			}
		}
	})
}

// BatchTranspose transposes each matrix of a batch: [B, M, N] → [B, N, M].
// It converts between NCHW images ([N, C, H·W]) and NHWC ones ([N, H·W, C]).
func BatchTranspose(t *Tensor) *Tensor {
	if t.Rank() != 3 {
		panic(fmt.Sprintf("tensor: BatchTranspose needs a 3-D tensor [B, M, N], got %v", t.shape))
	}
	b, m, n := t.shape[0], t.shape[1], t.shape[2]
	out := alloc(t.dtype, []int{b, n, m})
	if t.dtype == Float32 {
		batchTranspose(out.f32, t.f32, b, m, n)
	} else {
		batchTranspose(out.f64, t.f64, b, m, n)
	}
	return out
}

func batchTranspose[T float](dst, src []T, b, m, n int) {
	mn := m * n
	parallel.For(b, max(1, grain/max(1, mn)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			transpose(dst[i*mn:(i+1)*mn], src[i*mn:(i+1)*mn], m, n)
		}
	})
}

// Convolutions as implicit GEMMs (internal/kernel/gemm's PatchesTimes and
// TimesPatches): the products with the patch matrix are packed straight from
// the NHWC images, so no patch matrix is built. The forward pass and the
// input gradient split the images into chunks run in parallel, each a GEMM
// on the caller's goroutine that packs and multiplies its own rows: every
// output row is the same sum however the batch is split. The weight
// gradient, a sum over all output pixels, adds the chunks' partial sums in
// chunk order; chunks are a fixed number of images, so the result does not
// depend on the number of workers either.

// convWork is the multiply-adds a parallel chunk of images should hold
// (a few tens of µs): fewer and the chunks' start-up shows, more and the
// batch splits into too few chunks to share.
const convWork = 1 << 22

// patches returns the geometry of win's patch matrix over h×w×c images.
func (win Window) patches(h, w, c int) igemm.Patches {
	return igemm.Patches{H: h, W: w, C: c, KH: win.KH, KW: win.KW, Stride: win.Stride, PadH: win.Pad, PadW: win.Pad}
}

// Conv2D returns the convolution (PyTorch's conv2d, a cross-correlation,
// without bias) of NHWC images x [N, H, W, C] with weight w [O, C, KH, KW]
// (PyTorch's layout) as rows [N·Ho·Wo, O], one per output pixel: the NHWC
// output [N, Ho, Wo, O].
func Conv2D(x, w *Tensor, win Window) *Tensor {
	n, h, wd, _, o := convShapes("Conv2D", x, w, win)
	ho, wo := win.Out(h, wd)
	out := allocUninit(x.dtype, []int{n * ho * wo, o})
	Conv2DInto(out, x, w, win)
	return out
}

// Conv2DInto is Conv2D writing into out [N·Ho·Wo, O] (overwritten).
func Conv2DInto(out, x, w *Tensor, win Window) {
	n, h, wd, c, o := convShapes("Conv2D", x, w, win)
	ho, wo := win.Out(h, wd)
	if out.dtype != x.dtype || out.Rank() != 2 || out.shape[0] != n*ho*wo || out.shape[1] != o {
		panic(fmt.Sprintf("tensor: Conv2DInto output %v %v, want %v [%d, %d]", out.dtype, out.shape, x.dtype, n*ho*wo, o))
	}
	if x.dtype == Float32 {
		convForward(out.f32, x.f32, w.f32, n, o, win.patches(h, wd, c), false)
	} else {
		convForward(out.f64, x.f64, w.f64, n, o, win.patches(h, wd, c), false)
	}
}

// Conv2DInputGrad returns the input gradient of Conv2D: for the output's
// cotangent g [N·Ho·Wo, O] (or [N, Ho, Wo, O]) and the weight w
// [O, C, KH, KW], the cotangent [N, H, W, C] of images of H×W pixels. With
// stride 1 it is the transposed convolution: the convolution of g with the
// flipped, transposed kernel and padding K−1−Pad, an implicit GEMM like the
// forward pass. Other strides go through Col2Im of g·W.
func Conv2DInputGrad(g, w *Tensor, win Window, h, wd int) *Tensor {
	ho, wo := win.Out(h, wd)
	if w.Rank() != 4 || w.shape[2] != win.KH || w.shape[3] != win.KW || g.dtype != w.dtype ||
		g.Len() == 0 || g.Len()%(ho*wo*w.shape[0]) != 0 || g.shape[g.Rank()-1] != w.shape[0] {
		panic(fmt.Sprintf("tensor: Conv2DInputGrad of %v with weight %v %v and window %+v over %d×%d (want [N·%d, O], [O, C, %d, %d])",
			g.shape, w.dtype, w.shape, win, h, wd, ho*wo, win.KH, win.KW))
	}
	o, c := w.shape[0], w.shape[1]
	n := g.Len() / (ho * wo * o)
	if win.Stride != 1 || win.Pad > win.KH-1 || win.Pad > win.KW-1 {
		cols := MatMul(g.Reshape(n*ho*wo, o), w.Reshape(o, c*win.KH*win.KW), false, false)
		dx := Col2Im(cols, win, h, wd, c)
		if cols.dtype == Float32 {
			bufpool.PutFloat32s(cols.f32)
		} else {
			bufpool.PutFloat64s(cols.f64)
		}
		return dx
	}
	// Output pixel (oh, ow) reads input (oh − Pad + kh, ow − Pad + kw), so
	// input pixel (ih, iw) collects tap (kh, kw) from output pixel
	// (ih − (KH−1−Pad) + kh′, iw − (KW−1−Pad) + kw′), kh′ = KH−1−kh.
	q := igemm.Patches{H: ho, W: wo, C: o, KH: win.KH, KW: win.KW, Stride: 1, PadH: win.KH - 1 - win.Pad, PadW: win.KW - 1 - win.Pad}
	dx := allocUninit(g.dtype, []int{n, h, wd, c})
	if g.dtype == Float32 {
		convForward(dx.f32, g.f32, w.f32, n, c, q, true)
	} else {
		convForward(dx.f64, g.f64, w.f64, n, c, q, true)
	}
	return dx
}

// Conv2DWeightGrad returns the weight gradient of Conv2D: for the output's
// cotangent g [N·Ho·Wo, O] and the images x [N, H, W, C], the cotangent
// [O, C, KH, KW] of the weight, gᵀ·P(x) in PyTorch's layout.
func Conv2DWeightGrad(g, x *Tensor, win Window) *Tensor {
	if x.Rank() != 4 {
		panic(fmt.Sprintf("tensor: Conv2DWeightGrad needs NHWC images [N, H, W, C], got %v", x.shape))
	}
	n, h, wd, c := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	ho, wo := win.Out(h, wd)
	if g.dtype != x.dtype || g.Len() == 0 || g.Len()%(n*ho*wo) != 0 || g.shape[g.Rank()-1] != g.Len()/(n*ho*wo) {
		panic(fmt.Sprintf("tensor: Conv2DWeightGrad of %v %v for images %v %v and window %+v (want [%d, O])",
			g.dtype, g.shape, x.dtype, x.shape, win, n*ho*wo))
	}
	o := g.Len() / (n * ho * wo)
	dw := allocUninit(x.dtype, []int{o, c, win.KH, win.KW})
	if x.dtype == Float32 {
		convWeightGrad(dw.f32, g.f32, x.f32, n, o, win.patches(h, wd, c))
	} else {
		convWeightGrad(dw.f64, g.f64, x.f64, n, o, win.patches(h, wd, c))
	}
	return dw
}

// convShapes checks Conv2D's operands and returns N, H, W, C and O.
func convShapes(name string, x, w *Tensor, win Window) (n, h, wd, c, o int) {
	if x.Rank() != 4 || w.Rank() != 4 || w.shape[1] != x.shape[3] || w.shape[2] != win.KH || w.shape[3] != win.KW || w.dtype != x.dtype {
		panic(fmt.Sprintf("tensor: %s of images %v %v with weight %v %v and window %+v (want [N, H, W, C] and [O, C, %d, %d] of one dtype)",
			name, x.dtype, x.shape, w.dtype, w.shape, win, win.KH, win.KW))
	}
	win.Out(x.shape[1], x.shape[2])
	return x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0]
}

// convForward sets out [N·Ho·Wo, O] = P(x)·Wpᵀ for the images x of q's
// geometry, Wp the weight w [O, C, KH, KW] permuted to the patch matrix's
// column order [O, KH, KW, C]. With flip, w is instead a weight [C′, O, KH,
// KW] of the convolution being transposed (q.C = C′): Wp[o, kh, kw, c′] =
// w[c′, o, KH−1−kh, KW−1−kw].
func convForward[T float32 | float64](out, x, w []T, n, o int, q igemm.Patches, flip bool) {
	kk, c := q.KH*q.KW, q.C
	k := kk * c
	wp := getScratch[T](o * k)
	for oo := range o {
		for cc := range c {
			for t := range kk {
				if flip {
					wp[oo*k+t*c+cc] = w[(cc*o+oo)*kk+kk-1-t]
				} else {
					wp[oo*k+t*c+cc] = w[(oo*c+cc)*kk+t]
				}
			}
		}
	}
	ho, wo := q.Out()
	rows, img := ho*wo, q.H*q.W*c
	per := max(1, convWork/max(1, rows*k*o))
	if x32, ok := any(x).([]float32); ok {
		// float32: the direct kernel reads the images in place (see
		// internal/kernel/gemm's direct.go), from weight panels packed once here.
		out32 := any(out).([]float32)
		panels := bufpool.Float32sUninit(igemm.DirectPanelsLen(o, k))
		igemm.DirectPanels(panels, any(wp).([]float32), o, k)
		parallel.For(n, per, func(lo, hi int) {
			igemm.DirectForward(q, x32[lo*img:hi*img], hi-lo, panels, o, out32[lo*rows*o:hi*rows*o])
		})
		bufpool.PutFloat32s(panels)
		putScratch(wp)
		return
	}
	parallel.For(n, per, func(lo, hi int) {
		igemm.PatchesTimes(q, x[lo*img:hi*img], (hi-lo)*rows, true, o, wp, k, 0, out[lo*rows*o:hi*rows*o], o)
	})
	putScratch(wp)
}

// convWeightGrad sets dw [O, C, KH, KW] = gᵀ·P(x) for the cotangent g
// [N·Ho·Wo, O] and the images x of q's geometry. Each chunk of images sums
// its rows into a partial product of its own ([O, KH, KW, C], the patch
// matrix's column order); the partials are then added in chunk order.
func convWeightGrad[T float32 | float64](dw, g, x []T, n, o int, q igemm.Patches) {
	kk, c := q.KH*q.KW, q.C
	k := kk * c
	ho, wo := q.Out()
	rows, img := ho*wo, q.H*q.W*c
	per := max(1, convWork/max(1, rows*k*o))
	chunks := parallel.Chunks(n, per)
	part := getScratch[T](chunks * o * k)
	// float32: the direct kernel, which reads 16 output channels of g at a
	// time and fills tiles of 6 input channels.
	x32, direct := any(x).([]float32)
	g32, _ := any(g).([]float32)
	part32, _ := any(part).([]float32)
	direct = direct && o%16 == 0 && c >= 6
	parallel.For(n, per, func(lo, hi int) {
		if direct {
			igemm.DirectWeightGrad(q, x32[lo*img:hi*img], hi-lo, g32[lo*rows*o:hi*rows*o], o, part32[lo/per*o*k:][:o*k])
			return
		}
		igemm.TimesPatches(true, o, (hi-lo)*rows, g[lo*rows*o:hi*rows*o], o, q, x[lo*img:hi*img], 0, part[lo/per*o*k:][:o*k], k)
	})
	sum := part[:o*k]
	for ch := 1; ch < chunks; ch++ {
		for i, v := range part[ch*o*k : (ch+1)*o*k] {
			sum[i] += v
		}
	}
	for oo := range o {
		for cc := range c {
			for t := range kk {
				dw[(oo*c+cc)*kk+t] = sum[oo*k+t*c+cc]
			}
		}
	}
	putScratch(part)
}

// getScratch and putScratch lend a kernel a temporary buffer from the pool.
func getScratch[T float32 | float64](n int) []T {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return any(bufpool.Float32sUninit(n)).([]T)
	}
	return any(bufpool.Float64sUninit(n)).([]T)
}

func putScratch[T float32 | float64](s []T) {
	switch s := any(s).(type) {
	case []float32:
		bufpool.PutFloat32s(s)
	case []float64:
		bufpool.PutFloat64s(s)
	}
}
