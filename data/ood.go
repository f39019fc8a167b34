package data

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/fdsm/fdsm/tensor"
)

// Out-of-distribution sets made from in-distribution images alone, so that an
// OOD detection benchmark needs no second data set: each keeps the image
// size and the [0, 1] pixel range of the input, and none modifies its input.

// SelectClasses returns the rows of x ([N, d]) whose label is one of keep,
// in their original order, with those labels: held-out digit classes make an
// OOD set for a model trained on the others.
func SelectClasses(x *tensor.Tensor, labels []uint8, keep []uint8) (*tensor.Tensor, []uint8) {
	n, _ := cols2D("SelectClasses", x)
	if len(labels) != n {
		panic(fmt.Sprintf("data: SelectClasses: %d labels for %d rows", len(labels), n))
	}
	var idx []int
	var out []uint8
	for i, l := range labels {
		if slices.Contains(keep, l) {
			idx = append(idx, i)
			out = append(out, l)
		}
	}
	return tensor.GatherRows(x, idx), out
}

// Invert returns 1 − x elementwise: white digits on black become black on
// white, the same shapes with the opposite intensity statistics.
func Invert(x *tensor.Tensor) *tensor.Tensor {
	return tensor.AddScalar(tensor.Neg(x), 1)
}

// imageOp applies a pixel permutation to every row of x ([N, h·w]): out
// pixel (r, c) takes in pixel src(r, c).
func imageOp(what string, x *tensor.Tensor, h, w int, src func(r, c int) (int, int)) *tensor.Tensor {
	n, d := cols2D(what, x)
	if h <= 0 || w <= 0 || h*w != d {
		panic(fmt.Sprintf("data: %s: images of %d×%d for rows of %d values", what, h, w, d))
	}
	perm := make([]int, d)
	for r := range h {
		for c := range w {
			sr, sc := src(r, c)
			perm[r*w+c] = sr*w + sc
		}
	}
	xs := x.ToFloat64()
	out := make([]float64, len(xs))
	for i := range n {
		row, dst := xs[i*d:(i+1)*d], out[i*d:(i+1)*d]
		for j, k := range perm {
			dst[j] = row[k]
		}
	}
	return tensor.FromFloat64(x.DType(), out, n, d)
}

// FlipHorizontal mirrors each h×w image (a row of x) left to right.
func FlipHorizontal(x *tensor.Tensor, h, w int) *tensor.Tensor {
	return imageOp("FlipHorizontal", x, h, w, func(r, c int) (int, int) { return r, w - 1 - c })
}

// FlipVertical mirrors each h×w image (a row of x) top to bottom.
func FlipVertical(x *tensor.Tensor, h, w int) *tensor.Tensor {
	return imageOp("FlipVertical", x, h, w, func(r, c int) (int, int) { return h - 1 - r, c })
}

// Rotate90 rotates each square n×n image (a row of x) a quarter turn
// clockwise: out(r, c) = in(n − 1 − c, r).
func Rotate90(x *tensor.Tensor, n int) *tensor.Tensor {
	return imageOp("Rotate90", x, n, n, func(r, c int) (int, int) { return n - 1 - c, r })
}

// UniformImages returns n rows of d pixels drawn independently from U[0, 1),
// in row-major order from r.
func UniformImages(dt tensor.DType, r *rand.Rand, n, d int) *tensor.Tensor {
	return tensor.RandU(dt, r, 0, 1, n, d)
}

// GaussianImages returns n rows of d pixels drawn independently from
// N(mean, std²), clipped to [0, 1] so that they stay in the pixel range of
// the data (and of a logit transform), in row-major order from r.
func GaussianImages(dt tensor.DType, r *rand.Rand, n, d int, mean, std float64) *tensor.Tensor {
	if n < 0 || d < 0 || !(std >= 0) {
		panic(fmt.Sprintf("data: GaussianImages of %d×%d with σ = %g", n, d, std))
	}
	v := make([]float64, n*d)
	for i := range v {
		v[i] = min(max(mean+std*r.NormFloat64(), 0), 1)
	}
	return tensor.FromFloat64(dt, v, n, d)
}
