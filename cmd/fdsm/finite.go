package main

import (
	"fmt"
	"math"
)

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
