package main

import (
	"github.com/fdsm/fdsm/bench/experiment"
	"io"
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
	c := experiment.DefaultEBMConfig()
	fs := newFlags("experiment ebm", ebmSynopsis, errw)
	c.RegisterFlags(fs)
	objs := fs.String("objectives", strings.Join(c.Objectives, ","), "comma-separated objectives: some of "+strings.Join(experiment.EBMObjectives(), ","))
	if err := parse(fs, args); err != nil {
		return err
	}
	c.Objectives, c.Progress = splitList(*objs), errw
	return configError(experiment.EBM(c, out))
}
