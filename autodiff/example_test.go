package autodiff_test

import (
	"fmt"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// The gradient of y = Σ x² is 2x.
func ExampleGrad() {
	x := ad.Var(tensor.FromFloat64(tensor.Float64, []float64{1, -2, 3}))
	y := ad.Sum(ad.Square(x))
	g := ad.Grad(y, []*ad.Value{x})[0]
	fmt.Println(g.T().ToFloat64())
	// Output: [2 -4 6]
}

// A second derivative is a gradient of a gradient: for f(x) = x³,
// f'(x) = 3x² and f”(x) = 6x.
func ExampleGrad_secondDerivative() {
	x := ad.Var(tensor.Scalar(tensor.Float64, 2))
	f := ad.Pow(x, 3)
	d1 := ad.Grad(f, []*ad.Value{x}, ad.CreateGraph())[0]
	d2 := ad.Grad(d1, []*ad.Value{x})[0]
	fmt.Printf("f'(2) = %.4g, f''(2) = %.4g\n", d1.Item(), d2.Item())
	// Output: f'(2) = 12, f''(2) = 12
}

// A Hessian-vector product of f(x) = Σ exp(x) with v: the Hessian is
// diag(exp(x)), so Hv = exp(x) ⊙ v.
func ExampleHVP() {
	x := ad.Var(tensor.FromFloat64(tensor.Float64, []float64{0, 1}))
	v := ad.Const(tensor.FromFloat64(tensor.Float64, []float64{2, 1}))
	hv := ad.HVP(ad.Sum(ad.Exp(x)), x, v)
	out := hv.T().ToFloat64()
	fmt.Printf("[%.4f %.4f]\n", out[0], out[1])
	// Output: [2.0000 2.7183]
}

// Taylor mode gives the derivatives of t ↦ f(x + t·v) of every order at
// once, exactly: for f(x) = x³ at x = 2 along v = 1 they are 3x² = 12,
// 6x = 12, 6 and 0.
func ExampleJet() {
	x := ad.Const(tensor.Scalar(tensor.Float64, 2))
	v := ad.Const(tensor.Scalar(tensor.Float64, 1))
	_, d := ad.Jet(func(x *ad.Value) *ad.Value { return ad.Pow(x, 3) }, x, v, 4)
	for k, dk := range d {
		fmt.Printf("d%d = %.4g\n", k+1, dk.Item())
	}
	// Output:
	// d1 = 12
	// d2 = 12
	// d3 = 6
	// d4 = 0
}
