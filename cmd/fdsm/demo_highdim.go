package main

import (
	"flag"
	"fmt"
)

import ()

// highDimFlags are the demo's flags for the high-dimensional comparison.
type highDimFlags struct {
	on    *bool
	steps *int
	mnist *string
}

// addHighDimFlags defines the high-dimensional comparison's flags on fs.
func addHighDimFlags(fs *flag.FlagSet) *highDimFlags {
	return &highDimFlags{
		on: fs.Bool("highdim", true, "after the 2-D table, time the four objectives on a 784-512-512-1 MLP energy (batch 128, float32), where FD's speed-up shows"),
		// 40 steps: a few dozen, enough for a stable median, about 2 s on two idle cores.
		steps: fs.Int("highdim-steps", 40, "training steps per objective of the high-dimensional comparison"),
		mnist: fs.String("mnist", defaultMNISTDir(), "MNIST directory for the high-dimensional comparison (synthetic data of the same shape when MNIST is not there; fetch it with 'fdsm data mnist')"),
	}
}

// check validates the flags; steps is the -highdim-steps value to use (the
// -quick default when the flag was not given).
func (f *highDimFlags) check(fs *flag.FlagSet, quick bool) (steps int, err error) {
	steps = *f.steps
	given := false
	fs.Visit(func(fl *flag.Flag) { given = given || fl.Name == "highdim-steps" })
	if quick && !given {
		steps = 3
	}
	if steps < 1 {
		return 0, usageError{fmt.Sprintf("-highdim-steps %d: want at least 1", steps)}
	}
	return steps, nil
}
