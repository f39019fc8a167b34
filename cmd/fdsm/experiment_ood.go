package main

import (
	"fmt"
	"github.com/fdsm/fdsm/bench/experiment"
	"github.com/fdsm/fdsm/sm"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

const oodSynopsis = `experiment ood [-in DIGITS] [-steps N] [-width W] [-objectives LIST] [-m M] [-points P] [-out DIR [-force]] [-json]

Out-of-distribution detection with an MLP energy on MNIST, as in the paper's
OOD table: the same initialisation is trained, on the same minibatches, by
DSM and by FD-DSM on the training images of the -in digits (dequantised
pixels in [0, 1]). A test image x is scored by |E(x) − Ē|, Ē the mean
energy of 2000 training images, and the AUROC measures how well the score
tells each OOD set from the in-distribution test images (1 is perfect, ½
chance). Every OOD set is made offline from MNIST itself:

  held-out digits   test images of the other digits
  uniform noise     pixels from U[0, 1)
  Gaussian noise    pixels from N(m, s²) clipped to [0, 1], m and s the
                    training pixels' mean and standard deviation
  inverted          1 − x of the in-distribution test images
  flipped l-r/u-d   the in-distribution test images mirrored
  rotated 90°       the in-distribution test images turned a quarter

DIR receives ood-sets.png, eight examples of each set, one labelled row per
set in the table's order (the in-distribution images first), and
auroc-steps.svg, the learning curve: the AUROC averaged over the OOD sets
against training steps, for each objective. It is evaluated before training
and every -steps/-points steps, on the first -curve-rows images of the test
set and of each OOD set, with Ē from the first -curve-rows of the 2000
training images (evaluation time is kept off the training clock). The
standard output adds that curve as a table; -json gives it per OOD set.

Flags:`

func expOOD(args []string, out, errw io.Writer) error {
	fs := newFlags("experiment ood", oodSynopsis, errw)
	mnistDir := fs.String("mnist", defaultMNISTDir(), "MNIST directory (fetched if missing)")
	in := fs.String("in", "0,1,2,3,4", "comma-separated in-distribution digits; the others are held out")
	objs := fs.String("objectives", "dsm,fd-dsm", "comma-separated objectives: some of dsm, fd-dsm, sliced-dsm (FD-DSM's gradient-based counterpart, same directions), ssm, fd-ssm, mdsm, fd-mdsm")
	steps := fs.Int("steps", 2000, "training steps per objective")
	projections := fs.Int("m", 1, "projections per sample of the objectives that draw them (sliced-dsm, fd-dsm, ssm, fd-ssm, fd-mdsm); DSM and MDSM draw none and ignore it")
	points := fs.Int("points", 20, "evaluations of the AUROC curve after the one before training")
	curveRows := fs.Int("curve-rows", 500, "images of the test set and of each OOD set in the AUROC curve")
	width := fs.Int("width", 512, "hidden width of the 784-w-w-1 softplus MLP energy")
	batch := fs.Int("batch", 128, "rows per step")
	lr := fs.Float64("lr", 1e-3, "Adam learning rate, annealed by a cosine to lr/10")
	sigma := fs.Float64("sigma", sm.DefaultSigma, "DSM noise level σ (pixels in [0, 1])")
	rows := fs.Int("rows", 2000, "images in the in-distribution test set and in each OOD set")
	seed := fs.Uint64("seed", 1, "seed of the initialisation, minibatches, noise and OOD sets")
	outFl := addOutFlags(fs, "ood", "ood-sets.png")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the tables")
	if err := parse(fs, args); err != nil {
		return err
	}
	var inDigits []uint8
	for _, f := range strings.Split(*in, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 0 || v > 9 || slices.Contains(inDigits, uint8(v)) {
			return usageError{fmt.Sprintf("-in %q: want distinct digits 0…9, comma-separated", *in)}
		}
		inDigits = append(inDigits, uint8(v))
	}
	list, err := parseObjectiveList("objectives", *objs, experiment.OODObjectives())
	if err != nil {
		return err
	}
	switch {
	case *steps < 1:
		return usageError{fmt.Sprintf("-steps %d: want at least 1", *steps)}
	case *width < 1 || *width > 4096:
		return usageError{fmt.Sprintf("-width %d: want 1…4096", *width)}
	case *batch < 1 || *batch > 1<<14:
		return usageError{fmt.Sprintf("-batch %d: want 1…%d", *batch, 1<<14)}
	case !(*lr > 0) || math.IsInf(*lr, 0):
		return usageError{fmt.Sprintf("-lr %g: want a positive learning rate", *lr)}
	case !(*sigma > 0) || math.IsInf(*sigma, 0):
		return usageError{fmt.Sprintf("-sigma %g: want a positive finite noise level", *sigma)}
	case *rows < 1:
		return usageError{fmt.Sprintf("-rows %d: want at least 1", *rows)}
	case *projections < 1 || *projections > 1024:
		return usageError{fmt.Sprintf("-m %d: want 1…1024 projections per sample", *projections)}
	case *points < 1:
		return usageError{fmt.Sprintf("-points %d: want at least 1", *points)}
	case *curveRows < 1:
		return usageError{fmt.Sprintf("-curve-rows %d: want at least 1", *curveRows)}
	}
	return experiment.OOD(experiment.OODConfig{
		MNIST: *mnistDir, Steps: *steps, Projections: *projections, Points: *points, CurveRows: *curveRows, Width: *width, Batch: *batch, LR: *lr, Sigma: *sigma, Rows: *rows, Seed: *seed, JSON: *asJSON, Objectives: list, In: inDigits, Out: *outFl.dir, Force: *outFl.force, Progress: errw,
	}, out)
}
