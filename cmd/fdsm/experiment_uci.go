package main

import (
	"fmt"
	"github.com/fdsm/fdsm/bench/experiment"
	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
	"io"
	"math"
)

const uciSynopsis = `experiment uci [-data red|white|both] [-seeds N] [-steps N] [-objectives LIST] [-json]

Density estimation on the UCI wine tables with a deep kernel exponential
family (DKEF, nn.DKEF), as in the paper's DKEF table. Each seed prepares the
data the paper's way (data.LoadUCI: drop "quality", dequantise, shuffle and
split off test = min(1000, N/10) and validation rows, whiten with a PCA
fitted on the training rows), builds one initialisation (inducing points
copied from training rows, bandwidths by the median heuristic), and trains it
once per objective on the same minibatches: each step fits α in closed form
on one batch and takes an Adam step on the objective of another (the
two-batch scheme of Wenliang et al., 2019). After training α is refitted on
up to 2000 training rows.

Reported, as mean ± standard deviation over the seeds: the test
log-likelihood in the whitened space, with log Z by importance sampling from
N(0, 4I) (the mean of the seeds' standard errors beside it); the exact SM
loss on the test split; and the median time of a training step (fit, loss,
backward pass and update). The validation split is not used (no early
stopping): every run trains for -steps.

Flags:`

func expUCI(args []string, out, errw io.Writer) error {
	fs := newFlags("experiment uci", uciSynopsis, errw)
	which := fs.String("data", "both", "wine table: red, white or both")
	dir := fs.String("dir", data.DefaultDir("uci"), "directory holding winequality-red.csv and winequality-white.csv, comma-separated (EXPERIMENTS.md: The UCI data)")
	seeds := fs.Int("seeds", 3, "number of seeds (data split, initialisation and minibatches each)")
	seed := fs.Uint64("seed", 1, "first seed; the runs use seed, seed+1, …")
	steps := fs.Int("steps", 500, "training steps per run")
	batch := fs.Int("batch", 100, "rows per step, for the loss and again for fitting α")
	lr := fs.Float64("lr", 1e-2, "Adam learning rate, annealed by a cosine to lr/10")
	objs := fs.String("objectives", "ssm,ssm-vr,fd-ssm", "comma-separated objectives: some of ssm, ssm-vr, fd-ssm, sm, dsm, fd-dsm")
	inducing := fs.Int("inducing", 100, "DKEF inducing points")
	width := fs.Int("width", 30, "width of the two hidden layers of DKEF's feature network")
	isSamples := fs.Int("is-samples", 100000, "importance samples for log Z (the paper's code draws 10⁶)")
	dtName := fs.String("dtype", "float32", "float32 or float64")
	fdModeName := fs.String("fd-mode", "auto", "FD evaluation: auto (stable in float32), naive or stable")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the tables")
	if err := parse(fs, args); err != nil {
		return err
	}
	dt, err := tensor.ParseDType(*dtName)
	if err != nil {
		return usageError{fmt.Sprintf("-dtype %q: want float32 or float64", *dtName)}
	}
	fdMode, err := sm.ParseFDMode(*fdModeName)
	if err != nil {
		return usageError{fmt.Sprintf("-fd-mode: %v", err)}
	}
	var tables []string
	switch *which {
	case "red", "white":
		tables = []string{*which}
	case "both":
		tables = []string{"red", "white"}
	default:
		return usageError{fmt.Sprintf("-data %q: want red, white or both", *which)}
	}
	list, err := parseObjectiveList("objectives", *objs, experiment.UCIObjectives())
	if err != nil {
		return err
	}
	switch {
	case *seeds < 1 || *seeds > 100:
		return usageError{fmt.Sprintf("-seeds %d: want 1…100", *seeds)}
	case *steps < 1:
		return usageError{fmt.Sprintf("-steps %d: want at least 1", *steps)}
	case *batch < 2 || *batch > 1<<16:
		return usageError{fmt.Sprintf("-batch %d: want 2…%d", *batch, 1<<16)}
	case !(*lr > 0) || math.IsInf(*lr, 0):
		return usageError{fmt.Sprintf("-lr %g: want a positive learning rate", *lr)}
	case *inducing < 1 || *inducing > nn.MaxModelInducing:
		return usageError{fmt.Sprintf("-inducing %d: want 1…%d", *inducing, nn.MaxModelInducing)}
	case *width < 1 || *width > 4096:
		return usageError{fmt.Sprintf("-width %d: want 1…4096", *width)}
	case *isSamples < 2:
		return usageError{fmt.Sprintf("-is-samples %d: want at least 2", *isSamples)}
	}
	return experiment.UCI(experiment.UCIConfig{
		Dir: *dir, Seeds: *seeds, Seed: *seed, Steps: *steps, Batch: *batch, LR: *lr, Inducing: *inducing, Width: *width, ISSamples: *isSamples, JSON: *asJSON, Objectives: list, Tables: tables, DType: dt, FDMode: fdMode, Progress: errw,
	}, out)
}
