package autodiff_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// seriesOrder is the highest derivative the series tests check: the fourth
// is the first that needs every term of the recurrences in series.go
// (y_k sums up to k products, and g's coefficients to order 3).
const seriesOrder = 4

// nestedDerivs returns dᵏ/dtᵏ f(x + tv) at t = 0 for k = 1 … order,
// elementwise in f's output, by nested Grad: with q_0 = Σ u⊙f(x) and
// q_k = vᵀ∇x q_{k−1}, ∇u q_k is the k-th derivative of every output
// element (nestedJet's construction, continued).
func nestedDerivs(f func(*ad.Value) *ad.Value, x, v *tensor.Tensor, order int) []*tensor.Tensor {
	xv := ad.Var(x)
	y := f(xv)
	u := ad.Var(tensor.OnesLike(y.T()))
	vv := ad.Const(v)
	q := ad.Sum(ad.Mul(u, y))
	out := make([]*tensor.Tensor, order)
	for k := range out {
		g := ad.Grad(q, []*ad.Value{xv}, ad.CreateGraph())[0]
		q = ad.Sum(ad.Mul(g, vv))
		out[k] = ad.Grad(q, []*ad.Value{u})[0].T()
	}
	return out
}

// checkSeries compares Jet's derivatives of orders 1 … order with nested
// Grad (jetTol relative, issue 21), and its y with f(x).
func checkSeries(t *testing.T, f func(*ad.Value) *ad.Value, x, v *tensor.Tensor, order int) {
	t.Helper()
	y, d := ad.Jet(f, ad.Const(x), ad.Const(v), order)
	if e := relErr(y.T(), f(ad.Var(x)).T()); e != 0 {
		t.Fatalf("y differs from f(x) by %g", e)
	}
	want := nestedDerivs(f, x, v, order)
	for k := range order {
		if !deltaShapeEq(d[k].Shape(), want[k].Shape()) {
			t.Fatalf("order %d: shape %v, want %v", k+1, d[k].Shape(), want[k].Shape())
		}
		if e := relErr(d[k].T(), want[k]); e > jetTol {
			t.Errorf("order %d: off by %.3g relative", k+1, e)
		}
	}
}

// TestSeriesUnary: every elementwise and reduction primitive, alone and
// after a·tanh(a) (so that every coefficient of its input is non-zero).
func TestSeriesUnary(t *testing.T) {
	for _, c := range unaryCases {
		for _, sh := range unaryShapes {
			t.Run(fmt.Sprintf("%s/%v", c.name, sh), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(51, 52))
				x := input(rng, c.dom, sh...)
				checkSeries(t, c.f, x, tensor.RandN(tensor.Float64, rng, sh...), seriesOrder)
				checkSeries(t, c.f, x, tensor.RandN(tensor.Float64, rng, sh...), 1)
				if c.name == "Log" || c.name == "Log1p" || c.name == "Sqrt" || c.name == "Pow-1.5" {
					// Keep the argument positive: a + 0.1·tanh(a) > 0 for a > 0.1.
					g := func(a *ad.Value) *ad.Value { return c.f(ad.Add(a, ad.Scale(ad.Tanh(a), 0.1))) }
					checkSeries(t, g, x, tensor.RandN(tensor.Float64, rng, sh...), seriesOrder)
					return
				}
				g := func(a *ad.Value) *ad.Value { return c.f(ad.Mul(a, ad.Tanh(a))) }
				checkSeries(t, g, x, tensor.RandN(tensor.Float64, rng, sh...), seriesOrder)
			})
		}
	}
}

// TestSeriesBinary: both operands moving (the product and quotient
// rules), over every broadcast of binaryShapes, and one alone.
func TestSeriesBinary(t *testing.T) {
	for _, c := range binaryCases {
		for _, sh := range binaryShapes {
			for _, moving := range []string{"both", "a", "b"} {
				t.Run(fmt.Sprintf("%s/%vx%v/%s", c.name, sh[0], sh[1], moving), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(53, 54))
					a := input(rng, anyReal, sh[0]...)
					b := input(rng, c.domB, sh[1]...)
					var f func(*ad.Value) *ad.Value
					var x *tensor.Tensor
					switch moving {
					case "both":
						f, _ = deltaPacked([][]int{sh[0], sh[1]}, func(p []*ad.Value) *ad.Value { return c.f(p[0], p[1]) })
						x = tensor.ConcatRows(a.Reshape(-1), b.Reshape(-1))
					case "a":
						f, x = func(p *ad.Value) *ad.Value { return c.f(p, ad.Const(b)) }, a
					default:
						f, x = func(p *ad.Value) *ad.Value { return c.f(ad.Const(a), p) }, b
					}
					// Through p + 0.1p² so the operands carry every coefficient.
					g := func(p *ad.Value) *ad.Value { return f(ad.Add(p, ad.Scale(ad.Square(p), 0.1))) }
					checkSeries(t, g, x, tensor.RandN(tensor.Float64, rng, x.Shape()...), seriesOrder)
				})
			}
		}
	}
}

// TestSeriesShapeOps runs Jet over shapeOpCases but Solve's, which has no
// series rule (TestSeriesPanics).
func TestSeriesShapeOps(t *testing.T) {
	for _, c := range shapeOpCases {
		if strings.HasPrefix(c.name, "Solve") {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(55, 56))
			f, n := deltaPacked(c.shapes, c.f)
			checkSeries(t, f, tensor.RandN(tensor.Float64, rng, n), tensor.RandN(tensor.Float64, rng, n), seriesOrder)
		})
	}
}

// TestSeriesDense: the fused layer for every activation with only x moving
// and with the weights and bias moving too; the MLP energy and its score
// network (through Grad's recorded backward pass: actDeriv, MatMul).
func TestSeriesDense(t *testing.T) {
	for _, act := range deltaActs {
		for _, moveW := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/moveW=%v", act, moveW), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(57, 58))
				w := ad.Const(tensor.RandN(tensor.Float64, rng, 4, 5))
				b := ad.Const(tensor.RandN(tensor.Float64, rng, 4))
				f, n := func(x *ad.Value) *ad.Value { return ad.Dense(ad.Reshape(x, 6, 5), w, b, act) }, 30
				if moveW {
					f, n = deltaPacked([][]int{{6, 5}, {4, 5}, {4}}, func(p []*ad.Value) *ad.Value { return ad.Dense(p[0], p[1], p[2], act) })
				}
				x := tensor.Scale(tensor.RandN(tensor.Float64, rng, n), 0.7)
				checkSeries(t, f, x, tensor.RandN(tensor.Float64, rng, n), seriesOrder)
			})
		}
		t.Run(fmt.Sprintf("%v/MLP", act), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(59, 60))
			ps := constants(deltaMLPParams(rng, 3, 6))
			x := tensor.RandN(tensor.Float64, rng, 4, 3)
			checkSeries(t, deltaMLP(act, ps), x, tensor.RandN(tensor.Float64, rng, 4, 3), seriesOrder)
			score := func(x *ad.Value) *ad.Value {
				return ad.Grad(ad.Sum(deltaMLP(act, ps)(x)), []*ad.Value{x}, ad.CreateGraph())[0]
			}
			checkSeries(t, score, x, tensor.RandN(tensor.Float64, rng, 4, 3), 3)
		})
	}
}

// TestSeriesConv: the convolutional energy (fused convolutions, pooling,
// layout conversions, softplus) and its score network (convInputGrad).
func TestSeriesConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	ps := convEnergyParams(rng, tensor.Float64)
	x := tensor.RandN(tensor.Float64, rng, 3, 2*7*7)
	checkSeries(t, convEnergy(ps), x, tensor.RandN(tensor.Float64, rng, 3, 2*7*7), seriesOrder)
	score := func(x *ad.Value) *ad.Value {
		return ad.Grad(ad.Sum(convEnergy(ps)(x)), []*ad.Value{x}, ad.CreateGraph())[0]
	}
	checkSeries(t, score, x, tensor.RandN(tensor.Float64, rng, 3, 2*7*7), 2)
}

// TestSeriesParamGrad: the parameter gradient of the mean third derivative
// D³_v E built from Jet equals the one built by three nested Grads, for the
// MLP energy with each activation and the convolutional energy; and Jet's
// order-2 coefficients equal Jet2's.
func TestSeriesParamGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	for _, m := range paramModels(rng) {
		t.Run(m.name, func(t *testing.T) {
			x := tensor.RandN(tensor.Float64, rng, 4, m.d)
			v := tensor.RandN(tensor.Float64, rng, 4, m.d)
			vars := m.vars
			pj := vars()
			_, d := ad.Jet(m.f(pj), ad.Const(x), ad.Const(v), 3)
			lj := ad.Mean(d[2])
			gj := ad.Grad(lj, pj)

			pn := vars()
			xv, vv := ad.Var(x), ad.Const(v)
			q := m.f(pn)(xv)
			for range 3 {
				g := ad.Grad(ad.Sum(q), []*ad.Value{xv}, ad.CreateGraph())[0]
				q = ad.SumAxis(ad.Mul(g, vv), 1)
			}
			ln := ad.Mean(q)
			gn := ad.Grad(ln, pn)
			if e := relErr(lj.T(), ln.T()); e > jetTol {
				t.Errorf("loss off by %.3g relative", e)
			}
			for i := range gj {
				if e := relErr(gj[i].T(), gn[i].T()); e > jetTol {
					t.Errorf("parameter %d: gradient off by %.3g relative", i, e)
				}
			}

			_, d1, d2 := ad.Jet2(m.f(pj), ad.Const(x), []*ad.Value{ad.Const(v)})
			if e := math.Max(relErr(d[0].T(), d1[0].T()), relErr(d[1].T(), d2[0].T())); e > jetTol {
				t.Errorf("Jet's orders 1 and 2 differ from Jet2's by %.3g relative", e)
			}
		})
	}
}

// TestSeriesPanics: a primitive without a series rule panics with a
// *NoSeriesRuleError naming it; order 0 and a misshapen direction panic.
func TestSeriesPanics(t *testing.T) {
	x := ad.Const(tensor.Full(tensor.Float64, 2, 3, 3))
	solve := func(a *ad.Value) *ad.Value { return ad.Solve(a, ad.Const(tensor.Ones(tensor.Float64, 3))) }
	func() {
		defer func() {
			r := recover()
			err, ok := r.(error)
			var ns *ad.NoSeriesRuleError
			if !ok || !errors.As(err, &ns) || ns.Primitive == "" {
				t.Fatalf("panic %v, want a *NoSeriesRuleError", r)
			}
			t.Logf("panic: %v", err)
		}()
		ad.Jet(solve, x, x, 2)
	}()
	for name, call := range map[string]func(){
		"order 0":   func() { ad.Jet(ad.Tanh, x, x, 0) },
		"direction": func() { ad.Jet(ad.Tanh, x, ad.Const(tensor.Zeros(tensor.Float64, 3)), 2) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			call()
		}()
	}
}
