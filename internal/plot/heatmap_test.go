package plot

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestHeatmap(t *testing.T) {
	// A 3×2 grid, row 0 at the bottom:
	//   row 1:  NaN   2   4   (top)
	//   row 0:    0   1   3   (bottom)
	values := []float64{0, 1, 3, math.NaN(), 2, 4}
	orig := slices.Clone(values)
	var buf bytes.Buffer
	if err := Heatmap(&buf, values, 3, 2, HeatmapOptions{Scale: 2}); err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(values, orig, func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }) {
		t.Error("Heatmap modified its input")
	}
	img := decode(t, &buf, 6, 4)
	// Cell (i, j) covers pixels x ∈ [2i, 2i+2), y ∈ [2(1−j), 2(1−j)+2).
	cell := func(i, j int) [4][2]int {
		x, y := 2*i, 2*(1-j)
		return [4][2]int{{x, y}, {x + 1, y}, {x, y + 1}, {x + 1, y + 1}}
	}
	tests := []struct {
		i, j int
		v    float64 // value, range [0, 4]
	}{{0, 0, 0}, {1, 0, 1}, {2, 0, 3}, {1, 1, 2}, {2, 1, 4}}
	for _, tt := range tests {
		want := Viridis(tt.v / 4)
		for _, p := range cell(tt.i, tt.j) {
			if got := at(img, p[0], p[1]); got != want {
				t.Errorf("cell (%d,%d) pixel %v = %v, want %v", tt.i, tt.j, p, got, want)
			}
		}
	}
	if got := at(img, 0, 0); got != NaNColor() {
		t.Errorf("NaN cell = %v, want %v", got, NaNColor())
	}
	if got := at(img, 0, 3); got != Viridis(0) || Viridis(0) != viridisTable[0] {
		t.Errorf("minimum at the bottom left = %v, want the start colour %v", got, viridisTable[0])
	}
	if got := at(img, 5, 0); got != viridisTable[len(viridisTable)-1] {
		t.Errorf("maximum at the top right = %v, want the end colour", got)
	}
}

func TestHeatmapRangeAndLog(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		opts   HeatmapOptions
		want   []float64 // the t each cell should get
	}{
		{"given range clamps", []float64{-1, 0.5, 2}, HeatmapOptions{Min: 0, Max: 1}, []float64{0, 0.5, 1}},
		{"log", []float64{1, 10, 100}, HeatmapOptions{Log: true}, []float64{0, 0.5, 1}},
		// A density that underflowed to 0 takes the start colour, and does
		// not stretch the automatic range.
		{"log zero", []float64{0, 1, 100}, HeatmapOptions{Log: true}, []float64{0, 0, 1}},
		{"log given range", []float64{0.1, 1, 1000}, HeatmapOptions{Log: true, Min: 0.1, Max: 10}, []float64{0, 0.5, 1}},
		{"constant", []float64{3, 3, 3}, HeatmapOptions{}, []float64{0.5, 0.5, 0.5}},
		{"infinities", []float64{math.Inf(-1), 1, math.Inf(1)}, HeatmapOptions{}, []float64{0, 0.5, 1}},
		{"infinities and one finite value", []float64{math.Inf(-1), 2, 2, math.Inf(1)}, HeatmapOptions{}, []float64{0, 0.5, 0.5, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Heatmap(&buf, tt.values, len(tt.values), 1, tt.opts); err != nil {
				t.Fatal(err)
			}
			img := decode(t, &buf, len(tt.values), 1)
			for i, tv := range tt.want {
				if got, want := at(img, i, 0), Viridis(tv); got != want {
					t.Errorf("cell %d (%g) = %v, want Viridis(%g) = %v", i, tt.values[i], got, tv, want)
				}
			}
		})
	}
}

func TestHeatmapErrors(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		nx, ny int
		opts   HeatmapOptions
		msg    string
	}{
		{"length", []float64{1, 2, 3}, 2, 2, HeatmapOptions{}, "3 values"},
		{"empty", nil, 0, 0, HeatmapOptions{}, "not positive"},
		{"negative grid", []float64{1}, -1, -1, HeatmapOptions{}, "not positive"},
		{"negative scale", []float64{1}, 1, 1, HeatmapOptions{Scale: -2}, "negative scale"},
		{"huge scale", []float64{1}, 1, 1, HeatmapOptions{Scale: 1 << 20}, "exceeds"},
		{"min > max", []float64{1}, 1, 1, HeatmapOptions{Min: 2, Max: 1}, "Min > Max"},
		{"nan range", []float64{1}, 1, 1, HeatmapOptions{Min: math.NaN()}, "NaN"},
		{"log negative range", []float64{1}, 1, 1, HeatmapOptions{Min: -1, Max: 1, Log: true}, "positive range"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		err := Heatmap(&buf, tt.values, tt.nx, tt.ny, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "plot: Heatmap: ") {
			t.Errorf("%s: err = %v, want one containing %q", tt.name, err, tt.msg)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: %d bytes written despite the error", tt.name, buf.Len())
		}
	}
}
