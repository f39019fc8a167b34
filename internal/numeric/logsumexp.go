package numeric

import "math"

// LogSumExp returns log Σ exp(v_i), shifted by the maximum so that no term
// overflows: −Inf for an empty v or all terms −Inf, +Inf if a term is +Inf,
// NaN if a term is NaN.
func LogSumExp(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = max(m, x)
	}
	if math.IsInf(m, 0) || math.IsNaN(m) {
		return m
	}
	var s float64
	for _, x := range v {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}
