package main

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// Held-out rows of CSV data: train keeps a seeded fraction of a table's rows
// out of training and records the rule in the checkpoint, so that eval and
// -resume rebuild the same split from the same file.

// Checkpoint metadata of the split (with the keys in models.go).
const (
	extraHoldout     = "data.holdout"      // CSV: the fraction of rows held out from training
	extraHoldoutSeed = "data.holdout_seed" // CSV: the seed that chose them
	extraDataRows    = "data.rows"         // CSV: the table's rows when they were chosen
)

// holdoutStream is the PCG stream the split draws from; train's streams 1–4
// are the initialisation, the batches, DKEF's α and the mean energy.
const holdoutStream = 5

// split is the rule that divides a table's rows into training and held-out
// rows.
type split struct {
	frac float64 // fraction held out, 0 ≤ frac < 1
	seed uint64
	rows int // rows of the table
}

// heldCount returns how many rows are held out: round(frac·rows), at least
// one if frac > 0.
func (s split) heldCount() int {
	k := int(math.Round(s.frac * float64(s.rows)))
	if s.frac > 0 {
		k = max(k, 1)
	}
	return min(k, s.rows)
}

// heldOut returns, per row, whether it is held out: the heldCount rows with
// the smallest of one PCG draw per row (ties by position). The draws are
// PCG's Uint64 outputs, a fixed algorithm, rather than rand.Perm, whose
// algorithm a Go release may change: the same seed then holds out the same
// rows on every machine and build.
func (s split) heldOut() []bool {
	src := rand.NewPCG(s.seed, holdoutStream)
	keys := make([]uint64, s.rows)
	idx := make([]int, s.rows)
	for i := range keys {
		keys[i], idx[i] = src.Uint64(), i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Or(cmp.Compare(keys[a], keys[b]), cmp.Compare(a, b)) })
	held := make([]bool, s.rows)
	for _, i := range idx[:s.heldCount()] {
		held[i] = true
	}
	return held
}

// pick returns the held-out rows of x (held) or its training rows, in file
// order. x must have s.rows rows (see check).
func (s split) pick(x *tensor.Tensor, held bool) *tensor.Tensor {
	var idx []int
	for i, h := range s.heldOut() {
		if h == held {
			idx = append(idx, i)
		}
	}
	return tensor.GatherRows(x, idx)
}

// check reports an error if the table of file no longer has the rows the
// split was drawn over.
func (s split) check(file string, rows int) error {
	if rows != s.rows {
		return fmt.Errorf("%s: the checkpoint's held-out split was drawn over %d rows, the file has %d: it has changed since training", file, s.rows, rows)
	}
	return nil
}

// store writes the split into checkpoint metadata.
func (s split) store(extra map[string]string) {
	extra[extraHoldout] = strconv.FormatFloat(s.frac, 'g', -1, 64)
	extra[extraHoldoutSeed] = strconv.FormatUint(s.seed, 10)
	extra[extraDataRows] = strconv.Itoa(s.rows)
}

// splitFromMeta reads what store writes; found is false for a checkpoint
// that records no split (from before -holdout, or not of CSV data).
func splitFromMeta(extra map[string]string) (s split, found bool, err error) {
	f, ok := extra[extraHoldout]
	if !ok {
		return s, false, nil
	}
	bad := func(key, why string) error { return fmt.Errorf("metadata %q: %s", "extra."+key, why) }
	if s.frac, err = strconv.ParseFloat(f, 64); err != nil || !(s.frac >= 0 && s.frac < 1) {
		return s, false, bad(extraHoldout, fmt.Sprintf("%q is not a fraction 0 ≤ f < 1", f))
	}
	if s.seed, err = strconv.ParseUint(extra[extraHoldoutSeed], 10, 64); err != nil {
		return s, false, bad(extraHoldoutSeed, fmt.Sprintf("%q is not a seed", extra[extraHoldoutSeed]))
	}
	if s.rows, err = strconv.Atoi(extra[extraDataRows]); err != nil || s.rows < 1 {
		return s, false, bad(extraDataRows, fmt.Sprintf("%q is not a positive row count", extra[extraDataRows]))
	}
	return s, true, nil
}

// trainSplit returns the split train uses for a table of rows rows: the
// one checkpoint prev (at ckpt) records when resuming, else -holdout frac
// drawn by seed. A resumed run keeps its split: a -holdout given again must
// match it, and the file must still have its rows.
func trainSplit(file string, rows int, frac float64, seed uint64, given bool, prev *nn.Checkpoint, ckpt string) (split, error) {
	s := split{frac: frac, seed: seed, rows: rows}
	if prev != nil {
		rec, found, err := splitFromMeta(prev.Meta.Extra)
		if err != nil {
			return s, fmt.Errorf("%s: %v", ckpt, err)
		}
		if !found {
			// Written before -holdout: it trained on every row.
			rec = split{frac: 0, seed: seed, rows: rows}
		}
		if err := rec.check(file, rows); err != nil {
			return s, err
		}
		if given && frac != rec.frac {
			return s, fmt.Errorf("%s: the checkpoint held out %g of the rows of %s; -holdout %g would change its training rows", ckpt, rec.frac, file, frac)
		}
		s = rec
	}
	if rows-s.heldCount() < 1 {
		return s, fmt.Errorf("%s: -holdout %g leaves none of its %d rows to train on", file, s.frac, rows)
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
	split *split // nil: all rows
	held  bool   // the held-out rows, or else the training rows
}

// apply returns the chosen rows of file's table x.
func (c rowChoice) apply(file string, x *tensor.Tensor) (*tensor.Tensor, error) {
	if c.split == nil {
		return x, nil
	}
	if err := c.split.check(file, x.Dim(0)); err != nil {
		return nil, err
	}
	return c.split.pick(x, c.held), nil
}

// evalChoice resolves eval's -split name (given: on the command line) for
// data s of model m: the rows to take, their label and, when the rows are
// the ones the model was trained on though held-out ones were asked for by
// default, a warning saying so.
func evalChoice(m *loaded, s dataSpec, name string, given bool) (c rowChoice, label, warning string, err error) {
	switch name {
	case splitHeldOut, splitTrain, splitAll:
	default:
		return c, "", "", usageError{fmt.Sprintf("-split %q: want held-out, train or all", name)}
	}
	switch s.kind {
	case "toy":
		label = splitSamples
	case "mnist":
		label = splitTest
	}
	if s.kind != "csv" {
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
	var stored dataSpec
	if m.trainData != nil {
		stored = *m.trainData
	}
	abs, _ := filepath.Abs(s.arg)
	if stored.kind != "csv" || filepath.Clean(stored.arg) != abs {
		if given {
			return c, "", "", usageError{fmt.Sprintf("-split %s: %s is not the file the model was trained on (%s)", name, s.arg, stored)}
		}
		return c, splitAll, "", nil
	}
	if m.split == nil || m.split.frac == 0 {
		// Every row was trained on.
		switch {
		case name == splitTrain:
			return c, splitTrain, "", nil
		case given:
			return c, "", "", fmt.Errorf("%s: the model was trained on every row of %s (no -holdout): there are no held-out rows; give -split train or all", m.path, s.arg)
		}
		return c, splitTrain, fmt.Sprintf("%s holds out no rows of %s: these are the rows it was trained on", m.path, s.arg), nil
	}
	return rowChoice{split: m.split, held: name == splitHeldOut}, name, "", nil
}
