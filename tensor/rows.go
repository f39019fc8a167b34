package tensor

import "fmt"

// rowWidth returns the number of elements per row (product of all but the
// first dimension).
func rowWidth(t *Tensor) int {
	if len(t.shape) == 0 {
		panic("tensor: row operation on a rank-0 tensor")
	}
	return numel(t.shape[1:])
}

// ConcatRows stacks tensors along the first axis; all must share the dtype and
// the trailing dimensions.
func ConcatRows(ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor: ConcatRows of nothing")
	}
	first := ts[0]
	rows := 0
	for _, t := range ts {
		mustSameDType("ConcatRows", first, t)
		if len(t.shape) == 0 || !shapeEq(t.shape[1:], first.shape[1:]) {
			panic(fmt.Sprintf("tensor: ConcatRows shapes %v and %v differ beyond the first axis", first.shape, t.shape))
		}
		rows += t.shape[0]
	}
	shape := append([]int{rows}, first.shape[1:]...)
	out := allocUninit(first.dtype, shape) // the copies fill it
	off := 0
	for _, t := range ts {
		if t.dtype == Float32 {
			off += copy(out.f32[off:], t.f32)
		} else {
			off += copy(out.f64[off:], t.f64)
		}
	}
	return out
}

// SliceRows returns rows [lo, hi) of t. The result shares t's storage, which
// is safe because tensors are not modified after creation. Its slice keeps
// the capacity to the end of t's (nothing appends to tensor storage), so
// that every view of a buffer ends where the buffer does: autodiff tells
// views of one buffer apart from other buffers by that end.
func SliceRows(t *Tensor, lo, hi int) *Tensor {
	w := rowWidth(t)
	if lo < 0 || hi < lo || hi > t.shape[0] {
		panic(fmt.Sprintf("tensor: SliceRows [%d:%d] of shape %v", lo, hi, t.shape))
	}
	shape := append([]int{hi - lo}, t.shape[1:]...)
	u := &Tensor{dtype: t.dtype, shape: shape}
	if t.dtype == Float32 {
		u.f32 = t.f32[lo*w : hi*w]
	} else {
		u.f64 = t.f64[lo*w : hi*w]
	}
	return u
}

// PadRows returns t with `before` rows of zeros above and `after` below.
func PadRows(t *Tensor, before, after int) *Tensor {
	w := rowWidth(t)
	if before < 0 || after < 0 {
		panic(fmt.Sprintf("tensor: PadRows(%d, %d) of shape %v", before, after, t.shape))
	}
	shape := append([]int{before + t.shape[0] + after}, t.shape[1:]...)
	// Only the padding is cleared: a gradient step pads every slice of a
	// joint batch's cotangent, and zeroing the whole, then copying over
	// most of it, wrote the rows twice.
	out := allocUninit(t.dtype, shape)
	if t.dtype == Float32 {
		padCopy(out.f32, t.f32, before*w)
	} else {
		padCopy(out.f64, t.f64, before*w)
	}
	return out
}

// padCopy sets dst to src placed at offset off, zeros before and after.
func padCopy[T float](dst, src []T, off int) {
	clear(dst[:off])
	copy(dst[off:], src)
	clear(dst[off+len(src):])
}

// GatherRows returns the rows of t at the given indices, in order.
func GatherRows(t *Tensor, idx []int) *Tensor {
	w := rowWidth(t)
	shape := append([]int{len(idx)}, t.shape[1:]...)
	out := alloc(t.dtype, shape)
	for i, r := range idx {
		if r < 0 || r >= t.shape[0] {
			panic(fmt.Sprintf("tensor: GatherRows index %d out of range for shape %v", r, t.shape))
		}
		if t.dtype == Float32 {
			copy(out.f32[i*w:(i+1)*w], t.f32[r*w:(r+1)*w])
		} else {
			copy(out.f64[i*w:(i+1)*w], t.f64[r*w:(r+1)*w])
		}
	}
	return out
}

// ScatterAddRows returns an n-row tensor of zeros to which row i of t has been
// added at row idx[i]: the adjoint of GatherRows.
func ScatterAddRows(t *Tensor, idx []int, n int) *Tensor {
	w := rowWidth(t)
	if len(idx) != t.shape[0] {
		panic(fmt.Sprintf("tensor: ScatterAddRows of shape %v with %d indices", t.shape, len(idx)))
	}
	shape := append([]int{n}, t.shape[1:]...)
	out := alloc(t.dtype, shape)
	for i, r := range idx {
		if r < 0 || r >= n {
			panic(fmt.Sprintf("tensor: ScatterAddRows index %d out of range for %d rows", r, n))
		}
		if t.dtype == Float32 {
			dst, src := out.f32[r*w:(r+1)*w], t.f32[i*w:(i+1)*w]
			for j := range dst {
				dst[j] += src[j]
			}
		} else {
			dst, src := out.f64[r*w:(r+1)*w], t.f64[i*w:(i+1)*w]
			for j := range dst {
				dst[j] += src[j]
			}
		}
	}
	return out
}

// Transpose returns the transpose of a 2-D tensor (a copy).
func Transpose(t *Tensor) *Tensor {
	if len(t.shape) != 2 {
		panic(fmt.Sprintf("tensor: Transpose needs a 2-D tensor, got %v", t.shape))
	}
	m, n := t.shape[0], t.shape[1]
	out := alloc(t.dtype, []int{n, m})
	if t.dtype == Float32 {
		transpose(out.f32, t.f32, m, n)
	} else {
		transpose(out.f64, t.f64, m, n)
	}
	return out
}

func transpose[T float](dst, src []T, m, n int) {
	const b = 32 // tile edge: two 32×32 float64 tiles fit in L1
	for i0 := 0; i0 < m; i0 += b {
		for j0 := 0; j0 < n; j0 += b {
			for i := i0; i < min(i0+b, m); i++ {
				for j := j0; j < min(j0+b, n); j++ {
					dst[j*m+i] = src[i*n+j]
				}
			}
		}
	}
}

// SplitRows splits t along the first axis into n equal parts, each sharing
// t's storage.
func SplitRows(t *Tensor, n int) []*Tensor {
	rows := t.Dim(0)
	if n <= 0 || rows%n != 0 {
		panic(fmt.Sprintf("tensor: SplitRows of shape %v into %d equal parts", t.shape, n))
	}
	k := rows / n
	out := make([]*Tensor, n)
	for i := range out {
		out[i] = SliceRows(t, i*k, (i+1)*k)
	}
	return out
}
