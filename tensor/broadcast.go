package tensor

import (
	"fmt"

	"github.com/fdsm/fdsm/internal/kernel/bufpool"
	"github.com/fdsm/fdsm/internal/kernel/parallel"
)

// BroadcastShape returns the NumPy broadcast of shapes a and b: aligned at the
// trailing dimension, each pair of sizes must be equal or one of them 1.
func BroadcastShape(a, b []int) ([]int, bool) {
	if shapeEq(a, b) {
		return append([]int(nil), a...), true
	}
	r := max(len(a), len(b))
	out := make([]int, r)
	for i := range r {
		da, db := 1, 1
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db, db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, false
		}
	}
	return out, true
}

// broadcastStrides returns, for t broadcast to shape, the stride of t's storage
// along each dimension of shape (0 where t is repeated).
func broadcastStrides(tshape, shape []int) []int {
	r := len(shape)
	st := make([]int, r)
	s := 1
	for i := r - 1; i >= 0; i-- {
		j := i - (r - len(tshape))
		if j < 0 {
			continue
		}
		if tshape[j] != 1 {
			st[i] = s
		}
		s *= tshape[j]
	}
	return st
}

func canBroadcast(from, to []int) bool {
	if len(from) > len(to) {
		for _, d := range from[:len(from)-len(to)] {
			if d != 1 {
				return false
			}
		}
		from = from[len(from)-len(to):]
	}
	off := len(to) - len(from)
	for i, d := range from {
		if d != 1 && d != to[off+i] {
			return false
		}
	}
	return true
}

// BroadcastTo returns t repeated to the given shape (NumPy rules). It returns t
// itself when the shapes are equal.
func BroadcastTo(t *Tensor, shape ...int) *Tensor {
	if shapeEq(t.shape, shape) {
		return t
	}
	if !canBroadcast(t.shape, shape) {
		panic(fmt.Sprintf("tensor: BroadcastTo %v to %v: shapes do not broadcast", t.shape, shape))
	}
	out := alloc(t.dtype, shape)
	if t.Len() == out.Len() {
		copy(out.f32, t.f32)
		copy(out.f64, t.f64)
		return out
	}
	if t.dtype == Float32 {
		broadcastCopy(out.f32, t.f32, t.shape, shape)
	} else {
		broadcastCopy(out.f64, t.f64, t.shape, shape)
	}
	return out
}

func broadcastCopy[T float](dst, src []T, sshape, shape []int) {
	if len(src) == 1 {
		for i := range dst {
			dst[i] = src[0]
		}
		return
	}
	if isSuffix(sshape, shape) {
		for i := 0; i < len(dst); i += len(src) {
			copy(dst[i:], src)
		}
		return
	}
	forEachIndex(shape, broadcastStrides(sshape, shape), func(i, j int) { dst[i] = src[j] })
}

// forEachIndex calls fn(i, j) for every flat index i of shape, with j the
// matching storage offset under the given strides (an odometer walk).
func forEachIndex(shape, strides []int, fn func(i, j int)) {
	n := numel(shape)
	if n == 0 {
		return
	}
	r := len(shape)
	idx := make([]int, r)
	j := 0
	for i := range n {
		fn(i, j)
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			j += strides[d]
			if idx[d] < shape[d] {
				break
			}
			j -= strides[d] * shape[d]
			idx[d] = 0
		}
	}
}

// SumTo sums t down to shape, the reduction that undoes broadcasting shape to
// t's shape. It returns t itself when the shapes are equal. Sums of float32
// data accumulate in float64.
func SumTo(t *Tensor, shape ...int) *Tensor {
	if shapeEq(t.shape, shape) {
		return t
	}
	if !canBroadcast(shape, t.shape) {
		panic(fmt.Sprintf("tensor: SumTo %v to %v: the target does not broadcast to the source", t.shape, shape))
	}
	n := numel(shape)
	if n == 1 {
		return Sum(t).Reshape(shape...)
	}
	out := alloc(t.dtype, shape)
	acc := bufpool.Float64s(n)
	if t.dtype == Float32 {
		sumToInto(acc, t.f32, shape, t.shape)
		for i, v := range acc {
			out.f32[i] = float32(v)
		}
	} else {
		sumToInto(acc, t.f64, shape, t.shape)
		copy(out.f64, acc)
	}
	bufpool.PutFloat64s(acc)
	return out
}

func sumToInto[T float](acc []float64, src []T, shape, sshape []int) {
	if isSuffix(shape, sshape) {
		w := len(acc)
		// Columns are independent, so split them; each column sums its rows
		// in order, which keeps the result independent of the worker count.
		// A chunk spans at least minSumCols columns: narrower ones would
		// stream every row's cache line through the cache once per chunk
		// (a bias gradient of 32 columns over 32768 rows ran 6× slower).
		const minSumCols = 64
		parallel.For(w, max(min(w, minSumCols), grain*w/max(len(src), 1)), func(lo, hi int) {
			for r := 0; r < len(src); r += w {
				row := src[r+lo : r+hi]
				a := acc[lo:hi]
				for i, v := range row {
					a[i] += float64(v)
				}
			}
		})
		return
	}
	forEachIndex(sshape, broadcastStrides(shape, sshape), func(i, j int) { acc[j] += float64(src[i]) })
}
