package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/infile"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// dataHelp documents the -data flag's forms.
const dataHelp = "data: toy:NAME (" + "a 2-D distribution generated in code: %s), csv:PATH (a numeric table with a header row), " +
	"or mnist[:DIR] (the IDX files, fetched into DIR if missing as 'fdsm data mnist' does; DIR defaults to %s)"

// dataFlagHelp returns dataHelp filled in.
func dataFlagHelp() string {
	return fmt.Sprintf(dataHelp, strings.Join(data.ToyNames(), ", "), defaultMNISTDir())
}

// defaultMNISTDir (in bench.go) is where `fdsm data mnist` puts MNIST and
// where -data mnist looks when no directory is given.

// dataSpec is a parsed -data value.
type dataSpec struct {
	kind string // "toy", "csv" or "mnist"
	arg  string // the toy's name, the CSV path or the MNIST directory
}

func (s dataSpec) String() string { return s.kind + ":" + s.arg }

// parseDataSpec parses toy:NAME, csv:PATH or mnist[:DIR]; a malformed
// value is a usage error.
func parseDataSpec(s string) (dataSpec, error) {
	kind, arg, _ := strings.Cut(s, ":")
	switch kind {
	case "toy":
		if _, err := data.NewToy(arg); err != nil {
			return dataSpec{}, usageError{fmt.Sprintf("-data %q: unknown toy distribution %q (want one of %s)", infile.Cut(s), infile.Cut(arg), strings.Join(data.ToyNames(), ", "))}
		}
	case "csv":
		if arg == "" {
			return dataSpec{}, usageError{fmt.Sprintf("-data %q: want csv:PATH", s)}
		}
	case "mnist":
		if arg == "" {
			arg = defaultMNISTDir()
		}
	default:
		return dataSpec{}, usageError{fmt.Sprintf("-data %q: want toy:NAME, csv:PATH or mnist[:DIR]", infile.Cut(s))}
	}
	return dataSpec{kind, arg}, nil
}

// dataset is a loaded data set in the data's own units: either a toy
// distribution to draw from or a table of rows.
type dataset struct {
	spec    dataSpec
	toy     data.Toy       // toy data
	x       *tensor.Tensor // the rows of a CSV table or of MNIST
	columns []string       // CSV: the columns of x
}

// dim returns the number of columns.
func (d *dataset) dim() int {
	if d.toy != nil {
		return 2
	}
	return d.x.Dim(1)
}

// batch draws n rows: fresh samples of a toy, or rows chosen uniformly with
// replacement from a table.
func (d *dataset) batch(dt tensor.DType, rng *rand.Rand, n int) *tensor.Tensor {
	if d.toy != nil {
		return d.toy.Sample(dt, rng, n)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = rng.IntN(d.x.Dim(0))
	}
	return tensor.GatherRows(d.x, idx)
}

// rows returns up to n rows for evaluation: n samples of a toy drawn with
// rng, or the first n rows of a table (all of them if n ≤ 0; a toy then
// gives 10000).
func (d *dataset) rows(dt tensor.DType, rng *rand.Rand, n int) *tensor.Tensor {
	if d.toy != nil {
		if n <= 0 {
			n = 10000
		}
		return d.toy.Sample(dt, rng, n)
	}
	if n <= 0 || n >= d.x.Dim(0) {
		return d.x
	}
	return tensor.SliceRows(d.x, 0, n)
}

// loadData loads a data set: for MNIST the training images if train is
// set, the test images otherwise (fetched first if missing, with progress on
// errw); for CSV the columns named (all if nil) less those in drop.
func loadData(s dataSpec, dt tensor.DType, train bool, columns, drop []string, errw io.Writer) (*dataset, error) {
	d := &dataset{spec: s}
	switch s.kind {
	case "toy":
		toy, err := data.NewToy(s.arg)
		if err != nil {
			return nil, err
		}
		d.toy = toy
	case "csv":
		t, err := data.LoadCSV(s.arg, &data.CSVOptions{Columns: columns, Drop: drop})
		if err != nil {
			return nil, err
		}
		if t.Data.Rank() != 2 || t.Data.Dim(0) == 0 || t.Data.Dim(1) == 0 {
			return nil, fmt.Errorf("%s: no data rows or no columns", s.arg)
		}
		x, err := finiteAs(s.arg, t.Data, dt)
		if err != nil {
			return nil, err
		}
		d.x, d.columns = x, t.Columns
	case "mnist":
		set := "t10k"
		if train {
			set = "train"
		}
		if err := ensureMNIST(s.arg, errw, set); err != nil {
			return nil, err
		}
		x, _, err := data.LoadMNIST(s.arg, train, dt)
		if err != nil {
			return nil, err
		}
		d.x = x
	}
	return d, nil
}

// newTransform chooses the transform for -transform name ("auto": standardize
// for CSV, logit for MNIST under NICE, none otherwise) and fits it to d.
func newTransform(name string, d *dataset, kind string) (data.Transform, error) {
	if name == "auto" {
		switch {
		case d.spec.kind == "csv":
			name = data.TransformStandardize
		case d.spec.kind == "mnist" && kind == nn.KindNICE:
			name = data.TransformLogit
		default:
			name = data.TransformNone
		}
	}
	t := data.Transform{Kind: name, Columns: d.columns, Dequantize: d.spec.kind == "mnist"}
	switch name {
	case data.TransformNone:
	case data.TransformStandardize:
		if d.toy != nil {
			return t, usageError{"-transform standardize needs a table (csv or mnist), not a toy distribution"}
		}
		if n := d.x.Dim(0); n < 2 {
			return t, fmt.Errorf("%s: -transform standardize needs at least 2 rows, the data has %d", d.spec.arg, n)
		}
		t.Mean, t.Std = data.FitStandardize(d.x)
	case data.TransformLogit:
		if d.toy != nil {
			return t, usageError{"-transform logit needs pixel data in [0, 1] (mnist, or a csv of pixels), not a toy distribution"}
		}
		for _, v := range d.x.ToFloat64() {
			if v < 0 || v > 1 || math.IsNaN(v) {
				return t, fmt.Errorf("%s: -transform logit needs values in [0, 1], the data has %g", d.spec.arg, v)
			}
		}
	default:
		return t, usageError{fmt.Sprintf("-transform %q: want auto, none, standardize or logit", name)}
	}
	return t, nil
}

// checkDim checks that data of the given source has the model's d columns.
func checkDim(what string, x *tensor.Tensor, d int) error {
	if x.Rank() != 2 || x.Dim(1) != d {
		return fmt.Errorf("%s: %v values, but the model takes rows of %d columns", what, x.Shape(), d)
	}
	if x.Dim(0) == 0 {
		return fmt.Errorf("%s: no rows", what)
	}
	return nil
}
