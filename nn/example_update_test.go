package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// A hand-written training loop: nn.Update runs the backward pass of each
// step, releasing the graph as it goes, and applies Adam to each parameter
// as soon as its gradient is final; the batch and the objective's draws go
// to an arena released after the step. A steady step then takes its
// memory from buffers the previous one handed back, not from the heap.
// On N(3, 0.5²I) in 2-D the exact SM loss has its minimum at −½·d/σ² = −4;
// an untrained model sits near 0, so a fall of more than 1 is learning.
func Example_update() {
	rng := rand.New(rand.NewPCG(1, 2))
	model := nn.NewMLP(tensor.Float32, []int{2, 32, 32, 1}, nn.Softplus, rng)
	opt := nn.NewAdam()
	data := func() *tensor.Tensor { // N(3, 0.5²) in each coordinate
		return tensor.AddScalar(tensor.Scale(tensor.RandN(tensor.Float32, rng, 128, 2), 0.5), 3)
	}
	var arena tensor.Arena
	o := &sm.Options{Rand: rng, Arena: &arena}
	probe := data()
	before := sm.ExactSMLoss(model, probe, 128)
	for range 300 {
		x := arena.Add(data())
		nn.Update(sm.FDSSM(model, x, o), model.Params(), opt, 1e-2)
		arena.Release()
	}
	after := sm.ExactSMLoss(model, probe, 128)
	fmt.Printf("exact SM loss fell: %v\n", after < before-1)
	// Output: exact SM loss fell: true
}
