package main

import (
	"flag"
	"fmt"
	"github.com/fdsm/fdsm/bench/experiment"
	"github.com/fdsm/fdsm/data"
	"io"
)

import ()

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
	fs := newFlags("demo", demoSynopsis, errw)
	outFl := addOutFlags(fs, "demo", "the pictures")
	toyName := fs.String("toy", "8gaussians", "the distribution, a toy with a known density: 8gaussians, 2gaussians, rings or checkerboard")
	width := fs.Int("width", 64, "hidden width of the 2-w-w-1 MLP")
	steps := fs.Int("steps", 600, "training steps per objective")
	batch := fs.Int("batch", 128, "rows per step")
	lr := fs.Float64("lr", 1e-2, "Adam learning rate, annealed by a cosine to lr/100")
	seed := fs.Uint64("seed", 1, "seed of the initialisation, the data, the minibatches and the objectives' randomness")
	asJSON := fs.Bool("json", false, "print JSON lines instead of the table: one object per objective, then one with the true log-likelihood and the files written, then one per objective of the high-dimensional comparison (\"kind\": \"highdim\")")
	sigma := fs.Float64("sigma", 0.2, "DSM noise level σ (the DSM-trained models fit the data convolved with N(0, σ²I))")
	hdFlags := addHighDimFlags(fs)
	// -quick (for the tests: small grids, few samples) is left out of -h.
	shown := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.VisitAll(func(f *flag.Flag) { shown.Var(f.Value, f.Name, f.Usage) })
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: fdsm %s\n\n", demoSynopsis)
		shown.SetOutput(fs.Output())
		shown.PrintDefaults()
	}
	quick := fs.Bool("quick", false, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *width < 1 || *width > 4096:
		return usageError{fmt.Sprintf("-width %d: want 1…4096", *width)}
	case *steps < 1:
		return usageError{fmt.Sprintf("-steps %d: want at least 1", *steps)}
	case *batch < 1 || *batch > 1<<16:
		return usageError{fmt.Sprintf("-batch %d: want 1…%d", *batch, 1<<16)}
	case !(*sigma > 0):
		return usageError{fmt.Sprintf("-sigma %g: want a positive noise level", *sigma)}
	case !(*lr > 0):
		return usageError{fmt.Sprintf("-lr %g: want a positive learning rate", *lr)}
	}
	hdSteps, err := hdFlags.check(fs, *quick)
	if err != nil {
		return err
	}
	toy, err := data.NewToy(*toyName)
	_, ok := toy.(data.Density)
	if err != nil || !ok {
		return usageError{fmt.Sprintf("-toy %q: want a toy with a known density: 8gaussians, 2gaussians, rings or checkerboard", *toyName)}
	}
	return experiment.Demo(experiment.DemoConfig{
		Toy: *toyName, Width: *width, Steps: *steps, Batch: *batch, LR: *lr, Seed: *seed, JSON: *asJSON, Sigma: *sigma, Quick: *quick, HighDimSteps: hdSteps, Out: *outFl.dir, Force: *outFl.force, HighDim: *hdFlags.on, MNIST: *hdFlags.mnist, Progress: errw,
	}, out)
}
