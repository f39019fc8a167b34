package main

import (
	"flag"
	"fmt"
	"github.com/fdsm/fdsm/bench/experiment"
	"io"
)

func init() {
	register("demo", "train one energy model four ways (SSM, FD-SSM, DSM, FD-DSM) on a 2-D toy and compare", cmdDemo)
}

const demoSynopsis = `demo [-out DIR [-force]] [flags]

fdsm's main job on built-in data, in well under a minute: the same softplus
MLP energy, from the same initialisation and on the same minibatches, is
trained by sliced score matching (SSM) and its finite-difference form (FD-SSM),
and by denoising score matching (DSM) and FD-DSM, on a 2-D distribution whose
density is known. The table compares the time per step, the peak tensor
memory of a step (the graph the backward pass keeps plus its cotangents) and,
on held-out samples, the exact score-matching loss and the log-likelihood
(log Z by quadrature on a grid). DIR (default ./fdsm-out/demo; refused if it
holds files, unless -force) receives PNGs of the true density, of each
learned density exp(−E)/Z and of Langevin samples from each model, and SVG
charts of the loss against training wall-clock time.

At d = 2 FD's speed-up does not show; a second table (-highdim) times the
four objectives on a 784-512-512-1 MLP energy, on MNIST when it is cached
(-mnist), on synthetic data of the same shape otherwise.

Flags:`

func cmdDemo(args []string, out, errw io.Writer) error {
	c := experiment.DefaultDemoConfig()
	fs := newFlags("demo", demoSynopsis, errw)
	c.RegisterFlags(fs)
	// -quick (for the tests: small grids, few samples) is left out of -h.
	shown := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.VisitAll(func(f *flag.Flag) { shown.Var(f.Value, f.Name, f.Usage) })
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: fdsm %s\n\n", demoSynopsis)
		shown.SetOutput(fs.Output())
		shown.PrintDefaults()
	}
	fs.BoolVar(&c.Quick, "quick", false, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	hdStepsGiven := false
	fs.Visit(func(f *flag.Flag) { hdStepsGiven = hdStepsGiven || f.Name == "highdim-steps" })
	if c.Quick && !hdStepsGiven {
		c.HighDimSteps = 3
	}
	c.Progress = errw
	return configError(experiment.Demo(c, out))
}
