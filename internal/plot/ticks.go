package plot

import (
	"math"
	"strconv"
)

// NiceTicks returns tick values for an axis covering [lo, hi] with about n
// intervals: the multiples of a step m·10ᵏ, m ∈ {1, 2, 5}, the smallest such
// step at least (hi − lo)/n, from the largest multiple ≤ lo to the smallest
// ≥ hi. The first and last ticks are therefore the axis' nice ends, and
// there are between n/2.5 and n+1 intervals. For example (0, 1, 5) gives
// 0, 0.2, …, 1 and (−3.7, 12.1, 5) gives −5, 0, 5, 10, 15.
//
// lo and hi may come in either order; an empty interval is widened by 10% of
// its magnitude, or by 1 around 0, on each side. n < 1 means 1. Non-finite
// input gives nil.
func NiceTicks(lo, hi float64, n int) []float64 {
	ticks, _, _ := niceTicks(lo, hi, n)
	return ticks
}

// niceTicks is NiceTicks, also returning the step as m·10ᵏ.
func niceTicks(lo, hi float64, n int) (ticks []float64, m, k int) {
	if !isFinite(lo) || !isFinite(hi) || !isFinite(hi-lo) {
		return nil, 0, 0
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	if hi-lo <= 1e-12*max(math.Abs(lo), math.Abs(hi)) {
		d := 0.1 * max(math.Abs(lo), math.Abs(hi))
		if d == 0 {
			d = 1
		}
		lo, hi = lo-d, hi+d
	}
	n = max(n, 1)
	raw := (hi - lo) / float64(n)
	k = int(math.Floor(math.Log10(raw)))
	norm := raw / math.Pow(10, float64(k))
	// The tolerance keeps a step that rounding pushed just above 1, 2 or 5
	// (0.6/3 = 0.19999999999999998·10 …) from jumping to the next one.
	const tol = 1 + 1e-9
	switch {
	case norm <= 1*tol:
		m = 1
	case norm <= 2*tol:
		m = 2
	case norm <= 5*tol:
		m = 5
	default:
		m, k = 1, k+1
	}
	step := stepValue(1, m, k)
	iLo := math.Floor(lo/step + 1e-9)
	iHi := math.Ceil(hi/step - 1e-9)
	if iHi-iLo > 10000 || math.Abs(iLo) > 1<<50 || math.Abs(iHi) > 1<<50 {
		// Far beyond any sensible axis, or ticks i·m no longer exact.
		return []float64{lo, hi}, 0, 0
	}
	for i := int64(iLo); i <= int64(iHi); i++ {
		ticks = append(ticks, stepValue(i, m, k))
	}
	return ticks, m, k
}

// stepValue returns i·m·10ᵏ with a single rounding: the integer i·m times or
// divided by an exactly representable power of ten (for |k| ≤ 22), or else
// the decimal "i·m e k" parsed, which strconv rounds correctly.
func stepValue(i int64, m, k int) float64 {
	v := float64(i * int64(m))
	switch {
	case k >= 0 && k <= 22:
		return v * math.Pow10(k)
	case k < 0 && k >= -22:
		return v / math.Pow10(-k)
	}
	f, _ := strconv.ParseFloat(strconv.FormatInt(i*int64(m), 10)+"e"+strconv.Itoa(k), 64)
	return f // ±Inf or 0 beyond the float64 range, as v·10ᵏ would be
}

// logTicks returns tick values for a logarithmic axis covering [lo, hi],
// 0 < lo ≤ hi: powers of ten from the largest ≤ lo to the smallest ≥ hi,
// with 2 and 5 times each power as well when that spans at most two
// decades, and only every d-th power (d from NiceTicks on the exponents)
// when it spans more than ten.
func logTicks(lo, hi float64) []float64 {
	a := math.Floor(math.Log10(lo) + 1e-9)
	b := math.Ceil(math.Log10(hi) - 1e-9)
	// Keep the ends normal floating-point numbers, so their logarithms
	// are finite.
	a, b = max(a, -307), min(b, 308)
	if a == b {
		a, b = a-1, b+1
	}
	if b-a > 10 {
		// b − a > 10 makes the exponents' step at least 2, so they are integers.
		exps := NiceTicks(a, b, 6)
		t := make([]float64, len(exps))
		for i, e := range exps {
			t[i] = stepValue(1, 1, int(e))
		}
		return t
	}
	var t []float64
	for e := int(a); e <= int(b); e++ {
		t = append(t, stepValue(1, 1, e))
		if b-a <= 2 && e < int(b) {
			t = append(t, stepValue(2, 1, e), stepValue(5, 1, e))
		}
	}
	return t
}

// formatTick formats a tick value briefly: the shortest decimal that reads
// back as v ("0.3", "1e-05", "250").
func formatTick(v float64) string {
	if v == 0 {
		return "0" // not "-0"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
