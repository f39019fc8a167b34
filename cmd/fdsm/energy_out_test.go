package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// TestEnergyOutRefusesInputs: energy -out naming its own -in or checkpoint
// (by any spelling) is refused and the file is left as it was.
func TestEnergyOutRefusesInputs(t *testing.T) {
	dir := t.TempDir()
	run := trainToy(t, dir, "run")
	x := tensor.RandN(tensor.Float64, rand.New(rand.NewPCG(1, 2)), 4, 2)
	if err := tensor.SaveNpy(filepath.Join(dir, "x.npy"), x); err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(run, nn.CheckpointName)
	for _, target := range []string{"x.npy", "./x.npy", ckpt, filepath.Join(run, ".", nn.CheckpointName)} {
		path := target
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		fails(t, dir, []string{"-out " + target, "refusing to write over it"}, "energy", "-ckpt", run, "-in", "x.npy", "-out", target)
		if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
			t.Errorf("-out %s: the input was changed", target)
		}
	}
	ok(t, dir, "energy", "-ckpt", run, "-in", "x.npy", "-out", "e.npy") // a new file is fine
}
