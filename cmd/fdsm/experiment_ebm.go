package main

import (
	"fmt"
	"github.com/fdsm/fdsm/bench/experiment"
	"github.com/fdsm/fdsm/sm"
	"io"
	"math"
	"strconv"
	"strings"
)

const ebmSynopsis = `experiment ebm [-minutes M] [-objectives LIST] [-width W] [-n N] [-out DIR [-force]] [-json]

The deep EBM on MNIST, as in the poster's "generated results of deep EBM"
panel: an energy E(x) on dequantised pixels in [0, 1] is trained from the
same initialisation, on the same minibatches, by each objective for the same
training wall-clock time (-minutes; -steps caps it), then sampled, and the
samples are scored by fdsm quality's LeNet (FID-MNIST against the test set,
the share of samples classified with confidence ≥ 0.9, the share of the
rarest digit).

The energy is the softplus MLP 784-W-W-1 of fdsm train -model mlp, for
cost: on two CPU cores a DSM step of the 1024-wide MLP on 128 images takes
about 16 ms, one of the ResNet energy on 32 images about 170 ms, and drawing
1000 samples by 1000 Langevin steps costs a million model gradients more.
W must be at least 784: the score of an MLP energy lies in the row space of
its first layer, so a narrower net has no restoring force in the other
directions and Langevin dynamics diffuse freely along them. DSM at one
noise level σ = 0.3 and walk-jump sampling (the sampler fdsm train records
for DSM: 1000 steps of 0.5·σ² on the smoothed density from uniform noise,
then the jump y + σ²·s(y)) drew the first digits (EXPERIMENTS.md section 3
has the recipes tried). MDSM and FD-MDSM are sampled by the MDSM reference
sampler, SSM and FD-SSM by plain Langevin, as fdsm train records them;
-walk-steps, -walk-size and -walk-temperature override the walk of DSM and
FD-DSM.

DIR receives, per objective, the checkpoint OBJ.safetensors (parameters
only, no optimizer state) recording the sampler used, so that
'fdsm sample -ckpt DIR/OBJ.safetensors -n N -out s.npy' followed by
'fdsm quality -in s.npy' reproduces the table's figures; the 8×8 sample
grid samples-OBJ.png as fdsm sample draws it; and learning-curve.svg, the
exact SM loss on the -curve-rows first test images against training
wall-clock time (evaluation time excluded).

With -parallel (the default) the objectives train at the same time, one
goroutine each, so that they share whatever load the machine carries; the
time per step then counts that sharing.

Flags:`

func expEBM(args []string, out, errw io.Writer) error {
	fs := newFlags("experiment ebm", ebmSynopsis, errw)
	mnistDir := fs.String("mnist", defaultMNISTDir(), "MNIST directory (fetched if missing)")
	objs := fs.String("objectives", "dsm,fd-dsm", "comma-separated objectives: some of "+strings.Join(experiment.EBMObjectives(), ","))
	minutes := fs.Float64("minutes", 30, "training time per objective in minutes (0: run -steps)")
	steps := fs.Int("steps", 1_000_000, "training steps per objective (with -minutes: the cap)")
	width := fs.Int("width", 1024, "hidden width of the softplus MLP energy 784-w-…-w-1 (at least 784, so that the score can span every direction)")
	depth := fs.Int("depth", 2, "hidden layers of the MLP energy")
	batch := fs.Int("batch", 128, "rows per step")
	lr := fs.Float64("lr", 1e-3, "Adam learning rate, annealed by a cosine to lr/10 over the budget (of time with -minutes, else of steps)")
	sigma := fs.Float64("sigma", 0.3, "DSM and FD-DSM noise level σ (pixels in [0, 1])")
	n := fs.Int("n", 1000, "samples drawn from each model and scored")
	walkSteps := fs.Int("walk-steps", 0, "DSM, FD-DSM: Langevin steps of the walk (0: fdsm train's default, 1000)")
	walkSize := fs.Float64("walk-size", 0, "DSM, FD-DSM: the walk's step size (0: fdsm train's default, 0.5·σ²)")
	walkTemp := fs.String("walk-temperature", "none", "DSM, FD-DSM: the walk's temperature, as fdsm sample's -temperature: none (T = 1), mdsm or mdsm:TMAX,TMIN")
	smRows := fs.Int("sm-rows", 100, "test images for the exact SM loss of the table")
	curveRows := fs.Int("curve-rows", 10, "test images for the learning curve's exact SM loss")
	points := fs.Int("points", 10, "points of each learning curve")
	parallel := fs.Bool("parallel", true, "train the objectives at the same time (false: one after the other)")
	seed := fs.Uint64("seed", 1, "seed of the initialisation, minibatches, noise and samples")
	outFl := addOutFlags(fs, "ebm", "the checkpoints, sample grids and learning-curve.svg")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the table")
	if err := parse(fs, args); err != nil {
		return err
	}
	list, err := parseObjectiveList("objectives", *objs, experiment.EBMObjectives())
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
	case *depth < 1 || *depth > 8:
		return usageError{fmt.Sprintf("-depth %d: want 1…8", *depth)}
	case *batch < 1 || *batch > 1<<14:
		return usageError{fmt.Sprintf("-batch %d: want 1…%d", *batch, 1<<14)}
	case !(*lr > 0) || math.IsInf(*lr, 0):
		return usageError{fmt.Sprintf("-lr %g: want a positive learning rate", *lr)}
	case !(*sigma > 0) || math.IsInf(*sigma, 0):
		return usageError{fmt.Sprintf("-sigma %g: want a positive finite noise level", *sigma)}
	case *n < 2 || *n > 1<<16:
		return usageError{fmt.Sprintf("-n %d: want 2…%d samples (the Fréchet distance needs a covariance)", *n, 1<<16)}
	case *walkSteps < 0 || !(*walkSize >= 0) || math.IsInf(*walkSize, 0):
		return usageError{"-walk-steps and -walk-size must be ≥ 0 (0: the default)"}
	case *smRows < 1 || *curveRows < 1 || *points < 2:
		return usageError{"-sm-rows and -curve-rows must be positive, -points at least 2"}
	}
	// -walk-temperature as fdsm sample will read it from the checkpoint.
	if _, _, err := sm.ParseTemperature(*walkTemp); err != nil {
		return usageError{"-walk-temperature " + err.Error()}
	}
	return experiment.EBM(experiment.EBMConfig{
		MNIST: *mnistDir, Minutes: *minutes, Steps: *steps, Width: *width, Depth: *depth, Batch: *batch, LR: *lr, Sigma: *sigma, N: *n, WalkSteps: *walkSteps, WalkSize: *walkSize, WalkTemperature: *walkTemp, SMRows: *smRows, CurveRows: *curveRows, Points: *points, Parallel: *parallel, Seed: *seed, JSON: *asJSON, Objectives: list, Out: *outFl.dir, Force: *outFl.force, Progress: errw,
		Sample: func(ckpt string, n int, seed uint64, file string, said, progress io.Writer) error {
			return cmdSample([]string{"-ckpt", ckpt, "-n", strconv.Itoa(n), "-seed", strconv.FormatUint(seed, 10), "-out", file}, said, progress)
		},
	}, out)
}
