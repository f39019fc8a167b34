package main

import (
	"fmt"
	"github.com/fdsm/fdsm/bench/experiment"
	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/sm"
	"io"
	"math"
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
	fs := newFlags("experiment toys", toysSynopsis, errw)
	toyList := fs.String("toys", "8gaussians,rings,checkerboard", "comma-separated distributions with a known density: 8gaussians, 2gaussians, rings, checkerboard")
	objs := fs.String("objectives", strings.Join(experiment.ToyObjectives(), ","), "comma-separated objectives: some of "+strings.Join(experiment.ToyObjectives(), ","))
	steps := fs.Int("steps", 1000, "training steps per objective")
	width := fs.Int("width", 64, "hidden width of the 2-w-w-1 MLP")
	batch := fs.Int("batch", 128, "rows per step")
	lr := fs.Float64("lr", 1e-2, "Adam learning rate, annealed by a cosine to lr/100 (as fdsm demo)")
	sigma := fs.Float64("sigma", sm.DefaultSigma, "DSM and FD-DSM noise level σ")
	panel := fs.Int("panel", 160, "pixels per side of each density panel (its map, inside the axes)")
	grid := fs.Int("grid", 200, "grid points per axis for the quadrature of log Z")
	seed := fs.Uint64("seed", 1, "seed of the data, initialisation, minibatches and objectives' randomness")
	outFl := addOutFlags(fs, "toys", "the density images")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the table")
	if err := parse(fs, args); err != nil {
		return err
	}
	list, err := parseObjectiveList("objectives", *objs, experiment.ToyObjectives())
	if err != nil {
		return err
	}
	var toys []string
	var dens []data.Density
	for _, name := range strings.Split(*toyList, ",") {
		t, err := data.NewToy(strings.TrimSpace(name))
		dn, ok := t.(data.Density)
		if err != nil || !ok {
			return usageError{fmt.Sprintf("-toys: %q is not a toy with a known density (want some of 8gaussians, 2gaussians, rings, checkerboard)", name)}
		}
		toys, dens = append(toys, strings.TrimSpace(name)), append(dens, dn)
	}
	switch {
	case *steps < 1:
		return usageError{fmt.Sprintf("-steps %d: want at least 1", *steps)}
	case *width < 1 || *width > 4096:
		return usageError{fmt.Sprintf("-width %d: want 1…4096", *width)}
	case *batch < 1 || *batch > 1<<16:
		return usageError{fmt.Sprintf("-batch %d: want 1…%d", *batch, 1<<16)}
	case !(*lr > 0) || math.IsInf(*lr, 0):
		return usageError{fmt.Sprintf("-lr %g: want a positive learning rate", *lr)}
	case !(*sigma > 0) || math.IsInf(*sigma, 0):
		return usageError{fmt.Sprintf("-sigma %g: want a positive finite noise level", *sigma)}
	case *panel < 8 || *panel > 1000:
		return usageError{fmt.Sprintf("-panel %d: want 8…1000", *panel)}
	case *grid < 2 || *grid > 4000:
		return usageError{fmt.Sprintf("-grid %d: want 2…4000", *grid)}
	}
	return experiment.Toys(experiment.ToysConfig{
		Steps: *steps, Width: *width, Batch: *batch, LR: *lr, Sigma: *sigma, Panel: *panel, Grid: *grid, Seed: *seed, JSON: *asJSON, Objectives: list, Toys: toys, Out: *outFl.dir, Force: *outFl.force, Progress: errw,
	}, out)
}
