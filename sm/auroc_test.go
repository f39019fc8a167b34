package sm_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/fdsm/fdsm/sm"
)

func TestAUROCHandCases(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		name    string
		in, out []float64
		want    float64
	}{
		{"perfect", []float64{1, 2, 3}, []float64{4, 5}, 1},
		{"reversed", []float64{4, 5}, []float64{1, 2, 3}, 0},
		{"identical", []float64{2, 2, 2}, []float64{2, 2}, 0.5},
		{"same values", []float64{1, 2, 3}, []float64{1, 2, 3}, 0.5},
		// Pairs (out, in): 2>1 ✓, 2=2 ½, 2<3; 4 beats all three: (1.5 + 3)/6.
		{"ties", []float64{1, 2, 3}, []float64{2, 4}, 0.75},
		// One out-score beats one of two in-scores: ½.
		{"single", []float64{0, 10}, []float64{5}, 0.5},
		{"signed zeros tie", []float64{math.Copysign(0, -1)}, []float64{0}, 0.5},
		{"infinities", []float64{math.Inf(-1), 0}, []float64{math.Inf(1), math.Inf(-1)}, 0.625},
		{"empty in", nil, []float64{1}, nan},
		{"empty out", []float64{1}, nil, nan},
		{"NaN", []float64{1, nan}, []float64{2}, nan},
	} {
		got := sm.AUROC(c.in, c.out)
		if got != c.want && !(math.IsNaN(got) && math.IsNaN(c.want)) {
			t.Errorf("%s: AUROC = %v, want %v", c.name, got, c.want)
		}
	}
}

// aurocRef is the O(n²) definition: P(out > in) + ½P(out = in) over all pairs.
func aurocRef(in, out []float64) float64 {
	var twice int64
	for _, o := range out {
		for _, i := range in {
			switch {
			case o > i:
				twice += 2
			case o == i:
				twice++
			}
		}
	}
	return float64(twice) / (2 * float64(len(in)) * float64(len(out)))
}

// TestAUROCReference compares with the pairwise definition on random scores,
// with many ties (values on a coarse grid) and without; both count in
// integers and divide once, so they agree exactly.
func TestAUROCReference(t *testing.T) {
	r := llRand(20)
	for _, c := range []struct {
		nIn, nOut int
		grid      float64 // round scores to multiples of grid (0: no rounding)
		shift     float64 // out-of-distribution scores are shifted up by this
	}{
		{1, 1, 0, 0}, {7, 3, 0, 0.5}, {100, 80, 0, 1}, {300, 500, 0.5, 0.3}, {1000, 200, 0.25, -0.2}, {50, 50, 1, 0},
	} {
		draw := func(n int, shift float64) []float64 {
			v := make([]float64, n)
			for i := range v {
				v[i] = r.NormFloat64() + shift
				if c.grid > 0 {
					v[i] = c.grid * math.Round(v[i]/c.grid)
				}
			}
			return v
		}
		in, out := draw(c.nIn, 0), draw(c.nOut, c.shift)
		inCopy, outCopy := slices.Clone(in), slices.Clone(out)
		got, want := sm.AUROC(in, out), aurocRef(in, out)
		if got != want {
			t.Errorf("%+v: AUROC = %v, reference %v", c, got, want)
		}
		if !slices.Equal(in, inCopy) || !slices.Equal(out, outCopy) {
			t.Errorf("%+v: AUROC modified its inputs", c)
		}
		// Swapping the roles reflects the curve: AUROC(out, in) = 1 − AUROC(in, out).
		if back := sm.AUROC(out, in); math.Abs(back-(1-got)) > 1e-15 {
			t.Errorf("%+v: swapped AUROC %v, want %v", c, back, 1-got)
		}
	}
}

func ExampleAUROC() {
	// Energies of in-distribution test points and of out-of-distribution
	// points: a good energy model gives the latter higher energy.
	in := []float64{1.2, 0.8, 2.0, 1.1}
	out := []float64{3.5, 1.9, 2.0, 4.1}
	fmt.Printf("%.4f\n", sm.AUROC(in, out))
	// Output: 0.9062
}
