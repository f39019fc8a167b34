package tensor

import (
	"fmt"

	"github.com/fdsm/fdsm/internal/kernel/parallel"
)

// Average pooling on NHWC images [N, H, W, C] and its adjoint, two linear
// maps that act on each image alone. Each kernel writes every pixel of its
// result once, as a fixed-order sum of whole pixels of its input (C
// contiguous channels, so every inner loop is a plain loop over contiguous
// slices) times 1/k²; the batch is split into chunks of whole images whose
// boundaries depend only on the sizes (parallel.For), so the result does
// not depend on the number of workers. The divisor is always k² (PyTorch's
// count_include_pad=True), applied as one multiplication by 1/k² after the
// sum: exact for k = 1, 2, 4, …, within an ulp of a division otherwise.

// pool is the geometry of a k×k average pool over h×w×c images.
type pool struct {
	h, w, c, ho, wo int
	k, stride, pad  int
}

// newPool checks the window against the image size and returns the geometry.
func newPool(k, stride, pad, h, w, c int) pool {
	ho, wo := Window{KH: k, KW: k, Stride: stride, Pad: pad}.Out(h, w)
	return pool{h: h, w: w, c: c, ho: ho, wo: wo, k: k, stride: stride, pad: pad}
}

// imagesPerChunk is the number of images a parallel chunk holds: about grain
// input elements, each read or written once by either kernel.
func (p pool) imagesPerChunk() int { return max(1, grain/max(1, p.h*p.w*p.c)) }

// AvgPool2D returns the averages of NHWC images x [N, H, W, C] over k×k
// windows moved stride pixels at a time over the image padded with pad zeros
// on every side, the zeros counted in the average (PyTorch's avg_pool2d with
// count_include_pad=True): [N, Ho, Wo, C], with Ho and Wo as Window.Out
// gives them. Its adjoint is AvgPool2DAdjoint.
func AvgPool2D(x *Tensor, k, stride, pad int) *Tensor {
	if x.Rank() != 4 {
		panic(fmt.Sprintf("tensor: AvgPool2D needs NHWC images [N, H, W, C], got shape %v", x.shape))
	}
	n := x.shape[0]
	p := newPool(k, stride, pad, x.shape[1], x.shape[2], x.shape[3])
	out := allocUninit(x.dtype, []int{n, p.ho, p.wo, p.c})
	if x.dtype == Float32 {
		avgPool(out.f32, x.f32, n, p)
	} else {
		avgPool(out.f64, x.f64, n, p)
	}
	return out
}

// AvgPool2DAdjoint is the adjoint of AvgPool2D over h×w images: each entry
// of the cotangent g [N, Ho, Wo, C] is spread, divided by k², over the
// pixels of its window that lie inside the image, giving [N, h, w, C]
// (pixels no window covers are 0). With k = stride and no padding it is a
// nearest-neighbour upsampling by k, divided by k². It is linear, and
// AvgPool2D is its adjoint.
func AvgPool2DAdjoint(g *Tensor, k, stride, pad, h, w int) *Tensor {
	if g.Rank() != 4 {
		panic(fmt.Sprintf("tensor: AvgPool2DAdjoint needs NHWC images [N, Ho, Wo, C], got shape %v", g.shape))
	}
	n := g.shape[0]
	p := newPool(k, stride, pad, h, w, g.shape[3])
	if g.shape[1] != p.ho || g.shape[2] != p.wo {
		panic(fmt.Sprintf("tensor: AvgPool2DAdjoint of shape %v to %d×%d images with k=%d, stride %d, pad %d (want [N, %d, %d, C])",
			g.shape, h, w, k, stride, pad, p.ho, p.wo))
	}
	out := allocUninit(g.dtype, []int{n, h, w, p.c})
	if g.dtype == Float32 {
		avgPoolAdjoint(out.f32, g.f32, n, p)
	} else {
		avgPoolAdjoint(out.f64, g.f64, n, p)
	}
	return out
}

// avgPool writes every output pixel of n images: the average of its
// window's pixels inside the image, taken in (kh, kw) order.
func avgPool[T float](dst, src []T, n int, p pool) {
	img, oimg, c := p.h*p.w*p.c, p.ho*p.wo*p.c, p.c
	s := 1 / T(p.k*p.k)
	parallel.For(n, p.imagesPerChunk(), func(lo, hi int) {
		var buf [maxPoolTaps][]T
		px := buf[:0]
		for b := lo; b < hi; b++ {
			x, y := src[b*img:(b+1)*img], dst[b*oimg:(b+1)*oimg]
			for oh := range p.ho {
				ih0 := oh*p.stride - p.pad
				kh0, kh1 := max(0, -ih0), min(p.k, p.h-ih0) // the taps inside the image
				for ow := range p.wo {
					iw0 := ow*p.stride - p.pad
					kw0, kw1 := max(0, -iw0), min(p.k, p.w-iw0)
					px = px[:0]
					for kh := kh0; kh < kh1; kh++ {
						row := x[(ih0+kh)*p.w*c:]
						for iw := iw0 + kw0; iw < iw0+kw1; iw++ {
							px = append(px, row[iw*c:][:c])
						}
					}
					sumScaled(y[(oh*p.wo+ow)*c:][:c], px, s)
				}
			}
		}
	})
}

// avgPoolAdjoint writes every input pixel (ih, iw) of n images: the sum, in
// (oh, ow) order, of the cotangents of the output pixels whose windows
// cover it, times 1/k². Gathering rather than scattering writes each pixel
// once, so the result needs no clearing first.
func avgPoolAdjoint[T float](dst, src []T, n int, p pool) {
	img, oimg, c := p.h*p.w*p.c, p.ho*p.wo*p.c, p.c
	s := 1 / T(p.k*p.k)
	parallel.For(n, p.imagesPerChunk(), func(lo, hi int) {
		var buf [maxPoolTaps][]T
		px := buf[:0]
		for b := lo; b < hi; b++ {
			g, x := src[b*oimg:(b+1)*oimg], dst[b*img:(b+1)*img]
			if p.stride == p.k && p.pad == 0 {
				upsampleScaled(x, g, p, s)
				continue
			}
			var rows cover
			for ih := range p.h {
				rows.next(ih, p, p.ho)
				var cols cover
				for iw := range p.w {
					cols.next(iw, p, p.wo)
					px = px[:0]
					for oh := rows.o0; oh < rows.o1; oh++ {
						row := g[oh*p.wo*c:]
						for ow := cols.o0; ow < cols.o1; ow++ {
							px = append(px, row[ow*c:][:c])
						}
					}
					sumScaled(x[(ih*p.w+iw)*c:][:c], px, s)
				}
			}
		}
	})
}

// upsampleScaled is avgPoolAdjoint on one image when the windows tile it
// without overlap or padding (stride = k, pad 0): pixel (ih, iw) is in
// window (ih/k, iw/k) alone, or, past the last whole window, in none.
func upsampleScaled[T float](x, g []T, p pool, s T) {
	c, wc := p.c, p.w*p.c
	for ih := range p.h {
		row := x[ih*wc:][:wc]
		switch oh := ih / p.k; {
		case oh >= p.ho:
			clear(row)
		case ih%p.k != 0:
			copy(row, x[(ih-1)*wc:][:wc]) // a window's rows are equal
		default:
			grow := g[oh*p.wo*c:][:p.wo*c]
			for ow := range p.wo {
				for kw := range p.k {
					scaled(row[(ow*p.k+kw)*c:][:c], grow[ow*c:][:c], s)
				}
			}
			clear(row[p.wo*p.k*c:])
		}
	}
}

// maxPoolTaps is the number of pixels a kernel gathers for one sum without
// allocating: windows up to 4×4 (larger ones grow the buffer once a chunk).
const maxPoolTaps = 16

// cover is the range [o0, o1) of output positions, along one axis of no
// outputs, whose windows cover an input position i: o·stride − pad ≤ i ≤
// o·stride − pad + k − 1. Walking i = 0, 1, 2, … with next moves both ends
// forward, with no division per pixel.
type cover struct{ o0, o1 int }

// next moves the range to input position i, the one after the last.
func (r *cover) next(i int, p pool, no int) {
	for r.o1 < no && r.o1*p.stride-p.pad <= i {
		r.o1++
	}
	for r.o0 < r.o1 && r.o0*p.stride-p.pad+p.k <= i {
		r.o0++
	}
}

// sumScaled sets dst to (px[0] + px[1] + …)·s, channel by channel, the sum
// taken left to right (0 for no pixels). One, two and four pixels (a 2×2
// window) run in one pass; the result is the same bits on every path.
func sumScaled[T float](dst []T, px [][]T, s T) {
	switch len(px) {
	case 0:
		clear(dst)
	case 1:
		scaled(dst, px[0], s)
	case 2:
		a, b := px[0][:len(dst)], px[1][:len(dst)]
		for i := range dst {
			dst[i] = (a[i] + b[i]) * s
		}
	case 4:
		a, b, c, d := px[0][:len(dst)], px[1][:len(dst)], px[2][:len(dst)], px[3][:len(dst)]
		for i := range dst {
			dst[i] = (a[i] + b[i] + c[i] + d[i]) * s
		}
	default:
		copy(dst, px[0])
		for _, p := range px[1:] {
			p = p[:len(dst)]
			for i, v := range p {
				dst[i] += v
			}
		}
		for i := range dst {
			dst[i] *= s
		}
	}
}

// scaled sets dst to a·s, channel by channel.
func scaled[T float](dst, a []T, s T) {
	a = a[:len(dst)]
	for i, v := range a {
		dst[i] = v * s
	}
}
