package plot

import (
	"image/color"
	"math"
	"testing"
)

func TestViridis(t *testing.T) {
	// Reference colours are matplotlib's viridis table at round(255·t)
	// (index 0: #440154, 128: #21918c, 255: #fde725); the 11-point
	// interpolation is allowed 3 units per channel in between.
	tests := []struct {
		t    float64
		want color.NRGBA
		tol  int
	}{
		{0, color.NRGBA{0x44, 0x01, 0x54, 0xff}, 0},
		{-5, color.NRGBA{0x44, 0x01, 0x54, 0xff}, 0},
		{1, color.NRGBA{0xfd, 0xe7, 0x25, 0xff}, 0},
		{7, color.NRGBA{0xfd, 0xe7, 0x25, 0xff}, 0},
		{0.5, color.NRGBA{0x21, 0x91, 0x8c, 0xff}, 0},
		{0.25, color.NRGBA{0x3b, 0x52, 0x8b, 0xff}, 3}, // index 64: #3b528b
		{0.75, color.NRGBA{0x5e, 0xc9, 0x62, 0xff}, 3}, // index 191: #5ec962
		{math.NaN(), NaNColor(), 0},
	}
	for _, tt := range tests {
		if got := Viridis(tt.t); !near(got, tt.want, tt.tol) {
			t.Errorf("Viridis(%g) = %v, want %v ± %d", tt.t, got, tt.want, tt.tol)
		}
	}
	// Lightness (here the green channel, which dominates luminance) grows
	// monotonically along viridis.
	prev := -1
	for i := 0; i <= 100; i++ {
		g := int(Viridis(float64(i) / 100).G)
		if g < prev {
			t.Fatalf("green channel decreases at t = %g", float64(i)/100)
		}
		prev = g
	}
}
