package fd_test

import (
	"fmt"
	"math"

	"github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/fd"
	"github.com/fdsm/fdsm/tensor"
)

func ExampleCentral() {
	s := fd.Must(fd.Central(2, 4)) // the 5-point O(ε⁴) second derivative
	fmt.Println(s)
	fmt.Println("error constant:", s.ErrorConstant().RatString())
	fmt.Printf("float weights: %.4f\n", s.Weights())
	// Output:
	// order 2, accuracy 4: nodes [-2 -1 0 1 2], weights [-1/12 4/3 -5/2 4/3 -1/12]
	// error constant: -1/90
	// float weights: [-0.0833 1.3333 -2.5000 1.3333 -0.0833]
}

func ExampleNew() {
	// Any distinct nodes: a one-sided first derivative from f(x), f(x+h/2), f(x+2h).
	s, err := fd.New([]float64{0, 0.5, 2}, 1)
	if err != nil {
		panic(err)
	}
	fmt.Println(s)
	fmt.Printf("%.6f\n", s.Apply(math.Exp, 0, 1e-3)) // d/dx eˣ at 0 is 1
	_, err = fd.New([]float64{-1, 1}, 2)
	fmt.Println(err)
	// Output:
	// order 1, accuracy 2: nodes [0 0.5 2], weights [-5/2 8/3 -1/6]
	// 1.000000
	// fd: 2 nodes cannot give a derivative of order 2 (need at least 3)
}

func ExampleStencil_Paper() {
	// The paper's form: ∂²f/∂u² ≈ (2!/ε²)·Σ β_i f(x + γ_i ε u).
	gamma, beta, scale := fd.D2.Paper(0.1)
	fmt.Println(gamma, beta, math.Round(scale))
	// Output:
	// [-1 0 1] [0.5 -1 0.5] 200
}

func ExampleDirectional() {
	// f(x) = Σ_j exp(x_j), one value per row; its second derivative along u
	// is Σ_j u_j²·exp(x_j).
	f := func(x *autodiff.Value) *autodiff.Value { return autodiff.SumAxis(autodiff.Exp(x), 1) }
	x := []float64{0, 1, 0.5, -1}
	u := []float64{0.6, 0.8, 1, 0}
	const eps = 1e-2
	v := make([]float64, len(u))
	for i := range u {
		v[i] = eps * u[i]
	}
	// One call of f on a stacked batch of 3×2 rows: x − v, x, x + v.
	d2 := fd.DirectionalTensor(fd.D2, f,
		tensor.FromFloat64(tensor.Float64, x, 2, 2),
		tensor.FromFloat64(tensor.Float64, v, 2, 2))
	for row := range 2 {
		exact := u[2*row]*u[2*row]*math.Exp(x[2*row]) + u[2*row+1]*u[2*row+1]*math.Exp(x[2*row+1])
		fmt.Printf("row %d: estimate %.4f, exact %.4f\n", row, d2.At(row)/(eps*eps), exact)
	}
	// Output:
	// row 0: estimate 2.0997, exact 2.0997
	// row 1: estimate 1.6487, exact 1.6487
}

func ExampleEvaluate() {
	// The separate evaluations f(x−v), f(x), f(x+v), for a loss that combines
	// them nonlinearly (FD-SSM uses ⅛(f(x+v) − f(x−v))² + f(x+v) + f(x−v) − 2f(x)).
	f := func(x *autodiff.Value) *autodiff.Value { return autodiff.SumAxis(autodiff.Square(x), 1) }
	x := tensor.FromFloat64(tensor.Float64, []float64{1, 2}, 1, 2)
	v := tensor.FromFloat64(tensor.Float64, []float64{0.1, 0}, 1, 2)
	ys := fd.EvaluateTensor(fd.D2, f, x, v)
	plus, zero, minus := ys[fd.D2.Index(1)], ys[fd.D2.Index(0)], ys[fd.D2.Index(-1)]
	fmt.Printf("f(x+v) = %.2f, f(x) = %.2f, f(x−v) = %.2f\n", plus.Item(), zero.Item(), minus.Item())
	// Output:
	// f(x+v) = 5.21, f(x) = 5.00, f(x−v) = 4.81
}

func ExampleExtrapolate() {
	// Richardson extrapolation of the O(ε²) central first derivative of sin
	// at 1 from steps 0.1 and 0.05: the ε² term cancels.
	est := func(h float64) float64 { return fd.D1.Apply(math.Sin, 1, h) }
	fmt.Printf("error at h = 0.1:  %.1e\n", math.Abs(est(0.1)-math.Cos(1)))
	fmt.Printf("extrapolated error: %.1e\n", math.Abs(fd.Extrapolate(est, 0.1, 2, fd.D1.Accuracy())-math.Cos(1)))
	// Output:
	// error at h = 0.1:  9.0e-04
	// extrapolated error: 1.1e-07
}
