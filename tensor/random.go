package tensor

import "math/rand/v2"

// RandN returns a tensor of independent standard normal draws from r.
// The draws are taken in row-major order, so the same generator state gives the
// same tensor for either dtype (up to rounding to float32).
func RandN(dt DType, r *rand.Rand, shape ...int) *Tensor {
	t := allocUninit(dt, shape)
	if dt == Float32 {
		normFill(t.f32, r)
	} else {
		normFill(t.f64, r)
	}
	return t
}

// RandU returns a tensor of independent uniform draws on [lo, hi) from r.
func RandU(dt DType, r *rand.Rand, lo, hi float64, shape ...int) *Tensor {
	t := alloc(dt, shape)
	for i := range t.Len() {
		v := lo + (hi-lo)*r.Float64()
		// Rounding to float32 can reach hi itself; redraw so the interval
		// stays half-open (about one draw in 3e7).
		for dt == Float32 && float32(v) >= float32(hi) && hi > lo {
			v = lo + (hi-lo)*r.Float64()
		}
		t.Set(i, v)
	}
	return t
}

// Rademacher returns a tensor of independent ±1 draws with equal probability.
func Rademacher(dt DType, r *rand.Rand, shape ...int) *Tensor {
	t := alloc(dt, shape)
	for i := range t.Len() {
		if r.Uint64()&1 == 0 {
			t.Set(i, 1)
		} else {
			t.Set(i, -1)
		}
	}
	return t
}
