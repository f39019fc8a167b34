package autodiff

import (
	"fmt"
	"math"

	"github.com/fdsm/fdsm/tensor"
)

// Solve returns X = S⁻¹B for the symmetric positive definite S = (A + Aᵀ)/2,
// with A shaped [n, n] and B shaped [n, k] or [n] (X has B's shape).
//
// Solve is defined on the symmetric part of A, so that the function it
// computes is the one its derivative describes for every A, symmetric or not:
// reading only one triangle would make the derivative with respect to the
// other triangle zero, and a matrix assembled in floating point (GᵀG + λI,
// say) is often symmetric only to rounding. For a symmetric A, S = A.
//
// The forward pass factors S by Cholesky (S = LLᵀ) and solves the two
// triangular systems, in float64 whatever the dtype: n is small where this is
// used (a kernel model's inducing points) and float32 factors lose accuracy
// on the ill-conditioned systems ridge regression produces. When S is not
// numerically positive definite (a non-positive or NaN pivot) every element
// of X is NaN rather than a panic: the matrix is usually data (a Gram matrix
// with a learnt ridge), and a NaN loss is what a training loop already
// watches for. Shape and dtype misuse panics.
//
// The vector-Jacobian product is gB = S⁻¹G and gA = −½(gB·Xᵀ + X·gBᵀ)
// (the symmetrised −gB·Xᵀ), written with Solve itself, MatMul and Transpose,
// so derivatives of every order are correct.
func Solve(a, b *Value) *Value {
	if a.t.Rank() != 2 || a.Dim(0) != a.Dim(1) {
		panic(fmt.Sprintf("autodiff: Solve needs a square matrix A [n, n], got %v", a.Shape()))
	}
	n := a.Dim(0)
	if (b.t.Rank() != 1 && b.t.Rank() != 2) || b.Dim(0) != n {
		panic(fmt.Sprintf("autodiff: Solve shapes A %v and B %v: B must be [%d] or [%d, k]", a.Shape(), b.Shape(), n, n))
	}
	if a.DType() != b.DType() {
		panic(fmt.Sprintf("autodiff: Solve dtypes A %v and B %v differ", a.DType(), b.DType()))
	}
	x := solveSPD(a.t, b.t)
	return op(x, &solveP, a, b)
}

var solveP primitive

func init() {
	solveP = primitive{name: "Solve",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			gb := Solve(in[0], g) // S⁻¹G: S is symmetric, so S⁻ᵀ = S⁻¹
			var ga *Value
			if need[0] {
				p := MatMul(as2D(gb), as2D(out), false, true) // gB·Xᵀ
				ga = Scale(Add(p, Transpose(p)), -0.5)
			}
			if !need[1] {
				gb = nil
			}
			return []*Value{ga, gb}
		},
		diff: solveDiff,
	}
}

// solveDiff is Solve's difference rule: from (S + ΔS)(X + ΔX) = B + ΔB,
// ΔX = (S + ΔS)⁻¹(ΔB − ΔS·X), with ΔS the symmetric part of ΔA. Nothing is
// subtracted that is not itself a difference.
func solveDiff(_ any, out *Value, in, dIn []*Value, k int) *Value {
	return stackK(k, out.Shape(), func(i int) *Value {
		a := in[0]
		var rhs *Value
		if dIn[1] != nil {
			rhs = sliceK(dIn[1], i)
		}
		if dIn[0] != nil {
			da := sliceK(dIn[0], i)
			ds := Scale(Add(da, Transpose(da)), 0.5)
			t := Reshape(MatMul(ds, as2D(out), false, false), out.Shape()...)
			if rhs == nil {
				rhs = Neg(t)
			} else {
				rhs = Sub(rhs, t)
			}
			a = Add(a, da)
		}
		return Solve(a, rhs)
	})
}

// as2D views a vector [n] as a column [n, 1].
func as2D(v *Value) *Value {
	if v.t.Rank() == 1 {
		return Reshape(v, v.Dim(0), 1)
	}
	return v
}

// solveSPD computes ((A + Aᵀ)/2)⁻¹B by Cholesky in float64, returning a tensor
// of B's dtype and shape, all NaN when the matrix is not positive definite.
func solveSPD(a, b *tensor.Tensor) *tensor.Tensor {
	n := a.Dim(0)
	k := 1
	if b.Rank() == 2 {
		k = b.Dim(1)
	}
	av, x := a.ToFloat64(), b.ToFloat64() // copies: the inputs stay untouched
	l := make([]float64, n*n)
	if !cholesky(l, av, n) {
		for i := range x {
			x[i] = math.NaN()
		}
	} else {
		cholSolve(l, x, n, k)
	}
	return tensor.FromFloat64(b.DType(), x, b.Shape()...)
}

// cholesky writes into the lower triangle of l (row-major [n, n]) the factor
// L with LLᵀ = (A + Aᵀ)/2, and reports whether every pivot was positive.
func cholesky(l, a []float64, n int) bool {
	for j := range n {
		d := a[j*n+j]
		lj := l[j*n : j*n+j]
		for _, v := range lj {
			d -= v * v
		}
		if !(d > 0) { // also catches NaN
			return false
		}
		d = math.Sqrt(d)
		l[j*n+j] = d
		for i := j + 1; i < n; i++ {
			s := 0.5 * (a[i*n+j] + a[j*n+i])
			li := l[i*n : i*n+j]
			for p, v := range lj {
				s -= li[p] * v
			}
			l[i*n+j] = s / d
		}
	}
	return true
}

// cholSolve overwrites x (row-major [n, k]) with (LLᵀ)⁻¹x: forward
// substitution with L, then back substitution with Lᵀ.
func cholSolve(l, x []float64, n, k int) {
	for i := range n {
		xi := x[i*k : (i+1)*k]
		for p := range i {
			c := l[i*n+p]
			xp := x[p*k : (p+1)*k]
			for c2 := range xi {
				xi[c2] -= c * xp[c2]
			}
		}
		inv := 1 / l[i*n+i]
		for c2 := range xi {
			xi[c2] *= inv
		}
	}
	for i := n - 1; i >= 0; i-- {
		xi := x[i*k : (i+1)*k]
		for p := i + 1; p < n; p++ {
			c := l[p*n+i]
			xp := x[p*k : (p+1)*k]
			for c2 := range xi {
				xi[c2] -= c * xp[c2]
			}
		}
		inv := 1 / l[i*n+i]
		for c2 := range xi {
			xi[c2] *= inv
		}
	}
}
