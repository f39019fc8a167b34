package autodiff

import (
	"math/rand/v2"
	"testing"

	"github.com/fdsm/fdsm/tensor"
)

// TestJet1FirstOrderOnly: under Jet1 the fused layers' activation nodes
// make only the K first-order rows, not 2K rows of which the second half
// is thrown away (the second-order work and memory Jet1 exists to avoid).
func TestJet1FirstOrderOnly(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	const k = 2
	w1, w2 := Var(tensor.RandN(tensor.Float64, rng, 6, 3)), Var(tensor.RandN(tensor.Float64, rng, 1, 6))
	f := func(x *Value) *Value { return Dense(Dense(x, w1, nil, tensor.ActSoftplus), w2, nil, tensor.ActNone) }
	x := Const(tensor.RandN(tensor.Float64, rng, 4, 3))
	vs := []*Value{Const(tensor.RandN(tensor.Float64, rng, 4, 3)), Const(tensor.RandN(tensor.Float64, rng, 4, 3))}
	_, d1 := Jet1(f, x, vs)
	acts := 0
	for _, v := range graphNodes(d1[0]) {
		if v.prim == &jetActP {
			acts++
			if v.Dim(0) != k {
				t.Errorf("jetAct node %v under Jet1 with K = %d, want %d leading rows", v.Shape(), k, k)
			}
		}
	}
	if acts != 1 {
		t.Fatalf("found %d jetAct nodes, want 1", acts)
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
