package data

import (
	"fmt"
	"github.com/fdsm/fdsm/internal/infile"
	"github.com/fdsm/fdsm/tensor"
	"io"
	"math/rand/v2"
	"strings"
)

// Spec names a data set as fdsm train's -data takes it: toy:NAME (a 2-D
// distribution of NewToy), csv:PATH (a numeric table with a header row) or
// mnist[:DIR] (the IDX files, DefaultDir("mnist") if no DIR).
type Spec struct {
	Kind string // "toy", "csv" or "mnist"
	Arg  string // the toy's name, the CSV path or the MNIST directory
}

// String returns the specification as ParseSpec reads it.
func (s Spec) String() string { return s.Kind + ":" + s.Arg }

// ParseSpec parses toy:NAME, csv:PATH or mnist[:DIR]; the error of a
// malformed value quotes it as -data (the flag it comes from in fdsm).
func ParseSpec(s string) (Spec, error) {
	kind, arg, _ := strings.Cut(s, ":")
	switch kind {
	case "toy":
		if _, err := NewToy(arg); err != nil {
			return Spec{}, fmt.Errorf("-data %q: unknown toy distribution %q (want one of %s)", infile.Cut(s), infile.Cut(arg), strings.Join(ToyNames(), ", "))
		}
	case "csv":
		if arg == "" {
			return Spec{}, fmt.Errorf("-data %q: want csv:PATH", s)
		}
	case "mnist":
		if arg == "" {
			arg = DefaultDir("mnist")
		}
	default:
		return Spec{}, fmt.Errorf("-data %q: want toy:NAME, csv:PATH or mnist[:DIR]", infile.Cut(s))
	}
	return Spec{Kind: kind, Arg: arg}, nil
}

// Set is a loaded data set in the data's own units: either a toy
// distribution to draw from or a table of rows.
type Set struct {
	Spec    Spec
	Toy     Toy            // toy data
	X       *tensor.Tensor // the rows of a CSV table or of MNIST
	Columns []string       // CSV: the columns of X
}

// Dim returns the number of columns.
func (d *Set) Dim() int {
	if d.Toy != nil {
		return 2
	}
	return d.X.Dim(1)
}

// Batch draws n rows: fresh samples of a toy, or rows chosen uniformly with
// replacement from a table.
func (d *Set) Batch(dt tensor.DType, rng *rand.Rand, n int) *tensor.Tensor {
	if d.Toy != nil {
		return d.Toy.Sample(dt, rng, n)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = rng.IntN(d.X.Dim(0))
	}
	return tensor.GatherRows(d.X, idx)
}

// Rows returns up to n rows for evaluation: n samples of a toy drawn with
// rng, or the first n rows of a table (all of them if n ≤ 0; a toy then
// gives 10000).
func (d *Set) Rows(dt tensor.DType, rng *rand.Rand, n int) *tensor.Tensor {
	if d.Toy != nil {
		if n <= 0 {
			n = 10000
		}
		return d.Toy.Sample(dt, rng, n)
	}
	if n <= 0 || n >= d.X.Dim(0) {
		return d.X
	}
	return tensor.SliceRows(d.X, 0, n)
}

// Load loads the data set of s in dtype dt: for MNIST the training images
// if train is set, the test images otherwise (fetched first if missing,
// with progress on progress: EnsureMNIST); for CSV the columns named (all
// if nil) less those in drop, refused unless finite in dt.
func Load(s Spec, dt tensor.DType, train bool, columns, drop []string, progress io.Writer) (*Set, error) {
	d := &Set{Spec: s}
	switch s.Kind {
	case "toy":
		toy, err := NewToy(s.Arg)
		if err != nil {
			return nil, err
		}
		d.Toy = toy
	case "csv":
		t, err := LoadCSV(s.Arg, &CSVOptions{Columns: columns, Drop: drop})
		if err != nil {
			return nil, err
		}
		if t.Data.Rank() != 2 || t.Data.Dim(0) == 0 || t.Data.Dim(1) == 0 {
			return nil, fmt.Errorf("%s: no data rows or no columns", s.Arg)
		}
		x, err := FiniteAs(s.Arg, t.Data, dt)
		if err != nil {
			return nil, err
		}
		d.X, d.Columns = x, t.Columns
	case "mnist":
		set := "t10k"
		if train {
			set = "train"
		}
		if err := EnsureMNIST(s.Arg, progress, set); err != nil {
			return nil, err
		}
		x, _, err := LoadMNIST(s.Arg, train, dt)
		if err != nil {
			return nil, err
		}
		d.X = x
	}
	return d, nil
}
