package main

import (
	"fmt"
	"github.com/fdsm/fdsm/bench/experiment"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"io"
	"math"
	"strings"
)

const niceSynopsis = `experiment nice [-minutes M | -steps N] [-width W] [-objectives LIST] [-out DIR [-force]] [-json]

NICE (Dinh et al., 2014) on MNIST in logit space, as in the paper's NICE
table: pixels are dequantised to (k + u)/256 and mapped to
y = logit(λ + (1 − 2λ)x), λ = 1e-6. The same initialisation is trained, on
the same minibatches, by each objective; MLE (the negative mean exact
log-likelihood) is the reference. Each objective runs for -steps steps or,
with -minutes, until that much training time has passed (-steps then caps
it).

Reported per objective: the exact test log-likelihood on the 10000 test
images, in nats per image in pixel space (the logit transform's
log-determinant included, so it is the density of the dequantised pixels in
[0, 1]^784) and as bits/dim on the 0…255 scale (−LL/(784·ln 2) + 8); the
exact SM loss in logit space on -sm-rows test images (784 backward passes per
batch); the median time of a training step; and the largest peak tensor
memory of a step (graph plus cotangents, released as the backward pass
goes). DIR receives learning-curve.svg: the test log-likelihood of the first
-curve-rows test images against training wall-clock time (evaluation time
excluded).

Flags:`

func expNICE(args []string, out, errw io.Writer) error {
	fs := newFlags("experiment nice", niceSynopsis, errw)
	mnistDir := fs.String("mnist", defaultMNISTDir(), "MNIST directory (fetched if missing)")
	objs := fs.String("objectives", "ssm,ssm-vr,dsm,fd-ssm,mle", "comma-separated objectives: some of "+strings.Join(experiment.NICEObjectives(), ","))
	steps := fs.Int("steps", 1000, "training steps per objective (with -minutes: the cap)")
	minutes := fs.Float64("minutes", 0, "training time per objective in minutes (0: run -steps)")
	width := fs.Int("width", 256, "hidden width of each coupling network (the paper's NICE: 1000)")
	depth := fs.Int("depth", 2, "hidden layers of each coupling network (the paper's NICE: 5)")
	couplings := fs.Int("couplings", 4, "coupling layers (the paper's NICE: 4)")
	batch := fs.Int("batch", 128, "rows per step")
	lr := fs.Float64("lr", 1e-3, "Adam learning rate (constant)")
	sigma := fs.Float64("sigma", sm.DefaultSigma, "DSM noise level σ, in logit space")
	smRows := fs.Int("sm-rows", 100, "test images for the exact SM loss")
	curveRows := fs.Int("curve-rows", 1000, "test images for the learning curve's log-likelihood")
	points := fs.Int("points", 25, "points of each learning curve")
	seed := fs.Uint64("seed", 1, "seed of the initialisation, minibatches, dequantisation and objectives' randomness")
	outFl := addOutFlags(fs, "nice", "learning-curve.svg")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the table")
	if err := parse(fs, args); err != nil {
		return err
	}
	list, err := parseObjectiveList("objectives", *objs, experiment.NICEObjectives())
	if err != nil {
		return err
	}
	switch {
	case *steps < 1:
		return usageError{fmt.Sprintf("-steps %d: want at least 1", *steps)}
	case !(*minutes >= 0) || math.IsInf(*minutes, 0):
		return usageError{fmt.Sprintf("-minutes %g: want a finite time ≥ 0", *minutes)}
	case *width < 1 || *width > 4096:
		return usageError{fmt.Sprintf("-width %d: want 1…4096", *width)}
	case *depth < 1 || *depth > 16:
		return usageError{fmt.Sprintf("-depth %d: want 1…16", *depth)}
	case *couplings < 1 || *couplings > nn.MaxModelCouplings:
		return usageError{fmt.Sprintf("-couplings %d: want 1…%d", *couplings, nn.MaxModelCouplings)}
	case *batch < 1 || *batch > 1<<14:
		return usageError{fmt.Sprintf("-batch %d: want 1…%d", *batch, 1<<14)}
	case !(*lr > 0) || math.IsInf(*lr, 0):
		return usageError{fmt.Sprintf("-lr %g: want a positive learning rate", *lr)}
	case !(*sigma > 0) || math.IsInf(*sigma, 0):
		return usageError{fmt.Sprintf("-sigma %g: want a positive finite noise level", *sigma)}
	case *smRows < 1 || *curveRows < 1 || *points < 2:
		return usageError{"-sm-rows and -curve-rows must be positive, -points at least 2"}
	}
	return experiment.NICE(experiment.NICEConfig{
		MNIST: *mnistDir, Steps: *steps, Minutes: *minutes, Width: *width, Depth: *depth, Couplings: *couplings, Batch: *batch, LR: *lr, Sigma: *sigma, SMRows: *smRows, CurveRows: *curveRows, Points: *points, Seed: *seed, JSON: *asJSON, Objectives: list, Out: *outFl.dir, Force: *outFl.force, Progress: errw,
	}, out)
}
