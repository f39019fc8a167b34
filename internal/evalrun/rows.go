package evalrun

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/rundir"
	"github.com/fdsm/fdsm/tensor"
)

// Which rows eval takes (the JSON "split" field): the held-out rows of the
// training CSV file, its training rows, all rows of a CSV file, the MNIST
// test set or fresh samples of a toy.
const (
	SplitHeldOut = "held-out"
	SplitTrain   = "train"
	SplitAll     = "all"
	SplitTest    = "test"
	SplitSamples = "samples"
)

// RowChoice is which rows of a CSV table eval takes.
type RowChoice struct {
	split *data.Holdout // nil: all rows
	held  bool          // the held-out rows, or else the training rows
}

// apply returns the chosen rows of file's table x.
func (c RowChoice) apply(file string, x *tensor.Tensor) (*tensor.Tensor, error) {
	if c.split == nil {
		return x, nil
	}
	if err := c.split.Check(file, x.Dim(0)); err != nil {
		return nil, err
	}
	return c.split.Pick(x, c.held), nil
}

// Choose resolves eval's -split name (given: on the command line) for
// data s of model m: the rows to take, their label and, when the rows are
// the ones the model was trained on though held-out ones were asked for by
// default, a warning saying so.
func Choose(m *rundir.Model, s data.Spec, name string, given bool) (c RowChoice, label, warning string, err error) {
	switch name {
	case SplitHeldOut, SplitTrain, SplitAll:
	default:
		return c, "", "", rundir.Flagf("-split %q: want held-out, train or all", name)
	}
	switch s.Kind {
	case "toy":
		label = SplitSamples
	case "mnist":
		label = SplitTest
	}
	if s.Kind != "csv" {
		if given {
			return c, "", "", rundir.Flagf("-split is for csv data, not %s (%s)", s, label)
		}
		return c, label, "", nil
	}
	if name == SplitAll {
		return c, SplitAll, "", nil
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
			return c, "", "", rundir.Flagf("-split %s: %s is not the file the model was trained on (%s)", name, s.Arg, stored)
		}
		return c, SplitAll, "", nil
	}
	if m.Split == nil || m.Split.Frac == 0 {
		// Every row was trained on.
		switch {
		case name == SplitTrain:
			return c, SplitTrain, "", nil
		case given:
			return c, "", "", fmt.Errorf("%s: the model was trained on every row of %s (no -holdout): there are no held-out rows; give -split train or all", m.Path, s.Arg)
		}
		return c, SplitTrain, fmt.Sprintf("%s holds out no rows of %s: these are the rows it was trained on", m.Path, s.Arg), nil
	}
	return RowChoice{split: m.Split, held: name == SplitHeldOut}, name, "", nil
}

// Rows loads up to n rows of data set s for model m (of a CSV table,
// those of choice), checks their width and maps them into the model's space;
// it returns them with the transform's per-row log-determinant. MNIST is
// fetched if missing, with progress on errw.
func Rows(m *rundir.Model, s data.Spec, dt tensor.DType, n int, rng *rand.Rand, choice RowChoice, errw io.Writer) (*tensor.Tensor, []float64, error) {
	var cols []string
	if s.Kind == "csv" {
		cols = m.Transform.Columns
	}
	ds, err := data.Load(s, dt, false, cols, nil, errw)
	if err != nil {
		return nil, nil, err
	}
	if ds.X != nil && s.Kind == "csv" {
		if ds.X, err = choice.apply(s.Arg, ds.X); err != nil {
			return nil, nil, err
		}
	}
	raw := ds.Rows(dt, rng, n)
	if err := data.CheckDim(s.String(), raw, m.Spec.Dim); err != nil {
		return nil, nil, err
	}
	if m.Transform.Kind == data.TransformLogit {
		if err := data.CheckUnit(s.String(), raw); err != nil {
			return nil, nil, err
		}
	}
	var r *rand.Rand
	if s.Kind == "mnist" {
		r = rng
	}
	x, ld := m.Transform.Prepare(raw, r)
	if err := data.CheckFiniteRows(fmt.Sprintf("%s (after the %s transform of %s)", s, m.Transform.Kind, m.Path), x); err != nil {
		return nil, nil, err
	}
	if !m.IsScore() {
		// Finite parameters can still overflow (a DKEF α of 1e308): every
		// figure eval prints would then be NaN, so say where instead.
		if err := CheckFiniteEnergies(m.Path, "the evaluation rows of "+s.String(), m.Energies(x)); err != nil {
			return nil, nil, err
		}
	}
	return x, ld, nil
}

// CheckFiniteEnergies refuses energies e of the rows of the input named in
// that hold a NaN or an infinity: finite parameters and inputs can still
// overflow (exploded weights, a DKEF α near the float64 limit), and a NaN
// printed with exit status 0 reads as a result. It names the model's file and
// the first such row (1-based, as the CSV and .npy errors count).
func CheckFiniteEnergies(model, in string, e []float64) error {
	for i, v := range e {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: the energy of row %d of %s is %g: the model overflows there (are its parameters or metadata exploded?)", model, i+1, in, v)
		}
	}
	return nil
}
