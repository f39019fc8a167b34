package autodiff

import (
	"math/rand/v2"
	"testing"

	"github.com/fdsm/fdsm/tensor"
)

// TestJet1FirstOrderOnly: under Jet1 the fused layers make only the K
// first-order rows, not 2K rows of which the second half is thrown away
// (the second-order work and memory Jet1 exists to avoid): the joint Dense
// node (weights fixed) and the activation node of a layer whose weights
// move with x.
func TestJet1FirstOrderOnly(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	const k, n = 2, 4
	w1, w2 := Var(tensor.RandN(tensor.Float64, rng, 6, 3)), Var(tensor.RandN(tensor.Float64, rng, 1, 6))
	fixed := func(x *Value) *Value { return Dense(Dense(x, w1, nil, tensor.ActSoftplus), w2, nil, tensor.ActNone) }
	moving := func(x *Value) *Value {
		w := Add(w1, BroadcastTo(Reshape(Sum(x), 1, 1), 6, 3))
		return Dense(x, w, nil, tensor.ActSoftplus)
	}
	x := Const(tensor.RandN(tensor.Float64, rng, n, 3))
	vs := []*Value{Const(tensor.RandN(tensor.Float64, rng, n, 3)), Const(tensor.RandN(tensor.Float64, rng, n, 3))}
	for _, c := range []struct {
		name string
		f    func(*Value) *Value
		prim *primitive
		rows int
	}{{"fixed", fixed, &denseJetP, (1 + k) * n}, {"moving", moving, &jetActP, k}} {
		_, d1 := Jet1(c.f, x, vs)
		found := 0
		for _, v := range graphNodes(d1[0]) {
			if v.prim == c.prim {
				found++
				if v.Dim(0) != c.rows {
					t.Errorf("%s: %s node %v under Jet1 with K = %d, want %d leading rows", c.name, c.prim.name, v.Shape(), k, c.rows)
				}
			}
		}
		if found == 0 {
			t.Errorf("%s: no %s node", c.name, c.prim.name)
		}
	}
}

// graphNodes returns every value the graph of v reaches, v included.
func graphNodes(v *Value) []*Value {
	seen := map[*Value]bool{}
	var out []*Value
	stack := []*Value{v}
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[u] {
			continue
		}
		seen[u] = true
		out = append(out, u)
		stack = append(stack, u.inputs...)
	}
	return out
}

// TestJetConstJoint: with a constant point and directions the input joint
// is built once as a constant (constJoint), so the graph holds the input
// rows once: no ConcatRows node copies x and the directions at the first
// Dense layer.
func TestJetConstJoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(57, 58))
	w1, w2 := Var(tensor.RandN(tensor.Float64, rng, 6, 3)), Var(tensor.RandN(tensor.Float64, rng, 1, 6))
	f := func(x *Value) *Value { return Dense(Dense(x, w1, nil, tensor.ActTanh), w2, nil, tensor.ActNone) }
	x := Const(tensor.RandN(tensor.Float64, rng, 4, 3))
	v := Const(tensor.RandN(tensor.Float64, rng, 4, 3))
	_, d1, d2 := Jet2(f, x, []*Value{v})
	for _, u := range graphNodes(Add(d1[0], d2[0])) {
		if u.prim == &concatP {
			t.Errorf("the graph copies %v rows by ConcatRows", u.Shape())
		}
	}
}

// TestJetReleasesDead: the recorded layers of f that the joint Dense nodes
// replace are released on return (their storage goes back to the pool for
// the next step), while the results stay right (TestJetParamGrad).
func TestJetReleasesDead(t *testing.T) {
	// f ends in its last Dense layer, or, as sm's log p of an MLP energy
	// does, goes on through Reshape and Neg (batch-separable: the jet's
	// joint must continue through them, or f's layers stay alive as y's).
	for _, tail := range []string{"Dense", "Dense+Reshape+Neg"} {
		rng := rand.New(rand.NewPCG(59, 60))
		w1, w2 := Var(tensor.RandN(tensor.Float64, rng, 6, 3)), Var(tensor.RandN(tensor.Float64, rng, 1, 6))
		var hidden *Value
		f := func(x *Value) *Value {
			hidden = Dense(x, w1, nil, tensor.ActSoftplus)
			y := Dense(hidden, w2, nil, tensor.ActNone)
			if tail != "Dense" {
				y = Neg(Reshape(y, -1))
			}
			return y
		}
		x := Const(tensor.RandN(tensor.Float64, rng, 4, 3))
		v := Const(tensor.RandN(tensor.Float64, rng, 4, 3))
		y, d1, d2 := Jet2(f, x, []*Value{v})
		if hidden.t != nil {
			t.Errorf("%s: f's hidden layer %v is still held after Jet2", tail, hidden.Shape())
		}
		if d1[0].t == nil || d2[0].t == nil || y.t == nil {
			t.Fatalf("%s: Jet2's results were released", tail)
		}
		if want := f(Var(x.t)); relErrT(y.t, want.t) != 0 {
			t.Errorf("%s: y differs from f(x)", tail)
		}
	}
}

// relErrT is max|a − b| over max|b| (absolute when b is zero).
func relErrT(a, b *tensor.Tensor) float64 {
	x, y := a.ToFloat64(), b.ToFloat64()
	var num, den float64
	for i := range y {
		num = max(num, abs64(x[i]-y[i]))
		den = max(den, abs64(y[i]))
	}
	if den == 0 {
		return num
	}
	return num / den
}

func abs64(v float64) float64 { return max(v, -v) }
