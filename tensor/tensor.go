package tensor

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/fdsm/fdsm/internal/kernel/bufpool"
)

// DType is the element type of a Tensor.
type DType uint8

const (
	// Float32 stores elements as float32: the default for training.
	Float32 DType = iota + 1
	// Float64 stores elements as float64: what gradient checks use.
	Float64
)

// String returns "float32" or "float64".
func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Size returns the number of bytes of one element.
func (d DType) Size() int {
	switch d {
	case Float32:
		return 4
	case Float64:
		return 8
	}
	panic(fmt.Sprintf("tensor: invalid dtype %d", uint8(d)))
}

// ParseDType parses "float32"/"f32" or "float64"/"f64".
func ParseDType(s string) (DType, error) {
	switch s {
	case "float32", "f32":
		return Float32, nil
	case "float64", "f64":
		return Float64, nil
	}
	return 0, fmt.Errorf("tensor: unknown dtype %q (want float32 or float64)", s)
}

// float is the set of element types the generic kernels are written over.
type float interface{ ~float32 | ~float64 }

// Tensor is a dense, contiguous, row-major array of float32 or float64.
//
// Exactly one of f32 and f64 is non-nil (for a tensor with elements). Tensors
// are treated as values by the rest of fdsm: operations return new tensors and
// never modify their inputs; only the explicitly named in-place methods
// (the ones whose names end in "InPlace", and Set) write.
type Tensor struct {
	dtype DType
	shape []int
	f32   []float32
	f64   []float64
}

// allocated counts the bytes of tensor storage allocated by this package.
var allocated atomic.Int64

// AllocatedBytes returns the total number of bytes of element storage this
// package has allocated since the process started. The difference of two
// readings measures the tensor bytes a computation allocated.
func AllocatedBytes() int64 { return allocated.Load() }

func numel(shape []int) int {
	n := 1
	for _, s := range shape {
		if s < 0 {
			panic(fmt.Sprintf("tensor: negative dimension in shape %v", shape))
		}
		n *= s
	}
	return n
}

// alloc returns a zeroed tensor of the given dtype and shape.
func alloc(dt DType, shape []int) *Tensor { return allocate(dt, shape, true) }

// allocUninit is alloc for a kernel that writes every element of the
// result: recycled storage is not cleared first (clearing every buffer cost
// about a tenth of a training step).
func allocUninit(dt DType, shape []int) *Tensor { return allocate(dt, shape, false) }

func allocate(dt DType, shape []int, zero bool) *Tensor {
	n := numel(shape)
	t := &Tensor{dtype: dt, shape: append([]int(nil), shape...)}
	switch {
	case dt == Float32 && zero:
		t.f32 = bufpool.Float32s(n)
	case dt == Float32:
		t.f32 = bufpool.Float32sUninit(n)
	case dt == Float64 && zero:
		t.f64 = bufpool.Float64s(n)
	case dt == Float64:
		t.f64 = bufpool.Float64sUninit(n)
	default:
		panic(fmt.Sprintf("tensor: invalid dtype %d", uint8(dt)))
	}
	allocated.Add(int64(n * dt.Size()))
	return t
}

// Zeros returns a tensor of zeros.
func Zeros(dt DType, shape ...int) *Tensor { return alloc(dt, shape) }

// Ones returns a tensor of ones.
func Ones(dt DType, shape ...int) *Tensor { return Full(dt, 1, shape...) }

// Full returns a tensor whose every element is v.
func Full(dt DType, v float64, shape ...int) *Tensor {
	t := alloc(dt, shape)
	t.Fill(v)
	return t
}

// Scalar returns a rank-0 tensor holding v.
func Scalar(dt DType, v float64) *Tensor { return Full(dt, v) }

// Uninit returns a tensor of the given shape whose elements are
// unspecified (recycled storage, not cleared), for a kernel that writes
// every element before any is read: clearing a buffer that is overwritten
// anyway is a pass over memory for nothing. Under the tests' poisoned pool
// its elements read NaN, so an element left unwritten shows.
func Uninit(dt DType, shape ...int) *Tensor { return allocUninit(dt, shape) }

// ZerosLike returns zeros with the dtype and shape of t.
func ZerosLike(t *Tensor) *Tensor { return alloc(t.dtype, t.shape) }

// OnesLike returns ones with the dtype and shape of t.
func OnesLike(t *Tensor) *Tensor { return Full(t.dtype, 1, t.shape...) }

// FromFloat64 returns a tensor of dtype dt holding a copy of data, with the
// given shape (a vector of len(data) if shape is empty). It panics if the
// shape does not match len(data).
func FromFloat64(dt DType, data []float64, shape ...int) *Tensor {
	if len(shape) == 0 {
		shape = []int{len(data)}
	}
	if numel(shape) != len(data) {
		panic(fmt.Sprintf("tensor: FromFloat64 shape %v needs %d elements, got %d", shape, numel(shape), len(data)))
	}
	t := alloc(dt, shape)
	if dt == Float64 {
		copy(t.f64, data)
	} else {
		for i, v := range data {
			t.f32[i] = float32(v)
		}
	}
	return t
}

// FromFloat32 returns a float32 tensor holding a copy of data with the given
// shape (a vector if shape is empty).
func FromFloat32(data []float32, shape ...int) *Tensor {
	if len(shape) == 0 {
		shape = []int{len(data)}
	}
	if numel(shape) != len(data) {
		panic(fmt.Sprintf("tensor: FromFloat32 shape %v needs %d elements, got %d", shape, numel(shape), len(data)))
	}
	t := alloc(Float32, shape)
	copy(t.f32, data)
	return t
}

// WrapFloat32 returns a float32 tensor that uses data as its storage (no copy).
func WrapFloat32(data []float32, shape ...int) *Tensor {
	if len(shape) == 0 {
		shape = []int{len(data)}
	}
	if numel(shape) != len(data) {
		panic(fmt.Sprintf("tensor: WrapFloat32 shape %v needs %d elements, got %d", shape, numel(shape), len(data)))
	}
	return &Tensor{dtype: Float32, shape: append([]int(nil), shape...), f32: data}
}

// WrapFloat64 returns a float64 tensor that uses data as its storage (no copy).
func WrapFloat64(data []float64, shape ...int) *Tensor {
	if len(shape) == 0 {
		shape = []int{len(data)}
	}
	if numel(shape) != len(data) {
		panic(fmt.Sprintf("tensor: WrapFloat64 shape %v needs %d elements, got %d", shape, numel(shape), len(data)))
	}
	return &Tensor{dtype: Float64, shape: append([]int(nil), shape...), f64: data}
}

// DType returns the element type.
func (t *Tensor) DType() DType { return t.dtype }

// Shape returns a copy of the shape.
func (t *Tensor) Shape() []int { return append([]int(nil), t.shape...) }

// Rank returns the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// Dim returns the size of dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	j := i
	if j < 0 {
		j += len(t.shape)
	}
	if j < 0 || j >= len(t.shape) {
		panic(fmt.Sprintf("tensor: Dim(%d) of shape %v", i, t.shape))
	}
	return t.shape[j]
}

// Len returns the number of elements.
func (t *Tensor) Len() int {
	if t.dtype == Float32 {
		return len(t.f32)
	}
	return len(t.f64)
}

// Bytes returns the number of bytes of element storage.
func (t *Tensor) Bytes() int { return t.Len() * t.dtype.Size() }

// SameShape reports whether t and u have identical shapes.
func (t *Tensor) SameShape(u *Tensor) bool { return shapeEq(t.shape, u.shape) }

func shapeEq(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Float32s returns the storage of a float32 tensor (not a copy); it panics for
// other dtypes.
func (t *Tensor) Float32s() []float32 {
	if t.dtype != Float32 {
		panic(fmt.Sprintf("tensor: Float32s of a %v tensor", t.dtype))
	}
	return t.f32
}

// Float64s returns the storage of a float64 tensor (not a copy); it panics for
// other dtypes.
func (t *Tensor) Float64s() []float64 {
	if t.dtype != Float64 {
		panic(fmt.Sprintf("tensor: Float64s of a %v tensor", t.dtype))
	}
	return t.f64
}

// ToFloat64 returns a copy of the elements as float64.
func (t *Tensor) ToFloat64() []float64 {
	out := make([]float64, t.Len())
	if t.dtype == Float64 {
		copy(out, t.f64)
	} else {
		for i, v := range t.f32 {
			out[i] = float64(v)
		}
	}
	return out
}

// At returns the element at the given flat index.
func (t *Tensor) At(i int) float64 {
	if t.dtype == Float32 {
		return float64(t.f32[i])
	}
	return t.f64[i]
}

// Set stores v at flat index i (in place).
func (t *Tensor) Set(i int, v float64) {
	if t.dtype == Float32 {
		t.f32[i] = float32(v)
	} else {
		t.f64[i] = v
	}
}

// Item returns the single element of a tensor with one element.
func (t *Tensor) Item() float64 {
	if t.Len() != 1 {
		panic(fmt.Sprintf("tensor: Item of shape %v (want exactly one element)", t.shape))
	}
	return t.At(0)
}

// Fill sets every element to v (in place).
func (t *Tensor) Fill(v float64) {
	if t.dtype == Float32 {
		f := float32(v)
		for i := range t.f32 {
			t.f32[i] = f
		}
	} else {
		for i := range t.f64 {
			t.f64[i] = v
		}
	}
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	u := allocUninit(t.dtype, t.shape)
	copy(u.f32, t.f32)
	copy(u.f64, t.f64)
	return u
}

// CopyFrom copies the elements of src into t (in place); shapes must have the
// same number of elements and dtypes must match.
func (t *Tensor) CopyFrom(src *Tensor) {
	if t.dtype != src.dtype || t.Len() != src.Len() {
		panic(fmt.Sprintf("tensor: CopyFrom %v %v into %v %v", src.dtype, src.shape, t.dtype, t.shape))
	}
	copy(t.f32, src.f32)
	copy(t.f64, src.f64)
}

// AsType returns t converted to dtype dt (t itself if it already has it).
func (t *Tensor) AsType(dt DType) *Tensor {
	if t.dtype == dt {
		return t
	}
	u := alloc(dt, t.shape)
	if dt == Float64 {
		for i, v := range t.f32 {
			u.f64[i] = float64(v)
		}
	} else {
		for i, v := range t.f64 {
			u.f32[i] = float32(v)
		}
	}
	return u
}

// Reshape returns a tensor sharing t's storage with a new shape of the same
// number of elements. One dimension may be -1 and is then inferred.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	shape = append([]int(nil), shape...)
	infer := -1
	n := 1
	for i, s := range shape {
		if s == -1 {
			if infer >= 0 {
				panic(fmt.Sprintf("tensor: Reshape %v to %v: more than one -1", t.shape, shape))
			}
			infer = i
			continue
		}
		if s < 0 {
			panic(fmt.Sprintf("tensor: Reshape %v to %v: negative dimension", t.shape, shape))
		}
		n *= s
	}
	if infer >= 0 {
		if n == 0 || t.Len()%n != 0 {
			panic(fmt.Sprintf("tensor: Reshape %v to %v: cannot infer -1", t.shape, shape))
		}
		shape[infer] = t.Len() / n
		n = t.Len()
	}
	if n != t.Len() {
		panic(fmt.Sprintf("tensor: Reshape %v (%d elements) to %v (%d elements)", t.shape, t.Len(), shape, n))
	}
	return &Tensor{dtype: t.dtype, shape: shape, f32: t.f32, f64: t.f64}
}

// String formats small tensors in full and large ones by shape only.
func (t *Tensor) String() string {
	if t.Len() > 64 {
		return fmt.Sprintf("Tensor(%v %v)", t.dtype, t.shape)
	}
	return fmt.Sprintf("Tensor(%v %v %v)", t.dtype, t.shape, t.ToFloat64())
}

// HasNaNOrInf reports whether any element is NaN or ±Inf.
func (t *Tensor) HasNaNOrInf() bool {
	for _, v := range t.f32 {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return true
		}
	}
	for _, v := range t.f64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return true
		}
	}
	return false
}

func mustSameDType(op string, a, b *Tensor) {
	if a.dtype != b.dtype {
		panic(fmt.Sprintf("tensor: %s dtypes %v %v and %v %v differ", op, a.dtype, a.shape, b.dtype, b.shape))
	}
}
