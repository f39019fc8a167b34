package tensor_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/tensor"
)

// Tests of the tensor package's constructors, elementwise ops, broadcasting,
// reductions and row operations (not file I/O, not GEMM). Every result is
// checked against a reference written here with plain loops and the math
// package, never against another function of the package under test.

// Machine epsilons: the spacing of floats just above 1. One ulp of a value v
// is at most eps·|v|.
const (
	eps64 = 0x1p-52
	eps32 = 0x1p-23
)

var (
	bothDTypes = []tensor.DType{tensor.Float32, tensor.Float64}
	posInf     = math.Inf(1)
	negInf     = math.Inf(-1)
	nan        = math.NaN()
	negZero    = math.Copysign(0, -1)
)

func epsOf(dt tensor.DType) float64 {
	if dt == tensor.Float32 {
		return eps32
	}
	return eps64
}

// elemTol is the relative tolerance of one elementwise result.
//
// float64: the kernel and the float64 reference each carry at most about 3 ulp
// (a math-package function is within 1 ulp, plus up to two rounded arithmetic
// operations, and the compiler may fuse a multiply-add on either side), so they
// can differ by about 6 ulp; 8 ulp leaves margin.
//
// float32: the kernels evaluate in float64 and round once (≤ ½ ulp), the
// reference is rounded to float32 as well (≤ ½ ulp), and Scale/AddScalar round
// their scalar to float32 first (≤ ½ ulp more), so 2 ulp covers it.
func elemTol(dt tensor.DType) float64 {
	if dt == tensor.Float32 {
		return 2 * eps32
	}
	return 8 * eps64
}

// sumTol bounds |computed − exact| for a sum of n terms whose absolute values
// add up to absSum, accumulated in float64 in any order and rounded once to dt:
// the recursive-summation bound n·eps64·Σ|xᵢ| (Higham, "Accuracy and Stability
// of Numerical Algorithms", §4.2) plus 2·eps(dt)·|sum| for the final rounding
// and, for Mean, the scaling by 1/n.
func sumTol(dt tensor.DType, n int, absSum, want float64) float64 {
	return float64(n)*eps64*absSum + 2*epsOf(dt)*math.Abs(want)
}

func seededRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
}

func uniformVals(r *rand.Rand, n int, lo, hi float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = lo + (hi-lo)*r.Float64()
	}
	return out
}

func normalVals(r *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = r.NormFloat64()
	}
	return out
}

func numelOf(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

// roundToDType returns v as stored in a tensor of dtype dt.
func roundToDType(dt tensor.DType, v float64) float64 {
	if dt == tensor.Float32 {
		return float64(float32(v))
	}
	return v
}

// nearly reports whether got is within tol·scale of want. NaN matches only
// NaN and an infinity only the same infinity.
func nearly(got, want, tol, scale float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	if math.IsInf(want, 0) || math.IsInf(got, 0) {
		return got == want
	}
	return math.Abs(got-want) <= tol*scale
}

// checkElementwise compares got with the float64 reference want (rounded to
// got's dtype) element by element, each within elemTol of max(|want|, scale[i]);
// scale may be nil, and carries |a|+|b| for sums, whose absolute error is set
// by the size of the operands rather than of the result.
func checkElementwise(t *testing.T, label string, got *tensor.Tensor, want, scale []float64) {
	t.Helper()
	dt := got.DType()
	g := got.ToFloat64()
	if len(g) != len(want) {
		t.Errorf("%s: %d elements, want %d", label, len(g), len(want))
		return
	}
	bad := 0
	for i := range g {
		w := roundToDType(dt, want[i])
		s := math.Abs(w)
		if scale != nil {
			s = max(s, scale[i])
		}
		if !nearly(g[i], w, elemTol(dt), s) {
			if bad < 5 {
				t.Errorf("%s: element %d = %v, want %v", label, i, g[i], w)
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d mismatching elements in all", label, bad)
	}
}

// sameBits reports whether a and b have the same dtype, shape and bit-identical
// elements.
func sameBits(a, b *tensor.Tensor) bool {
	if a.DType() != b.DType() || !slices.Equal(a.Shape(), b.Shape()) {
		return false
	}
	x, y := a.ToFloat64(), b.ToFloat64()
	for i := range x {
		if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
			return false
		}
	}
	return true
}

func checkShape(t *testing.T, label string, x *tensor.Tensor, dt tensor.DType, shape []int) {
	t.Helper()
	if x.DType() != dt || !slices.Equal(x.Shape(), shape) || x.Rank() != len(shape) || x.Len() != numelOf(shape) {
		t.Errorf("%s: got %v %v (rank %d, %d elements), want %v %v", label, x.DType(), x.Shape(), x.Rank(), x.Len(), dt, shape)
	}
}

// expectTensorPanic calls f and checks that it panics with a message that
// starts with "tensor: " and contains every string in want.
func expectTensorPanic(t *testing.T, label string, f func(), want ...string) {
	t.Helper()
	msg, ok := func() (msg string, panicked bool) {
		defer func() {
			if r := recover(); r != nil {
				msg, panicked = fmt.Sprint(r), true
			}
		}()
		f()
		return "", false
	}()
	if !ok {
		t.Errorf("%s: did not panic", label)
		return
	}
	if !strings.HasPrefix(msg, "tensor: ") {
		t.Errorf("%s: panic %q lacks the \"tensor: \" prefix", label, msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s: panic %q does not mention %q", label, msg, w)
		}
	}
}

// ---------------------------------------------------------------------------
// Constructors and metadata

func TestConstructors(t *testing.T) {
	for _, dt := range bothDTypes {
		cases := []struct {
			name  string
			x     *tensor.Tensor
			shape []int
			want  float64 // every element
		}{
			{"Zeros", tensor.Zeros(dt, 2, 3), []int{2, 3}, 0},
			{"Zeros/scalar", tensor.Zeros(dt), nil, 0},
			{"Zeros/empty", tensor.Zeros(dt, 0, 3), []int{0, 3}, 0},
			{"Ones", tensor.Ones(dt, 4), []int{4}, 1},
			{"Full", tensor.Full(dt, -2.5, 2, 1, 3), []int{2, 1, 3}, -2.5},
			{"Full/0.1", tensor.Full(dt, 0.1, 3), []int{3}, roundToDType(dt, 0.1)},
			{"Scalar", tensor.Scalar(dt, 3.25), nil, 3.25},
			{"ZerosLike", tensor.ZerosLike(tensor.Ones(dt, 3, 2)), []int{3, 2}, 0},
			{"OnesLike", tensor.OnesLike(tensor.Zeros(dt, 3, 2)), []int{3, 2}, 1},
		}
		for _, c := range cases {
			label := fmt.Sprintf("%s/%v", c.name, dt)
			checkShape(t, label, c.x, dt, c.shape)
			for i, v := range c.x.ToFloat64() {
				if v != c.want {
					t.Errorf("%s: element %d = %v, want %v", label, i, v, c.want)
				}
			}
			if c.x.Bytes() != c.x.Len()*dt.Size() {
				t.Errorf("%s: Bytes %d, want %d", label, c.x.Bytes(), c.x.Len()*dt.Size())
			}
		}
		if got := tensor.Scalar(dt, 3.25).Item(); got != 3.25 {
			t.Errorf("Scalar(%v).Item() = %v", dt, got)
		}
		expectTensorPanic(t, "Zeros negative", func() { tensor.Zeros(dt, 2, -1) }, "[2 -1]")
	}
}

func TestFromFloat64(t *testing.T) {
	data := []float64{0.1, -2, 3.5, 1e-3, 7, 1.0 / 3}
	for _, dt := range bothDTypes {
		for _, shape := range [][]int{nil, {6}, {2, 3}, {3, 1, 2}} {
			label := fmt.Sprintf("%v %v", dt, shape)
			src := slices.Clone(data)
			x := tensor.FromFloat64(dt, src, shape...)
			wantShape := shape
			if wantShape == nil {
				wantShape = []int{len(data)} // no shape: a vector
			}
			checkShape(t, label, x, dt, wantShape)
			for i, v := range data {
				// Conversion rounds once to the dtype: an exact comparison.
				if got := x.At(i); got != roundToDType(dt, v) {
					t.Errorf("%s: At(%d) = %v, want %v", label, i, got, roundToDType(dt, v))
				}
			}
			src[0] = 99 // the tensor holds a copy
			if x.At(0) == 99 {
				t.Errorf("%s: tensor shares the caller's slice", label)
			}
		}
		expectTensorPanic(t, "FromFloat64 mismatch", func() { tensor.FromFloat64(dt, data, 2, 2) }, "FromFloat64", "[2 2]")
	}
}

func TestFromFloat32AndWrap(t *testing.T) {
	d32 := []float32{1, -2.5, 0.1, 4, 5, 6}
	x := tensor.FromFloat32(slices.Clone(d32), 3, 2)
	checkShape(t, "FromFloat32", x, tensor.Float32, []int{3, 2})
	if !slices.Equal(x.Float32s(), d32) {
		t.Errorf("FromFloat32 elements %v, want %v", x.Float32s(), d32)
	}
	checkShape(t, "FromFloat32 vector", tensor.FromFloat32(d32), tensor.Float32, []int{6})

	src := slices.Clone(d32)
	x = tensor.FromFloat32(src, 6)
	src[1] = 42
	if x.At(1) == 42 {
		t.Error("FromFloat32 shares the caller's slice")
	}

	w32 := slices.Clone(d32)
	x = tensor.WrapFloat32(w32, 2, 3)
	checkShape(t, "WrapFloat32", x, tensor.Float32, []int{2, 3})
	w32[2] = 7
	if x.At(2) != 7 {
		t.Error("WrapFloat32: a write to the slice is not seen by the tensor")
	}
	x.Set(3, -8)
	if w32[3] != -8 {
		t.Error("WrapFloat32: Set is not seen by the slice")
	}
	if &x.Float32s()[0] != &w32[0] {
		t.Error("WrapFloat32: Float32s is not the wrapped slice")
	}

	w64 := []float64{1, 2, 3, 4}
	y := tensor.WrapFloat64(w64, 2, 2)
	checkShape(t, "WrapFloat64", y, tensor.Float64, []int{2, 2})
	w64[0] = -1
	if y.At(0) != -1 {
		t.Error("WrapFloat64: a write to the slice is not seen by the tensor")
	}
	y.Set(1, 9)
	if w64[1] != 9 || &y.Float64s()[0] != &w64[0] {
		t.Error("WrapFloat64: tensor and slice do not share storage")
	}
	checkShape(t, "WrapFloat64 vector", tensor.WrapFloat64(w64), tensor.Float64, []int{4})

	expectTensorPanic(t, "FromFloat32 mismatch", func() { tensor.FromFloat32(d32, 4, 2) }, "FromFloat32", "[4 2]")
	expectTensorPanic(t, "WrapFloat32 mismatch", func() { tensor.WrapFloat32(d32, 5) }, "WrapFloat32", "[5]")
	expectTensorPanic(t, "WrapFloat64 mismatch", func() { tensor.WrapFloat64(w64, 3, 3) }, "WrapFloat64", "[3 3]")
	expectTensorPanic(t, "Float32s of float64", func() { y.Float32s() }, "float64")
	expectTensorPanic(t, "Float64s of float32", func() { x.Float64s() }, "float32")
}

func TestRandomDeterminism(t *testing.T) {
	gens := []struct {
		name string
		f    func(dt tensor.DType, r *rand.Rand) *tensor.Tensor
	}{
		{"RandN", func(dt tensor.DType, r *rand.Rand) *tensor.Tensor { return tensor.RandN(dt, r, 7, 9) }},
		{"RandU", func(dt tensor.DType, r *rand.Rand) *tensor.Tensor { return tensor.RandU(dt, r, -3, 5, 7, 9) }},
		{"Rademacher", func(dt tensor.DType, r *rand.Rand) *tensor.Tensor { return tensor.Rademacher(dt, r, 7, 9) }},
	}
	for _, g := range gens {
		for _, dt := range bothDTypes {
			a, b := g.f(dt, seededRand(11)), g.f(dt, seededRand(11))
			checkShape(t, g.name, a, dt, []int{7, 9})
			if !sameBits(a, b) {
				t.Errorf("%s/%v: same seed gave different tensors", g.name, dt)
			}
			if c := g.f(dt, seededRand(12)); sameBits(a, c) {
				t.Errorf("%s/%v: seeds 11 and 12 gave the same tensor", g.name, dt)
			}
			r := seededRand(11)
			if first, second := g.f(dt, r), g.f(dt, r); sameBits(first, second) {
				t.Errorf("%s/%v: two draws from one generator are equal", g.name, dt)
			}
		}
		// Both dtypes consume the generator identically: the float32 tensor is
		// the float64 one rounded (rounding is exact, so compare exactly).
		x32, x64 := g.f(tensor.Float32, seededRand(5)), g.f(tensor.Float64, seededRand(5))
		for i, v := range x64.ToFloat64() {
			if x32.At(i) != float64(float32(v)) {
				t.Errorf("%s: float32 element %d = %v, float64 = %v", g.name, i, x32.At(i), v)
				break
			}
		}
	}
	// RandN draws in row-major order straight from NormFloat64.
	x := tensor.RandN(tensor.Float64, seededRand(3), 2, 3)
	r := seededRand(3)
	for i := range 6 {
		if v := r.NormFloat64(); x.At(i) != v {
			t.Errorf("RandN element %d = %v, want draw %v", i, x.At(i), v)
		}
	}
}

func TestRandomDistributions(t *testing.T) {
	const n = 200_000
	// Sample statistics are compared with their expectations within 5 standard
	// errors (CLT): a false alarm has probability about 6e-7 per check, and the
	// seeds are fixed anyway.
	const z = 5.0
	for _, dt := range bothDTypes {
		// Standard normal: mean 0 (SE 1/√n), variance 1 (SE √(2/(n−1))).
		x := tensor.RandN(dt, seededRand(21), n).ToFloat64()
		var m, v float64
		for _, a := range x {
			m += a
		}
		m /= n
		for _, a := range x {
			v += (a - m) * (a - m)
		}
		v /= n - 1
		if math.Abs(m) > z/math.Sqrt(n) {
			t.Errorf("RandN/%v: mean %v, want 0 ± %v", dt, m, z/math.Sqrt(n))
		}
		if math.Abs(v-1) > z*math.Sqrt(2.0/(n-1)) {
			t.Errorf("RandN/%v: variance %v, want 1 ± %v", dt, v, z*math.Sqrt(2.0/(n-1)))
		}

		// Uniform on [lo, hi): every draw inside, mean (lo+hi)/2 with SE
		// (hi−lo)/√(12n).
		lo, hi := -2.0, 3.0
		u := tensor.RandU(dt, seededRand(22), lo, hi, n).ToFloat64()
		m = 0
		for i, a := range u {
			if a < lo || a >= hi {
				t.Errorf("RandU/%v: element %d = %v outside [%v, %v)", dt, i, a, lo, hi)
				break
			}
			m += a
		}
		m /= n
		if se := (hi - lo) / math.Sqrt(12*n); math.Abs(m-(lo+hi)/2) > z*se {
			t.Errorf("RandU/%v: mean %v, want %v ± %v", dt, m, (lo+hi)/2, z*se)
		}

		// Rademacher: only ±1; the number of +1s and the number of equal
		// neighbours are Binomial(·, ½), within 5·√k/2 of k/2.
		s := tensor.Rademacher(dt, seededRand(23), n).ToFloat64()
		plus, same := 0, 0
		for i, a := range s {
			if a != 1 && a != -1 {
				t.Errorf("Rademacher/%v: element %d = %v", dt, i, a)
				break
			}
			if a == 1 {
				plus++
			}
			if i > 0 && a == s[i-1] {
				same++
			}
		}
		if d := math.Abs(float64(plus) - n/2.0); d > z*math.Sqrt(n)/2 {
			t.Errorf("Rademacher/%v: %d of %d are +1", dt, plus, n)
		}
		if d := math.Abs(float64(same) - (n-1)/2.0); d > z*math.Sqrt(n-1)/2 {
			t.Errorf("Rademacher/%v: %d of %d neighbours are equal", dt, same, n-1)
		}
	}
}

// TestRandUFloat32NeverReturnsHi: RandU documents draws on [lo, hi). With the
// PCG seeded (40827960, 0) the first Float64 is 0.99999997684…, which lies
// within half a float32 ulp of 1, so lo+(hi−lo)·u rounded to float32 is hi.
// About one float32 draw in 3·10⁷ on [0, 1) hits this.
func TestRandUFloat32NeverReturnsHi(t *testing.T) {
	for _, dt := range bothDTypes {
		x := tensor.RandU(dt, rand.New(rand.NewPCG(40827960, 0)), 0, 1, 1)
		if v := x.At(0); v < 0 || v >= 1 {
			t.Errorf("RandU(%v, PCG(40827960, 0), 0, 1) = %v, outside [0, 1)", dt, v)
		}
	}
}

func TestAsTypeAndClone(t *testing.T) {
	vals := []float64{0.1, -1.0 / 3, 1e10, 2.5, -0, 7}
	x64 := tensor.FromFloat64(tensor.Float64, vals, 2, 3)
	x32 := x64.AsType(tensor.Float32)
	checkShape(t, "AsType f32", x32, tensor.Float32, []int{2, 3})
	for i, v := range vals {
		if x32.At(i) != float64(float32(v)) {
			t.Errorf("AsType(Float32) element %d = %v, want %v", i, x32.At(i), float64(float32(v)))
		}
	}
	back := x32.AsType(tensor.Float64)
	checkShape(t, "AsType f64", back, tensor.Float64, []int{2, 3})
	if !slices.Equal(back.ToFloat64(), x32.ToFloat64()) {
		t.Error("AsType(Float64) of float32 is not exact")
	}
	if x64.AsType(tensor.Float64) != x64 {
		t.Error("AsType to the same dtype should return the tensor itself")
	}
	x32.Set(0, 5)
	if x64.At(0) != 0.1 {
		t.Error("AsType result shares storage with its input")
	}

	for _, dt := range bothDTypes {
		x := tensor.RandN(dt, seededRand(4), 3, 4)
		c := x.Clone()
		if !sameBits(x, c) {
			t.Errorf("Clone/%v differs from the original", dt)
		}
		before := x.At(5)
		c.Set(5, 1234)
		c.Fill(-1)
		if x.At(5) != before {
			t.Errorf("Clone/%v shares storage with the original", dt)
		}
		// Clone of a view copies only the view.
		v := tensor.SliceRows(x, 1, 3).Clone()
		checkShape(t, "Clone of SliceRows", v, dt, []int{2, 4})
		v.Fill(0)
		if x.At(4) == 0 {
			t.Errorf("Clone/%v of a row slice shares storage", dt)
		}
	}
}

func TestReshape(t *testing.T) {
	for _, dt := range bothDTypes {
		x := tensor.RandN(dt, seededRand(8), 2, 3, 4)
		cases := []struct{ arg, want []int }{
			{[]int{6, 4}, []int{6, 4}},
			{[]int{-1, 4}, []int{6, 4}},
			{[]int{4, -1}, []int{4, 6}},
			{[]int{-1}, []int{24}},
			{[]int{2, -1, 2}, []int{2, 6, 2}},
			{[]int{1, 24, 1}, []int{1, 24, 1}},
		}
		for _, c := range cases {
			arg := slices.Clone(c.arg)
			y := x.Reshape(arg...)
			label := fmt.Sprintf("Reshape%v/%v", c.arg, dt)
			checkShape(t, label, y, dt, c.want)
			if !slices.Equal(y.ToFloat64(), x.ToFloat64()) {
				t.Errorf("%s: elements changed", label)
			}
			arg[0] = 99
			if y.Dim(0) == 99 {
				t.Errorf("%s: the tensor keeps the caller's shape slice", label)
			}
		}
		// Reshape shares storage (documented).
		y := x.Reshape(24)
		y.Set(0, 77)
		if x.At(0) != 77 {
			t.Errorf("Reshape/%v does not share storage", dt)
		}
		checkShape(t, "scalar Reshape", tensor.Scalar(dt, 2).Reshape(1, 1), dt, []int{1, 1})
		checkShape(t, "to scalar", tensor.Ones(dt, 1, 1).Reshape(), dt, nil)
		checkShape(t, "empty -1", tensor.Zeros(dt, 0, 3).Reshape(-1, 3), dt, []int{0, 3})

		panics := []struct {
			arg  []int
			want string
		}{
			{[]int{-1, -1}, "more than one -1"},
			{[]int{5, -1}, "cannot infer"},
			{[]int{0, -1}, "cannot infer"},
			{[]int{5, 5}, "25"},
			{[]int{-2, -12}, "negative"},
			{[]int{25}, "[25]"},
		}
		for _, p := range panics {
			expectTensorPanic(t, fmt.Sprintf("Reshape%v", p.arg), func() { x.Reshape(p.arg...) }, "Reshape", "[2 3 4]", p.want)
		}
	}
}

func TestShapeAccessors(t *testing.T) {
	x := tensor.Zeros(tensor.Float64, 2, 3, 4)
	s := x.Shape()
	s[0] = 100
	if x.Dim(0) != 2 {
		t.Error("Shape returned the internal slice")
	}
	for _, c := range []struct{ i, want int }{{0, 2}, {1, 3}, {2, 4}, {-1, 4}, {-2, 3}, {-3, 2}} {
		if got := x.Dim(c.i); got != c.want {
			t.Errorf("Dim(%d) = %d, want %d", c.i, got, c.want)
		}
	}
	for _, i := range []int{3, 4, -4, -100} {
		expectTensorPanic(t, fmt.Sprintf("Dim(%d)", i), func() { x.Dim(i) }, "Dim", "[2 3 4]")
	}
	expectTensorPanic(t, "Dim of scalar", func() { tensor.Scalar(tensor.Float32, 1).Dim(0) }, "Dim")

	for _, shape := range [][]int{nil, {1}, {1, 1, 1}} {
		if got := tensor.Full(tensor.Float32, 2.5, shape...).Item(); got != 2.5 {
			t.Errorf("Item of %v = %v", shape, got)
		}
	}
	for _, shape := range [][]int{{2}, {0}, {1, 3}} {
		expectTensorPanic(t, fmt.Sprintf("Item %v", shape), func() { tensor.Zeros(tensor.Float64, shape...).Item() }, "Item", fmt.Sprint(shape))
	}

	a, b := tensor.Zeros(tensor.Float32, 2, 3), tensor.Zeros(tensor.Float64, 2, 3)
	if !a.SameShape(b) || a.SameShape(tensor.Zeros(tensor.Float32, 3, 2)) || a.SameShape(tensor.Zeros(tensor.Float32, 6)) {
		t.Error("SameShape is wrong")
	}
	for _, c := range []struct {
		v    float64
		want bool
	}{{0, false}, {1e30, false}, {posInf, true}, {negInf, true}, {nan, true}} {
		for _, dt := range bothDTypes {
			x := tensor.Zeros(dt, 5)
			x.Set(3, c.v)
			if x.HasNaNOrInf() != c.want {
				t.Errorf("HasNaNOrInf/%v with %v = %v", dt, c.v, !c.want)
			}
		}
	}
}

// TestPanicMessagesNameTheArgument: a panic for a bad axis should name the
// axis the caller passed, not the one after adding the rank.
func TestPanicMessagesNameTheArgument(t *testing.T) {
	x := tensor.Zeros(tensor.Float64, 2, 3, 4)
	expectTensorPanic(t, "Dim(-5)", func() { x.Dim(-5) }, "Dim(-5)", "[2 3 4]")
	expectTensorPanic(t, "SumAxis(-4)", func() { tensor.SumAxis(x, -4) }, "SumAxis(-4)", "[2 3 4]")
}

// ---------------------------------------------------------------------------
// Elementwise ops

type unaryCase struct {
	name    string
	f       func(*tensor.Tensor) *tensor.Tensor
	ref     func(float64) float64
	lo, hi  float64   // interval of the random inputs
	special []float64 // hand-picked inputs: edges, zeros, infinities, NaN
	shift   float64   // AddScalar's scalar: |x|+|shift| sets the error scale
}

var unaryCases = []unaryCase{
	{name: "Neg", f: tensor.Neg, ref: func(x float64) float64 { return -x },
		lo: -10, hi: 10, special: []float64{0, negZero, posInf, negInf, nan, 1e30}},
	{name: "Scale(0.3)", f: func(x *tensor.Tensor) *tensor.Tensor { return tensor.Scale(x, 0.3) },
		ref: func(x float64) float64 { return 0.3 * x }, lo: -10, hi: 10, special: []float64{0, posInf, nan}},
	{name: "Scale(-2)", f: func(x *tensor.Tensor) *tensor.Tensor { return tensor.Scale(x, -2) },
		ref: func(x float64) float64 { return -2 * x }, lo: -10, hi: 10, special: []float64{0, negInf}},
	{name: "AddScalar(0.1)", f: func(x *tensor.Tensor) *tensor.Tensor { return tensor.AddScalar(x, 0.1) },
		ref: func(x float64) float64 { return x + 0.1 }, lo: -10, hi: 10, shift: 0.1,
		special: []float64{0, -0.1, posInf, nan}},
	{name: "Exp", f: tensor.Exp, ref: math.Exp, lo: -20, hi: 20,
		special: []float64{0, 1, -1, 1e-10, 100, 800, -800, posInf, negInf, nan}},
	{name: "Log", f: tensor.Log, ref: math.Log, lo: 1e-3, hi: 1e3,
		special: []float64{1, math.E, 1e-30, 0, -1, posInf, nan}},
	{name: "Log1p", f: tensor.Log1p, ref: math.Log1p, lo: -0.99, hi: 10,
		special: []float64{0, 1e-10, -1e-10, -1, -2, 800, posInf}},
	{name: "Expm1", f: tensor.Expm1, ref: math.Expm1, lo: -10, hi: 10,
		special: []float64{0, 1e-10, -1e-10, -800, negInf, posInf}},
	{name: "Tanh", f: tensor.Tanh, ref: math.Tanh, lo: -10, hi: 10,
		special: []float64{0, 1e-10, 20, -20, 800, -800, posInf, negInf, nan}},
	{name: "Sigmoid", f: tensor.Sigmoid, ref: func(x float64) float64 { return 1 / (1 + math.Exp(-x)) },
		lo: -30, hi: 30, special: []float64{0, 1e-10, 30, -30, nan}},
	{name: "Softplus", f: tensor.Softplus, ref: func(x float64) float64 { return math.Log1p(math.Exp(x)) },
		lo: -30, hi: 30, special: []float64{0, 1e-10, -1e-10, 30, -30, nan}},
	{name: "ELU(1.5)", f: func(x *tensor.Tensor) *tensor.Tensor { return tensor.ELU(x, 1.5) },
		ref: func(x float64) float64 {
			if x > 0 {
				return x
			}
			return 1.5 * math.Expm1(x)
		}, lo: -5, hi: 5, special: []float64{0, 1e-10, -1e-10, -800, posInf, negInf}},
	{name: "Square", f: tensor.Square, ref: func(x float64) float64 { return x * x },
		lo: -10, hi: 10, special: []float64{0, -3, 1e20, negInf, nan}},
	{name: "Sqrt", f: tensor.Sqrt, ref: math.Sqrt, lo: 0, hi: 100,
		special: []float64{0, 2, 4, 1e-30, -1, posInf, nan}},
	{name: "Pow(1.7)", f: func(x *tensor.Tensor) *tensor.Tensor { return tensor.Pow(x, 1.7) },
		ref: func(x float64) float64 { return math.Pow(x, 1.7) }, lo: 0.01, hi: 10,
		special: []float64{0, 1, 2, -1, posInf}},
	{name: "Pow(3)", f: func(x *tensor.Tensor) *tensor.Tensor { return tensor.Pow(x, 3) },
		ref: func(x float64) float64 { return x * x * x }, lo: -3, hi: 3, special: []float64{0, -2, 2}},
	{name: "Pow(-0.5)", f: func(x *tensor.Tensor) *tensor.Tensor { return tensor.Pow(x, -0.5) },
		ref: func(x float64) float64 { return 1 / math.Sqrt(x) }, lo: 0.01, hi: 10,
		special: []float64{4, 0, posInf}},
	{name: "Abs", f: tensor.Abs, ref: math.Abs, lo: -10, hi: 10,
		special: []float64{0, negZero, -3, negInf, nan}},
	{name: "GreaterScalar(0.5)", f: func(x *tensor.Tensor) *tensor.Tensor { return tensor.GreaterScalar(x, 0.5) },
		ref: func(x float64) float64 {
			if x > 0.5 {
				return 1
			}
			return 0
		}, lo: -2, hi: 2, special: []float64{0.5, 0.5000001, 0.4999999, posInf, negInf, nan}},
}

func TestUnaryOps(t *testing.T) {
	// 50 000 random inputs: more than three chunks of the parallel kernels.
	const nRand = 50_000
	r := seededRand(31)
	for _, c := range unaryCases {
		xs := append(slices.Clone(c.special), uniformVals(r, nRand, c.lo, c.hi)...)
		for _, dt := range bothDTypes {
			label := fmt.Sprintf("%s/%v", c.name, dt)
			x := tensor.FromFloat64(dt, xs, 1, len(xs))
			got := c.f(x)
			checkShape(t, label, got, dt, []int{1, len(xs)})
			in := x.ToFloat64() // the inputs as stored (rounded for float32)
			want := make([]float64, len(in))
			var scale []float64
			if c.shift != 0 {
				scale = make([]float64, len(in))
			}
			for i, v := range in {
				want[i] = c.ref(v)
				if scale != nil {
					scale[i] = math.Abs(v) + math.Abs(c.shift)
				}
			}
			checkElementwise(t, label, got, want, scale)
		}
	}
}

func TestUnaryOpsKeepShape(t *testing.T) {
	for _, dt := range bothDTypes {
		for _, shape := range [][]int{nil, {0}, {3, 0, 2}, {2, 3, 4}} {
			x := tensor.Full(dt, 0.25, shape...)
			for _, c := range unaryCases {
				got := c.f(x)
				checkShape(t, fmt.Sprintf("%s of %v %v", c.name, dt, shape), got, dt, shape)
				if x.Len() > 0 {
					checkElementwise(t, c.name, got, slices.Repeat([]float64{c.ref(0.25)}, x.Len()), nil)
				}
			}
		}
	}
}

// TestSoftplusSigmoidExtremes: no overflow, no NaN, and the exact limits far
// out in the tails, where log(1+eˣ) and 1/(1+e⁻ˣ) evaluated naively overflow.
func TestSoftplusSigmoidExtremes(t *testing.T) {
	e50 := math.Exp(-50) // 1.93e-22: log1p(e⁻⁵⁰) and e⁻⁵⁰/(1+e⁻⁵⁰) equal it to 1e-22 relative
	cases := []struct {
		x, softplus, sigmoid float64
	}{
		{50, 50, 1},
		{-50, e50, e50},
		{800, 800, 1},
		// The exact values are e⁻⁸⁰⁰ ≈ 3.7e-348, below the smallest float64
		// subnormal: within their own size of zero means zero.
		{-800, 0, 0},
		{posInf, posInf, 1},
		{negInf, 0, 0},
		{0, math.Ln2, 0.5},
	}
	for _, dt := range bothDTypes {
		xs := make([]float64, len(cases))
		for i, c := range cases {
			xs[i] = c.x
		}
		x := tensor.FromFloat64(dt, xs)
		sp, sg := tensor.Softplus(x), tensor.Sigmoid(x)
		for i, c := range cases {
			for _, o := range []struct {
				name      string
				got, want float64
			}{{"Softplus", sp.At(i), c.softplus}, {"Sigmoid", sg.At(i), c.sigmoid}} {
				w := roundToDType(dt, o.want)
				if math.IsNaN(o.got) || (math.IsInf(o.got, 0) && !math.IsInf(w, 0)) ||
					!nearly(o.got, w, elemTol(dt), math.Abs(w)) {
					t.Errorf("%s/%v(%v) = %v, want %v", o.name, dt, c.x, o.got, w)
				}
			}
		}
	}
}

type binaryCase struct {
	name     string
	f        func(a, b *tensor.Tensor) *tensor.Tensor
	ref      func(a, b float64) float64
	additive bool // absolute error scales with |a|+|b|, not with the result
}

var binaryCases = []binaryCase{
	{"Add", tensor.Add, func(a, b float64) float64 { return a + b }, true},
	{"Sub", tensor.Sub, func(a, b float64) float64 { return a - b }, true},
	{"Mul", tensor.Mul, func(a, b float64) float64 { return a * b }, false},
	{"Div", tensor.Div, func(a, b float64) float64 { return a / b }, false},
	{"Greater", tensor.Greater, func(a, b float64) float64 {
		if a > b {
			return 1
		}
		return 0
	}, false},
}

func checkBinary(t *testing.T, label string, c binaryCase, got *tensor.Tensor, a, b []float64) {
	t.Helper()
	want := make([]float64, len(a))
	var scale []float64
	if c.additive {
		scale = make([]float64, len(a))
	}
	for i := range a {
		want[i] = c.ref(a[i], b[i])
		if scale != nil {
			scale[i] = math.Abs(a[i]) + math.Abs(b[i])
		}
	}
	checkElementwise(t, label, got, want, scale)
}

// denominatorVals returns values with |v| in [0.25, 4) and random sign, safe
// to divide by.
func denominatorVals(r *rand.Rand, n int) []float64 {
	out := uniformVals(r, n, 0.25, 4)
	for i := range out {
		if r.IntN(2) == 0 {
			out[i] = -out[i]
		}
	}
	return out
}

func TestBinaryOpsElementwise(t *testing.T) {
	special := [][2]float64{
		{1, 0}, {-1, 0}, {0, 0}, {posInf, posInf}, {posInf, negInf}, {2, 2}, {nan, 1}, {1, nan},
		{negZero, 0}, {1e30, 1e-30}, {3, negInf}, {-2.5, 0.5}, {0.1, 0.1},
	}
	const nRand = 50_000
	r := seededRand(41)
	a := uniformVals(r, nRand, -10, 10)
	b := denominatorVals(r, nRand)
	for _, p := range special {
		a, b = append(a, p[0]), append(b, p[1])
	}
	for _, c := range binaryCases {
		for _, dt := range bothDTypes {
			x, y := tensor.FromFloat64(dt, a), tensor.FromFloat64(dt, b)
			got := c.f(x, y)
			label := fmt.Sprintf("%s/%v", c.name, dt)
			checkShape(t, label, got, dt, []int{len(a)})
			checkBinary(t, label, c, got, x.ToFloat64(), y.ToFloat64())
		}
	}
}

// naiveBroadcastShape is NumPy's rule, written independently of the package.
func naiveBroadcastShape(a, b []int) ([]int, bool) {
	r := max(len(a), len(b))
	out := make([]int, r)
	for i := range r {
		da, db := 1, 1
		if k := len(a) - r + i; k >= 0 {
			da = a[k]
		}
		if k := len(b) - r + i; k >= 0 {
			db = b[k]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, false
		}
	}
	return out, true
}

// unravel writes the row-major multi-index of flat index i in shape to idx.
func unravel(i int, shape, idx []int) {
	for d := len(shape) - 1; d >= 0; d-- {
		idx[d] = i % shape[d]
		i /= shape[d]
	}
}

// broadcastFlat returns the flat index into a tensor of the given shape of the
// element that multi-index idx (of the broadcast shape) reads.
func broadcastFlat(idx, shape []int) int {
	off := len(idx) - len(shape)
	f := 0
	for d, s := range shape {
		k := idx[off+d]
		if s == 1 {
			k = 0
		}
		f = f*s + k
	}
	return f
}

// broadcastPairs are the shape pairs every binary op is tested over: all the
// kinds of broadcast (same, row, column, scalar either side, both sides) and
// sizes that take the parallel kernels' multi-chunk paths.
var broadcastPairs = [][2][]int{
	{{3, 4}, {3, 4}},
	{{3, 4}, {4}},
	{{4}, {3, 4}},
	{{3, 4}, {1, 4}},
	{{1, 4}, {3, 4}},
	{{3, 4}, {}},
	{{}, {3, 4}},
	{{3, 1}, {3, 4}},
	{{3, 4}, {3, 1}},
	{{2, 1, 4}, {3, 1}},
	{{3, 1}, {1, 4}},
	{{1}, {3, 4}},
	{{3, 4}, {1, 1}},
	{{2, 3, 4}, {3, 4}},
	{{2, 3, 4}, {2, 1, 4}},
	{{1, 3, 1}, {2, 1, 4}},
	{{}, {}},
	{{5}, {1}},
	{{0, 4}, {4}},
	{{3, 0}, {3, 1}},
	{{40, 1024}, {1024}},
	{{1024}, {40, 1024}},
	{{40, 1024}, {40, 1}},
	{{40, 1}, {1, 1024}},
	{{20000}, {}},
	{{}, {20000}},
	{{40, 1024}, {40, 1024}},
}

func TestBinaryOpsBroadcast(t *testing.T) {
	r := seededRand(51)
	for _, p := range broadcastPairs {
		sa, sb := p[0], p[1]
		out, ok := naiveBroadcastShape(sa, sb)
		if !ok {
			t.Fatalf("bad test pair %v %v", sa, sb)
		}
		av := uniformVals(r, numelOf(sa), -10, 10)
		bv := denominatorVals(r, numelOf(sb))
		for _, dt := range bothDTypes {
			a, b := tensor.FromFloat64(dt, av, sa...), tensor.FromFloat64(dt, bv, sb...)
			if len(sa) == 0 {
				a = tensor.Scalar(dt, av[0])
			}
			if len(sb) == 0 {
				b = tensor.Scalar(dt, bv[0])
			}
			af, bf := a.ToFloat64(), b.ToFloat64()
			// Operands gathered by explicit index arithmetic.
			n := numelOf(out)
			ga, gb := make([]float64, n), make([]float64, n)
			idx := make([]int, len(out))
			for i := range n {
				unravel(i, out, idx)
				ga[i], gb[i] = af[broadcastFlat(idx, sa)], bf[broadcastFlat(idx, sb)]
			}
			for _, c := range binaryCases {
				label := fmt.Sprintf("%s(%v, %v)/%v", c.name, sa, sb, dt)
				got := c.f(a, b)
				checkShape(t, label, got, dt, out)
				checkBinary(t, label, c, got, ga, gb)
			}
		}
	}
}

func TestBinaryOpsPanics(t *testing.T) {
	bad := [][2][]int{{{3, 4}, {3}}, {{3}, {4}}, {{2, 3}, {3, 2}}, {{2, 1, 4}, {3, 2}}, {{0}, {2}}, {{4}, {2, 3}}}
	for _, c := range binaryCases {
		for _, p := range bad {
			a, b := tensor.Zeros(tensor.Float64, p[0]...), tensor.Zeros(tensor.Float64, p[1]...)
			expectTensorPanic(t, fmt.Sprintf("%s%v%v", c.name, p[0], p[1]), func() { c.f(a, b) },
				c.name, fmt.Sprint(p[0]), fmt.Sprint(p[1]))
		}
		a, b := tensor.Zeros(tensor.Float32, 3), tensor.Zeros(tensor.Float64, 3)
		expectTensorPanic(t, c.name+" dtypes", func() { c.f(a, b) }, c.name, "float32", "float64")
		expectTensorPanic(t, c.name+" dtypes swapped", func() { c.f(b, a) }, c.name, "float32", "float64")
	}
}

func TestBroadcastShape(t *testing.T) {
	cases := []struct {
		a, b, want []int
		ok         bool
	}{
		{[]int{}, []int{}, []int{}, true},
		{[]int{3, 4}, []int{3, 4}, []int{3, 4}, true},
		{[]int{3, 4}, []int{4}, []int{3, 4}, true},
		{[]int{3, 4}, []int{1, 4}, []int{3, 4}, true},
		{[]int{3, 4}, []int{}, []int{3, 4}, true},
		{[]int{3, 1}, []int{3, 4}, []int{3, 4}, true},
		{[]int{3, 1}, []int{1, 4}, []int{3, 4}, true},
		{[]int{2, 1, 4}, []int{3, 1}, []int{2, 3, 4}, true},
		{[]int{5, 1, 1}, []int{1, 6, 1}, []int{5, 6, 1}, true},
		{[]int{1}, []int{}, []int{1}, true},
		{[]int{0}, []int{1}, []int{0}, true},
		{[]int{3, 0}, []int{3, 1}, []int{3, 0}, true},
		{[]int{0}, []int{}, []int{0}, true},
		{[]int{3}, []int{4}, nil, false},
		{[]int{3, 4}, []int{3}, nil, false},
		{[]int{2, 3}, []int{3, 2}, nil, false},
		{[]int{2, 1, 4}, []int{3, 2}, nil, false},
		{[]int{0}, []int{2}, nil, false},
		{[]int{2, 3, 4}, []int{5, 1, 1}, nil, false},
	}
	for _, c := range cases {
		for _, sw := range []bool{false, true} {
			a, b := slices.Clone(c.a), slices.Clone(c.b)
			if sw {
				a, b = b, a
			}
			got, ok := tensor.BroadcastShape(a, b)
			if ok != c.ok || (ok && !slices.Equal(got, c.want)) {
				t.Errorf("BroadcastShape(%v, %v) = %v, %v; want %v, %v", a, b, got, ok, c.want, c.ok)
				continue
			}
			if ok && len(got) > 0 {
				got[0] = -7 // the result must not alias an argument
				if slices.Contains(a, -7) || slices.Contains(b, -7) {
					t.Errorf("BroadcastShape(%v, %v) returned an argument's slice", c.a, c.b)
				}
			}
		}
	}
}

// ---------------------------------------------------------------------------
// BroadcastTo, SumTo and reductions

// expandPairs are (small, big) shapes where small broadcasts to big.
var expandPairs = [][2][]int{
	{{4}, {3, 4}},
	{{1, 4}, {3, 4}},
	{{}, {3, 4}},
	{{1}, {3, 4}},
	{{1, 1}, {3, 4}},
	{{3, 1}, {3, 4}},
	{{3, 4}, {3, 4}},
	{{3, 4}, {2, 3, 4}},
	{{2, 1, 4}, {2, 3, 4}},
	{{3, 1}, {2, 3, 4}},
	{{1, 3, 1}, {2, 3, 4}},
	{{2, 1, 1}, {2, 3, 4}},
	{{4}, {0, 4}},
	{{1}, {5}},
	{{}, {}},
	{{1024}, {40, 1024}},
	{{40, 1}, {40, 1024}},
	{{1, 1024}, {40, 1024}},
}

func randOfShape(dt tensor.DType, r *rand.Rand, shape []int) *tensor.Tensor {
	return tensor.RandN(dt, r, shape...)
}

func TestBroadcastTo(t *testing.T) {
	r := seededRand(61)
	for _, p := range expandPairs {
		small, big := p[0], p[1]
		for _, dt := range bothDTypes {
			a := randOfShape(dt, r, small)
			got := tensor.BroadcastTo(a, big...)
			label := fmt.Sprintf("BroadcastTo(%v→%v)/%v", small, big, dt)
			checkShape(t, label, got, dt, big)
			av, gv := a.ToFloat64(), got.ToFloat64()
			idx := make([]int, len(big))
			for i := range gv {
				unravel(i, big, idx)
				// A copy: exact.
				if want := av[broadcastFlat(idx, small)]; gv[i] != want {
					t.Errorf("%s: element %d = %v, want %v", label, i, gv[i], want)
					break
				}
			}
			if slices.Equal(small, big) && got != a {
				t.Errorf("%s: equal shapes should return the tensor itself", label)
			}
		}
	}
	x := tensor.Zeros(tensor.Float64, 3, 4)
	for _, to := range [][]int{{4, 3}, {3}, {2, 4}, {}, {3, 4, 2}} {
		expectTensorPanic(t, fmt.Sprintf("BroadcastTo→%v", to), func() { tensor.BroadcastTo(x, to...) },
			"BroadcastTo", "[3 4]", fmt.Sprint(to))
	}
}

func TestSumTo(t *testing.T) {
	r := seededRand(62)
	for _, p := range expandPairs {
		small, big := p[0], p[1]
		for _, dt := range bothDTypes {
			b := randOfShape(dt, r, big)
			got := tensor.SumTo(b, small...)
			label := fmt.Sprintf("SumTo(%v→%v)/%v", big, small, dt)
			checkShape(t, label, got, dt, small)
			bv := b.ToFloat64()
			want, abs := make([]float64, numelOf(small)), make([]float64, numelOf(small))
			idx := make([]int, len(big))
			for i, v := range bv {
				unravel(i, big, idx)
				j := broadcastFlat(idx, small)
				want[j] += v
				abs[j] += math.Abs(v)
			}
			terms := max(1, len(bv)/max(1, len(want)))
			gv := got.ToFloat64()
			for j := range want {
				if !nearly(gv[j], want[j], 1, sumTol(dt, terms, abs[j], want[j])) {
					t.Errorf("%s: element %d = %v, want %v", label, j, gv[j], want[j])
					break
				}
			}
			if slices.Equal(small, big) && got != b {
				t.Errorf("%s: equal shapes should return the tensor itself", label)
			}
		}
	}
	x := tensor.Zeros(tensor.Float64, 3, 4)
	for _, to := range [][]int{{3}, {4, 3}, {2, 3, 4}, {2, 4}} {
		expectTensorPanic(t, fmt.Sprintf("SumTo→%v", to), func() { tensor.SumTo(x, to...) },
			"SumTo", "[3 4]", fmt.Sprint(to))
	}
}

// TestSumToIsAdjointOfBroadcastTo checks ⟨BroadcastTo(a), b⟩ = ⟨a, SumTo(b)⟩.
func TestSumToIsAdjointOfBroadcastTo(t *testing.T) {
	r := seededRand(63)
	for _, p := range expandPairs {
		small, big := p[0], p[1]
		for _, dt := range bothDTypes {
			a, b := randOfShape(dt, r, small), randOfShape(dt, r, big)
			ab, bv := tensor.BroadcastTo(a, big...).ToFloat64(), b.ToFloat64()
			sb, av := tensor.SumTo(b, small...).ToFloat64(), a.ToFloat64()
			var lhs, rhs, abs float64
			for i := range ab {
				lhs += ab[i] * bv[i]
				abs += math.Abs(ab[i] * bv[i])
			}
			for j := range av {
				rhs += av[j] * sb[j]
			}
			// Both sides are float64 sums over the same Σ|aᵢbᵢ|; SumTo's
			// float32 result adds one float32 rounding per element.
			tol := (2*float64(len(ab))*eps64 + epsOf(dt)) * abs
			if math.Abs(lhs-rhs) > tol {
				t.Errorf("%v→%v/%v: ⟨BroadcastTo(a), b⟩ = %v, ⟨a, SumTo(b)⟩ = %v (tol %v)", small, big, dt, lhs, rhs, tol)
			}
		}
	}
}

func TestSumAndMean(t *testing.T) {
	r := seededRand(71)
	for _, shape := range [][]int{{2, 3, 4}, {}, {7}, {0, 3}, {50_000}, {3, 4097}} {
		for _, dt := range bothDTypes {
			x := randOfShape(dt, r, shape)
			var want, abs float64
			for _, v := range x.ToFloat64() {
				want += v
				abs += math.Abs(v)
			}
			label := fmt.Sprintf("%v/%v", shape, dt)
			s := tensor.Sum(x)
			checkShape(t, "Sum "+label, s, dt, nil)
			if !nearly(s.Item(), want, 1, sumTol(dt, x.Len(), abs, want)) {
				t.Errorf("Sum %s = %v, want %v", label, s.Item(), want)
			}
			if x.Len() == 0 {
				expectTensorPanic(t, "Mean of empty", func() { tensor.Mean(x) }, "Mean", fmt.Sprint(shape))
				continue
			}
			n := float64(x.Len())
			m := tensor.Mean(x)
			checkShape(t, "Mean "+label, m, dt, nil)
			if !nearly(m.Item(), want/n, 1, sumTol(dt, x.Len(), abs/n, want/n)) {
				t.Errorf("Mean %s = %v, want %v", label, m.Item(), want/n)
			}
		}
	}
}

func TestSumAxisAndMeanAxis(t *testing.T) {
	r := seededRand(72)
	shapes := [][]int{{2, 3, 4}, {5}, {0, 3}, {3, 0}, {4096, 17}, {17, 4096}, {2, 1, 3}}
	for _, shape := range shapes {
		for _, dt := range bothDTypes {
			x := randOfShape(dt, r, shape)
			xv := x.ToFloat64()
			for axis := -len(shape); axis < len(shape); axis++ {
				ax := axis
				if ax < 0 {
					ax += len(shape)
				}
				outShape := slices.Delete(slices.Clone(shape), ax, ax+1)
				want, abs := make([]float64, numelOf(outShape)), make([]float64, numelOf(outShape))
				idx := make([]int, len(shape))
				for i, v := range xv {
					unravel(i, shape, idx)
					j := 0
					for d, k := range idx {
						if d != ax {
							j = j*shape[d] + k
						}
					}
					want[j] += v
					abs[j] += math.Abs(v)
				}
				label := fmt.Sprintf("SumAxis(%v, %d)/%v", shape, axis, dt)
				got := tensor.SumAxis(x, axis)
				checkShape(t, label, got, dt, outShape)
				n := shape[ax]
				gv := got.ToFloat64()
				for j := range want {
					if !nearly(gv[j], want[j], 1, sumTol(dt, n, abs[j], want[j])) {
						t.Errorf("%s: element %d = %v, want %v", label, j, gv[j], want[j])
						break
					}
				}
				if n == 0 {
					continue // the mean over an empty axis is 0/0
				}
				label = fmt.Sprintf("MeanAxis(%v, %d)/%v", shape, axis, dt)
				got = tensor.MeanAxis(x, axis)
				checkShape(t, label, got, dt, outShape)
				gv = got.ToFloat64()
				for j := range want {
					w := want[j] / float64(n)
					if !nearly(gv[j], w, 1, sumTol(dt, n, abs[j]/float64(n), w)) {
						t.Errorf("%s: element %d = %v, want %v", label, j, gv[j], w)
						break
					}
				}
			}
		}
	}
	x := tensor.Zeros(tensor.Float32, 2, 3, 4)
	for _, axis := range []int{3, 4, -4} {
		expectTensorPanic(t, fmt.Sprintf("SumAxis(%d)", axis), func() { tensor.SumAxis(x, axis) }, "SumAxis", "[2 3 4]")
		expectTensorPanic(t, fmt.Sprintf("MeanAxis(%d)", axis), func() { tensor.MeanAxis(x, axis) }, "[2 3 4]")
	}
	expectTensorPanic(t, "SumAxis of scalar", func() { tensor.SumAxis(tensor.Scalar(tensor.Float64, 1), 0) }, "SumAxis")
}

// TestFloat32SumsAccumulateInFloat64: adding float32(0.1) ten million times in
// float32 drifts by about 9% (the running sum's ulp outgrows 0.1); accumulated
// in float64 the error is far below 1e-6 relative.
func TestFloat32SumsAccumulateInFloat64(t *testing.T) {
	const rel = 1e-6
	tenth := float64(float32(0.1))
	check := func(name string, got []float64, n int) {
		t.Helper()
		want := float64(n) * tenth
		for i, g := range got {
			if math.Abs(g-want) > rel*want {
				t.Errorf("%s: element %d = %v, want %v (relative error %.2g)", name, i, g, want, math.Abs(g-want)/want)
			}
		}
	}
	const n = 10_000_000
	x := tensor.Full(tensor.Float32, 0.1, n)
	check("Sum", tensor.Sum(x).ToFloat64(), n)
	if m := tensor.Mean(x).Item(); math.Abs(m-tenth) > rel*tenth {
		t.Errorf("Mean = %v, want %v", m, tenth)
	}
	const rows = 1 << 20
	col := tensor.Full(tensor.Float32, 0.1, rows, 2)
	check("SumAxis(·, 0)", tensor.SumAxis(col, 0).ToFloat64(), rows)
	check("SumTo [2]", tensor.SumTo(col, 2).ToFloat64(), rows)
	row := tensor.Full(tensor.Float32, 0.1, 2, rows)
	check("SumAxis(·, 1)", tensor.SumAxis(row, 1).ToFloat64(), rows)
	check("SumTo [2 1]", tensor.SumTo(row, 2, 1).ToFloat64(), rows)
}

// TestReductionsIndependentOfGOMAXPROCS: the package promises bitwise
// identical reductions whatever the number of workers.
func TestReductionsIndependentOfGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, dt := range bothDTypes {
		x := tensor.RandN(dt, seededRand(81), 1<<20)
		m := x.Reshape(1024, 1024)
		ops := []struct {
			name string
			f    func() *tensor.Tensor
		}{
			{"Sum", func() *tensor.Tensor { return tensor.Sum(x) }},
			{"Mean", func() *tensor.Tensor { return tensor.Mean(x) }},
			{"SumTo [1024]", func() *tensor.Tensor { return tensor.SumTo(m, 1024) }},
			{"SumTo [1024 1]", func() *tensor.Tensor { return tensor.SumTo(m, 1024, 1) }},
			{"SumTo []", func() *tensor.Tensor { return tensor.SumTo(m) }},
			{"SumAxis 0", func() *tensor.Tensor { return tensor.SumAxis(m, 0) }},
			{"SumAxis 1", func() *tensor.Tensor { return tensor.SumAxis(m, 1) }},
		}
		var ref []*tensor.Tensor
		for _, procs := range []int{1, 2, 8} {
			runtime.GOMAXPROCS(procs)
			for i, o := range ops {
				got := o.f()
				if procs == 1 {
					ref = append(ref, got)
				} else if !sameBits(got, ref[i]) {
					t.Errorf("%s/%v: GOMAXPROCS=%d differs from GOMAXPROCS=1", o.name, dt, procs)
				}
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Row operations and Transpose

func TestConcatRows(t *testing.T) {
	r := seededRand(91)
	cases := [][][]int{
		{{2, 3}, {1, 3}, {0, 3}, {4, 3}},
		{{2}, {3}},
		{{5, 2, 2}},
		{{1, 4}, {1, 4}},
	}
	for _, shapes := range cases {
		for _, dt := range bothDTypes {
			var ins []*tensor.Tensor
			var want []float64
			rows := 0
			for _, s := range shapes {
				x := randOfShape(dt, r, s)
				ins = append(ins, x)
				want = append(want, x.ToFloat64()...)
				rows += s[0]
			}
			got := tensor.ConcatRows(ins...)
			label := fmt.Sprintf("ConcatRows%v/%v", shapes, dt)
			checkShape(t, label, got, dt, append([]int{rows}, shapes[0][1:]...))
			if !slices.Equal(got.ToFloat64(), want) {
				t.Errorf("%s: got %v, want %v", label, got.ToFloat64(), want)
			}
		}
	}
	a, b := tensor.Zeros(tensor.Float64, 2, 3), tensor.Zeros(tensor.Float64, 2, 4)
	expectTensorPanic(t, "ConcatRows trailing", func() { tensor.ConcatRows(a, b) }, "ConcatRows", "[2 3]", "[2 4]")
	expectTensorPanic(t, "ConcatRows rank", func() { tensor.ConcatRows(a, tensor.Zeros(tensor.Float64, 6)) }, "ConcatRows", "[2 3]", "[6]")
	expectTensorPanic(t, "ConcatRows scalar", func() { tensor.ConcatRows(tensor.Scalar(tensor.Float64, 1)) }, "ConcatRows")
	expectTensorPanic(t, "ConcatRows scalar second", func() { tensor.ConcatRows(tensor.Zeros(tensor.Float64, 1), tensor.Scalar(tensor.Float64, 1)) }, "ConcatRows")
	expectTensorPanic(t, "ConcatRows dtypes", func() { tensor.ConcatRows(a, tensor.Zeros(tensor.Float32, 2, 3)) }, "ConcatRows", "float32", "float64")
	expectTensorPanic(t, "ConcatRows none", func() { tensor.ConcatRows() }, "ConcatRows")
}

func TestSliceRowsAndPadRows(t *testing.T) {
	for _, dt := range bothDTypes {
		x := tensor.RandN(dt, seededRand(92), 5, 3)
		xv := x.ToFloat64()
		for _, c := range [][2]int{{0, 5}, {1, 4}, {2, 3}, {0, 0}, {5, 5}, {4, 5}} {
			got := tensor.SliceRows(x, c[0], c[1])
			label := fmt.Sprintf("SliceRows(%d, %d)/%v", c[0], c[1], dt)
			checkShape(t, label, got, dt, []int{c[1] - c[0], 3})
			if !slices.Equal(got.ToFloat64(), xv[3*c[0]:3*c[1]]) {
				t.Errorf("%s: got %v, want %v", label, got.ToFloat64(), xv[3*c[0]:3*c[1]])
			}
		}
		for _, c := range [][2]int{{-1, 2}, {3, 2}, {0, 6}, {6, 6}} {
			expectTensorPanic(t, fmt.Sprintf("SliceRows(%d, %d)", c[0], c[1]), func() { tensor.SliceRows(x, c[0], c[1]) },
				"SliceRows", "[5 3]", fmt.Sprintf("[%d:%d]", c[0], c[1]))
		}
		expectTensorPanic(t, "SliceRows scalar", func() { tensor.SliceRows(tensor.Scalar(dt, 1), 0, 0) }, "rank-0")

		for _, c := range [][2]int{{0, 0}, {2, 0}, {0, 3}, {1, 2}} {
			got := tensor.PadRows(x, c[0], c[1])
			label := fmt.Sprintf("PadRows(%d, %d)/%v", c[0], c[1], dt)
			checkShape(t, label, got, dt, []int{c[0] + 5 + c[1], 3})
			want := slices.Concat(make([]float64, 3*c[0]), xv, make([]float64, 3*c[1]))
			if !slices.Equal(got.ToFloat64(), want) {
				t.Errorf("%s: got %v, want %v", label, got.ToFloat64(), want)
			}
		}
		checkShape(t, "PadRows of empty", tensor.PadRows(tensor.Zeros(dt, 0, 2), 1, 1), dt, []int{2, 2})
		for _, c := range [][2]int{{-1, 0}, {0, -2}} {
			expectTensorPanic(t, fmt.Sprintf("PadRows(%d, %d)", c[0], c[1]), func() { tensor.PadRows(x, c[0], c[1]) }, "PadRows", "[5 3]")
		}
		expectTensorPanic(t, "PadRows scalar", func() { tensor.PadRows(tensor.Scalar(dt, 1), 1, 1) }, "rank-0")
	}
}

func TestGatherAndScatterAddRows(t *testing.T) {
	idxs := [][]int{{0, 1, 2, 3}, {3, 0}, {2, 0, 2, 2, 4, 0}, {}, {4}}
	for _, dt := range bothDTypes {
		r := seededRand(93)
		x := tensor.RandN(dt, r, 5, 2, 3) // rows of width 6
		xv := x.ToFloat64()
		const w = 6
		for _, idx := range idxs {
			g := tensor.GatherRows(x, idx)
			label := fmt.Sprintf("GatherRows(%v)/%v", idx, dt)
			checkShape(t, label, g, dt, []int{len(idx), 2, 3})
			var want []float64
			for _, i := range idx {
				want = append(want, xv[i*w:(i+1)*w]...)
			}
			if !slices.Equal(g.ToFloat64(), want) {
				t.Errorf("%s: got %v, want %v", label, g.ToFloat64(), want)
			}

			y := tensor.RandN(dt, r, len(idx), 2, 3)
			yv := y.ToFloat64()
			s := tensor.ScatterAddRows(y, idx, 5)
			label = fmt.Sprintf("ScatterAddRows(%v)/%v", idx, dt)
			checkShape(t, label, s, dt, []int{5, 2, 3})
			sw, abs := make([]float64, 5*w), make([]float64, 5*w)
			for k, i := range idx {
				for j := range w {
					sw[i*w+j] += yv[k*w+j]
					abs[i*w+j] += math.Abs(yv[k*w+j])
				}
			}
			sv := s.ToFloat64()
			for j := range sw {
				// Repeated rows are added in dt: len(idx)·eps(dt)·Σ|terms|.
				if !nearly(sv[j], sw[j], 1, float64(len(idx))*epsOf(dt)*abs[j]) {
					t.Errorf("%s: element %d = %v, want %v", label, j, sv[j], sw[j])
					break
				}
			}

			// Adjoint: ⟨GatherRows(x, idx), y⟩ = ⟨x, ScatterAddRows(y, idx, n)⟩.
			gv := g.ToFloat64()
			var lhs, rhs, absP float64
			for j := range gv {
				lhs += gv[j] * yv[j]
				absP += math.Abs(gv[j] * yv[j])
			}
			for j := range xv {
				rhs += xv[j] * sv[j]
			}
			if tol := float64(len(gv)+len(idx))*2*epsOf(dt)*absP + 1e-300; math.Abs(lhs-rhs) > tol {
				t.Errorf("%s: ⟨Gather x, y⟩ = %v, ⟨x, Scatter y⟩ = %v", label, lhs, rhs)
			}
		}
		expectTensorPanic(t, "GatherRows 5", func() { tensor.GatherRows(x, []int{0, 5}) }, "GatherRows", "5", "[5 2 3]")
		expectTensorPanic(t, "GatherRows -1", func() { tensor.GatherRows(x, []int{-1}) }, "GatherRows", "-1", "[5 2 3]")
		expectTensorPanic(t, "GatherRows scalar", func() { tensor.GatherRows(tensor.Scalar(dt, 1), nil) }, "rank-0")
		y := tensor.Zeros(dt, 3, 2)
		expectTensorPanic(t, "ScatterAddRows index", func() { tensor.ScatterAddRows(y, []int{0, 4, 1}, 4) }, "ScatterAddRows", "4")
		expectTensorPanic(t, "ScatterAddRows -1", func() { tensor.ScatterAddRows(y, []int{0, -1, 1}, 4) }, "ScatterAddRows", "-1")
		expectTensorPanic(t, "ScatterAddRows count", func() { tensor.ScatterAddRows(y, []int{0, 1}, 4) }, "ScatterAddRows", "[3 2]", "2 indices")
		expectTensorPanic(t, "ScatterAddRows scalar", func() { tensor.ScatterAddRows(tensor.Scalar(dt, 1), nil, 1) }, "rank-0")
	}
}

func TestTranspose(t *testing.T) {
	r := seededRand(94)
	for _, shape := range [][]int{{3, 5}, {1, 7}, {7, 1}, {0, 4}, {33, 65}, {64, 64}, {100, 31}} {
		for _, dt := range bothDTypes {
			x := randOfShape(dt, r, shape)
			m, n := shape[0], shape[1]
			got := tensor.Transpose(x)
			label := fmt.Sprintf("Transpose%v/%v", shape, dt)
			checkShape(t, label, got, dt, []int{n, m})
			xv, gv := x.ToFloat64(), got.ToFloat64()
		loop:
			for i := range m {
				for j := range n {
					if gv[j*m+i] != xv[i*n+j] {
						t.Errorf("%s: [%d,%d] = %v, want %v", label, j, i, gv[j*m+i], xv[i*n+j])
						break loop
					}
				}
			}
			if !sameBits(tensor.Transpose(got), x) {
				t.Errorf("%s: transposing twice is not the identity", label)
			}
		}
	}
	for _, shape := range [][]int{{}, {4}, {2, 3, 4}} {
		expectTensorPanic(t, fmt.Sprintf("Transpose%v", shape), func() { tensor.Transpose(tensor.Zeros(tensor.Float64, shape...)) },
			"Transpose", fmt.Sprint(shape))
	}
}

// ---------------------------------------------------------------------------
// Inputs are never modified

func TestOpsDoNotModifyInputs(t *testing.T) {
	for _, dt := range bothDTypes {
		r := seededRand(101)
		m := tensor.RandN(dt, r, 3, 4)
		row := tensor.RandN(dt, r, 4)
		col := tensor.RandN(dt, r, 3, 1)
		sc := tensor.Scalar(dt, 0.7)
		pos := tensor.RandU(dt, r, 0.5, 2, 3, 4)
		big := tensor.RandN(dt, r, 40, 1024)
		bigRow := tensor.RandN(dt, r, 1024)
		other := dt
		if dt == tensor.Float32 {
			other = tensor.Float64
		} else {
			other = tensor.Float32
		}
		type call struct {
			name    string
			ins     []*tensor.Tensor
			f       func() *tensor.Tensor
			aliases bool // documented to share storage with an input
		}
		in := func(ts ...*tensor.Tensor) []*tensor.Tensor { return ts }
		calls := []call{
			{"Add row", in(m, row), func() *tensor.Tensor { return tensor.Add(m, row) }, false},
			{"Sub row-first", in(row, m), func() *tensor.Tensor { return tensor.Sub(row, m) }, false},
			{"Mul col", in(m, col), func() *tensor.Tensor { return tensor.Mul(m, col) }, false},
			{"Div scalar", in(m, sc), func() *tensor.Tensor { return tensor.Div(m, sc) }, false},
			{"Div scalar-first", in(sc, pos), func() *tensor.Tensor { return tensor.Div(sc, pos) }, false},
			{"Greater both", in(col, row), func() *tensor.Tensor { return tensor.Greater(col, row) }, false},
			{"Add same", in(m, pos), func() *tensor.Tensor { return tensor.Add(m, pos) }, false},
			{"Add big", in(big, bigRow), func() *tensor.Tensor { return tensor.Add(big, bigRow) }, false},
			{"BroadcastTo", in(row), func() *tensor.Tensor { return tensor.BroadcastTo(row, 3, 4) }, false},
			{"BroadcastTo same-size", in(row), func() *tensor.Tensor { return tensor.BroadcastTo(row, 1, 4) }, false},
			{"BroadcastTo col", in(col), func() *tensor.Tensor { return tensor.BroadcastTo(col, 2, 3, 4) }, false},
			{"SumTo row", in(m), func() *tensor.Tensor { return tensor.SumTo(m, 4) }, false},
			{"SumTo col", in(m), func() *tensor.Tensor { return tensor.SumTo(m, 3, 1) }, false},
			{"SumTo scalar", in(m), func() *tensor.Tensor { return tensor.SumTo(m) }, false},
			{"SumTo big", in(big), func() *tensor.Tensor { return tensor.SumTo(big, 1024) }, false},
			{"Sum", in(big), func() *tensor.Tensor { return tensor.Sum(big) }, false},
			{"Mean", in(m), func() *tensor.Tensor { return tensor.Mean(m) }, false},
			{"SumAxis", in(m), func() *tensor.Tensor { return tensor.SumAxis(m, 0) }, false},
			{"MeanAxis", in(m), func() *tensor.Tensor { return tensor.MeanAxis(m, -1) }, false},
			{"ConcatRows", in(m, pos), func() *tensor.Tensor { return tensor.ConcatRows(m, pos) }, false},
			{"ConcatRows one", in(m), func() *tensor.Tensor { return tensor.ConcatRows(m) }, false},
			{"PadRows", in(m), func() *tensor.Tensor { return tensor.PadRows(m, 1, 2) }, false},
			{"GatherRows", in(m), func() *tensor.Tensor { return tensor.GatherRows(m, []int{2, 0, 2}) }, false},
			{"ScatterAddRows", in(m), func() *tensor.Tensor { return tensor.ScatterAddRows(m, []int{1, 1, 0}, 2) }, false},
			{"Transpose", in(m), func() *tensor.Tensor { return tensor.Transpose(m) }, false},
			{"AsType", in(m), func() *tensor.Tensor { return m.AsType(other) }, false},
			{"Clone", in(m), func() *tensor.Tensor { return m.Clone() }, false},
			{"SliceRows", in(m), func() *tensor.Tensor { return tensor.SliceRows(m, 1, 3) }, true},
			{"Reshape", in(m), func() *tensor.Tensor { return m.Reshape(-1) }, true},
		}
		for _, c := range unaryCases {
			calls = append(calls, call{c.name, in(pos), func() *tensor.Tensor { return c.f(pos) }, false})
			calls = append(calls, call{c.name + " big", in(big), func() *tensor.Tensor { return c.f(big) }, false})
		}
		for _, c := range calls {
			before := make([]*tensor.Tensor, len(c.ins))
			for i, x := range c.ins {
				before[i] = x.Clone()
			}
			out := c.f()
			for i, x := range c.ins {
				if !sameBits(x, before[i]) {
					t.Fatalf("%s/%v modified input %d", c.name, dt, i)
				}
			}
			if c.aliases {
				continue
			}
			out.Fill(12345) // the result must not share storage with an input
			for i, x := range c.ins {
				if !sameBits(x, before[i]) {
					t.Fatalf("%s/%v: result shares storage with input %d", c.name, dt, i)
				}
			}
		}
	}
}

func TestSplitRows(t *testing.T) {
	x := tensor.FromFloat64(tensor.Float64, []float64{1, 2, 3, 4, 5, 6}, 3, 2)
	parts := tensor.SplitRows(x, 3)
	for i, p := range parts {
		if got := p.ToFloat64(); got[0] != float64(2*i+1) || got[1] != float64(2*i+2) || p.Dim(0) != 1 {
			t.Fatalf("part %d = %v %v", i, p.Shape(), got)
		}
	}
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("SplitRows into unequal parts did not panic")
		}
	}()
	tensor.SplitRows(x, 2)
}
