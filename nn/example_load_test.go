package nn_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// A checkpoint names its model (Metadata.Model, a ModelSpec's String form),
// so nn.LoadModel rebuilds it from the file alone: here one saved a moment
// ago, as fdsm train would write it, whose energies come back the same.
func ExampleLoadModel() {
	dir, _ := os.MkdirTemp("", "fdsm-example")
	defer os.RemoveAll(dir)
	spec := nn.ModelSpec{Kind: nn.KindMLP, Dim: 2, Width: 16, Depth: 2, Act: nn.Softplus}
	model := spec.Build(tensor.Float64, rand.New(rand.NewPCG(1, 2)))
	path := filepath.Join(dir, nn.CheckpointName)
	if err := nn.SaveCheckpoint(path, model.Params(), nil, nn.Metadata{Model: spec.String(), DType: tensor.Float64}); err != nil {
		fmt.Println(err)
		return
	}

	loaded, got, _, err := nn.LoadModel(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	x := ad.Const(tensor.FromFloat64(tensor.Float64, []float64{0.5, -1, 2, 0}, 2, 2))
	before := model.(sm.Energy).Energy(x).T().ToFloat64()
	after := loaded.(sm.Energy).Energy(x).T().ToFloat64()
	fmt.Println(got)
	fmt.Println(before[0] == after[0] && before[1] == after[1])
	// Output:
	// mlp d=2 width=16 depth=2 act=softplus
	// true
}
