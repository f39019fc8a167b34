package data

import (
	"fmt"
	"github.com/fdsm/fdsm/tensor"
	"math"
)

// CheckUnit checks that every value of x (read from what) lies in [0, 1],
// as TransformLogit needs.
func CheckUnit(what string, x *tensor.Tensor) error {
	for _, v := range x.ToFloat64() {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("%s: the model's logit transform needs values in [0, 1], the data has %g", what, v)
		}
	}
	return nil
}

// CheckDim checks that rows x read from what are a non-empty [N, d]: the
// d columns a model takes.
func CheckDim(what string, x *tensor.Tensor, d int) error {
	if x.Rank() != 2 || x.Dim(1) != d {
		return fmt.Errorf("%s: %v values, but the model takes rows of %d columns", what, x.Shape(), d)
	}
	if x.Dim(0) == 0 {
		return fmt.Errorf("%s: no rows", what)
	}
	return nil
}

// CheckFiniteRows refuses rows holding a NaN or an infinity, naming what
// (a file), the row and the column, counted from 1 as a user counts lines
// of a table. x is [rows, columns].
func CheckFiniteRows(what string, x *tensor.Tensor) error {
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

// FiniteAs checks that the rows x read from what are finite, converts them
// to dt and checks that they still are: a float64 above 3.4e38 becomes an
// infinity in float32.
func FiniteAs(what string, x *tensor.Tensor, dt tensor.DType) (*tensor.Tensor, error) {
	if err := CheckFiniteRows(what, x); err != nil {
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
