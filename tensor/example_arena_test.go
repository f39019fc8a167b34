package tensor_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/fdsm/fdsm/tensor"
)

// An Arena collects what one step of a loop allocates and hands it back
// at the end of the step, so that the next step's allocations of the same
// sizes reuse that storage instead of the heap.
func ExampleArena() {
	rng := rand.New(rand.NewPCG(1, 2))
	var arena tensor.Arena
	var total float64
	for range 3 {
		noise := arena.Add(tensor.RandN(tensor.Float32, rng, 256, 64))
		shifted := arena.Add(tensor.AddScalar(noise, 1))
		total += tensor.Mean(shifted).Item()
		fmt.Println("recorded:", arena.Len())
		arena.Release() // noise and shifted must not be used from here on
	}
	fmt.Printf("mean near 1: %v\n", total/3 > 0.95 && total/3 < 1.05)
	// Output:
	// recorded: 2
	// recorded: 2
	// recorded: 2
	// mean near 1: true
}
