package plot

import (
	"bytes"
	"image/color"
	"math"
	"strings"
	"testing"
)

var (
	white = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	black = color.NRGBA{0, 0, 0, 0xff}
)

func TestScatterPixels(t *testing.T) {
	// With the box [0, 400]² on 400×400 pixels, the point (x, y) lands in
	// pixel (floor(x), floor(400 − y)): (10.5, 389.5) at the centre of pixel
	// (10, 10), which with the default radius 1.5 gives a 3×3 dot.
	opts := ScatterOptions{Box: Box{0, 400, 0, 400}, Color: black}
	xs := []float64{10.5, math.NaN(), 300.5, 300.5, 1e9}
	ys := []float64{389.5, 50, 99.5, 99.5, 1}
	var buf bytes.Buffer
	if err := Scatter(&buf, xs, ys, opts); err != nil {
		t.Fatal(err)
	}
	img := decode(t, &buf, 400, 400)
	// Black at α = 0.5 over white: 255/2 = 127.5, rounded either way.
	half := color.NRGBA{128, 128, 128, 0xff}
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			if got := at(img, 10+dx, 10+dy); !near(got, half, 1) {
				t.Errorf("pixel (%d,%d) = %v, want %v", 10+dx, 10+dy, got, half)
			}
		}
	}
	for _, p := range [][2]int{{8, 10}, {12, 10}, {10, 8}, {10, 12}, {0, 0}, {399, 399}} {
		if got := at(img, p[0], p[1]); got != white {
			t.Errorf("pixel %v = %v, want the white background", p, got)
		}
	}
	// Two dots on the same spot blend: 255/4 = 63.75.
	if got, want := at(img, 300, 300), (color.NRGBA{64, 64, 64, 0xff}); !near(got, want, 1) {
		t.Errorf("two overlapping dots = %v, want %v", got, want)
	}
}

func TestScatterSecondSetAndAutoBox(t *testing.T) {
	// Auto box over both sets: x and y in [0, 10] plus 5%, so [−0.5, 10.5],
	// mapped onto 110×110 pixels, 10 pixels per unit.
	red := color.NRGBA{0xff, 0, 0, 0xff}
	blue := color.NRGBA{0, 0, 0xff, 0xff}
	opts := ScatterOptions{
		Width: 110, Height: 110, Alpha: 1, Radius: 0.4,
		Color: red, X2: []float64{10}, Y2: []float64{10}, Color2: blue,
	}
	var buf bytes.Buffer
	if err := Scatter(&buf, []float64{0, math.Inf(1)}, []float64{0, 3}, opts); err != nil {
		t.Fatal(err)
	}
	img := decode(t, &buf, 110, 110)
	// (0, 0) → pixel coordinates (5, 105); (10, 10) → (105, 5).
	if got := at(img, 5, 105); got != red {
		t.Errorf("first set at (5,105) = %v, want %v", got, red)
	}
	if got := at(img, 105, 5); got != blue {
		t.Errorf("second set at (105,5) = %v, want %v", got, blue)
	}
	n := 0
	for y := range 110 {
		for x := range 110 {
			if at(img, x, y) != white {
				n++
			}
		}
	}
	if n != 2 { // a radius below 0.5 covers only the pixel under the point
		t.Errorf("%d coloured pixels, want 2", n)
	}
}

func TestAutoBox(t *testing.T) {
	tests := []struct {
		name   string
		xs, ys []float64
		want   Box
	}{
		{"margin", []float64{0, 10}, []float64{-2, 2}, Box{-0.5, 10.5, -2.2, 2.2}},
		{"single point", []float64{3}, []float64{50}, Box{2, 4, 45, 55}},
		{"no finite point", []float64{math.NaN()}, []float64{1}, Box{-1, 1, -1, 1}},
	}
	for _, tt := range tests {
		got := autoBox([][2][]float64{{tt.xs, tt.ys}}, 0.05)
		const tol = 1e-12 // a few roundings of numbers of order 10
		if math.Abs(got.XMin-tt.want.XMin) > tol || math.Abs(got.XMax-tt.want.XMax) > tol ||
			math.Abs(got.YMin-tt.want.YMin) > tol || math.Abs(got.YMax-tt.want.YMax) > tol {
			t.Errorf("%s: autoBox = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestScatterErrors(t *testing.T) {
	one := []float64{1}
	tests := []struct {
		name   string
		xs, ys []float64
		opts   ScatterOptions
		msg    string
	}{
		{"lengths", []float64{1, 2}, one, ScatterOptions{}, "2 x values and 1 y"},
		{"empty", nil, nil, ScatterOptions{}, "no points"},
		{"second set lengths", one, one, ScatterOptions{X2: one}, "X2"},
		{"negative width", one, one, ScatterOptions{Width: -1}, "not positive"},
		{"huge", one, one, ScatterOptions{Width: 1 << 20, Height: 1 << 20}, "exceeds"},
		{"alpha", one, one, ScatterOptions{Alpha: 1.5}, "alpha"},
		{"radius", one, one, ScatterOptions{Radius: math.NaN()}, "radius"},
		{"box", one, one, ScatterOptions{Box: Box{1, 0, 0, 1}}, "invalid box"},
		{"infinite box", one, one, ScatterOptions{Box: Box{0, math.Inf(1), 0, 1}}, "invalid box"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		err := Scatter(&buf, tt.xs, tt.ys, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err = %v, want one containing %q", tt.name, err, tt.msg)
		}
	}
}
