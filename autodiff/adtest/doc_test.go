package adtest_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/autodiff/adtest"
	"github.com/fdsm/fdsm/tensor"
)

// Check a composite function to order 3.
func ExampleCheck() {
	rng := rand.New(rand.NewPCG(1, 1))
	x := tensor.RandN(tensor.Float64, rng, 2, 3)
	f := func(xs []*ad.Value) *ad.Value { return ad.Softplus(ad.Mul(xs[0], ad.Tanh(xs[0]))) }
	fmt.Println(adtest.Check(f, []*tensor.Tensor{x}, 3, nil))
	// Output: <nil>
}

func TestCheckRejectsFloat32(t *testing.T) {
	x := tensor.Zeros(tensor.Float32, 2)
	err := adtest.Check(func(xs []*ad.Value) *ad.Value { return ad.Sum(xs[0]) }, []*tensor.Tensor{x}, 1, nil)
	if err == nil || !strings.Contains(err.Error(), "float64") {
		t.Fatalf("got %v, want an error about float64 inputs", err)
	}
}

// A function that modifies its input in place must be reported.
func TestCheckDetectsMutation(t *testing.T) {
	x := tensor.FromFloat64(tensor.Float64, []float64{1, 2})
	f := func(xs []*ad.Value) *ad.Value {
		xs[0].T().Set(0, xs[0].T().At(0)+1)
		return ad.Sum(xs[0])
	}
	if err := adtest.Check(f, []*tensor.Tensor{x}, 1, nil); err == nil {
		t.Fatal("Check accepted a function that modifies its input")
	}
}
