package data_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/tensor"
)

func ExampleNewToy() {
	toy, err := data.NewToy("8gaussians")
	if err != nil {
		panic(err)
	}
	x := toy.Sample(tensor.Float32, rand.New(rand.NewPCG(1, 2)), 1000)
	fmt.Println(x.Shape())
	// The mixture's density is known, so a model's log-likelihood can be
	// compared with the truth's: here at the mixture's centre.
	lp := toy.(data.Density).LogDensity(tensor.FromFloat64(tensor.Float64, []float64{0, 0}, 1, 2))
	fmt.Printf("log p(0, 0) = %.2f\n", lp[0])
	// Output:
	// [1000 2]
	// log p(0, 0) = -31.76
}

func ExampleUCISplitSizes() {
	// The red wine table has 1599 rows.
	train, val, test := data.UCISplitSizes(1599)
	fmt.Println(train, val, test)
	// Output: 1296 144 159
}
