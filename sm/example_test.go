package sm_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// Train-free evaluation of FD-SSM against SSM on a fixed batch: with the same
// directions (unit rows u; FD-SSM puts them on the sphere of radius ε, SSM
// takes them at radius √d as given) the two losses agree up to O(ε²), here
// to the printed four digits at the default ε = 0.1 (relative gap 4e-5).
// FD-SSM needs three evaluations of the energy in one batch and one ordinary
// backward pass; SSM needs a backward pass and a Hessian-vector product, both
// recorded.
func Example_fdssmVersusSSM() {
	rng := rand.New(rand.NewPCG(1, 2))
	const b, d = 64, 4
	model := nn.NewMLP(tensor.Float64, []int{d, 16, 16, 1}, nn.Softplus, rng)
	x := tensor.RandN(tensor.Float64, rng, b, d)

	// One direction per sample, uniform on the unit sphere.
	u := tensor.RandN(tensor.Float64, rng, b, d)
	for i := range b {
		var ss float64
		for j := range d {
			ss += u.At(i*d+j) * u.At(i*d+j)
		}
		for j := range d {
			u.Set(i*d+j, u.At(i*d+j)/math.Sqrt(ss))
		}
	}

	fdssm := sm.FDSSM(model, x, &sm.Options{V: u}) // ε = sm.DefaultEpsSSM
	ssm := sm.SSM(model, x, &sm.Options{V: tensor.Scale(u, math.Sqrt(d))})
	fmt.Printf("FD-SSM %.4g\n", fdssm.Item())
	fmt.Printf("SSM    %.4g\n", ssm.Item())
	fmt.Printf("relative gap %.1g\n", math.Abs(fdssm.Item()-ssm.Item())/math.Abs(ssm.Item()))
	// Output:
	// FD-SSM -0.01964
	// SSM    -0.01964
	// relative gap 4e-05
}
