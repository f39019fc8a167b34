package autodiff

import (
	"math/rand/v2"
	"testing"

	"github.com/fdsm/fdsm/tensor"
)

// TestFootprintCountsAux: the graph's footprint includes what a node keeps
// for its backward pass besides its value (its aux: the softplus σ and e^−y
// of a Dense joint), and the stats of a releasing Grad account for it.
func TestFootprintCountsAux(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	w := Var(tensor.RandN(tensor.Float32, rng, 8, 5))
	b := Var(tensor.RandN(tensor.Float32, rng, 8))
	x := Const(tensor.RandN(tensor.Float32, rng, 4, 5))
	dx := Const(tensor.Scale(tensor.RandN(tensor.Float32, rng, 4, 5), 0.01))
	_, d := Delta(func(z *Value) *Value { return Dense(z, w, b, tensor.ActSoftplus) }, x, []*Value{dx})
	var withAux *Value
	seen := map[*Value]bool{}
	var walk func(v *Value)
	walk = func(v *Value) {
		if v == nil || seen[v] {
			return
		}
		seen[v] = true
		if v.aux != nil {
			withAux = v
		}
		for _, in := range v.inputs {
			walk(in)
		}
	}
	walk(d[0])
	if withAux == nil {
		t.Fatal("no node of the softplus Dense joint keeps an aux")
	}
	auxBytes := int64(0)
	for _, a := range withAux.aux.tensors() {
		auxBytes += int64(a.Bytes())
	}
	full := Footprint(d[0])
	aux := withAux.aux
	withAux.aux = nil
	without := Footprint(d[0])
	withAux.aux = aux
	if full-without != auxBytes {
		t.Errorf("footprint with the aux %d, without %d: differ by %d, want the aux's %d bytes", full, without, full-without, auxBytes)
	}
	y := Sum(d[0])
	want := Footprint(y)
	var st GradStats
	Grad(y, []*Value{w, b}, ReleaseGraph(), TrackStats(&st))
	if st.GraphBytes != want || want != full+int64(y.t.Bytes()) {
		t.Errorf("GradStats.GraphBytes %d, want the footprint %d (%d and the sum's %d bytes)", st.GraphBytes, want, full, y.t.Bytes())
	}
}
