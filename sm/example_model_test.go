package sm_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// Build a model from its specification, save it as a checkpoint, load it
// back and evaluate it: the energies of the reloaded model are those of the
// saved one, and an objective's loss takes it as it comes.
func ExampleLoadModel() {
	spec := nn.ModelSpec{Kind: nn.KindMLP, Dim: 2, Width: 8, Depth: 2, Act: nn.Softplus}
	m := sm.NewModel(spec, tensor.Float64, rand.New(rand.NewPCG(1, 1)))
	dir, err := os.MkdirTemp("", "model")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, nn.CheckpointName)
	if err := nn.SaveCheckpoint(path, m.Module.Params(), nil, nn.Metadata{Model: spec.String(), DType: tensor.Float64}); err != nil {
		panic(err)
	}

	back, _, err := sm.LoadModel(path)
	if err != nil {
		panic(err)
	}
	x := tensor.RandN(tensor.Float64, rand.New(rand.NewPCG(2, 2)), 5, 2)
	same := fmt.Sprint(back.Energies(x)) == fmt.Sprint(m.Energies(x))
	obj, _ := sm.Lookup("fd-ssm")
	loss := back.Loss(obj, x, &sm.Options{Rand: rand.New(rand.NewPCG(3, 3))})
	fmt.Println("score network:", back.IsScore())
	fmt.Println("same energies:", same)
	fmt.Println("loss is a scalar:", loss.T().Len() == 1)
	// Output:
	// score network: false
	// same energies: true
	// loss is a scalar: true
}
