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

// Tests of the difference transform (Delta): every primitive's difference
// rule against the direct difference f(x + Δx) − f(x) evaluated in float64
// on the same (float32-representable) inputs, in both deltaDTypes; the fused
// Dense node's first-order kernels against its recorded rule; and gradient
// checks through Delta.

// Tolerances, relative to the largest reference difference (∞-norm):
//   - tolDelta64: float64 rules against float64 direct differences, whose own
//     error is about 1e-16·|f|/|Δf| ≤ 1e-12 for the steps used here.
//   - tolDelta32: float32 rules; a few float32 ulps (6e-8) per operation,
//     times the conditioning of the test functions (≲ 10).
const (
	tolDelta64 = 1e-9
	tolDelta32 = 2e-5
)

// directDiffs returns f(x + dx_i) − f(x) for each dx_i, in float64.
func directDiffs(f func(*ad.Value) *ad.Value, x *tensor.Tensor, dxs []*tensor.Tensor) [][]float64 {
	x64 := x.AsType(tensor.Float64)
	base := f(ad.Const(x64)).T().ToFloat64()
	out := make([][]float64, len(dxs))
	for i, dx := range dxs {
		moved := f(ad.Const(tensor.Add(x64, dx.AsType(tensor.Float64)))).T().ToFloat64()
		for j := range moved {
			moved[j] -= base[j]
		}
		out[i] = moved
	}
	return out
}

// maxRelErr returns ‖got − want‖∞/‖want‖∞ (or ‖got − want‖∞ when want = 0).
func maxRelErr(got, want []float64) float64 {
	var e, m float64
	for i := range want {
		e = max(e, math.Abs(got[i]-want[i]))
		m = max(m, math.Abs(want[i]))
	}
	if math.IsNaN(e) || len(got) != len(want) {
		return math.Inf(1)
	}
	if m == 0 {
		return e
	}
	return e / m
}

// checkDelta compares Delta(f, x, dxs) in dtype dt with the float64 direct
// differences on the same inputs (rounded to dt first).
func checkDelta(t *testing.T, f func(*ad.Value) *ad.Value, x *tensor.Tensor, dxs []*tensor.Tensor, dt tensor.DType) {
	t.Helper()
	xd := x.AsType(dt)
	dd := make([]*tensor.Tensor, len(dxs))
	dv := make([]*ad.Value, len(dxs))
	for i, d := range dxs {
		dd[i] = d.AsType(dt)
		dv[i] = ad.Const(dd[i])
	}
	y, dys := ad.Delta(f, ad.Const(xd), dv)
	want := directDiffs(f, xd, dd)
	base := f(ad.Const(xd.AsType(tensor.Float64))).T().ToFloat64()
	if e := maxRelErr(y.T().ToFloat64(), base); e > 1e-5 {
		t.Errorf("base value off by %.3g", e)
	}
	tol := tolDelta64
	if dt == tensor.Float32 {
		tol = tolDelta32
	}
	for i, dy := range dys {
		if !deltaShapeEq(dy.Shape(), y.Shape()) {
			t.Fatalf("difference %d has shape %v, want %v", i, dy.Shape(), y.Shape())
		}
		if e := maxRelErr(dy.T().ToFloat64(), want[i]); e > tol {
			t.Errorf("%v difference %d: relative error %.3g > %.3g\n got %v\nwant %v", dt, i, e, tol, dy.T().ToFloat64(), want[i])
		}
	}
}

func deltaShapeEq(a, b []int) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func randDiffs(rng *rand.Rand, k int, scale float64, shape ...int) []*tensor.Tensor {
	out := make([]*tensor.Tensor, k)
	for i := range out {
		out[i] = tensor.Scale(tensor.RandN(tensor.Float64, rng, shape...), scale)
	}
	return out
}

var deltaDTypes = []tensor.DType{tensor.Float64, tensor.Float32}

func TestDeltaUnary(t *testing.T) {
	for _, c := range unaryCases {
		for _, sh := range unaryShapes {
			for _, scale := range []float64{1e-3, 0.3} {
				for _, dt := range deltaDTypes {
					t.Run(fmt.Sprintf("%s/%v/%g/%v", c.name, sh, scale, dt), func(t *testing.T) {
						rng := rand.New(rand.NewPCG(11, 12))
						x := input(rng, c.dom, sh...)
						dxs := randDiffs(rng, 2, scale, sh...)
						if c.name == "Log" || c.name == "Sqrt" || c.name == "Pow-1.5" || c.name == "Log1p" {
							// Stay inside the domain: |dx| < 0.5 ≤ x.
							for _, d := range dxs {
								for i := range d.Len() {
									d.Set(i, math.Max(-0.4, math.Min(0.4, d.At(i))))
								}
							}
						}
						checkDelta(t, c.f, x, dxs, dt)
					})
				}
			}
		}
	}
}

// TestDeltaSignChanges covers the branches taken when an input crosses zero
// (ELU, Pow) or moves far (softplus, tanh, sigmoid with |α| > 1).
func TestDeltaSignChanges(t *testing.T) {
	x := tensor.FromFloat64(tensor.Float64, []float64{-2, -0.1, 0.05, 0.3, 1.5, -0.7}, 6)
	dx := tensor.FromFloat64(tensor.Float64, []float64{2.5, 0.3, -0.2, -0.1, -3, 0.6}, 6)
	cases := map[string]func(*ad.Value) *ad.Value{
		"ELU":      func(a *ad.Value) *ad.Value { return ad.ELU(a, 1.3) },
		"Pow3":     func(a *ad.Value) *ad.Value { return ad.Pow(a, 3) },
		"Softplus": ad.Softplus,
		"Tanh":     ad.Tanh,
		"Sigmoid":  ad.Sigmoid,
		"SiLU":     ad.SiLU,
	}
	for name, f := range cases {
		for _, dt := range deltaDTypes {
			t.Run(name+"/"+dt.String(), func(t *testing.T) {
				checkDelta(t, f, x, []*tensor.Tensor{dx, tensor.Scale(dx, -1)}, dt)
			})
		}
	}
}

// packed evaluates f on several inputs carried in one vector x, so that
// Delta (one input) can move all of them at once.
func deltaPacked(shapes [][]int, f func([]*ad.Value) *ad.Value) (func(*ad.Value) *ad.Value, int) {
	n := 0
	for _, s := range shapes {
		n += deltaNumel(s)
	}
	return func(x *ad.Value) *ad.Value {
		parts := make([]*ad.Value, len(shapes))
		off := 0
		for i, s := range shapes {
			m := deltaNumel(s)
			parts[i] = ad.Reshape(ad.SliceRows(x, off, off+m), s...)
			off += m
		}
		return f(parts)
	}, n
}

func deltaNumel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// onlyVary zeroes the differences of all packed inputs but those listed.
func onlyVary(dxs []*tensor.Tensor, shapes [][]int, keep ...int) {
	off := 0
	for i, s := range shapes {
		m := deltaNumel(s)
		vary := false
		for _, k := range keep {
			vary = vary || k == i
		}
		if !vary {
			for _, d := range dxs {
				for j := off; j < off+m; j++ {
					d.Set(j, 0)
				}
			}
		}
		off += m
	}
}

func TestDeltaBinary(t *testing.T) {
	for _, c := range binaryCases {
		for _, sh := range binaryShapes {
			for _, vary := range [][]int{{0}, {1}, {0, 1}} {
				for _, dt := range deltaDTypes {
					t.Run(fmt.Sprintf("%s/%vx%v/vary%v/%v", c.name, sh[0], sh[1], vary, dt), func(t *testing.T) {
						rng := rand.New(rand.NewPCG(13, 14))
						shapes := [][]int{sh[0], sh[1]}
						f, n := deltaPacked(shapes, func(p []*ad.Value) *ad.Value { return c.f(p[0], p[1]) })
						a := input(rng, anyReal, sh[0]...)
						b := input(rng, c.domB, sh[1]...)
						x := tensor.ConcatRows(a.Reshape(-1), b.Reshape(-1))
						dxs := randDiffs(rng, 3, 1e-2, n)
						onlyVary(dxs, shapes, vary...)
						checkDelta(t, f, x, dxs, dt)
					})
				}
			}
		}
	}
}

func TestDeltaMatMul(t *testing.T) {
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			for _, vary := range [][]int{{0}, {1}, {0, 1}} {
				for _, dt := range deltaDTypes {
					t.Run(fmt.Sprintf("tA=%v/tB=%v/vary%v/%v", ta, tb, vary, dt), func(t *testing.T) {
						rng := rand.New(rand.NewPCG(15, 16))
						as, bs := []int{3, 5}, []int{5, 4}
						if ta {
							as = []int{5, 3}
						}
						if tb {
							bs = []int{4, 5}
						}
						shapes := [][]int{as, bs}
						f, n := deltaPacked(shapes, func(p []*ad.Value) *ad.Value { return ad.MatMul(p[0], p[1], ta, tb) })
						x := tensor.RandN(tensor.Float64, rng, n)
						dxs := randDiffs(rng, 2, 1e-2, n)
						onlyVary(dxs, shapes, vary...)
						checkDelta(t, f, x, dxs, dt)
					})
				}
			}
		}
	}
}

func TestDeltaShapeOps(t *testing.T) {
	sq := func(v *ad.Value) *ad.Value { return ad.Mul(v, ad.Tanh(v)) }
	cases := []struct {
		name   string
		shapes [][]int
		f      func(xs []*ad.Value) *ad.Value
	}{
		{"Sum", [][]int{{3, 4}}, func(x []*ad.Value) *ad.Value { return sq(ad.Sum(x[0])) }},
		{"SumAxis0", [][]int{{3, 4}}, func(x []*ad.Value) *ad.Value { return sq(ad.SumAxis(x[0], 0)) }},
		{"SumAxis-1", [][]int{{2, 3, 4}}, func(x []*ad.Value) *ad.Value { return sq(ad.SumAxis(x[0], -1)) }},
		{"SumAxis1", [][]int{{2, 3, 4}}, func(x []*ad.Value) *ad.Value { return sq(ad.SumAxis(x[0], 1)) }},
		{"BroadcastTo", [][]int{{3, 1}}, func(x []*ad.Value) *ad.Value { return sq(ad.BroadcastTo(x[0], 2, 3, 4)) }},
		{"SumTo", [][]int{{2, 3, 4}}, func(x []*ad.Value) *ad.Value { return sq(ad.SumTo(x[0], 3, 1)) }},
		{"SumToScalar", [][]int{{2, 3}}, func(x []*ad.Value) *ad.Value { return sq(ad.SumTo(x[0])) }},
		{"Transpose", [][]int{{3, 4}}, func(x []*ad.Value) *ad.Value {
			return ad.MatMul(sq(ad.Transpose(x[0])), x[0], false, false)
		}},
		{"ConcatRows", [][]int{{2, 3}, {4, 3}}, func(x []*ad.Value) *ad.Value { return sq(ad.ConcatRows(x[0], x[1], x[0])) }},
		{"ConcatRowsConst", [][]int{{2, 3}}, func(x []*ad.Value) *ad.Value {
			return sq(ad.ConcatRows(x[0], ad.Const(tensor.Ones(x[0].DType(), 1, 3))))
		}},
		{"SliceRows", [][]int{{5, 3}}, func(x []*ad.Value) *ad.Value { return sq(ad.SliceRows(x[0], 1, 4)) }},
		{"PadRows", [][]int{{2, 3}}, func(x []*ad.Value) *ad.Value { return sq(ad.PadRows(x[0], 1, 2)) }},
		{"GatherRows", [][]int{{4, 3}}, func(x []*ad.Value) *ad.Value { return sq(ad.GatherRows(x[0], []int{3, 0, 3, 1})) }},
		{"ScatterAddRows", [][]int{{3, 2}}, func(x []*ad.Value) *ad.Value { return sq(ad.ScatterAddRows(x[0], []int{1, 1, 4}, 5)) }},
		{"Mean", [][]int{{3, 4}}, func(x []*ad.Value) *ad.Value { return ad.Exp(ad.Mean(x[0])) }},
	}
	for _, c := range cases {
		for _, k := range []int{1, 3} {
			for _, dt := range deltaDTypes {
				t.Run(fmt.Sprintf("%s/K=%d/%v", c.name, k, dt), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(17, 18))
					f, n := deltaPacked(c.shapes, c.f)
					x := tensor.RandN(tensor.Float64, rng, n)
					checkDelta(t, f, x, randDiffs(rng, k, 1e-2, n), dt)
				})
			}
		}
	}
}

func TestDeltaSolve(t *testing.T) {
	// A = MᵀM + 3I, B [4, 2]; both moved.
	shapes := [][]int{{4, 4}, {4, 2}}
	f, n := deltaPacked(shapes, func(p []*ad.Value) *ad.Value {
		eye := tensor.Zeros(p[0].DType(), 4, 4)
		for i := range 4 {
			eye.Set(i*4+i, 3)
		}
		a := ad.Add(ad.MatMul(p[0], p[0], true, false), ad.Const(eye))
		return ad.Solve(a, p[1])
	})
	for _, vary := range [][]int{{0}, {1}, {0, 1}} {
		for _, dt := range deltaDTypes {
			t.Run(fmt.Sprintf("vary%v/%v", vary, dt), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(19, 20))
				x := tensor.RandN(tensor.Float64, rng, n)
				dxs := randDiffs(rng, 2, 1e-2, n)
				onlyVary(dxs, shapes, vary...)
				checkDelta(t, f, x, dxs, dt)
			})
		}
	}
}

var deltaActs = []tensor.Act{tensor.ActNone, tensor.ActSoftplus, tensor.ActTanh, tensor.ActSigmoid, tensor.ActELU}

// TestDeltaDense covers the fused Dense rule: small and large steps (|δ| > 1
// takes the direct branches), saturated units, and the general path where
// the weights move too.
func TestDeltaDense(t *testing.T) {
	for _, act := range deltaActs {
		for _, scale := range []float64{1e-3, 3} {
			for _, moveW := range []bool{false, true} {
				for _, dt := range deltaDTypes {
					t.Run(fmt.Sprintf("%v/step=%g/moveW=%v/%v", act, scale, moveW, dt), func(t *testing.T) {
						rng := rand.New(rand.NewPCG(21, 22))
						shapes := [][]int{{6, 5}, {4, 5}}
						// Large steps with moderate pre-activations: a tanh or
						// sigmoid unit whose output rounds to ±1 (|z| > 9 in
						// float32) has lost z, and its rule takes it to stay
						// saturated (see denseDelta).
						bs := 3.0
						if scale > 1 {
							bs = 1
						}
						b := tensor.Scale(tensor.RandN(tensor.Float64, rng, 4), bs)
						f, n := deltaPacked(shapes, func(p []*ad.Value) *ad.Value {
							return ad.Dense(p[0], p[1], ad.Const(b.AsType(p[0].DType())), act)
						})
						x := tensor.Scale(tensor.RandN(tensor.Float64, rng, n), 0.7)
						dxs := randDiffs(rng, 2, scale, n)
						if !moveW {
							onlyVary(dxs, shapes, 0)
						}
						checkDelta(t, f, x, dxs, dt)
					})
				}
			}
		}
	}
}

// mlp is a small two-hidden-layer network with the given activation and a
// scalar output per row, its parameters in ps = [W1, b1, W2, b2, W3].
func deltaMLP(act tensor.Act, ps []*ad.Value) func(*ad.Value) *ad.Value {
	return func(x *ad.Value) *ad.Value {
		h := ad.Dense(x, ps[0], ps[1], act)
		h = ad.Dense(h, ps[2], ps[3], act)
		return ad.Reshape(ad.Dense(h, ps[4], nil, tensor.ActNone), -1)
	}
}

func deltaMLPParams(rng *rand.Rand, d, w int) []*tensor.Tensor {
	return []*tensor.Tensor{
		tensor.RandN(tensor.Float64, rng, w, d), tensor.RandN(tensor.Float64, rng, w),
		tensor.Scale(tensor.RandN(tensor.Float64, rng, w, w), 0.5), tensor.RandN(tensor.Float64, rng, w),
		tensor.RandN(tensor.Float64, rng, 1, w),
	}
}

// TestDeltaGradThrough checks gradients through Delta against finite
// differences (adtest, order 1 and 2: the recorded rules), with respect to
// the parameters, the base point and the differences.
func TestDeltaGradThrough(t *testing.T) {
	for _, act := range deltaActs {
		t.Run(act.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(23, 24))
			ps := deltaMLPParams(rng, 3, 4)
			x := tensor.RandN(tensor.Float64, rng, 5, 3)
			dx := tensor.Scale(tensor.RandN(tensor.Float64, rng, 5, 3), 0.1)
			f := func(xs []*ad.Value) *ad.Value {
				_, dys := ad.Delta(deltaMLP(act, xs[2:]), xs[0], []*ad.Value{xs[1], ad.Scale(xs[1], -1)})
				return ad.Add(ad.Square(dys[0]), dys[1])
			}
			order := 2
			if act == tensor.ActELU {
				order = 1 // the masks make higher orders piecewise
			}
			if err := adtest.Check(f, append([]*tensor.Tensor{x, dx}, ps...), order, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDeltaFusedGradMatchesRecorded: the first-order kernels of the fused
// Dense difference node give the gradient of its recorded rule.
func TestDeltaFusedGradMatchesRecorded(t *testing.T) {
	for _, act := range deltaActs {
		for _, dt := range deltaDTypes {
			t.Run(act.String()+"/"+dt.String(), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(25, 26))
				var ps []*ad.Value
				for _, p := range deltaMLPParams(rng, 3, 8) {
					ps = append(ps, ad.Var(p.AsType(dt)))
				}
				x := tensor.RandN(dt, rng, 7, 3)
				dx := tensor.Scale(tensor.RandN(dt, rng, 7, 3), 0.5)
				_, dys := ad.Delta(deltaMLP(act, ps), ad.Const(x), []*ad.Value{ad.Const(dx), ad.Const(tensor.Scale(dx, -2))})
				loss := ad.Sum(ad.Add(ad.Square(dys[0]), dys[1]))
				first := ad.Grad(loss, ps)
				rec := ad.Grad(loss, ps, ad.CreateGraph())
				tol := 1e-12
				if dt == tensor.Float32 {
					tol = 1e-5
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

// TestDeltaSecondDifferenceFloat32 is the point of the transform: the second
// difference f(x+v) + f(x−v) − 2f(x) of a network whose output is large
// (|f| ≈ 100) at a small step, in float32. Subtracting evaluations loses it;
// summing two propagated differences keeps it.
func TestDeltaSecondDifferenceFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	ps64 := deltaMLPParams(rng, 8, 32)
	ps64[4] = tensor.Scale(ps64[4], 3)
	x := tensor.RandN(tensor.Float64, rng, 16, 8)
	v := tensor.Scale(tensor.RandN(tensor.Float64, rng, 16, 8), 3e-4)
	second := func(dt tensor.DType, mode string) []float64 {
		ps := make([]*ad.Value, len(ps64))
		for i, p := range ps64 {
			ps[i] = ad.Const(p.AsType(dt))
		}
		f := deltaMLP(tensor.ActSoftplus, ps)
		xd, vd := x.AsType(dt), v.AsType(dt)
		switch mode {
		case "delta":
			_, dys := ad.Delta(f, ad.Const(xd), []*ad.Value{ad.Const(vd), ad.Const(tensor.Neg(vd))})
			return ad.Add(dys[0], dys[1]).T().ToFloat64()
		case "central":
			_, _, ss := ad.Central(f, ad.Const(xd), []*ad.Value{ad.Const(vd)})
			return ss[0].T().ToFloat64()
		}
		y0 := f(ad.Const(xd))
		yp := f(ad.Const(tensor.Add(xd, vd)))
		ym := f(ad.Const(tensor.Sub(xd, vd)))
		return ad.Sub(ad.Add(yp, ym), ad.Scale(y0, 2)).T().ToFloat64()
	}
	want := second(tensor.Float64, "naive")
	central := maxRelErr(second(tensor.Float32, "central"), want)
	stable := maxRelErr(second(tensor.Float32, "delta"), want)
	naive := maxRelErr(second(tensor.Float32, "naive"), want)
	t.Logf("float32 second difference at ‖v‖ ≈ 1e-3: relative error %.2g central, %.2g from two differences, %.2g naive", central, stable, naive)
	if central > 1e-4 {
		t.Errorf("central float32 second difference off by %.3g", central)
	}
	if stable > 1e-2 {
		t.Errorf("stable float32 second difference off by %.3g", stable)
	}
	if naive < 0.3 {
		t.Errorf("naive float32 second difference off by only %.3g: the test no longer shows cancellation", naive)
	}
}

func TestDeltaConstantOutput(t *testing.T) {
	x := tensor.RandN(tensor.Float64, rand.New(rand.NewPCG(1, 1)), 3, 2)
	y, dys := ad.Delta(func(*ad.Value) *ad.Value { return ad.Const(tensor.Ones(tensor.Float64, 3)) }, ad.Const(x),
		[]*ad.Value{ad.Const(x)})
	if y.Len() != 3 || maxRelErr(dys[0].T().ToFloat64(), []float64{0, 0, 0}) != 0 {
		t.Fatalf("a constant function's difference is %v", dys[0])
	}
}

func TestDeltaPanics(t *testing.T) {
	x := ad.Const(tensor.Zeros(tensor.Float64, 3, 2))
	for name, f := range map[string]func(){
		"no differences": func() { ad.Delta(ad.Exp, x, nil) },
		"shape":          func() { ad.Delta(ad.Exp, x, []*ad.Value{ad.Const(tensor.Zeros(tensor.Float64, 2, 3))}) },
		"dtype":          func() { ad.Delta(ad.Exp, x, []*ad.Value{ad.Const(tensor.Zeros(tensor.Float32, 3, 2))}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// directCentral returns (f(x+v) − f(x−v))/2 and f(x+v) + f(x−v) − 2f(x) in
// float64.
func directCentral(f func(*ad.Value) *ad.Value, x, v *tensor.Tensor) (d, s []float64) {
	x64, v64 := x.AsType(tensor.Float64), v.AsType(tensor.Float64)
	y0 := f(ad.Const(x64)).T().ToFloat64()
	yp := f(ad.Const(tensor.Add(x64, v64))).T().ToFloat64()
	ym := f(ad.Const(tensor.Sub(x64, v64))).T().ToFloat64()
	d, s = make([]float64, len(y0)), make([]float64, len(y0))
	for i := range y0 {
		d[i] = (yp[i] - ym[i]) / 2
		s[i] = (yp[i] - y0[i]) + (ym[i] - y0[i])
	}
	return d, s
}

// checkCentral compares Central(f, x, vs) in dtype dt with float64 central
// differences of ref (f in float64) on the same inputs. tolD and tolS bound
// the errors relative to the largest element of the reference (for the
// second differences at least 1e-12 of the first, so that an exactly zero
// second difference is not judged by the reference's own rounding).
func checkCentral(t *testing.T, f, ref func(*ad.Value) *ad.Value, x *tensor.Tensor, vs []*tensor.Tensor, dt tensor.DType, tolD, tolS float64) {
	t.Helper()
	xd := x.AsType(dt)
	vv := make([]*ad.Value, len(vs))
	for i, v := range vs {
		vv[i] = ad.Const(v.AsType(dt))
	}
	_, ds, ss := ad.Central(f, ad.Const(xd), vv)
	for i, v := range vs {
		wd, ws := directCentral(ref, xd, v.AsType(dt))
		if e := maxRelErr(ds[i].T().ToFloat64(), wd); e > tolD {
			t.Errorf("%v first central difference %d: relative error %.3g > %.3g", dt, i, e, tolD)
		}
		var md, ms, es float64
		got := ss[i].T().ToFloat64()
		for j := range ws {
			md, ms = max(md, math.Abs(wd[j])), max(ms, math.Abs(ws[j]))
			es = max(es, math.Abs(got[j]-ws[j]))
		}
		if tolS < 0 { // f is linear: the second difference is zero
			if es > 1e-12*md {
				t.Errorf("%v second central difference %d of a linear function is %v", dt, i, got)
			}
			continue
		}
		if e := es / max(ms, 1e-12*md); !(e <= tolS) {
			t.Errorf("%v second central difference %d: relative error %.3g > %.3g\n got %v\nwant %v", dt, i, e, tolS, got, ws)
		}
	}
}

// TestCentral covers the central mode on every kind of primitive: linear
// ones, those with pair rules (Mul, Square, Exp, Dense) and those that go
// through their plain rule (Tanh, Log, Solve, …), at a step where float64
// direct differences are exact to ~1e-10 (second) and float32 pair rules
// keep ~1e-5.
func TestCentral(t *testing.T) {
	sq := func(v *ad.Value) *ad.Value { return ad.Mul(v, ad.Tanh(v)) }
	cases := []struct {
		name   string
		shapes [][]int
		f      func(xs []*ad.Value) *ad.Value
		plain  bool // goes through a plain rule: second differences at first-difference accuracy
	}{
		{"MulBoth", [][]int{{3, 4}, {4}}, func(x []*ad.Value) *ad.Value { return ad.Mul(x[0], x[1]) }, false},
		{"Square", [][]int{{3, 4}}, func(x []*ad.Value) *ad.Value { return ad.Square(x[0]) }, false},
		{"Exp", [][]int{{3, 4}}, func(x []*ad.Value) *ad.Value { return ad.Exp(x[0]) }, false},
		{"SumMatMul", [][]int{{3, 4}, {4, 2}}, func(x []*ad.Value) *ad.Value {
			return ad.Sum(ad.Square(ad.MatMul(x[0], ad.Const(tensor.Ones(x[0].DType(), 4, 2)), false, false)))
		}, false},
		{"MatMulBoth", [][]int{{3, 4}, {4, 2}}, func(x []*ad.Value) *ad.Value { return ad.MatMul(x[0], x[1], false, false) }, true},
		{"Tanh", [][]int{{3, 4}}, func(x []*ad.Value) *ad.Value { return sq(x[0]) }, true},
		{"SiLU", [][]int{{3, 4}}, func(x []*ad.Value) *ad.Value { return ad.SiLU(x[0]) }, true},
		{"Rows", [][]int{{4, 3}}, func(x []*ad.Value) *ad.Value {
			return ad.Square(ad.GatherRows(ad.Transpose(ad.ConcatRows(x[0], ad.SliceRows(x[0], 1, 3))), []int{2, 0}))
		}, false},
	}
	for _, c := range cases {
		for _, dt := range deltaDTypes {
			t.Run(c.name+"/"+dt.String(), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(29, 30))
				f, n := deltaPacked(c.shapes, c.f)
				x := tensor.RandN(tensor.Float64, rng, n)
				vs := randDiffs(rng, 2, 1e-2, n)
				tolD, tolS := 1e-9, 1e-6
				if dt == tensor.Float32 {
					tolD, tolS = 2e-5, 1e-4
					if c.plain {
						tolS = 2e-2
					}
				}
				checkCentral(t, f, f, x, vs, dt, tolD, tolS)
			})
		}
	}
}

// TestCentralDense: the fused Dense node's central rule, for every
// activation, small steps (the series for softplus) and large ones (exact
// differences combined).
func TestCentralDense(t *testing.T) {
	for _, act := range deltaActs {
		for _, scale := range []float64{1e-3, 0.5} {
			for _, dt := range deltaDTypes {
				t.Run(fmt.Sprintf("%v/step=%g/%v", act, scale, dt), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(31, 32))
					ps64 := deltaMLPParams(rng, 5, 16)
					ps, pr := make([]*ad.Value, len(ps64)), make([]*ad.Value, len(ps64))
					for i, p := range ps64 {
						ps[i] = ad.Const(p.AsType(dt))
						pr[i] = ad.Const(p.AsType(dt).AsType(tensor.Float64))
					}
					x := tensor.Scale(tensor.RandN(tensor.Float64, rng, 6, 5), 0.7)
					vs := randDiffs(rng, 2, scale, 6, 5)
					tolD, tolS := 1e-9, 1e-6
					if dt == tensor.Float32 {
						tolD, tolS = 1e-4, 1e-3
					}
					if act == tensor.ActNone {
						tolS = -1
					}
					checkCentral(t, deltaMLP(act, ps), deltaMLP(act, pr), x, vs, dt, tolD, tolS)
				})
			}
		}
	}
}

// TestCentralGradThrough checks gradients through Central (recorded rules,
// order 1 and 2) and that the first-order kernels agree with them.
func TestCentralGradThrough(t *testing.T) {
	for _, act := range deltaActs {
		t.Run(act.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(33, 34))
			ps := deltaMLPParams(rng, 3, 4)
			x := tensor.RandN(tensor.Float64, rng, 5, 3)
			v := tensor.Scale(tensor.RandN(tensor.Float64, rng, 5, 3), 0.1)
			f := func(xs []*ad.Value) *ad.Value {
				_, ds, ss := ad.Central(deltaMLP(act, xs[2:]), xs[0], []*ad.Value{xs[1]})
				return ad.Add(ad.Square(ds[0]), ss[0])
			}
			order, set := 2, (*adtest.Settings)(nil)
			if act == tensor.ActELU {
				// ELU's second derivative jumps at 0, which a few of the
				// shifted pre-activations straddle within the check's ±2e-3:
				// the finite differences themselves are then off by ~1e-6.
				order, set = 1, &adtest.Settings{RTol: 1e-4}
			}
			if err := adtest.Check(f, append([]*tensor.Tensor{x, v}, ps...), order, set); err != nil {
				t.Fatal(err)
			}
			for _, dt := range deltaDTypes {
				var pv []*ad.Value
				for _, p := range ps {
					pv = append(pv, ad.Var(p.AsType(dt)))
				}
				_, ds, ss := ad.Central(deltaMLP(act, pv), ad.Const(x.AsType(dt)), []*ad.Value{ad.Const(v.AsType(dt))})
				loss := ad.Sum(ad.Add(ad.Square(ds[0]), ss[0]))
				first, rec := ad.Grad(loss, pv), ad.Grad(loss, pv, ad.CreateGraph())
				tol := 1e-12
				if dt == tensor.Float32 {
					tol = 1e-5
				}
				for i := range pv {
					if e := maxRelErr(first[i].T().ToFloat64(), rec[i].T().ToFloat64()); e > tol {
						t.Errorf("%v parameter %d: first-order and recorded gradients differ by %.3g", dt, i, e)
					}
				}
			}
		})
	}
}

// TestExpDifferencesFarSteps: exp's difference and central rules where
// exp(a) underflows to 0 in float32 and the step is large (the Gaussian
// kernels of DKEF: a = −100, steps of ±95), and on both sides of the switch
// between the product and the direct forms (|α| = 1). Each must be finite
// and within float32 rounding of the differences computed in float64.
// Before the direct form, 0·expm1(95) made these NaN and stopped FD-SSM
// training of DKEF in float32.
func TestExpDifferencesFarSteps(t *testing.T) {
	a := []float64{-100, -100, -3, -3, 0.5, 0.5, -90}
	d := []float64{95, -95, 0.999, 1.001, -1.2, 0.3, 2}
	exp := func(v *ad.Value) *ad.Value { return ad.Exp(v) }
	x32 := ad.Const(tensor.FromFloat64(tensor.Float32, a, len(a)))
	v32 := ad.Const(tensor.FromFloat64(tensor.Float32, d, len(d)))
	xa, da := x32.T().ToFloat64(), v32.T().ToFloat64() // the float32 inputs, exactly
	_, dys := ad.Delta(exp, x32, []*ad.Value{v32})
	_, ds, ss := ad.Central(exp, x32, []*ad.Value{v32})
	near := func(what string, got, want float64) {
		t.Helper()
		// Relative 1e-5 (a few float32 roundings); absolute 1e-37, ten
		// times float32's smallest normal number (1.18e-38), covers the
		// subnormal results the float32 exp kernel flushes to zero.
		if math.IsNaN(got) || math.Abs(got-want) > 1e-5*math.Abs(want)+1e-37 {
			t.Errorf("%s: %g, want %g", what, got, want)
		}
	}
	for i := range a {
		e0, ep, em := math.Exp(xa[i]), math.Exp(xa[i]+da[i]), math.Exp(xa[i]-da[i])
		near(fmt.Sprintf("Delta a=%g α=%g", a[i], d[i]), dys[0].T().At(i), ep-e0)
		near(fmt.Sprintf("Central D a=%g v=%g", a[i], d[i]), ds[0].T().At(i), (ep-em)/2)
		near(fmt.Sprintf("Central S a=%g v=%g", a[i], d[i]), ss[0].T().At(i), ep+em-2*e0)
	}
	// The gradient through the differences is finite too (no NaN from the
	// branch a selection drops).
	xv := ad.Var(tensor.FromFloat64(tensor.Float32, a, len(a)))
	_, ds2, ss2 := ad.Central(exp, xv, []*ad.Value{v32})
	g := ad.Grad(ad.Sum(ad.Add(ds2[0], ss2[0])), []*ad.Value{xv})[0].T().ToFloat64()
	for i, v := range g {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("gradient at a=%g, v=%g is %v", a[i], d[i], v)
		}
	}
}

// TestWhere checks Where's selection (never reading the other value), its
// derivatives to order 2 in both operands, and its difference rule.
func TestWhere(t *testing.T) {
	mask := tensor.FromFloat64(tensor.Float64, []float64{1, 0, 1, 0, 0, 1}, 2, 3)
	inf := tensor.FromFloat64(tensor.Float64, []float64{math.Inf(1), 2, math.NaN(), 4, 5, math.Inf(-1)}, 2, 3)
	fin := tensor.FromFloat64(tensor.Float64, []float64{1, math.NaN(), 3, math.Inf(1), math.Inf(1), 6}, 2, 3)
	got := ad.Where(mask, ad.Const(fin), ad.Const(inf)).T().ToFloat64()
	for i, w := range []float64{1, 2, 3, 4, 5, 6} {
		if got[i] != w {
			t.Fatalf("Where element %d = %v, want %v", i, got[i], w)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	f := func(xs []*ad.Value) *ad.Value {
		return ad.Sum(ad.Mul(ad.Where(mask, ad.Square(xs[0]), ad.Exp(xs[1])), xs[0]))
	}
	if err := adtest.Check(f, []*tensor.Tensor{tensor.RandN(tensor.Float64, rng, 2, 3), tensor.RandN(tensor.Float64, rng, 2, 3)}, 2, nil); err != nil {
		t.Error(err)
	}
	g := func(v *ad.Value) *ad.Value { return ad.Where(mask, ad.Square(v), ad.Scale(v, 3)) }
	x := ad.Const(tensor.RandN(tensor.Float64, rng, 2, 3))
	dx := ad.Const(tensor.Scale(tensor.RandN(tensor.Float64, rng, 2, 3), 0.1))
	_, dys := ad.Delta(g, x, []*ad.Value{dx})
	want := tensor.Sub(g(ad.Const(tensor.Add(x.T(), dx.T()))).T(), g(x).T()).ToFloat64()
	for i, v := range dys[0].T().ToFloat64() {
		if math.Abs(v-want[i]) > 1e-12 {
			t.Errorf("Where difference %d: %v, want %v", i, v, want[i])
		}
	}
}

// TestDeltaHandsFBases: f runs on the base values Delta carries, so the
// value f returns is Delta's y itself, not a base recomputed from it, both
// after a joint (a Dense layer, then a primitive that does not continue the
// joint) and without one (a 1-D x).
func TestDeltaHandsFBases(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	ps := make([]*ad.Value, 0, 2)
	for _, p := range deltaMLPParams(rng, 3, 4)[:2] {
		ps = append(ps, ad.Var(p))
	}
	cases := []struct {
		name  string
		shape []int
		f     func(*ad.Value) *ad.Value
	}{
		{"joint", []int{5, 3}, func(x *ad.Value) *ad.Value { return ad.Exp(ad.Dense(x, ps[0], ps[1], tensor.ActTanh)) }},
		{"flat", []int{3}, func(x *ad.Value) *ad.Value { return ad.Mul(ad.Exp(x), x) }},
	}
	for _, c := range cases {
		for _, x := range []*ad.Value{ad.Const(tensor.RandN(tensor.Float64, rng, c.shape...)), ad.Var(tensor.RandN(tensor.Float64, rng, c.shape...))} {
			var fy *ad.Value
			f := func(x *ad.Value) *ad.Value { fy = c.f(x); return fy }
			y, _ := ad.Delta(f, x, []*ad.Value{ad.Const(tensor.Scale(tensor.RandN(tensor.Float64, rng, c.shape...), 1e-2))})
			if y != fy {
				t.Errorf("%s, x variable %v: Delta's y is not the value f returned (a base recomputed along the difference graph)", c.name, x.RequiresGrad())
			}
		}
	}
}

// TestDeltaOnConstantsRecordsNothing: with x, the differences and the
// parameters all constants, Delta's results are constants too (nothing is
// recorded that a caller would hold on to), as a plain evaluation's are,
// while f's operations are still interpreted (the differences are right).
func TestDeltaOnConstantsRecordsNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	ps64 := deltaMLPParams(rng, 3, 4)
	ps := make([]*ad.Value, len(ps64))
	for i, p := range ps64 {
		ps[i] = ad.Const(p)
	}
	f := func(x *ad.Value) *ad.Value {
		return ad.Exp(ad.Scale(deltaMLP(tensor.ActSoftplus, ps)(ad.Square(x)), 0.1))
	}
	x := tensor.RandN(tensor.Float64, rng, 5, 3)
	dx := tensor.Scale(tensor.RandN(tensor.Float64, rng, 5, 3), 1e-2)
	y, dys := ad.Delta(f, ad.Const(x), []*ad.Value{ad.Const(dx)})
	if y.RequiresGrad() || dys[0].RequiresGrad() {
		t.Errorf("Delta on constants returned recorded values (y %v, dy %v)", y.RequiresGrad(), dys[0].RequiresGrad())
	}
	want := tensor.Sub(f(ad.Const(tensor.Add(x, dx))).T(), f(ad.Const(x)).T()).ToFloat64()
	if e := maxRelErr(dys[0].T().ToFloat64(), want); e > 1e-8 {
		t.Errorf("difference off by %.3g", e)
	}
}
