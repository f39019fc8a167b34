package autodiff_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/autodiff/adtest"
	"github.com/fdsm/fdsm/tensor"
)

// jetTol is the relative agreement asked of Jet2 against nested Grad in
// float64 (issue 21: 1e-12). Both are exact up to rounding, so they agree
// to a few hundred ulps of the largest coefficient.
const jetTol = 1e-12

// nestedJet returns the first and second directional derivatives of f at x
// along v, elementwise in f's output, by nested Grad: with h = Σ u⊙f(x),
// q = vᵀ∇x h = Σ u⊙(Jv) and r = vᵀ∇x q = Σ u⊙(vᵀ∇²f v), so ∇u q and ∇u r
// are the two coefficients of every output element.
func nestedJet(f func(*ad.Value) *ad.Value, x, v *tensor.Tensor) (d1, d2 *tensor.Tensor) {
	xv := ad.Var(x)
	y := f(xv)
	u := ad.Var(tensor.OnesLike(y.T()))
	vv := ad.Const(v)
	g := ad.Grad(ad.Sum(ad.Mul(u, y)), []*ad.Value{xv}, ad.CreateGraph())[0]
	q := ad.Sum(ad.Mul(g, vv))
	hv := ad.Grad(q, []*ad.Value{xv}, ad.CreateGraph())[0]
	r := ad.Sum(ad.Mul(hv, vv))
	return ad.Grad(q, []*ad.Value{u})[0].T(), ad.Grad(r, []*ad.Value{u})[0].T()
}

// relErr is max|got − want| / max|want| (absolute when want is zero).
func relErr(got, want *tensor.Tensor) float64 {
	g, w := got.ToFloat64(), want.ToFloat64()
	var num, den float64
	for i := range w {
		num = math.Max(num, math.Abs(g[i]-w[i]))
		den = math.Max(den, math.Abs(w[i]))
	}
	if den == 0 {
		return num
	}
	return num / den
}

// checkJet compares Jet2 and Jet1 for K directions with nested Grad, direction by
// direction, and checks that Jet2's y is f(x).
func checkJet(t *testing.T, f func(*ad.Value) *ad.Value, x *tensor.Tensor, vs []*tensor.Tensor) {
	t.Helper()
	dirs := make([]*ad.Value, len(vs))
	for i, v := range vs {
		dirs[i] = ad.Const(v)
	}
	y, d1, d2 := ad.Jet2(f, ad.Const(x), dirs)
	if e := relErr(y.T(), f(ad.Var(x)).T()); e != 0 {
		t.Fatalf("y differs from f(x) by %g", e)
	}
	y1, e1 := ad.Jet1(f, ad.Const(x), dirs)
	if e := relErr(y1.T(), y.T()); e != 0 {
		t.Fatalf("Jet1's y differs from Jet2's by %g", e)
	}
	for i, v := range vs {
		w1, w2 := nestedJet(f, x, v)
		if e := relErr(e1[i].T(), w1); e > jetTol {
			t.Errorf("direction %d: Jet1 off by %.3g relative", i, e)
		}
		if !deltaShapeEq(d1[i].Shape(), w1.Shape()) || !deltaShapeEq(d2[i].Shape(), w2.Shape()) {
			t.Fatalf("direction %d: shapes %v %v, want %v", i, d1[i].Shape(), d2[i].Shape(), w1.Shape())
		}
		if e := relErr(d1[i].T(), w1); e > jetTol {
			t.Errorf("direction %d: first coefficient off by %.3g relative", i, e)
		}
		if e := relErr(d2[i].T(), w2); e > jetTol {
			t.Errorf("direction %d: second coefficient off by %.3g relative", i, e)
		}
	}
}

func randDirs(rng *rand.Rand, k int, shape ...int) []*tensor.Tensor {
	vs := make([]*tensor.Tensor, k)
	for i := range vs {
		vs[i] = tensor.RandN(tensor.Float64, rng, shape...)
	}
	return vs
}

// TestJetUnary: every elementwise and reduction primitive of unaryCases,
// composed with tanh·x so that the jet reaching it has second-order
// coefficients (the linear ones would otherwise only see first-order ones).
func TestJetUnary(t *testing.T) {
	for _, c := range unaryCases {
		for _, sh := range unaryShapes {
			for _, k := range []int{1, 3} {
				t.Run(fmt.Sprintf("%s/%v/K=%d", c.name, sh, k), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(31, 32))
					x := input(rng, c.dom, sh...)
					checkJet(t, c.f, x, randDirs(rng, k, sh...))
					if c.name == "Log" || c.name == "Log1p" || c.name == "Sqrt" || c.name == "Pow-1.5" {
						return // domain: keep the argument positive
					}
					g := func(a *ad.Value) *ad.Value { return c.f(ad.Mul(a, ad.Tanh(a))) }
					checkJet(t, g, x, randDirs(rng, k, sh...))
				})
			}
		}
	}
}

// TestJetBinary: both operands move (Leibniz), over every broadcast of
// binaryShapes; and one operand alone (the linear path).
func TestJetBinary(t *testing.T) {
	for _, c := range binaryCases {
		for _, sh := range binaryShapes {
			for _, moving := range []string{"both", "a", "b"} {
				t.Run(fmt.Sprintf("%s/%vx%v/%s", c.name, sh[0], sh[1], moving), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(33, 34))
					shapes := [][]int{sh[0], sh[1]}
					a := input(rng, anyReal, sh[0]...)
					b := input(rng, c.domB, sh[1]...)
					cb := ad.Const(b)
					ca := ad.Const(a)
					var f func(*ad.Value) *ad.Value
					var x *tensor.Tensor
					switch moving {
					case "both":
						f, _ = deltaPacked(shapes, func(p []*ad.Value) *ad.Value { return c.f(p[0], p[1]) })
						x = tensor.ConcatRows(a.Reshape(-1), b.Reshape(-1))
					case "a":
						f, x = func(p *ad.Value) *ad.Value { return c.f(p, cb) }, a
					default:
						f, x = func(p *ad.Value) *ad.Value { return c.f(ca, p) }, b
					}
					// Through a square so the operands carry second-order coefficients.
					g := func(p *ad.Value) *ad.Value { return f(ad.Add(p, ad.Scale(ad.Square(p), 0.1))) }
					checkJet(t, g, x, randDirs(rng, 2, x.Shape()...))
				})
			}
		}
	}
}

// shapeOpCases are the linear primitives (each between two non-linear
// ones), MatMul with both factors moving, the image primitives and Solve,
// for the Taylor-mode tests (Jet, of any order, has no rule for Solve).
var shapeOpCases = func() []shapeOpCase {
	sq := func(v *ad.Value) *ad.Value { return ad.Mul(v, ad.Tanh(v)) }
	win := tensor.Window{KH: 3, KW: 3, Stride: 2, Pad: 1}
	return []shapeOpCase{
		{"Sum", [][]int{{3, 4}}, func(x []*ad.Value) *ad.Value { return sq(ad.Sum(sq(x[0]))) }},
		{"SumAxis0", [][]int{{3, 4}}, func(x []*ad.Value) *ad.Value { return sq(ad.SumAxis(sq(x[0]), 0)) }},
		{"SumAxis1", [][]int{{2, 3, 4}}, func(x []*ad.Value) *ad.Value { return sq(ad.SumAxis(sq(x[0]), 1)) }},
		{"BroadcastTo", [][]int{{3, 1}}, func(x []*ad.Value) *ad.Value { return sq(ad.BroadcastTo(sq(x[0]), 2, 3, 4)) }},
		{"SumTo", [][]int{{2, 3, 4}}, func(x []*ad.Value) *ad.Value { return sq(ad.SumTo(sq(x[0]), 3, 1)) }},
		{"Transpose", [][]int{{3, 4}}, func(x []*ad.Value) *ad.Value {
			return ad.MatMul(sq(ad.Transpose(x[0])), x[0], false, false)
		}},
		{"MatMulTrans", [][]int{{3, 4}, {5, 3}}, func(x []*ad.Value) *ad.Value {
			return sq(ad.MatMul(sq(x[0]), x[1], true, true))
		}},
		{"ConcatRows", [][]int{{2, 3}, {4, 3}}, func(x []*ad.Value) *ad.Value { return sq(ad.ConcatRows(sq(x[0]), x[1], x[0])) }},
		{"ConcatRowsConst", [][]int{{2, 3}}, func(x []*ad.Value) *ad.Value {
			return sq(ad.ConcatRows(sq(x[0]), ad.Const(tensor.Ones(x[0].DType(), 1, 3))))
		}},
		{"SliceRows", [][]int{{5, 3}}, func(x []*ad.Value) *ad.Value { return sq(ad.SliceRows(sq(x[0]), 1, 4)) }},
		{"PadRows", [][]int{{2, 3}}, func(x []*ad.Value) *ad.Value { return sq(ad.PadRows(sq(x[0]), 1, 2)) }},
		{"GatherRows", [][]int{{4, 3}}, func(x []*ad.Value) *ad.Value { return sq(ad.GatherRows(sq(x[0]), []int{3, 0, 3, 1})) }},
		{"ScatterAddRows", [][]int{{3, 2}}, func(x []*ad.Value) *ad.Value { return sq(ad.ScatterAddRows(sq(x[0]), []int{1, 1, 4}, 5)) }},
		{"Where", [][]int{{3, 4}, {3, 4}}, func(x []*ad.Value) *ad.Value {
			m := tensor.GreaterScalar(x[0].T(), 0)
			return sq(ad.Where(m, sq(x[0]), ad.Exp(x[1])))
		}},
		{"Im2Col/Col2Im", [][]int{{2, 5, 5, 2}}, func(x []*ad.Value) *ad.Value {
			cols := sq(ad.Im2Col(sq(x[0]), win))
			return sq(ad.Col2Im(cols, win, 5, 5, 2))
		}},
		{"BatchTranspose", [][]int{{2, 3, 4}}, func(x []*ad.Value) *ad.Value { return sq(ad.BatchTranspose(sq(x[0]))) }},
		{"AvgPool2D", [][]int{{2, 5, 5, 2}}, func(x []*ad.Value) *ad.Value {
			p := sq(ad.AvgPool2D(sq(x[0]), 2, 2, 1))
			return sq(ad.AvgPool2DAdjoint(p, 2, 2, 1, 5, 5))
		}},
		{"Solve", [][]int{{4, 4}, {4, 2}}, func(p []*ad.Value) *ad.Value {
			eye := tensor.Zeros(p[0].DType(), 4, 4)
			for i := range 4 {
				eye.Set(i*4+i, 3)
			}
			a := ad.Add(ad.MatMul(p[0], p[0], true, false), ad.Const(eye))
			return ad.Solve(a, sq(p[1]))
		}},
		{"SolveVector", [][]int{{3, 3}, {3}}, func(p []*ad.Value) *ad.Value {
			eye := tensor.Zeros(p[0].DType(), 3, 3)
			for i := range 3 {
				eye.Set(i*3+i, 3)
			}
			return ad.Solve(ad.Add(ad.MatMul(p[0], p[0], true, false), ad.Const(eye)), p[1])
		}},
	}
}()

type shapeOpCase struct {
	name   string
	shapes [][]int
	f      func(xs []*ad.Value) *ad.Value
}

// TestJetShapeOps runs Jet2 over shapeOpCases.
func TestJetShapeOps(t *testing.T) {
	for _, c := range shapeOpCases {
		for _, k := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/K=%d", c.name, k), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(35, 36))
				f, n := deltaPacked(c.shapes, c.f)
				x := tensor.RandN(tensor.Float64, rng, n)
				checkJet(t, f, x, randDirs(rng, k, n))
			})
		}
	}
}

// TestJetDense covers the fused Dense node for every activation, with only
// the input moving (the one-GEMM path) and with the weights and bias moving
// too, and the MLP energy and its score network (a jet through Grad's
// recorded backward pass: actDeriv, MatMul).
func TestJetDense(t *testing.T) {
	for _, act := range deltaActs {
		for _, moveW := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/moveW=%v", act, moveW), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(37, 38))
				shapes := [][]int{{6, 5}, {4, 5}, {4}}
				w := ad.Const(tensor.RandN(tensor.Float64, rng, 4, 5))
				b := ad.Const(tensor.RandN(tensor.Float64, rng, 4))
				var f func(*ad.Value) *ad.Value
				var n int
				if moveW {
					f, n = deltaPacked(shapes, func(p []*ad.Value) *ad.Value { return ad.Dense(p[0], p[1], p[2], act) })
				} else {
					f, n = func(x *ad.Value) *ad.Value { return ad.Dense(ad.Reshape(x, 6, 5), w, b, act) }, 30
				}
				x := tensor.Scale(tensor.RandN(tensor.Float64, rng, n), 0.7)
				checkJet(t, f, x, randDirs(rng, 2, n))
			})
		}
		t.Run(fmt.Sprintf("%v/MLP", act), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(39, 40))
			ps := constants(deltaMLPParams(rng, 3, 6))
			x := tensor.RandN(tensor.Float64, rng, 4, 3)
			checkJet(t, deltaMLP(act, ps), x, randDirs(rng, 2, 4, 3))
			score := func(x *ad.Value) *ad.Value {
				return ad.Grad(ad.Sum(deltaMLP(act, ps)(x)), []*ad.Value{x}, ad.CreateGraph())[0]
			}
			checkJet(t, score, x, randDirs(rng, 2, 4, 3))
		})
	}
}

func constants(ts []*tensor.Tensor) []*ad.Value {
	vs := make([]*ad.Value, len(ts))
	for i, t := range ts {
		vs[i] = ad.Const(t)
	}
	return vs
}

// TestJetConv: the convolutional energy (fused convolutions, pooling,
// layout conversions, softplus), its score network (convInputGrad) and its
// weight gradient as a function of x (convWeightGrad).
func TestJetConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	ps := convEnergyParams(rng, tensor.Float64)
	x := tensor.RandN(tensor.Float64, rng, 3, 2*7*7)
	t.Run("energy", func(t *testing.T) { checkJet(t, convEnergy(ps), x, randDirs(rng, 3, 3, 2*7*7)) })
	t.Run("score", func(t *testing.T) {
		score := func(x *ad.Value) *ad.Value {
			return ad.Grad(ad.Sum(convEnergy(ps)(x)), []*ad.Value{x}, ad.CreateGraph())[0]
		}
		checkJet(t, score, x, randDirs(rng, 2, 3, 2*7*7))
	})
	t.Run("weightGrad", func(t *testing.T) {
		f := func(x *ad.Value) *ad.Value {
			vs := make([]*ad.Value, len(ps))
			for i, p := range ps {
				vs[i] = ad.Var(p.T())
			}
			gw := ad.Grad(ad.Sum(convEnergy(vs)(x)), vs[:1], ad.CreateGraph())[0]
			return ad.Sum(ad.Square(gw))
		}
		checkJet(t, f, x, randDirs(rng, 1, 3, 2*7*7))
	})
}

// TestJetParamGrad: the parameter gradient of the SSM-like loss
// mean(½(vᵀ∇f)² + vᵀ∇²f v) built from Jet2, and of mean((vᵀ∇f)²) built
// from Jet1, equals the one built by nested Grad (as sm.SSM builds it), for
// the MLP with every activation (the fused jetAct kernels, forward and
// backward) and the convolutional energy.
// paramModel is an energy with its parameters, for the tests that compare
// a parameter gradient through Taylor mode with one through nested Grad:
// vars makes fresh variables of the parameters, f the energy on them, of
// inputs [N, d].
type paramModel struct {
	name string
	ps   []*tensor.Tensor
	f    func([]*ad.Value) func(*ad.Value) *ad.Value
	d    int
}

func (m paramModel) vars() []*ad.Value {
	vs := make([]*ad.Value, len(m.ps))
	for i, p := range m.ps {
		vs[i] = ad.Var(p)
	}
	return vs
}

// paramModels are the MLP energy with each fused activation and the
// convolutional energy.
func paramModels(rng *rand.Rand) []paramModel {
	var convPs []*tensor.Tensor
	for _, p := range convEnergyParams(rng, tensor.Float64) {
		convPs = append(convPs, p.T())
	}
	var models []paramModel
	for _, act := range deltaActs {
		models = append(models, paramModel{fmt.Sprintf("mlp-%v", act), deltaMLPParams(rng, 3, 6),
			func(p []*ad.Value) func(*ad.Value) *ad.Value { return deltaMLP(act, p) }, 3})
	}
	return append(models, paramModel{"conv", convPs, convEnergy, 2 * 7 * 7})
}

func TestJetParamGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	for _, m := range paramModels(rng) {
		t.Run(m.name, func(t *testing.T) {
			x := tensor.RandN(tensor.Float64, rng, 4, m.d)
			v := tensor.RandN(tensor.Float64, rng, 4, m.d)
			vars := m.vars
			loss := func(d1, d2 *ad.Value) *ad.Value {
				return ad.Mean(ad.Add(ad.Scale(ad.Square(d1), 0.5), d2))
			}
			pj := vars()
			_, d1, d2 := ad.Jet2(m.f(pj), ad.Const(x), []*ad.Value{ad.Const(v)})
			lj := loss(d1[0], d2[0])
			gj := ad.Grad(lj, pj)

			pn := vars()
			xv := ad.Var(x)
			vv := ad.Const(v)
			g := ad.Grad(ad.Sum(m.f(pn)(xv)), []*ad.Value{xv}, ad.CreateGraph())[0]
			hv := ad.Grad(g, []*ad.Value{xv}, ad.WithSeed(vv), ad.CreateGraph())[0]
			ln := loss(ad.SumAxis(ad.Mul(g, vv), 1), ad.SumAxis(ad.Mul(hv, vv), 1))
			gn := ad.Grad(ln, pn)
			if e := relErr(lj.T(), ln.T()); e > jetTol {
				t.Errorf("loss off by %.3g relative", e)
			}
			for i := range gj {
				if e := relErr(gj[i].T(), gn[i].T()); e > jetTol {
					t.Errorf("parameter %d: gradient off by %.3g relative", i, e)
				}
			}

			// Jet1 (first order only, as sliced DSM uses it): mean((vᵀ∇f)²).
			p1 := vars()
			_, e1 := ad.Jet1(m.f(p1), ad.Const(x), []*ad.Value{ad.Const(v)})
			l1 := ad.Mean(ad.Square(e1[0]))
			g1 := ad.Grad(l1, p1)
			pn1 := vars()
			xv1 := ad.Var(x)
			gx := ad.Grad(ad.Sum(m.f(pn1)(xv1)), []*ad.Value{xv1}, ad.CreateGraph())[0]
			ln1 := ad.Mean(ad.Square(ad.SumAxis(ad.Mul(gx, vv), 1)))
			gn1 := ad.Grad(ln1, pn1)
			if e := relErr(l1.T(), ln1.T()); e > jetTol {
				t.Errorf("Jet1 loss off by %.3g relative", e)
			}
			for i := range g1 {
				if e := relErr(g1[i].T(), gn1[i].T()); e > jetTol {
					t.Errorf("Jet1: parameter %d: gradient off by %.3g relative", i, e)
				}
			}
		})
	}
}

// TestJetPanics: a primitive without a jet rule panics with a
// *NoJetRuleError naming it (the fused difference node of a Delta inside f);
// directions of the wrong shape panic.
func TestJetPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	ps := constants(deltaMLPParams(rng, 3, 6))
	dx := ad.Const(tensor.RandN(tensor.Float64, rng, 4, 3))
	f := func(x *ad.Value) *ad.Value {
		_, d := ad.Delta(deltaMLP(tensor.ActSoftplus, ps), x, []*ad.Value{dx})
		return d[0]
	}
	x := ad.Const(tensor.RandN(tensor.Float64, rng, 4, 3))
	func() {
		defer func() {
			r := recover()
			err, ok := r.(error)
			var nj *ad.NoJetRuleError
			if !ok || !errors.As(err, &nj) || nj.Primitive == "" {
				t.Fatalf("panic %v, want a *NoJetRuleError", r)
			}
			t.Logf("panic: %v", err)
		}()
		ad.Jet2(f, x, []*ad.Value{dx})
	}()
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic for a direction of the wrong shape")
			}
		}()
		ad.Jet2(deltaMLP(tensor.ActSoftplus, ps), x, []*ad.Value{ad.Const(tensor.Zeros(tensor.Float64, 4, 2))})
	}()
}

// TestJetGradThrough checks gradients through Jet2 and Jet1 against finite
// differences (adtest, orders 1 to 3: the recorded rule of the joint Dense
// node, denseJet, and of jetAct under it), with respect to the parameters,
// the point and the direction.
func TestJetGradThrough(t *testing.T) {
	for _, act := range deltaActs {
		t.Run(act.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(53, 54))
			ps := deltaMLPParams(rng, 3, 4)
			x := tensor.RandN(tensor.Float64, rng, 5, 3)
			v := tensor.RandN(tensor.Float64, rng, 5, 3)
			f := func(xs []*ad.Value) *ad.Value {
				_, d1, d2 := ad.Jet2(deltaMLP(act, xs[2:]), xs[0], []*ad.Value{xs[1]})
				_, e1 := ad.Jet1(deltaMLP(act, xs[2:]), xs[0], []*ad.Value{xs[1]})
				return ad.Add(ad.Add(ad.Square(d1[0]), d2[0]), ad.Scale(ad.Square(e1[0]), 0.5))
			}
			order := 3
			if act == tensor.ActELU {
				order = 1 // the masks make higher orders piecewise
			}
			if err := adtest.Check(f, append([]*tensor.Tensor{x, v}, ps...), order, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestJetFusedGradMatchesRecorded: the first-order kernels of the joint
// Dense node give the gradient of its recorded rule, in both precisions.
func TestJetFusedGradMatchesRecorded(t *testing.T) {
	for _, act := range deltaActs {
		for _, dt := range deltaDTypes {
			t.Run(act.String()+"/"+dt.String(), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(55, 56))
				var ps []*ad.Value
				for _, p := range deltaMLPParams(rng, 3, 8) {
					ps = append(ps, ad.Var(p.AsType(dt)))
				}
				x := tensor.RandN(dt, rng, 7, 3)
				vs := []*ad.Value{ad.Const(tensor.RandN(dt, rng, 7, 3)), ad.Const(tensor.RandN(dt, rng, 7, 3))}
				_, d1, d2 := ad.Jet2(deltaMLP(act, ps), ad.Const(x), vs)
				_, e1 := ad.Jet1(deltaMLP(act, ps), ad.Const(x), vs)
				loss := ad.Sum(ad.Add(ad.Add(ad.Square(d1[0]), d2[1]), ad.Mul(e1[0], e1[1])))
				first := ad.Grad(loss, ps)
				rec := ad.Grad(loss, ps, ad.CreateGraph())
				tol := 1e-12 // issue 21's float64 agreement
				if dt == tensor.Float32 {
					tol = 1e-5 // a few ulps of float32 (2^-23 ≈ 1.2e-7) times the depth
				}
				for i := range ps {
					if e := maxRelErr(first[i].T().ToFloat64(), rec[i].T().ToFloat64()); e > tol {
						t.Errorf("parameter %d: first-order and recorded gradients differ by %.3g", i, e)
					}
				}
			})
		}
	}
}
