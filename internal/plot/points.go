package plot

// Columns2 splits interleaved 2-D points into their coordinates.
func Columns2(v []float64) (xs, ys []float64) {
	xs, ys = make([]float64, len(v)/2), make([]float64, len(v)/2)
	for i := range xs {
		xs[i], ys[i] = v[2*i], v[2*i+1]
	}
	return xs, ys
}
