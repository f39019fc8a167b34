package experiment_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/fdsm/fdsm/bench/experiment"
)

// Run the toys experiment from Go with a tiny config: SSM and FD-SSM on the
// rings, 20 steps each. The report (a markdown table of log-likelihoods
// and times) goes to the writer; the density images into Out.
func ExampleToys() {
	dir, err := os.MkdirTemp("", "toys")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	err = experiment.Toys(experiment.ToysConfig{
		Toys: []string{"rings"}, Objectives: []string{"ssm", "fd-ssm"},
		Steps: 20, Width: 8, Batch: 64, LR: 1e-2, Sigma: 0.1, Panel: 16, Grid: 20, Seed: 1,
		Out: dir, Force: true,
	}, io.Discard)
	if err != nil {
		panic(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	for _, f := range files {
		fmt.Println(filepath.Base(f))
	}
	// Output: density-rings.png
}
