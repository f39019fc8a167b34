package main

import (
	"github.com/fdsm/fdsm/bench/experiment"
	"io"
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
	c := experiment.DefaultNICEConfig()
	fs := newFlags("experiment nice", niceSynopsis, errw)
	c.RegisterFlags(fs)
	objs := fs.String("objectives", strings.Join(c.Objectives, ","), "comma-separated objectives: some of "+strings.Join(experiment.NICEObjectives(), ","))
	if err := parse(fs, args); err != nil {
		return err
	}
	c.Objectives, c.Progress = splitList(*objs), errw
	return configError(experiment.NICE(c, out))
}
