package numeric

import (
	"math"
	"slices"
)

// Mean returns the mean of v (NaN for no values).
func Mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// MeanStd returns the mean and the sample standard deviation (divisor
// n − 1; 0 for a single value) of v.
func MeanStd(v []float64) (m, s float64) {
	m = Mean(v)
	if len(v) < 2 {
		return m, 0
	}
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return m, math.Sqrt(s / float64(len(v)-1))
}

// Median returns the median of v (v is reordered; NaN for no values).
func Median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// AbsDev returns |v[i] − ref| for each i.
func AbsDev(v []float64, ref float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Abs(x - ref)
	}
	return out
}
