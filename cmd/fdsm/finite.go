package main

import (
	"fmt"
	"math"

	"github.com/fdsm/fdsm/tensor"
)

// checkFiniteRows refuses rows holding a NaN or an infinity, naming what
// (a file), the row and the column, counted from 1 as a user counts lines
// of a table. x is [rows, columns].
func checkFiniteRows(what string, x *tensor.Tensor) error {
	if !x.HasNaNOrInf() {
		return nil
	}
	d := x.Dim(1)
	for i, v := range x.ToFloat64() {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: row %d, column %d is %g: want finite values", what, i/d+1, i%d+1, v)
		}
	}
	return nil
}

// finiteAs checks that the rows x read from what are finite, converts them
// to dt and checks that they still are: a float64 above 3.4e38 becomes an
// infinity in float32.
func finiteAs(what string, x *tensor.Tensor, dt tensor.DType) (*tensor.Tensor, error) {
	if err := checkFiniteRows(what, x); err != nil {
		return nil, err
	}
	y := x.AsType(dt)
	if y.HasNaNOrInf() {
		v, w := x.ToFloat64(), y.ToFloat64()
		d := x.Dim(1)
		for i := range w {
			if math.IsInf(w[i], 0) {
				return nil, fmt.Errorf("%s: row %d, column %d is %g, beyond the range of %v", what, i/d+1, i%d+1, v[i], dt)
			}
		}
	}
	return y, nil
}

// checkFiniteEnergies refuses energies e of the rows of the input named in
// that hold a NaN or an infinity: finite parameters and inputs can still
// overflow (exploded weights, a DKEF α near the float64 limit), and a NaN
// printed with exit status 0 reads as a result. It names the model's file and
// the first such row (1-based, as the CSV and .npy errors count).
func checkFiniteEnergies(model, in string, e []float64) error {
	for i, v := range e {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: the energy of row %d of %s is %g: the model overflows there (are its parameters or metadata exploded?)", model, i+1, in, v)
		}
	}
	return nil
}
