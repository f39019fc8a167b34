package numeric

import (
	"math"
	"testing"
)

// TestLogSumExp checks closed forms, including sums whose terms overflow
// exp (log(2·e^1000) = 1000 + log 2) and the edge values.
func TestLogSumExp(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	for _, c := range []struct {
		v    []float64
		want float64
	}{
		{[]float64{0}, 0},
		{[]float64{0, 0}, math.Log(2)},
		{[]float64{math.Log(1), math.Log(2), math.Log(3)}, math.Log(6)},
		{[]float64{1000, 1000}, 1000 + math.Log(2)},
		{[]float64{-1000, -1000}, -1000 + math.Log(2)},
		{nil, -inf},
		{[]float64{-inf, -inf}, -inf},
		{[]float64{1, inf}, inf},
	} {
		if got := LogSumExp(c.v); math.Abs(got-c.want) > 1e-12*max(1, math.Abs(c.want)) && got != c.want {
			t.Errorf("LogSumExp(%v) = %v, want %v", c.v, got, c.want)
		}
	}
	if got := LogSumExp([]float64{1, nan}); !math.IsNaN(got) {
		t.Errorf("LogSumExp with a NaN = %v, want NaN", got)
	}
}
