package autodiff

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/tensor"
)

// A primitive recorded without a difference rule makes Delta panic with a
// *NoDiffRuleError naming it (its descriptor's name).
func TestDeltaNoDiffRule(t *testing.T) {
	bareP := &primitive{name: "bareNeg", vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
		return []*Value{Neg(g)}
	}}
	bare := func(a *Value) *Value { return op(tensor.Neg(a.t), bareP, a) }
	defer func() {
		r := recover()
		err, ok := r.(error)
		var nd *NoDiffRuleError
		if !ok || !errors.As(err, &nd) || nd.Primitive != "bareNeg" || !strings.Contains(err.Error(), "bareNeg") {
			t.Fatalf("panic %v, want a NoDiffRuleError naming the primitive", r)
		}
	}()
	Delta(func(x *Value) *Value { return Exp(bare(x)) }, Const(tensor.Ones(tensor.Float64, 2)),
		[]*Value{Const(tensor.Ones(tensor.Float64, 2))})
}

// The primitives have a name, a vector-Jacobian product and a difference
// rule: the descriptors recorded by one call of each operation listed (the
// activations of activations.go are checked by their own tests, see the
// package documentation).
func TestEveryPrimitiveHasRules(t *testing.T) {
	x := Var(tensor.Ones(tensor.Float64, 2, 2))
	img := Var(tensor.Ones(tensor.Float64, 1, 3, 3, 1))
	w := Var(tensor.Ones(tensor.Float64, 1, 1, 2, 2))
	win := tensor.Window{KH: 2, KW: 2, Stride: 1}
	c := convLinear(img, w, win)
	vs := []*Value{Add(x, x), Sub(x, x), Mul(x, x), Div(x, x), Where(tensor.Ones(tensor.Float64, 2, 2), x, x),
		Neg(x), Scale(x, 2), AddScalar(x, 1), Exp(x), Log(x), Log1p(x), Expm1(x), Tanh(x), Sigmoid(x),
		Softplus(x), ELU(x, 1), Square(x), Sqrt(x), Pow(x, 2), Sum(x), SumAxis(x, 0), SumAxis(x, 1),
		BroadcastTo(Reshape(x, 1, 2, 2), 2, 2, 2), SumTo(x, 2), Reshape(x, 4), Transpose(x), MatMul(x, x, false, true),
		ConcatRows(x, x), SliceRows(x, 0, 1), PadRows(x, 1, 0), GatherRows(x, []int{1}), ScatterAddRows(x, []int{0, 0}, 1),
		Im2Col(img, win), Col2Im(Im2Col(img, win), win, 3, 3, 1), BatchTranspose(Reshape(x, 1, 2, 2)),
		AvgPool2D(img, 2, 1, 0), AvgPool2DAdjoint(AvgPool2D(img, 2, 1, 0), 2, 1, 0, 3, 3),
		c, convInputGrad(c, w, win, 3, 3), convWeightGrad(c, img, win),
		Dense(x, x, nil, tensor.ActTanh), actDeriv(x, tensor.ActSoftplus), Solve(x, x),
		denseDelta(x, x, nil, tensor.ActTanh), denseJoint(layerMap{}, ConcatRows(x, x), x, nil, x.t, tensor.ActTanh, 1, 0)}
	names := map[string]bool{}
	for _, v := range vs {
		pr := v.prim
		if pr == nil || pr.name == "" || pr.vjp == nil || !pr.hasDiff() {
			t.Errorf("%s lacks a rule: %+v", primName(v), pr)
			continue
		}
		names[pr.name] = true
	}
	if len(names) < 40 { // 45 operations, SumAxis twice under one name
		t.Errorf("%d primitive names among %d operations, want at least 40 distinct", len(names), len(vs))
	}
}

// Delta follows only values of its own, and only while f runs: the
// caller's variable x is left untouched, and once Delta returns, or f
// panics, the values f computed follow nothing (an operation on them is
// then an ordinary one). The panic is a primitive without a difference
// rule (as in TestDeltaNoDiffRule).
func TestDeltaLeavesNoState(t *testing.T) {
	x := Var(tensor.FromFloat64(tensor.Float64, []float64{0.5, -1}, 2))
	dx := Const(tensor.FromFloat64(tensor.Float64, []float64{1e-3, 2e-3}, 2))
	var inside []*Value
	f := func(v *Value) *Value {
		h := Tanh(v)
		inside = append(inside, v, h)
		if h.delta == nil || !h.delta.active {
			t.Errorf("inside f, Tanh's result is not followed")
		}
		if x.delta != nil {
			t.Errorf("inside f, the caller's x is marked")
		}
		return Square(h)
	}
	y, _ := Delta(f, x, []*Value{dx})
	check := func(when string) {
		for i, v := range append(inside, x, y) {
			if v.delta != nil {
				t.Errorf("%s: value %d still follows a Delta", when, i)
			}
		}
	}
	check("after Delta")
	bareP := &primitive{name: "bare", vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value { return []*Value{g} }}
	inside = nil
	func() {
		defer func() { recover() }()
		Delta(func(v *Value) *Value {
			h := Exp(v)
			inside = append(inside, v, h)
			return op(tensor.Neg(h.t), bareP, h)
		}, x, []*Value{dx})
	}()
	if len(inside) != 2 {
		t.Fatalf("f ran %d times", len(inside)/2)
	}
	check("after a panic in f")
}

// The float32 scalar kernels of the difference rules against package math:
// a few float32 ulps over their ranges.
func TestScalar32(t *testing.T) {
	ulps := func(got float32, want float64) float64 {
		return math.Abs(float64(got)-want) / math.Abs(float64(math.Nextafter32(float32(want), float32(math.Inf(1)))-float32(want)))
	}
	for i := range 200001 {
		x := -0.7 + 2.7*float64(i)/200000 // [−0.7, 2]: every branch of log1pNear32
		if u := ulps(log1pNear32(float32(x)), math.Log1p(float64(float32(x)))); u > 3 {
			t.Fatalf("log1pNear32(%g) off by %.1f ulps", x, u)
		}
		y := -3 + 6*float64(i)/200000
		if u := ulps(expm132(float32(y)), math.Expm1(float64(float32(y)))); u > 3 {
			t.Fatalf("expm132(%g) off by %.1f ulps", y, u)
		}
	}
	for _, x := range []float32{1e-30, -1e-30, 1e-8, -0.9, 5, 100} {
		if u := ulps(log1pNear32(x), math.Log1p(float64(x))); u > 3 {
			t.Errorf("log1pNear32(%g) off by %.1f ulps", x, u)
		}
	}
}

// TestConsecutive: rows laid out one after another in one buffer are taken
// as they are (Delta's joint without a copy); a gap, another order, or
// another buffer means a copy.
func TestConsecutive(t *testing.T) {
	buf := tensor.Zeros(tensor.Float32, 6, 2)
	a, b, c := tensor.SliceRows(buf, 0, 2), tensor.SliceRows(buf, 2, 4), tensor.SliceRows(buf, 4, 6)
	j := consecutive([]*tensor.Tensor{a, b, c})
	if j == nil || !j.SharesStorage(buf) || j.Dim(0) != 6 || &j.Float32s()[0] != &buf.Float32s()[0] {
		t.Fatalf("consecutive rows: got %v, want a view of the whole buffer", j)
	}
	for name, ts := range map[string][]*tensor.Tensor{
		"gap":            {a, c},
		"order":          {b, a},
		"other buffer":   {a, tensor.Zeros(tensor.Float32, 2, 2)},
		"partial second": {a, tensor.SliceRows(buf, 3, 4)},
	} {
		if consecutive(ts) != nil {
			t.Errorf("%s: rows taken as consecutive", name)
		}
	}
}

// TestDeltaReleasesDeadNodes: the nodes of f's evaluation that the results
// no longer reach (a Dense output, copied into the joint) are released on
// return; the caller's x and parameters, and the results, are not.
func TestDeltaReleasesDeadNodes(t *testing.T) {
	x := Var(tensor.FromFloat64(tensor.Float64, []float64{0.5, -1, 0.25, 2}, 2, 2))
	w1 := Var(tensor.FromFloat64(tensor.Float64, []float64{1, 2, -1, 0.5}, 2, 2))
	w2 := Var(tensor.FromFloat64(tensor.Float64, []float64{0.3, -0.7}, 1, 2))
	dx := Const(tensor.Scale(tensor.OnesLike(x.t), 1e-3))
	var h *Value
	y, dys := Delta(func(v *Value) *Value {
		h = Dense(v, w1, nil, tensor.ActTanh)
		return Dense(h, w2, nil, tensor.ActNone)
	}, x, []*Value{dx})
	if h.T() != nil {
		t.Errorf("f's first Dense output is still held: %v", h.T())
	}
	for name, v := range map[string]*Value{"x": x, "w1": w1, "w2": w2, "y": y, "dy": dys[0]} {
		if v.T() == nil {
			t.Errorf("%s released", name)
		}
	}
}
