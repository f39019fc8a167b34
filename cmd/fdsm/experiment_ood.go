package main

import (
	"fmt"
	"github.com/fdsm/fdsm/bench/experiment"
	"io"
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
	c := experiment.DefaultOODConfig()
	fs := newFlags("experiment ood", oodSynopsis, errw)
	c.RegisterFlags(fs)
	in := fs.String("in", "0,1,2,3,4", "comma-separated in-distribution digits; the others are held out")
	objs := fs.String("objectives", strings.Join(c.Objectives, ","), "comma-separated objectives: some of dsm, fd-dsm, sliced-dsm (FD-DSM's gradient-based counterpart, same directions), ssm, fd-ssm, mdsm, fd-mdsm")
	if err := parse(fs, args); err != nil {
		return err
	}
	c.In = nil
	for _, f := range strings.Split(*in, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 0 || v > 9 || slices.Contains(c.In, uint8(v)) {
			return usageError{fmt.Sprintf("-in %q: want distinct digits 0…9, comma-separated", *in)}
		}
		c.In = append(c.In, uint8(v))
	}
	c.Objectives, c.Progress = splitList(*objs), errw
	return configError(experiment.OOD(c, out))
}
