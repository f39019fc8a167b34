package fd

import (
	"math/rand/v2"
	"testing"

	"github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// TestEvaluators checks that the three evaluators give the same stencil
// sums in float64, where the naive one loses nothing that matters: through
// a tanh layer, for the first and second derivative stencils (symmetric,
// so EvaluateCentral serves them), a fourth-order one and a one-sided one
// (EvaluateDifferences only). The bound 1e-9 relative: the naive sums lose
// about u·|f|/|Σ w f| ≈ 1e-16/ε² ≈ 1e-12 at ε = 0.01 (the step below),
// with room for the tanh rules' own roundings.
func TestEvaluators(t *testing.T) {
	const n, d = 6, 4
	l := newTanhLayer(tensor.Float64, d, 5, true, 61)
	w := autodiff.Var(l.wv.T()) // a parameter, as a model's are
	f := func(x *autodiff.Value) *autodiff.Value {
		h := autodiff.Tanh(autodiff.Add(autodiff.MatMul(x, w, false, false), l.bv))
		return autodiff.Reshape(autodiff.MatMul(h, l.outv, false, false), -1)
	}
	r := rand.New(rand.NewPCG(6, 1))
	x := tensor.RandN(tensor.Float64, r, n, d)
	v := tensor.Scale(tensor.RandN(tensor.Float64, r, n, d), 0.01)
	fwd := Must(Forward(1, 2))
	naive := EvaluateNodes(f, autodiff.Const(x), autodiff.Const(v), nil, D1, D2, D1Acc4, D2Acc4, fwd)
	exact := EvaluateDifferences(f, x, v, nil, D1, D2, D1Acc4, D2Acc4, fwd)
	central, ok := EvaluateCentral(f, x, v, nil, D1, D2, D1Acc4, D2Acc4)
	if !ok {
		t.Fatal("EvaluateCentral refused stencils symmetric about 0")
	}
	if _, ok := EvaluateCentral(f, x, v, nil, D1, fwd); ok {
		t.Error("EvaluateCentral took a one-sided stencil")
	}
	if !exact.DependsOnInput() || !central.DependsOnInput() {
		t.Error("a tanh layer's differences do not depend on its input")
	}
	for i, s := range []Stencil{D1, D2, D1Acc4, D2Acc4, fwd} {
		want := naive.Apply(s).T().ToFloat64()
		if e := relErr(exact.Apply(s).T().ToFloat64(), want); e > 1e-9 {
			t.Errorf("%v: EvaluateDifferences differs from the naive sum by %.3g", s, e)
		}
		if i == 4 { // fwd: one-sided
			continue
		}
		if e := relErr(central.Apply(s).T().ToFloat64(), want); e > 1e-9 {
			t.Errorf("%v: EvaluateCentral differs from the naive sum by %.3g", s, e)
		}
	}

	// A function that ignores its input: nothing to propagate.
	c := autodiff.Const(tensor.Zeros(tensor.Float64, n))
	if EvaluateDifferences(func(*autodiff.Value) *autodiff.Value { return c }, x, v, nil, D1).DependsOnInput() {
		t.Error("a constant function's differences depend on its input")
	}

	// The arena receives the rows it allocates: the joint [x_b; Δx…] of
	// EvaluateDifferences, and EvaluateCentral's scaled directions for
	// D2Acc4's node 2.
	var arena tensor.Arena
	EvaluateDifferences(f, x, v, &arena, D2)
	EvaluateCentral(f, x, v, &arena, D2Acc4)
	if arena.Len() != 2 {
		t.Errorf("the arena holds %d tensors, want 2", arena.Len())
	}
	arena.Release()
}
