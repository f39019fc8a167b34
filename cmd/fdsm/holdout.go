package main

import (
	"fmt"
	"github.com/fdsm/fdsm/internal/rundir"
	"path/filepath"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// Held-out rows of CSV data: train keeps a seeded fraction of a table's rows
// out of training (data.Holdout) and records the rule in the checkpoint, so
// that eval and -resume rebuild the same split from the same file.

// trainSplit returns the split train uses for a table of rows rows: the
// one checkpoint prev (at ckpt) records when resuming, else -holdout frac
// drawn by seed. A resumed run keeps its split: a -holdout given again must
// match it, and the file must still have its rows.
func trainSplit(file string, rows int, frac float64, seed uint64, given bool, prev *nn.Checkpoint, ckpt string) (data.Holdout, error) {
	s := data.Holdout{Frac: frac, Seed: seed, Rows: rows}
	if prev != nil {
		rec, found, err := data.HoldoutFromMeta(prev.Meta.Extra)
		if err != nil {
			return s, fmt.Errorf("%s: %v", ckpt, err)
		}
		if !found {
			// Written before -holdout: it trained on every row.
			rec = data.Holdout{Frac: 0, Seed: seed, Rows: rows}
		}
		if err := rec.Check(file, rows); err != nil {
			return s, err
		}
		if given && frac != rec.Frac {
			return s, fmt.Errorf("%s: the checkpoint held out %g of the rows of %s; -holdout %g would change its training rows", ckpt, rec.Frac, file, frac)
		}
		s = rec
	}
	if rows-s.HeldCount() < 1 {
		return s, fmt.Errorf("%s: -holdout %g leaves none of its %d rows to train on", file, s.Frac, rows)
	}
	return s, nil
}

// Which rows eval takes (the JSON "split" field): the held-out rows of the
// training CSV file, its training rows, all rows of a CSV file, the MNIST
// test set or fresh samples of a toy.
const (
	splitHeldOut = "held-out"
	splitTrain   = "train"
	splitAll     = "all"
	splitTest    = "test"
	splitSamples = "samples"
)

// rowChoice is which rows of a CSV table eval takes.
type rowChoice struct {
	split *data.Holdout // nil: all rows
	held  bool          // the held-out rows, or else the training rows
}

// apply returns the chosen rows of file's table x.
func (c rowChoice) apply(file string, x *tensor.Tensor) (*tensor.Tensor, error) {
	if c.split == nil {
		return x, nil
	}
	if err := c.split.Check(file, x.Dim(0)); err != nil {
		return nil, err
	}
	return c.split.Pick(x, c.held), nil
}

// evalChoice resolves eval's -split name (given: on the command line) for
// data s of model m: the rows to take, their label and, when the rows are
// the ones the model was trained on though held-out ones were asked for by
// default, a warning saying so.
func evalChoice(m *rundir.Model, s data.Spec, name string, given bool) (c rowChoice, label, warning string, err error) {
	switch name {
	case splitHeldOut, splitTrain, splitAll:
	default:
		return c, "", "", usageError{fmt.Sprintf("-split %q: want held-out, train or all", name)}
	}
	switch s.Kind {
	case "toy":
		label = splitSamples
	case "mnist":
		label = splitTest
	}
	if s.Kind != "csv" {
		if given {
			return c, "", "", usageError{fmt.Sprintf("-split is for csv data, not %s (%s)", s, label)}
		}
		return c, label, "", nil
	}
	if name == splitAll {
		return c, splitAll, "", nil
	}
	// The split applies to the file the model was trained on, whose path
	// train recorded absolute.
	var stored data.Spec
	if m.TrainData != nil {
		stored = *m.TrainData
	}
	abs, _ := filepath.Abs(s.Arg)
	if stored.Kind != "csv" || filepath.Clean(stored.Arg) != abs {
		if given {
			return c, "", "", usageError{fmt.Sprintf("-split %s: %s is not the file the model was trained on (%s)", name, s.Arg, stored)}
		}
		return c, splitAll, "", nil
	}
	if m.Split == nil || m.Split.Frac == 0 {
		// Every row was trained on.
		switch {
		case name == splitTrain:
			return c, splitTrain, "", nil
		case given:
			return c, "", "", fmt.Errorf("%s: the model was trained on every row of %s (no -holdout): there are no held-out rows; give -split train or all", m.Path, s.Arg)
		}
		return c, splitTrain, fmt.Sprintf("%s holds out no rows of %s: these are the rows it was trained on", m.Path, s.Arg), nil
	}
	return rowChoice{split: m.Split, held: name == splitHeldOut}, name, "", nil
}
