package main

import (
	"github.com/fdsm/fdsm/bench/experiment"
	"io"
	"strings"
)

const toysSynopsis = `experiment toys [-toys LIST] [-objectives LIST] [-steps N] [-out DIR [-force]] [-json]

Every energy objective on 2-D distributions whose density is known: for
each distribution the same softplus MLP energy 2-w-w-1, from the same
initialisation and on the same minibatches, is trained by each objective.
The table gives the log-likelihood of 2000 held-out samples (log Z by
quadrature on a grid) and the median ms per step; the true density's
log-likelihood is the last row. DIR receives density-TOY.png per
distribution: a grid of panels, the true density first, then exp(−E) of
each objective in the order of -objectives, three to a row, each titled,
with axes in the data's coordinates and a colour bar of p / max p (each
panel scaled to its own maximum). The DSM family fits the data convolved
with N(0, σ²I), so its densities are blurred by σ.

Flags:`

func expToys(args []string, out, errw io.Writer) error {
	c := experiment.DefaultToysConfig()
	fs := newFlags("experiment toys", toysSynopsis, errw)
	c.RegisterFlags(fs)
	toys := fs.String("toys", strings.Join(c.Toys, ","), "comma-separated distributions with a known density: 8gaussians, 2gaussians, rings, checkerboard")
	objs := fs.String("objectives", strings.Join(c.Objectives, ","), "comma-separated objectives: some of "+strings.Join(experiment.ToyObjectives(), ","))
	if err := parse(fs, args); err != nil {
		return err
	}
	c.Objectives, c.Toys, c.Progress = splitList(*objs), splitList(*toys), errw
	return configError(experiment.Toys(c, out))
}
