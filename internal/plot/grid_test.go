package plot

import (
	"bytes"
	"image/color"
	"math"
	"strings"
	"testing"
)

func TestImageGrid(t *testing.T) {
	// Three 2×3 images (h = 2, wdt = 3) in 2 columns: 2 rows, so the picture
	// is 2·3 + 1 = 7 wide and 2·2 + 1 = 5 high; the fourth cell is empty.
	images := [][]float64{
		{0, 0.5, 1, -3, 7, math.NaN()},
		{1, 1, 1, 1, 1, 1},
		{0.2, 0.2, 0.2, 0.2, 0.2, 0.2},
	}
	var buf bytes.Buffer
	if err := ImageGrid(&buf, images, 2, 3, 2, ImageGridOptions{}); err != nil {
		t.Fatal(err)
	}
	img := decode(t, &buf, 7, 5)
	gray := func(g uint8) color.NRGBA { return color.NRGBA{g, g, g, 0xff} }
	sep := gray(0x80)
	tests := []struct {
		x, y int
		want color.NRGBA
		tol  int
	}{
		{0, 0, gray(0), 0},
		{1, 0, gray(128), 1}, // 0.5·255 = 127.5
		{2, 0, gray(255), 0},
		{0, 1, gray(0), 0},   // −3 clamped
		{1, 1, gray(255), 0}, // 7 clamped
		{2, 1, NaNPixelColor(), 0},
		{3, 0, sep, 0}, {3, 4, sep, 0}, {0, 2, sep, 0}, {6, 2, sep, 0}, // separators
		{4, 0, gray(255), 0}, {6, 1, gray(255), 0}, // image 1
		{0, 3, gray(51), 0}, {2, 4, gray(51), 0}, // image 2: 0.2·255 = 51
		{4, 3, sep, 0}, {6, 4, sep, 0}, // empty cell
	}
	for _, tt := range tests {
		if got := at(img, tt.x, tt.y); !near(got, tt.want, tt.tol) {
			t.Errorf("pixel (%d,%d) = %v, want %v", tt.x, tt.y, got, tt.want)
		}
	}
}

func TestImageGridScale(t *testing.T) {
	// Two 1×2 images in 5 columns (shrunk to 2), scale 3, white separator:
	// 2·2·3 + 1 = 13 by 1·1·3 = 3.
	images := [][]float64{{0, 1}, {1, 0}}
	var buf bytes.Buffer
	if err := ImageGrid(&buf, images, 1, 2, 5, ImageGridOptions{Scale: 3, Separator: color.White}); err != nil {
		t.Fatal(err)
	}
	img := decode(t, &buf, 13, 3)
	want := "KKKWWW|WWWKKK" // K black, W white, | the separator (white)
	for x, c := range want {
		g := uint8(0)
		if c != 'K' {
			g = 255
		}
		for y := range 3 {
			if got := at(img, x, y); got != (color.NRGBA{g, g, g, 0xff}) {
				t.Errorf("pixel (%d,%d) = %v, want %c", x, y, got, c)
			}
		}
	}
}

func TestImageGridErrors(t *testing.T) {
	tests := []struct {
		name        string
		images      [][]float64
		h, wdt, col int
		opts        ImageGridOptions
		msg         string
	}{
		{"no images", nil, 1, 1, 1, ImageGridOptions{}, "no images"},
		{"zero height", [][]float64{{}}, 0, 1, 1, ImageGridOptions{}, "not positive"},
		{"zero columns", [][]float64{{1}}, 1, 1, 0, ImageGridOptions{}, "not positive"},
		{"length", [][]float64{{1}, {1, 2}}, 1, 1, 2, ImageGridOptions{}, "image 1 has 2 values"},
		{"negative scale", [][]float64{{1}}, 1, 1, 1, ImageGridOptions{Scale: -1}, "negative scale"},
		{"huge", [][]float64{{1}}, 1, 1, 1, ImageGridOptions{Scale: 1 << 14}, "exceeds"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		err := ImageGrid(&buf, tt.images, tt.h, tt.wdt, tt.col, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err = %v, want one containing %q", tt.name, err, tt.msg)
		}
	}
}
