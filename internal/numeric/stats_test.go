package numeric

import (
	"math"
	"testing"
)

func TestStats(t *testing.T) {
	v := []float64{4, 1, 3, 2}
	if m := Mean(v); m != 2.5 {
		t.Errorf("Mean = %g, want 2.5", m)
	}
	// Sample variance of 1…4 is 5/3 (divisor n − 1).
	if m, s := MeanStd(v); m != 2.5 || math.Abs(s-math.Sqrt(5.0/3)) > 1e-15 {
		t.Errorf("MeanStd = %g, %g, want 2.5, √(5/3)", m, s)
	}
	if _, s := MeanStd([]float64{7}); s != 0 {
		t.Errorf("MeanStd of one value: std %g, want 0", s)
	}
	if m := Median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("Median of an even count = %g, want 2.5", m)
	}
	if m := Median([]float64{5, 1, 3}); m != 3 {
		t.Errorf("Median of an odd count = %g, want 3", m)
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median of nothing is not NaN")
	}
	if d := AbsDev([]float64{1, 4}, 2); d[0] != 1 || d[1] != 2 {
		t.Errorf("AbsDev = %v, want [1 2]", d)
	}
}
