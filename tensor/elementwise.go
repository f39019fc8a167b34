package tensor

import (
	"fmt"
	"math"

	"github.com/fdsm/fdsm/internal/kernel/parallel"
)

// grain is the chunk size for parallel elementwise loops: below it a loop runs
// on the caller's goroutine, since a goroutine hand-off costs about as much as
// a few thousand cheap element operations.
const grain = 1 << 14

type binOp uint8

const (
	opAdd binOp = iota
	opSub
	opMul
	opDiv
	opGreater
)

var binNames = [...]string{"Add", "Sub", "Mul", "Div", "Greater"}

func binaryLoop[T float](op binOp, dst, a, b []T) {
	if len(dst) <= grain { // one chunk: no closure to allocate
		binaryLoopSeq(op, dst, a, b)
		return
	}
	parallel.For(len(dst), grain, func(lo, hi int) {
		binaryLoopSeq(op, dst[lo:hi], a[lo:hi], b[lo:hi])
	})
}

// binaryScalar computes dst = a op s (left=false) or s op a (left=true).
func binaryScalar[T float](op binOp, dst, a []T, s T, left bool) {
	if len(dst) <= grain {
		binaryScalarSeq(op, dst, a, s, left)
		return
	}
	parallel.For(len(dst), grain, func(lo, hi int) { binaryScalarSeq(op, dst[lo:hi], a[lo:hi], s, left) })
}

func binaryScalarSeq[T float](op binOp, d, x []T, s T, left bool) {
	switch {
	case op == opAdd:
		for i := range d {
			d[i] = x[i] + s
		}
	case op == opMul:
		for i := range d {
			d[i] = x[i] * s
		}
	case op == opSub && !left:
		for i := range d {
			d[i] = x[i] - s
		}
	case op == opSub && left:
		for i := range d {
			d[i] = s - x[i]
		}
	case op == opDiv && !left:
		for i := range d {
			d[i] = x[i] / s
		}
	case op == opDiv && left:
		for i := range d {
			d[i] = s / x[i]
		}
	case op == opGreater:
		for i := range d {
			d[i] = 0
			if (!left && x[i] > s) || (left && s > x[i]) {
				d[i] = 1
			}
		}
	}
}

// binaryOp applies op elementwise with broadcasting (see BroadcastShape).
func binaryOp(op binOp, a, b *Tensor) *Tensor {
	mustSameDType(binNames[op], a, b)
	shape, ok := BroadcastShape(a.shape, b.shape)
	if !ok {
		panic(fmt.Sprintf("tensor: %s shapes %v and %v do not broadcast", binNames[op], a.shape, b.shape))
	}
	out := allocUninit(a.dtype, shape) // every case below writes all of it
	n := out.Len()
	switch {
	case a.Len() == n && b.Len() == n:
		if a.dtype == Float32 {
			binaryLoop(op, out.f32, a.f32, b.f32)
		} else {
			binaryLoop(op, out.f64, a.f64, b.f64)
		}
	case b.Len() == 1 && a.Len() == n:
		if a.dtype == Float32 {
			binaryScalar(op, out.f32, a.f32, b.f32[0], false)
		} else {
			binaryScalar(op, out.f64, a.f64, b.f64[0], false)
		}
	case a.Len() == 1 && b.Len() == n:
		if a.dtype == Float32 {
			binaryScalar(op, out.f32, b.f32, a.f32[0], true)
		} else {
			binaryScalar(op, out.f64, b.f64, a.f64[0], true)
		}
	case a.Len() == n && isSuffix(b.shape, shape):
		// A row vector repeated across rows: one kernel call per row block.
		if a.dtype == Float32 {
			rowLoop(op, out.f32, a.f32, b.f32, false)
		} else {
			rowLoop(op, out.f64, a.f64, b.f64, false)
		}
	case b.Len() == n && isSuffix(a.shape, shape):
		if a.dtype == Float32 {
			rowLoop(op, out.f32, b.f32, a.f32, true)
		} else {
			rowLoop(op, out.f64, b.f64, a.f64, true)
		}
	default:
		ab, bb := BroadcastTo(a, shape...), BroadcastTo(b, shape...)
		if a.dtype == Float32 {
			binaryLoop(op, out.f32, ab.f32, bb.f32)
		} else {
			binaryLoop(op, out.f64, ab.f64, bb.f64)
		}
		// The broadcasts are this function's own copies.
		if ab != a {
			ab.recycle()
		}
		if bb != b {
			bb.recycle()
		}
	}
	return out
}

// rowLoop computes dst = a op row (or row op a when swapped), row repeated.
func rowLoop[T float](op binOp, dst, a, row []T, swapped bool) {
	w := len(row)
	rows := len(dst) / w
	g := max(1, grain/w)
	parallel.For(rows, g, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			d, x := dst[r*w:(r+1)*w], a[r*w:(r+1)*w]
			if swapped {
				binaryLoopSeq(op, d, row, x)
			} else {
				binaryLoopSeq(op, d, x, row)
			}
		}
	})
}

func binaryLoopSeq[T float](op binOp, d, x, y []T) {
	switch op {
	case opAdd:
		for i := range d {
			d[i] = x[i] + y[i]
		}
	case opSub:
		for i := range d {
			d[i] = x[i] - y[i]
		}
	case opMul:
		for i := range d {
			d[i] = x[i] * y[i]
		}
	case opDiv:
		for i := range d {
			d[i] = x[i] / y[i]
		}
	case opGreater:
		for i := range d {
			d[i] = 0
			if x[i] > y[i] {
				d[i] = 1
			}
		}
	}
}

// isSuffix reports whether small, with leading 1s removed, is a suffix of big
// (so small repeats whole across the leading dimensions of big).
func isSuffix(small, big []int) bool {
	for len(small) > 0 && small[0] == 1 {
		small = small[1:]
	}
	if len(small) > len(big) {
		return false
	}
	off := len(big) - len(small)
	for i := range small {
		if small[i] != big[off+i] {
			return false
		}
	}
	return true
}

// Add returns a + b elementwise, with broadcasting.
func Add(a, b *Tensor) *Tensor { return binaryOp(opAdd, a, b) }

// Sub returns a − b elementwise, with broadcasting.
func Sub(a, b *Tensor) *Tensor { return binaryOp(opSub, a, b) }

// Mul returns a · b elementwise, with broadcasting.
func Mul(a, b *Tensor) *Tensor { return binaryOp(opMul, a, b) }

// Div returns a / b elementwise, with broadcasting.
func Div(a, b *Tensor) *Tensor { return binaryOp(opDiv, a, b) }

// Greater returns a mask: 1 where a > b, 0 elsewhere (with broadcasting).
func Greater(a, b *Tensor) *Tensor { return binaryOp(opGreater, a, b) }

type unOp uint8

const (
	opNeg unOp = iota
	opScale
	opAddScalar
	opExp
	opLog
	opLog1p
	opExpm1
	opTanh
	opSigmoid
	opSoftplus
	opELU
	opSquare
	opSqrt
	opPow
	opAbs
	opGreaterScalar
)

// unary32 runs the float32 transcendental ops with the slice kernels of
// simd.go (assembly where the CPU has it, else the float32 kernels of
// math32.go); it reports false for ops it leaves to the generic loop.
func unary32(op unOp, d, x []float32, p float64) bool {
	var k vop
	switch op {
	case opExp:
		k = vExp
	case opLog:
		k = vLog
	case opLog1p:
		k = vLog1p
	case opExpm1:
		k = vExpm1
	case opTanh:
		k = vTanh
	case opSigmoid:
		k = vSigmoid
	case opSoftplus:
		k = vSoftplus
	case opELU:
		k = vELU
	default:
		return false
	}
	apply32(k, d, x, nil, float32(p))
	return true
}

func unaryLoop[T float](op unOp, dst, src []T, p float64) {
	if len(dst) <= grain {
		unaryChunk(op, dst, src, p)
		return
	}
	parallel.For(len(dst), grain, func(lo, hi int) { unaryChunk(op, dst[lo:hi], src[lo:hi], p) })
}

func unaryChunk[T float](op unOp, d, x []T, p float64) {
	if d32, ok := any(d).([]float32); ok && unary32(op, d32, any(x).([]float32), p) {
		return
	}
	pt := T(p)
	switch op {
	case opNeg:
		for i := range d {
			d[i] = -x[i]
		}
	case opScale:
		for i := range d {
			d[i] = x[i] * pt
		}
	case opAddScalar:
		for i := range d {
			d[i] = x[i] + pt
		}
	case opExp:
		for i := range d {
			d[i] = T(math.Exp(float64(x[i])))
		}
	case opLog:
		for i := range d {
			d[i] = T(math.Log(float64(x[i])))
		}
	case opLog1p:
		for i := range d {
			d[i] = T(math.Log1p(float64(x[i])))
		}
	case opExpm1:
		for i := range d {
			d[i] = T(math.Expm1(float64(x[i])))
		}
	case opTanh:
		for i := range d {
			d[i] = T(math.Tanh(float64(x[i])))
		}
	case opSigmoid:
		for i := range d {
			d[i] = T(sigmoid(float64(x[i])))
		}
	case opSoftplus:
		for i := range d {
			d[i] = T(softplus(float64(x[i])))
		}
	case opELU:
		for i := range d {
			if x[i] > 0 {
				d[i] = x[i]
			} else {
				d[i] = T(p * math.Expm1(float64(x[i])))
			}
		}
	case opSquare:
		for i := range d {
			d[i] = x[i] * x[i]
		}
	case opSqrt:
		for i := range d {
			d[i] = T(math.Sqrt(float64(x[i])))
		}
	case opPow:
		for i := range d {
			d[i] = T(math.Pow(float64(x[i]), p))
		}
	case opAbs:
		for i := range d {
			d[i] = T(math.Abs(float64(x[i])))
		}
	case opGreaterScalar:
		for i := range d {
			d[i] = 0
			if x[i] > pt {
				d[i] = 1
			}
		}
	}
}

// sigmoid is 1/(1+e^−x), evaluated without overflow for either sign.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// softplus is log(1+e^x) = max(x,0) + log1p(e^−|x|), exact for large |x|.
func softplus(x float64) float64 {
	return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x)))
}

func unary(op unOp, x *Tensor, p float64) *Tensor {
	out := allocUninit(x.dtype, x.shape)
	if x.dtype == Float32 {
		unaryLoop(op, out.f32, x.f32, p)
	} else {
		unaryLoop(op, out.f64, x.f64, p)
	}
	return out
}

// Neg returns −x.
func Neg(x *Tensor) *Tensor { return unary(opNeg, x, 0) }

// Scale returns s·x.
func Scale(x *Tensor, s float64) *Tensor { return unary(opScale, x, s) }

// AddScalar returns x + s.
func AddScalar(x *Tensor, s float64) *Tensor { return unary(opAddScalar, x, s) }

// Exp returns eˣ elementwise.
func Exp(x *Tensor) *Tensor { return unary(opExp, x, 0) }

// Log returns the natural logarithm elementwise.
func Log(x *Tensor) *Tensor { return unary(opLog, x, 0) }

// Log1p returns log(1+x) elementwise, accurate for small x.
func Log1p(x *Tensor) *Tensor { return unary(opLog1p, x, 0) }

// Expm1 returns eˣ−1 elementwise, accurate for small x.
func Expm1(x *Tensor) *Tensor { return unary(opExpm1, x, 0) }

// Tanh returns tanh(x) elementwise.
func Tanh(x *Tensor) *Tensor { return unary(opTanh, x, 0) }

// Sigmoid returns 1/(1+e^−x) elementwise.
func Sigmoid(x *Tensor) *Tensor { return unary(opSigmoid, x, 0) }

// Softplus returns log(1+eˣ) elementwise, without overflow.
func Softplus(x *Tensor) *Tensor { return unary(opSoftplus, x, 0) }

// ELU returns x for x > 0 and α(eˣ−1) otherwise.
func ELU(x *Tensor, alpha float64) *Tensor { return unary(opELU, x, alpha) }

// Square returns x² elementwise.
func Square(x *Tensor) *Tensor { return unary(opSquare, x, 0) }

// Sqrt returns √x elementwise.
func Sqrt(x *Tensor) *Tensor { return unary(opSqrt, x, 0) }

// Pow returns xᵖ elementwise.
func Pow(x *Tensor, p float64) *Tensor { return unary(opPow, x, p) }

// Abs returns |x| elementwise.
func Abs(x *Tensor) *Tensor { return unary(opAbs, x, 0) }

// GreaterScalar returns a mask: 1 where x > s, 0 elsewhere.
func GreaterScalar(x *Tensor, s float64) *Tensor { return unary(opGreaterScalar, x, s) }

// Where returns, elementwise, a where mask is nonzero and b elsewhere. The
// three must have the same dtype and shape. Unlike a blend mask·a + (1 −
// mask)·b, it never reads the unselected value, so an infinity or NaN there
// does not leak into the result.
func Where(mask, a, b *Tensor) *Tensor {
	if !mask.SameShape(a) || !a.SameShape(b) || mask.dtype != a.dtype || a.dtype != b.dtype {
		panic(fmt.Sprintf("tensor: Where of mask %v %v, a %v %v, b %v %v (want one dtype and shape)", mask.dtype, mask.shape, a.dtype, a.shape, b.dtype, b.shape))
	}
	out := allocUninit(a.dtype, a.shape)
	if a.dtype == Float32 {
		m, x, y, o := mask.f32, a.f32, b.f32, out.f32
		for i := range o {
			if m[i] != 0 {
				o[i] = x[i]
			} else {
				o[i] = y[i]
			}
		}
	} else {
		m, x, y, o := mask.f64, a.f64, b.f64, out.f64
		for i := range o {
			if m[i] != 0 {
				o[i] = x[i]
			} else {
				o[i] = y[i]
			}
		}
	}
	return out
}
