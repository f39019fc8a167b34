package autodiff_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/autodiff/adtest"
	"github.com/fdsm/fdsm/tensor"
)

// solveSPDInput returns MᵀM + cI for a random M [n, n]: symmetric, with eigenvalues at
// least c, so the finite-difference steps of adtest (±2e-3 along a unit-scale
// direction) never leave the positive definite cone.
func solveSPDInput(rng *rand.Rand, n int, c float64) *tensor.Tensor {
	m := tensor.RandN(tensor.Float64, rng, n, n)
	a := tensor.MatMul(m, m, true, false)
	for i := range n {
		a.Set(i*n+i, a.At(i*n+i)+c)
	}
	return a
}

// solveMaxAbsDiff returns max_i |a_i − b_i|.
func solveMaxAbsDiff(a, b *tensor.Tensor) float64 {
	x, y := a.ToFloat64(), b.ToFloat64()
	var m float64
	for i := range x {
		m = max(m, math.Abs(x[i]-y[i]))
	}
	return m
}

func TestSolveResidual(t *testing.T) {
	// A·X = B to 1e-12: with n = 6 and c = 1 the condition number is below
	// 1e2, so backward-stable Cholesky leaves a residual near 1e-14.
	const tol = 1e-12
	rng := rand.New(rand.NewPCG(7, 1))
	const n = 6
	a := solveSPDInput(rng, n, 1)
	for _, shape := range [][]int{{n}, {n, 1}, {n, 3}} {
		b := tensor.RandN(tensor.Float64, rng, shape...)
		x := ad.Solve(ad.Const(a), ad.Const(b))
		if got := x.Shape(); !solveShapeEqual(got, shape) {
			t.Fatalf("B %v: X has shape %v", shape, got)
		}
		x2 := x.T()
		if len(shape) == 1 {
			x2 = x2.Reshape(n, 1)
		}
		if r := solveMaxAbsDiff(tensor.MatMul(a, x2, false, false), b.Reshape(x2.Shape()...)); r > tol {
			t.Errorf("B %v: residual %g > %g", shape, r, tol)
		}
	}
}

func solveShapeEqual(a, b []int) bool {
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

// A non-symmetric A is solved through its symmetric part.
func TestSolveUsesSymmetricPart(t *testing.T) {
	const tol = 1e-12 // as in TestSolveResidual
	rng := rand.New(rand.NewPCG(7, 2))
	const n = 5
	s := solveSPDInput(rng, n, 1)
	skew := tensor.RandN(tensor.Float64, rng, n, n)
	skew = tensor.Sub(skew, tensor.Transpose(skew)) // antisymmetric
	b := tensor.RandN(tensor.Float64, rng, n, 2)
	want := ad.Solve(ad.Const(s), ad.Const(b)).T()
	got := ad.Solve(ad.Const(tensor.Add(s, skew)), ad.Const(b)).T()
	if d := solveMaxAbsDiff(got, want); d > tol {
		t.Fatalf("solve of S + skew differs from solve of S by %g", d)
	}
}

func TestSolveGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 3))
	const n = 4
	cases := []struct {
		name   string
		bShape []int
		order  int
	}{
		{"vector", []int{n}, 3},
		{"matrix", []int{n, 3}, 3},
		{"column", []int{n, 1}, 2},
	}
	for _, c := range cases {
		t.Run("direct/"+c.name, func(t *testing.T) {
			a := solveSPDInput(rng, n, 1)
			b := tensor.RandN(tensor.Float64, rng, c.bShape...)
			f := func(xs []*ad.Value) *ad.Value { return ad.Solve(xs[0], xs[1]) }
			if err := adtest.Check(f, []*tensor.Tensor{a, b}, c.order, nil); err != nil {
				t.Fatal(err)
			}
		})
		// Through a symmetric parameterisation A = MᵀM + I, as a model that
		// learns A would use it: the symmetrised gA reaches M intact.
		t.Run("MtM/"+c.name, func(t *testing.T) {
			m := tensor.RandN(tensor.Float64, rng, n, n)
			b := tensor.RandN(tensor.Float64, rng, c.bShape...)
			eye := ad.Const(solveIdentity(n))
			f := func(xs []*ad.Value) *ad.Value {
				a := ad.Add(ad.MatMul(xs[0], xs[0], true, false), eye)
				return ad.Solve(a, xs[1])
			}
			if err := adtest.Check(f, []*tensor.Tensor{m, b}, 2, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func solveIdentity(n int) *tensor.Tensor {
	e := tensor.Zeros(tensor.Float64, n, n)
	for i := range n {
		e.Set(i*n+i, 1)
	}
	return e
}

func TestSolveNotPositiveDefinite(t *testing.T) {
	// diag(1, −1) is symmetric but indefinite; a NaN entry has no factor.
	indef := tensor.FromFloat64(tensor.Float64, []float64{1, 0, 0, -1}, 2, 2)
	withNaN := tensor.FromFloat64(tensor.Float64, []float64{1, 0, 0, math.NaN()}, 2, 2)
	b := tensor.FromFloat64(tensor.Float64, []float64{1, 2}, 2)
	for _, a := range []*tensor.Tensor{indef, withNaN} {
		x := ad.Solve(ad.Const(a), ad.Const(b)).T()
		for i := range x.Len() {
			if !math.IsNaN(x.At(i)) {
				t.Fatalf("A = %v: X[%d] = %g, want NaN", a, i, x.At(i))
			}
		}
	}
}

func TestSolveFloat32(t *testing.T) {
	// The factorisation runs in float64, so a float32 solve differs from the
	// float64 one only by rounding its inputs and result: relative 1e-5 is
	// about 100 float32 epsilons (1.2e-7), room for a condition number up to
	// ~1e2 (n = 6, c = 1).
	const rtol = 1e-5
	rng := rand.New(rand.NewPCG(7, 4))
	const n = 6
	a := solveSPDInput(rng, n, 1)
	b := tensor.RandN(tensor.Float64, rng, n, 2)
	want := ad.Solve(ad.Const(a), ad.Const(b)).T()
	got := ad.Solve(ad.Const(a.AsType(tensor.Float32)), ad.Const(b.AsType(tensor.Float32))).T()
	if got.DType() != tensor.Float32 {
		t.Fatalf("dtype %v, want float32", got.DType())
	}
	scale := 0.0
	for _, v := range want.ToFloat64() {
		scale = max(scale, math.Abs(v))
	}
	if d := solveMaxAbsDiff(got, want); d > rtol*scale {
		t.Fatalf("float32 solve differs by %g (scale %g)", d, scale)
	}
}

func TestSolvePanics(t *testing.T) {
	f64 := tensor.Float64
	cases := []struct {
		name string
		a, b *tensor.Tensor
		want string
	}{
		{"non-square", tensor.Zeros(f64, 2, 3), tensor.Zeros(f64, 2), "square"},
		{"rank-1 A", tensor.Zeros(f64, 4), tensor.Zeros(f64, 2), "square"},
		{"B rows", tensor.Zeros(f64, 2, 2), tensor.Zeros(f64, 3, 1), "[2 2] and B [3 1]"},
		{"B rank 3", tensor.Zeros(f64, 2, 2), tensor.Zeros(f64, 2, 1, 1), "B must be"},
		{"dtypes", tensor.Zeros(f64, 2, 2), tensor.Zeros(tensor.Float32, 2), "dtypes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if r == nil || !strings.HasPrefix(msg, "autodiff: Solve") || !strings.Contains(msg, c.want) {
					t.Fatalf("panic %v, want an autodiff: Solve message containing %q", r, c.want)
				}
			}()
			ad.Solve(ad.Const(c.a), ad.Const(c.b))
		})
	}
}
