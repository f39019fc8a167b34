package experiment_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/fdsm/fdsm/bench/experiment"
)

// Run the toys experiment from Go: the command's defaults, cut down to SSM
// and FD-SSM on the rings, 20 steps each. The report (a markdown table of
// log-likelihoods and times) goes to the writer; the density images into
// Out.
func ExampleToys() {
	dir, err := os.MkdirTemp("", "toys")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	c := experiment.DefaultToysConfig()
	c.Toys, c.Objectives = []string{"rings"}, []string{"ssm", "fd-ssm"}
	c.Steps, c.Width, c.Batch, c.Panel, c.Grid = 20, 8, 64, 16, 20
	c.Out, c.Force = dir, true
	err = experiment.Toys(c, io.Discard)
	if err != nil {
		panic(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	for _, f := range files {
		fmt.Println(filepath.Base(f))
	}
	// Output: density-rings.png
}
