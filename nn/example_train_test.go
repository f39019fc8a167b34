package nn_test

import (
	"fmt"
	"log"
	"math"
	"math/rand/v2"

	"github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// Train a 2-D energy model with finite-difference sliced score matching on
// FFJORD's eight Gaussians. The FD-SSM loss estimates the score-matching
// loss J = E[½‖s_θ − s‖²] − ½E‖s‖², whose minimum −½E‖s‖² is about −8 here
// (each component has ‖s‖² ≈ d/σ² = 16, σ = √2/4); an untrained model sits
// near 0, and these 400 steps take it halfway, to −4.03. The body of this function is the README's library quick start
// (TestREADMEQuickStart keeps the two identical).
func Example_train() {
	src := rand.NewPCG(1, 2)              // all randomness: initialisation, data, projections
	toy, err := data.NewToy("8gaussians") // eight Gaussians on a circle of radius 2√2
	if err != nil {
		log.Fatal(err)
	}
	model := nn.NewMLP(tensor.Float32, []int{2, 32, 32, 1}, nn.Softplus, rand.New(src))
	eval := func() float64 { // the loss on a fixed, large batch
		r := rand.New(rand.NewPCG(7, 7))
		return sm.FDSSM(model, toy.Sample(tensor.Float32, r, 4096), &sm.Options{Rand: r}).Item()
	}
	before := eval()
	_, err = nn.Train(nn.TrainConfig{
		Model: model,
		Loss: func(_ int, r *rand.Rand) *autodiff.Value {
			x := toy.Sample(tensor.Float32, r, 128)         // a fresh batch [128, 2]
			return sm.FDSSM(model, x, &sm.Options{Rand: r}) // 3 evaluations, one batch
		},
		Optimizer: nn.NewAdam(),
		Schedule:  nn.Cosine(1e-2, 1e-4, 20),
		Steps:     400,
		Source:    src,
	})
	if err != nil {
		log.Fatal(err)
	}
	// Rounded to integers: the digits after training depend on the last
	// bits of floating-point arithmetic.
	fmt.Printf("FD-SSM loss before %d, after %d\n", int(math.Round(before)), int(math.Round(eval())))
	// Output:
	// FD-SSM loss before 0, after -4
}
