package sm

import (
	"math"

	"github.com/fdsm/fdsm/tensor"
)

// GridBox2D returns the box for LogLikelihoodGrid2D's quadrature over 2-D
// data x: the data's bounding box, widened by half its size on each side
// (at least 1), so that it holds the mass of a model fitted to the data.
func GridBox2D(x *tensor.Tensor) (lo, hi [2]float64) { return BoundingBox2D(x, 0.5, 1) }

// BoundingBox2D returns the bounding box of 2-D points x widened on each
// side by frac of its size, and at least by minPad and by a millionth of its
// coordinates' magnitude (points at 6e19, as an edited standardisation makes
// them, would otherwise give lo = hi in floating point: an empty box).
func BoundingBox2D(x *tensor.Tensor, frac, minPad float64) (lo, hi [2]float64) {
	v := x.ToFloat64()
	lo = [2]float64{math.Inf(1), math.Inf(1)}
	hi = [2]float64{math.Inf(-1), math.Inf(-1)}
	for i := 0; i+1 < len(v); i += 2 {
		for j := range 2 {
			lo[j], hi[j] = min(lo[j], v[i+j]), max(hi[j], v[i+j])
		}
	}
	for j := range 2 {
		pad := max(frac*(hi[j]-lo[j]), minPad, 1e-6*max(math.Abs(lo[j]), math.Abs(hi[j])))
		lo[j], hi[j] = lo[j]-pad, hi[j]+pad
	}
	return lo, hi
}
