package tensor

import (
	"fmt"

	"github.com/fdsm/fdsm/internal/parallel"
)

// Kernels for 2-D convolution by im2col + GEMM, on images stored channels
// last (NHWC): a batch is [N, H, W, C], one pixel's C channels contiguous.
// With that layout a convolution is one GEMM whose output is again NHWC,
//
//	Im2Col(x) [N·Ho·Wo, C·KH·KW]  ×  Wᵀ, W = weight [O, C·KH·KW]  →  [N·Ho·Wo, O] = [N, Ho, Wo, O],
//
// so convolutions chain without transposes, a 1×1 convolution is a plain
// matrix product and a bias is a row vector. The patch columns are ordered
// (c, kh, kw), which is the flattening of PyTorch's weight [O, C, KH, KW]:
// a PyTorch weight reshaped to [O, C·KH·KW] is the GEMM operand as it is.

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
