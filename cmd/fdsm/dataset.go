package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
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

// Transforms between the data's units and the space the model sees.
const (
	transformNone        = "none"
	transformStandardize = "standardize"
	transformLogit       = "logit"
)

// transform maps data rows into the model's space. It is chosen at training
// time and stored in the checkpoint, so that every later command applies the
// same map.
type transform struct {
	kind      string
	mean, std []float64 // standardize
	columns   []string  // CSV columns the model was trained on (nil otherwise)
	dequant   bool      // dequantise pixels (k/255 → (k+u)/256) when evaluating on MNIST
}

// newTransform chooses the transform for -transform name ("auto": standardize
// for CSV, logit for MNIST under NICE, none otherwise) and fits it to d.
func newTransform(name string, d *dataset, kind string) (transform, error) {
	if name == "auto" {
		switch {
		case d.spec.kind == "csv":
			name = transformStandardize
		case d.spec.kind == "mnist" && kind == nn.KindNICE:
			name = transformLogit
		default:
			name = transformNone
		}
	}
	t := transform{kind: name, columns: d.columns, dequant: d.spec.kind == "mnist"}
	switch name {
	case transformNone:
	case transformStandardize:
		if d.toy != nil {
			return t, usageError{"-transform standardize needs a table (csv or mnist), not a toy distribution"}
		}
		n, c := d.x.Dim(0), d.x.Dim(1)
		if n < 2 {
			return t, fmt.Errorf("%s: -transform standardize needs at least 2 rows, the data has %d", d.spec.arg, n)
		}
		v := d.x.ToFloat64()
		t.mean, t.std = make([]float64, c), make([]float64, c)
		for j := range c {
			var s, q float64
			for i := range n {
				s += v[i*c+j]
			}
			m := s / float64(n)
			for i := range n {
				q += (v[i*c+j] - m) * (v[i*c+j] - m)
			}
			sd := math.Sqrt(q / float64(n-1))
			if !(sd > 0) {
				sd = 1 // a constant column: only centred
			}
			t.mean[j], t.std[j] = m, sd
		}
	case transformLogit:
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

// apply maps rows of data x into the model's space and returns, per row,
// log|det ∂y/∂x|, which converts a log-density of y into one of x.
func (t transform) apply(x *tensor.Tensor) (*tensor.Tensor, []float64) {
	n, c := x.Dim(0), x.Dim(1)
	logDet := make([]float64, n)
	switch t.kind {
	case transformStandardize:
		v := x.ToFloat64()
		var ld float64
		for j := range c {
			ld -= math.Log(t.std[j])
		}
		for i := range n {
			for j := range c {
				v[i*c+j] = (v[i*c+j] - t.mean[j]) / t.std[j]
			}
			logDet[i] = ld
		}
		return tensor.FromFloat64(x.DType(), v, n, c), logDet
	case transformLogit:
		y, ld := data.Logit(x, data.LogitLambda)
		return y, ld
	}
	return x, logDet
}

// invert maps rows of the model's space back to the data's units (samples).
func (t transform) invert(y *tensor.Tensor) *tensor.Tensor {
	switch t.kind {
	case transformStandardize:
		n, c := y.Dim(0), y.Dim(1)
		v := y.ToFloat64()
		for i := range n {
			for j := range c {
				v[i*c+j] = v[i*c+j]*t.std[j] + t.mean[j]
			}
		}
		return tensor.FromFloat64(y.DType(), v, n, c)
	case transformLogit:
		return data.InvLogit(y, data.LogitLambda)
	}
	return y
}

// prepare turns data rows into model inputs, dequantising pixels first
// when the model was trained on dequantised MNIST and rng is given.
func (t transform) prepare(x *tensor.Tensor, rng *rand.Rand) (*tensor.Tensor, []float64) {
	if t.dequant && rng != nil {
		x = data.DequantizePixels(x, rng)
	}
	return t.apply(x)
}

// store writes the transform into checkpoint metadata.
func (t transform) store(extra map[string]string) {
	extra[extraTransform] = t.kind
	if t.kind == transformStandardize {
		extra[extraMean], extra[extraStd] = formatFloats(t.mean), formatFloats(t.std)
	}
	if t.columns != nil {
		b, _ := json.Marshal(t.columns)
		extra[extraColumns] = string(b)
	}
	if t.dequant {
		extra[extraDequant] = "true"
	}
}

// transformFromMeta reads what store writes, for a model of d inputs.
func transformFromMeta(extra map[string]string, d int) (transform, error) {
	t := transform{kind: extra[extraTransform]}
	if t.kind == "" {
		t.kind = transformNone
	}
	bad := func(key, why string) error { return fmt.Errorf("metadata %q: %s", "extra."+key, why) }
	switch v, ok := extra[extraDequant]; {
	case !ok || v == "false":
	case v == "true":
		t.dequant = true
	default:
		return t, bad(extraDequant, fmt.Sprintf("%q: want true or false", infile.Cut(v)))
	}
	switch t.kind {
	case transformNone, transformLogit:
	case transformStandardize:
		var err error
		if t.mean, err = parseFloats(extra[extraMean]); err != nil || len(t.mean) != d {
			return t, bad(extraMean, fmt.Sprintf("want %d column means", d))
		}
		for _, m := range t.mean {
			if math.IsNaN(m) || math.IsInf(m, 0) {
				return t, bad(extraMean, fmt.Sprintf("mean %g is not finite", m))
			}
		}
		if t.std, err = parseFloats(extra[extraStd]); err != nil || len(t.std) != d {
			return t, bad(extraStd, fmt.Sprintf("want %d column standard deviations", d))
		}
		for _, s := range t.std {
			if !(s > 0) || math.IsInf(s, 0) {
				return t, bad(extraStd, fmt.Sprintf("standard deviation %g is not positive and finite", s))
			}
		}
	default:
		return t, bad(extraTransform, fmt.Sprintf("unknown transform %q", infile.Cut(t.kind)))
	}
	if c, ok := extra[extraColumns]; ok {
		if err := json.Unmarshal([]byte(c), &t.columns); err != nil || len(t.columns) != d {
			return t, bad(extraColumns, fmt.Sprintf("want a JSON list of %d column names", d))
		}
		for i, n := range t.columns {
			if slices.Contains(t.columns[:i], n) {
				return t, bad(extraColumns, fmt.Sprintf("column %q twice", infile.Cut(n)))
			}
		}
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
