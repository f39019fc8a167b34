package nn_test

import (
	"fmt"
	"log"
	"math"
	"math/rand/v2"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// Train a 2-D energy model with finite-difference sliced score matching on
// a mixture of two Gaussians. The FD-SSM loss estimates the score-matching
// loss J = E[½‖s_θ − s‖²] − ½E‖s‖², whose minimum −½E‖s‖² is about −4 here
// (each component has ‖s‖² ≈ d/σ² = 8); an untrained model sits near 0.
func Example_train() {
	src := rand.NewPCG(1, 2) // all randomness: initialisation, data, projections
	model := nn.NewMLP(tensor.Float32, []int{2, 32, 32, 1}, nn.Softplus, rand.New(src))
	sample := func(r *rand.Rand, n int) *tensor.Tensor { // N((±2, 0), 0.5²I), equal weights
		x := tensor.Zeros(tensor.Float32, n, 2)
		for i := range n {
			x.Set(2*i, float64(4*r.IntN(2)-2)+0.5*r.NormFloat64())
			x.Set(2*i+1, 0.5*r.NormFloat64())
		}
		return x
	}
	eval := func() float64 { // a fixed, large evaluation batch
		r := rand.New(rand.NewPCG(7, 7))
		return sm.FDSSM(model, sample(r, 4096), &sm.Options{Rand: r}).Item()
	}
	before := eval()
	_, err := nn.Train(nn.TrainConfig{
		Model: model,
		Loss: func(_ int, r *rand.Rand) *ad.Value {
			return sm.FDSSM(model, sample(r, 128), &sm.Options{Rand: r})
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
