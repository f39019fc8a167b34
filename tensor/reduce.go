package tensor

import (
	"fmt"

	"github.com/fdsm/fdsm/internal/kernel/parallel"
)

// sumBlock is the fixed block size of Sum: partial sums are formed per block
// and added in block order, so the result does not depend on GOMAXPROCS.
const sumBlock = 4096

// Sum returns the sum of all elements as a rank-0 tensor. float32 data are
// accumulated in float64.
func Sum(t *Tensor) *Tensor {
	var s float64
	if t.dtype == Float32 {
		s = sumAll(t.f32)
	} else {
		s = sumAll(t.f64)
	}
	return Scalar(t.dtype, s)
}

func sumAll[T float](x []T) float64 {
	nb := parallel.Chunks(len(x), sumBlock)
	if nb <= 1 {
		var s float64
		for _, v := range x {
			s += float64(v)
		}
		return s
	}
	part := make([]float64, nb)
	parallel.For(nb, max(1, grain/sumBlock), func(lo, hi int) {
		for b := lo; b < hi; b++ {
			var s float64
			for _, v := range x[b*sumBlock : min((b+1)*sumBlock, len(x))] {
				s += float64(v)
			}
			part[b] = s
		}
	})
	var s float64
	for _, p := range part {
		s += p
	}
	return s
}

// Mean returns the mean of all elements as a rank-0 tensor.
func Mean(t *Tensor) *Tensor {
	if t.Len() == 0 {
		panic(fmt.Sprintf("tensor: Mean of empty shape %v", t.shape))
	}
	s := Sum(t)
	return Scale(s, 1/float64(t.Len()))
}

// SumAxis sums over one axis (negative counts from the end), removing it from
// the shape. float32 data are accumulated in float64.
func SumAxis(t *Tensor, axis int) *Tensor {
	r := len(t.shape)
	orig := axis
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		panic(fmt.Sprintf("tensor: SumAxis(%d) of shape %v", orig, t.shape))
	}
	outer := numel(t.shape[:axis])
	n := t.shape[axis]
	inner := numel(t.shape[axis+1:])
	shape := append(append([]int(nil), t.shape[:axis]...), t.shape[axis+1:]...)
	out := alloc(t.dtype, shape)
	if t.dtype == Float32 {
		sumAxis(out.f32, t.f32, outer, n, inner)
	} else {
		sumAxis(out.f64, t.f64, outer, n, inner)
	}
	return out
}

func sumAxis[T float](dst, src []T, outer, n, inner int) {
	g := max(1, grain/max(n*inner, 1))
	if inner == 1 {
		// Row sums (the last axis): four independent float64 accumulators,
		// so the adds do not wait on each other (one chain ran at a
		// quarter of the speed).
		parallel.For(outer, g, func(lo, hi int) {
			for o := lo; o < hi; o++ {
				row := src[o*n : (o+1)*n]
				var a0, a1, a2, a3 float64
				k := 0
				for ; k+4 <= len(row); k += 4 {
					a0 += float64(row[k])
					a1 += float64(row[k+1])
					a2 += float64(row[k+2])
					a3 += float64(row[k+3])
				}
				for ; k < len(row); k++ {
					a0 += float64(row[k])
				}
				dst[o] = T((a0 + a1) + (a2 + a3))
			}
		})
		return
	}
	parallel.For(outer, g, func(lo, hi int) {
		acc := make([]float64, inner)
		for o := lo; o < hi; o++ {
			clear(acc)
			base := o * n * inner
			for k := range n {
				row := src[base+k*inner : base+(k+1)*inner]
				for i, v := range row {
					acc[i] += float64(v)
				}
			}
			for i, v := range acc {
				dst[o*inner+i] = T(v)
			}
		}
	})
}

// MeanAxis averages over one axis, removing it from the shape.
func MeanAxis(t *Tensor, axis int) *Tensor {
	n := t.Dim(axis)
	return Scale(SumAxis(t, axis), 1/float64(n))
}
