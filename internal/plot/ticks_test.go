package plot

import (
	"math"
	"slices"
	"testing"
)

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		n      int
		want   []float64
	}{
		{0, 1, 5, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{0.05, 0.95, 5, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{-3.7, 12.1, 5, []float64{-5, 0, 5, 10, 15}},
		{12.1, -3.7, 5, []float64{-5, 0, 5, 10, 15}}, // either order
		{0, 0.6, 3, []float64{0, 0.2, 0.4, 0.6}},     // 0.6/3 rounds below 0.2
		{0.1, 0.7, 6, []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7}},
		{1, 1000, 4, []float64{0, 500, 1000}},
		{0, 37, 4, []float64{0, 10, 20, 30, 40}},
		{-0.0013, -0.0001, 4, []float64{-0.0015, -0.001, -0.0005, 0}}, // step 5e-4
		{2.5e6, 2.5e6 + 3, 3, []float64{2.5e6, 2.5e6 + 1, 2.5e6 + 2, 2.5e6 + 3}},
		// An empty interval at 5 widens to [4.5, 5.5]; 1/4 = 0.25 → step 0.5.
		{5, 5, 4, []float64{4.5, 5, 5.5}},
		{0, 0, 2, []float64{-1, 0, 1}},
	}
	for _, tt := range tests {
		got := NiceTicks(tt.lo, tt.hi, tt.n)
		// Ticks are i·m divided or multiplied by an exact power of ten, one
		// rounding each; a relative 1e-15 allows that rounding and no more.
		if !slices.EqualFunc(got, tt.want, func(a, b float64) bool {
			return math.Abs(a-b) <= 1e-15*math.Max(math.Abs(a), math.Abs(b))
		}) {
			t.Errorf("NiceTicks(%g, %g, %d) = %v, want %v", tt.lo, tt.hi, tt.n, got, tt.want)
		}
	}
	for _, bad := range [][2]float64{{math.NaN(), 1}, {0, math.Inf(1)}, {-math.MaxFloat64, math.MaxFloat64}} {
		if got := NiceTicks(bad[0], bad[1], 5); got != nil {
			t.Errorf("NiceTicks(%g, %g) = %v, want nil", bad[0], bad[1], got)
		}
	}
}

func TestNiceTicksProperties(t *testing.T) {
	// Over many ranges: the ticks cover [lo, hi], are evenly spaced by a
	// 1-2-5 step, and there are at most n+1 intervals.
	for _, lo := range []float64{-1e6, -13.7, -0.02, 0, 0.3, 7, 1e-9} {
		for _, span := range []float64{1e-6, 0.04, 1, 3.3, 99, 1e5} {
			for _, n := range []int{1, 2, 5, 10} {
				hi := lo + span
				tk, m, k := niceTicks(lo, hi, n)
				if len(tk) < 2 || len(tk)-1 > n+1 {
					t.Fatalf("(%g, %g, %d): %d ticks", lo, hi, n, len(tk))
				}
				step := stepValue(1, m, k)
				slack := 1e-9 * step
				if tk[0] > lo+slack || tk[len(tk)-1] < hi-slack {
					t.Errorf("(%g, %g, %d): ticks %v do not cover the range", lo, hi, n, tk)
				}
				if m != 1 && m != 2 && m != 5 {
					t.Errorf("(%g, %g, %d): step %d·10^%d", lo, hi, n, m, k)
				}
				for i := 1; i < len(tk); i++ {
					if d := tk[i] - tk[i-1]; math.Abs(d-step) > 1e-9*step+1e-15*math.Abs(tk[i]) {
						t.Errorf("(%g, %g, %d): gap %g, step %g", lo, hi, n, d, step)
					}
				}
			}
		}
	}
}

func TestLogTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   []float64
	}{
		{0.002, 15, []float64{0.001, 0.01, 0.1, 1, 10, 100}},
		{1, 100, []float64{1, 2, 5, 10, 20, 50, 100}},
		{3, 7, []float64{1, 2, 5, 10}},
		{10, 10, []float64{1, 2, 5, 10, 20, 50, 100}}, // a single value: a decade each side
		{1e-30, 1e10, []float64{1e-30, 1e-20, 1e-10, 1, 1e10}},
	}
	for _, tt := range tests {
		got := logTicks(tt.lo, tt.hi)
		if !slices.EqualFunc(got, tt.want, func(a, b float64) bool { return math.Abs(a-b) <= 1e-15*b }) {
			t.Errorf("logTicks(%g, %g) = %v, want %v", tt.lo, tt.hi, got, tt.want)
		}
	}
}

func TestFormatTick(t *testing.T) {
	for v, want := range map[float64]string{
		stepValue(3, 1, -1):  "0.3",
		stepValue(7, 2, -5):  "0.00014",
		stepValue(1, 1, -5):  "1e-05",
		stepValue(-4, 5, 1):  "-200",
		stepValue(1, 1, -30): "1e-30", // beyond the exact powers of ten
		stepValue(5, 1, -40): "5e-40",
		stepValue(3, 1, 30):  "3e+30",
		math.Copysign(0, -1): "0",
		250:                  "250",
	} {
		if got := formatTick(v); got != want {
			t.Errorf("formatTick(%v) = %q, want %q", v, got, want)
		}
	}
}
