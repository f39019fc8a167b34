package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/nn"
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

// parseDataSpec parses a -data value (data.ParseSpec); a malformed value
// is a usage error.
func parseDataSpec(s string) (data.Spec, error) {
	ds, err := data.ParseSpec(s)
	if err != nil {
		return ds, usageError{err.Error()}
	}
	return ds, nil
}

// newTransform chooses the transform for -transform name ("auto": standardize
// for CSV, logit for MNIST under NICE, none otherwise) and fits it to d.
func newTransform(name string, d *data.Set, kind string) (data.Transform, error) {
	if name == "auto" {
		switch {
		case d.Spec.Kind == "csv":
			name = data.TransformStandardize
		case d.Spec.Kind == "mnist" && kind == nn.KindNICE:
			name = data.TransformLogit
		default:
			name = data.TransformNone
		}
	}
	t := data.Transform{Kind: name, Columns: d.Columns, Dequantize: d.Spec.Kind == "mnist"}
	switch name {
	case data.TransformNone:
	case data.TransformStandardize:
		if d.Toy != nil {
			return t, usageError{"-transform standardize needs a table (csv or mnist), not a toy distribution"}
		}
		if n := d.X.Dim(0); n < 2 {
			return t, fmt.Errorf("%s: -transform standardize needs at least 2 rows, the data has %d", d.Spec.Arg, n)
		}
		t.Mean, t.Std = data.FitStandardize(d.X)
	case data.TransformLogit:
		if d.Toy != nil {
			return t, usageError{"-transform logit needs pixel data in [0, 1] (mnist, or a csv of pixels), not a toy distribution"}
		}
		for _, v := range d.X.ToFloat64() {
			if v < 0 || v > 1 || math.IsNaN(v) {
				return t, fmt.Errorf("%s: -transform logit needs values in [0, 1], the data has %g", d.Spec.Arg, v)
			}
		}
	default:
		return t, usageError{fmt.Sprintf("-transform %q: want auto, none, standardize or logit", name)}
	}
	return t, nil
}
