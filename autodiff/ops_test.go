package autodiff_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/autodiff/adtest"
	"github.com/fdsm/fdsm/tensor"
)

// domain maps a standard normal draw into an op's domain.
type domain func(float64) float64

var (
	anyReal  domain = func(x float64) float64 { return x }
	positive domain = func(x float64) float64 { return 0.5 + math.Abs(x) }
	// awayFromZero keeps |x| ≥ 0.1 so a kink at 0 (ELU's second derivative)
	// is never within the ±2h = ±2e-3 of the finite difference.
	awayFromZero domain = func(x float64) float64 { return math.Copysign(0.1+math.Abs(x), x) }
)

func input(rng *rand.Rand, dom domain, shape ...int) *tensor.Tensor {
	t := tensor.RandN(tensor.Float64, rng, shape...)
	for i := range t.Len() {
		t.Set(i, dom(t.At(i)))
	}
	return t
}

type unaryCase struct {
	name  string
	f     func(*ad.Value) *ad.Value
	dom   domain
	order int
}

var unaryCases = []unaryCase{
	{"Neg", ad.Neg, anyReal, 2},
	{"Scale", func(a *ad.Value) *ad.Value { return ad.Scale(a, -2.5) }, anyReal, 2},
	{"AddScalar", func(a *ad.Value) *ad.Value { return ad.AddScalar(a, 1.5) }, anyReal, 2},
	{"Exp", ad.Exp, anyReal, 3},
	{"Log", ad.Log, positive, 3},
	{"Log1p", ad.Log1p, positive, 2},
	{"Expm1", ad.Expm1, anyReal, 2},
	{"Tanh", ad.Tanh, anyReal, 3},
	{"Sigmoid", ad.Sigmoid, anyReal, 2},
	{"Softplus", ad.Softplus, anyReal, 3},
	{"SiLU", ad.SiLU, anyReal, 3},
	{"ELU", func(a *ad.Value) *ad.Value { return ad.ELU(a, 1.3) }, awayFromZero, 2},
	{"Square", ad.Square, anyReal, 2},
	{"Sqrt", ad.Sqrt, positive, 2},
	{"Pow3", func(a *ad.Value) *ad.Value { return ad.Pow(a, 3) }, anyReal, 2},
	{"Pow-1.5", func(a *ad.Value) *ad.Value { return ad.Pow(a, -1.5) }, positive, 2},
	{"Sum", ad.Sum, anyReal, 2},
	{"Mean", ad.Mean, anyReal, 2},
}

var unaryShapes = [][]int{{}, {5}, {3, 4}, {2, 3, 4}}

func TestUnaryGradients(t *testing.T) {
	for _, c := range unaryCases {
		for _, sh := range unaryShapes {
			t.Run(fmt.Sprintf("%s/%v", c.name, sh), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(1, 2))
				x := input(rng, c.dom, sh...)
				f := func(xs []*ad.Value) *ad.Value { return c.f(xs[0]) }
				if err := adtest.Check(f, []*tensor.Tensor{x}, c.order, nil); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

type binaryCase struct {
	name  string
	f     func(a, b *ad.Value) *ad.Value
	domB  domain
	order int
}

var binaryCases = []binaryCase{
	{"Add", ad.Add, anyReal, 2},
	{"Sub", ad.Sub, anyReal, 2},
	{"Mul", ad.Mul, anyReal, 3},
	{"Div", ad.Div, positive, 2},
}

// binaryShapes covers equal shapes and every broadcast the package supports:
// scalar either side, a row vector across rows, a column, a leading axis.
var binaryShapes = [][2][]int{
	{{3, 4}, {3, 4}},
	{{3, 4}, {4}},
	{{4}, {3, 4}},
	{{3, 4}, {1, 4}},
	{{3, 4}, {}},
	{{}, {3, 4}},
	{{3, 1}, {3, 4}},
	{{3, 4}, {3, 1}},
	{{2, 3, 4}, {3, 4}},
	{{2, 1, 4}, {3, 1}},
}

func TestBinaryGradients(t *testing.T) {
	for _, c := range binaryCases {
		for _, sh := range binaryShapes {
			t.Run(fmt.Sprintf("%s/%vx%v", c.name, sh[0], sh[1]), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(3, 4))
				a := input(rng, anyReal, sh[0]...)
				b := input(rng, c.domB, sh[1]...)
				f := func(xs []*ad.Value) *ad.Value { return c.f(xs[0], xs[1]) }
				if err := adtest.Check(f, []*tensor.Tensor{a, b}, c.order, nil); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func TestMatMulGradients(t *testing.T) {
	// [m, k] x [k, n] with m, k, n = 3, 5, 4, stored transposed where flagged.
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			t.Run(fmt.Sprintf("tA=%v/tB=%v", ta, tb), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(5, 6))
				as, bs := []int{3, 5}, []int{5, 4}
				if ta {
					as = []int{5, 3}
				}
				if tb {
					bs = []int{4, 5}
				}
				a, b := input(rng, anyReal, as...), input(rng, anyReal, bs...)
				// Square the product so the second and third derivatives are
				// not trivially zero.
				f := func(xs []*ad.Value) *ad.Value { return ad.Square(ad.MatMul(xs[0], xs[1], ta, tb)) }
				if err := adtest.Check(f, []*tensor.Tensor{a, b}, 3, nil); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

func TestShapeOpGradients(t *testing.T) {
	sq := func(v *ad.Value) *ad.Value { return ad.Mul(v, ad.Tanh(v)) } // nonlinear, so order 2 is not trivial
	cases := []struct {
		name   string
		shapes [][]int
		f      func(xs []*ad.Value) *ad.Value
	}{
		{"SumAxis0", [][]int{{3, 4}}, func(x []*ad.Value) *ad.Value { return sq(ad.SumAxis(x[0], 0)) }},
		{"SumAxis-1", [][]int{{2, 3, 4}}, func(x []*ad.Value) *ad.Value { return sq(ad.SumAxis(x[0], -1)) }},
		{"SumAxis1", [][]int{{2, 3, 4}}, func(x []*ad.Value) *ad.Value { return sq(ad.SumAxis(x[0], 1)) }},
		{"MeanAxis", [][]int{{3, 4}}, func(x []*ad.Value) *ad.Value { return sq(ad.MeanAxis(x[0], 1)) }},
		{"BroadcastTo", [][]int{{3, 1}}, func(x []*ad.Value) *ad.Value { return sq(ad.BroadcastTo(x[0], 2, 3, 4)) }},
		{"SumTo", [][]int{{2, 3, 4}}, func(x []*ad.Value) *ad.Value { return sq(ad.SumTo(x[0], 3, 1)) }},
		{"Reshape", [][]int{{3, 4}}, func(x []*ad.Value) *ad.Value { return sq(ad.Reshape(x[0], 2, -1)) }},
		{"Transpose", [][]int{{3, 4}}, func(x []*ad.Value) *ad.Value {
			return ad.MatMul(sq(ad.Transpose(x[0])), x[0], false, false)
		}},
		{"ConcatRows", [][]int{{2, 3}, {4, 3}}, func(x []*ad.Value) *ad.Value { return sq(ad.ConcatRows(x[0], x[1], x[0])) }},
		{"SliceRows", [][]int{{5, 3}}, func(x []*ad.Value) *ad.Value { return sq(ad.SliceRows(x[0], 1, 4)) }},
		{"SplitRows", [][]int{{6, 2}}, func(x []*ad.Value) *ad.Value {
			p := ad.SplitRows(x[0], 3)
			return ad.Mul(sq(p[0]), p[2])
		}},
		{"PadRows", [][]int{{2, 3}}, func(x []*ad.Value) *ad.Value { return sq(ad.PadRows(x[0], 1, 2)) }},
		{"GatherRows", [][]int{{4, 3}}, func(x []*ad.Value) *ad.Value { return sq(ad.GatherRows(x[0], []int{3, 0, 3, 1})) }},
		{"ScatterAddRows", [][]int{{3, 2}}, func(x []*ad.Value) *ad.Value { return sq(ad.ScatterAddRows(x[0], []int{1, 1, 4}, 5)) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 8))
			xs := make([]*tensor.Tensor, len(c.shapes))
			for i, s := range c.shapes {
				xs[i] = input(rng, anyReal, s...)
			}
			if err := adtest.Check(c.f, xs, 2, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCheckCatchesWrongRule makes sure the checker can fail: a function whose
// recorded derivative is wrong (the forward is x² but the graph says 3x²'s
// derivative pattern) must be reported.
func TestCheckCatchesWrongRule(t *testing.T) {
	x := tensor.FromFloat64(tensor.Float64, []float64{0.3, -1.2, 2})
	// Forward: x·detach(x) = x², but the derivative seen by Grad is detach(x)
	// = x, half the true 2x.
	f := func(xs []*ad.Value) *ad.Value { return ad.Mul(xs[0], ad.Detach(xs[0])) }
	if err := adtest.Check(f, []*tensor.Tensor{x}, 1, nil); err == nil {
		t.Fatal("adtest.Check accepted a wrong first derivative")
	}
	// First derivative right, second wrong: a rule that stops the second
	// derivative (d/dx of x·x is right at order 1 through Square's rule, but
	// through Mul with a detached factor in the gradient graph it is not).
	g := func(xs []*ad.Value) *ad.Value {
		y := ad.Square(xs[0])
		gr := ad.Grad(ad.Sum(y), xs, ad.CreateGraph())[0]
		return ad.Add(ad.Detach(gr), ad.Sub(y, ad.Detach(y)))
	}
	if err := adtest.Check(g, []*tensor.Tensor{x}, 1, nil); err == nil {
		t.Fatal("adtest.Check accepted a detached gradient")
	}
}

func TestDenseGradients(t *testing.T) {
	acts := []tensor.Act{tensor.ActNone, tensor.ActSoftplus, tensor.ActTanh, tensor.ActSigmoid, tensor.ActELU}
	for _, act := range acts {
		for _, bias := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v/bias=%v", act, bias), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(9, 10))
				dom := anyReal
				x, w := input(rng, dom, 4, 3), input(rng, dom, 5, 3)
				ins := []*tensor.Tensor{x, w}
				if bias {
					ins = append(ins, input(rng, dom, 5))
				}
				f := func(xs []*ad.Value) *ad.Value {
					var b *ad.Value
					if bias {
						b = xs[2]
					}
					return ad.Square(ad.Dense(xs[0], xs[1], b, act))
				}
				order := 3
				if act == tensor.ActELU {
					order = 2 // the kink at 0 would need inputs kept away from it at every order
				}
				if err := adtest.Check(f, ins, order, nil); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
