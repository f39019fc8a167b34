package tensor

import (
	"fmt"

	"github.com/fdsm/fdsm/internal/parallel"
)

// Average pooling on NHWC images [N, H, W, C] and its adjoint, two linear
// maps that act on each image alone. Both kernels run over output pixels and
// add whole pixels, C contiguous channels at a time, so every inner loop is
// a plain loop over contiguous slices; the batch is split into chunks of
// whole images whose boundaries depend only on the sizes (parallel.For), and
// each pixel is one fixed-order sum, so the result does not depend on the
// number of workers. The divisor is always k² (PyTorch's
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

// avgPool writes every output pixel of n images: the sum of its window's
// pixels inside the image, in (kh, kw) order, times 1/k².
func avgPool[T float](dst, src []T, n int, p pool) {
	img, oimg, c := p.h*p.w*p.c, p.ho*p.wo*p.c, p.c
	s := 1 / T(p.k*p.k)
	parallel.For(n, p.imagesPerChunk(), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			x, y := src[b*img:(b+1)*img], dst[b*oimg:(b+1)*oimg]
			for oh := range p.ho {
				ih0 := oh*p.stride - p.pad
				kh0, kh1 := max(0, -ih0), min(p.k, p.h-ih0) // the taps inside the image
				for ow := range p.wo {
					iw0 := ow*p.stride - p.pad
					kw0, kw1 := max(0, -iw0), min(p.k, p.w-iw0)
					acc := y[(oh*p.wo+ow)*c:][:c]
					if kh0 >= kh1 || kw0 >= kw1 {
						clear(acc) // the window lies in the padding
						continue
					}
					first := true
					for kh := kh0; kh < kh1; kh++ {
						row := x[(ih0+kh)*p.w*c:]
						for iw := iw0 + kw0; iw < iw0+kw1; iw++ {
							if first {
								copy(acc, row[iw*c:][:c])
								first = false
							} else {
								addPixel(acc, row[iw*c:][:c])
							}
						}
					}
					scalePixel(acc, s)
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
		for b := lo; b < hi; b++ {
			g, x := src[b*oimg:(b+1)*oimg], dst[b*img:(b+1)*img]
			for ih := range p.h {
				oh0, oh1 := p.covering(ih, p.ho)
				for iw := range p.w {
					ow0, ow1 := p.covering(iw, p.wo)
					acc := x[(ih*p.w+iw)*c:][:c]
					if oh0 >= oh1 || ow0 >= ow1 {
						clear(acc) // no window covers the pixel
						continue
					}
					first := true
					for oh := oh0; oh < oh1; oh++ {
						row := g[oh*p.wo*c:]
						for ow := ow0; ow < ow1; ow++ {
							if first {
								copy(acc, row[ow*c:][:c])
								first = false
							} else {
								addPixel(acc, row[ow*c:][:c])
							}
						}
					}
					scalePixel(acc, s)
				}
			}
		}
	})
}

// covering returns the output positions [o0, o1) along one axis of size no
// whose windows cover input position i: o·stride − pad ≤ i ≤
// o·stride − pad + k − 1.
func (p pool) covering(i, no int) (o0, o1 int) {
	if lo := i + p.pad - p.k + 1; lo > 0 {
		o0 = (lo + p.stride - 1) / p.stride
	}
	return o0, min(no, (i+p.pad)/p.stride+1)
}

// addPixel adds the channels of src to those of dst (of the same length).
func addPixel[T float](dst, src []T) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// scalePixel multiplies the channels of dst by s.
func scalePixel[T float](dst []T, s T) {
	for i := range dst {
		dst[i] *= s
	}
}
