package main

import (
	"github.com/fdsm/fdsm/bench/experiment"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/fdsm/fdsm/internal/plot"
)

// The PNG files fdsm writes are checked for what a reader needs, by their
// pixels: text is drawn in the frame's ink (#222222, internal/plot's
// frame.go) on white, legend swatches in the opaque colours of the sets
// (matplotlib's tab10 blue and orange, internal/plot's scatter.go), the
// colour bar in viridis from plot.Viridis(1) at its top to plot.Viridis(0).

var (
	textInk = color.NRGBA{0x22, 0x22, 0x22, 0xff}
	blue    = color.NRGBA{0x1f, 0x77, 0xb4, 0xff}
	orange  = color.NRGBA{0xff, 0x7f, 0x0e, 0xff}
)

// readPNG decodes the PNG file at path.
func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func pixel(img image.Image, x, y int) color.NRGBA {
	return color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
}

// textLines returns the number of lines of text in the rows [y0, y1) of
// img: runs of rows holding ink, separated by rows without.
func textLines(img image.Image, y0, y1 int) int {
	b := img.Bounds()
	return textLinesIn(img, image.Rect(b.Min.X, y0, b.Max.X, y1))
}

// textLinesIn is textLines within the rectangle r.
func textLinesIn(img image.Image, r image.Rectangle) int {
	n, prev := 0, false
	for y := r.Min.Y; y < r.Max.Y; y++ {
		has := false
		for x := r.Min.X; x < r.Max.X && !has; x++ {
			has = pixel(img, x, y) == textInk
		}
		if has && !prev {
			n++
		}
		prev = has
	}
	return n
}

// plotTop returns the row of the top edge of the frame's outline around a
// picture at least w pixels wide (the first row with w ink pixels), or −1.
func plotTop(img image.Image, w int) int {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		n := 0
		for x := b.Min.X; x < b.Max.X; x++ {
			if pixel(img, x, y) == textInk {
				n++
			}
		}
		if n >= w {
			return y
		}
	}
	return -1
}

// hasSwatch reports whether img holds, above row yMax, a legend swatch: an
// 8×8 square (internal/plot's swatch size) of colour c.
func hasSwatch(img image.Image, c color.NRGBA, yMax int) bool {
	const side = 8
	b := img.Bounds()
	for y := b.Min.Y; y+side <= yMax; y++ {
	next:
		for x := b.Min.X; x+side <= b.Max.X; x++ {
			for dy := range side {
				for dx := range side {
					if pixel(img, x+dx, y+dy) != c {
						continue next
					}
				}
			}
			return true
		}
	}
	return false
}

// checkScatter checks a framed scatter plot of a w×w picture: margins
// around it, a title above, tick labels left of it and below, and legend
// swatches for the data (blue, if withData) and the samples (orange).
func checkScatter(t *testing.T, path string, w int, withData bool) {
	t.Helper()
	img := readPNG(t, path)
	b := img.Bounds()
	if b.Dx() <= w+20 || b.Dy() <= w+20 {
		t.Errorf("%s: %v, no margins around the %d×%d picture", path, b, w, w)
		return
	}
	top := plotTop(img, w)
	if top < 0 {
		t.Errorf("%s: no outline around the picture", path)
		return
	}
	if textLines(img, 0, top) < 2 { // the title, the legend's labels
		t.Errorf("%s: want a title and a legend above the picture", path)
	}
	if textLines(img, top+w+2, b.Max.Y) < 1 {
		t.Errorf("%s: no tick labels below the picture", path)
	}
	if !hasSwatch(img, orange, top) {
		t.Errorf("%s: no legend swatch of the samples", path)
	}
	if hasSwatch(img, blue, top) != withData {
		t.Errorf("%s: a legend swatch of the data: %v, want %v", path, !withData, withData)
	}
}

// checkHeatmap checks a framed density map of a w×w picture: a title, tick
// labels, and a colour bar right of the picture running from Viridis(1) at
// its top to Viridis(0) at its bottom.
func checkHeatmap(t *testing.T, path string, w int) {
	t.Helper()
	img := readPNG(t, path)
	b := img.Bounds()
	top := plotTop(img, w)
	if top < 0 {
		t.Errorf("%s: %v, no outline around the %d×%d picture", path, b, w, w)
		return
	}
	if textLines(img, 0, top) < 1 {
		t.Errorf("%s: no title", path)
	}
	if textLines(img, top+w+2, b.Max.Y) < 2 { // tick labels, the axis label
		t.Errorf("%s: want tick labels and an axis label below the picture", path)
	}
	// The colour bar: the rightmost column holding Viridis(1) at the top
	// row of the picture.
	hi, lo := plot.Viridis(1), plot.Viridis(0)
	bar := -1
	for x := b.Max.X - 1; x >= b.Min.X && bar < 0; x-- {
		if pixel(img, x, top+1) == hi {
			bar = x
		}
	}
	if bar < 0 || bar < b.Dx()/2 {
		t.Errorf("%s: no colour bar right of the picture", path)
		return
	}
	if got := pixel(img, bar, top+w); got != lo {
		t.Errorf("%s: the colour bar ends in %v, want Viridis(0) %v", path, got, lo)
	}
	// The bar's tick labels beside it, right of its outline.
	if textLinesIn(img, image.Rect(bar+2, top+1, b.Max.X, top+w-1)) < 3 {
		t.Errorf("%s: want tick labels beside the colour bar", path)
	}
}

// TestSamplePictures checks the PNG files of fdsm sample: a scatter plot
// with axes and a legend over a toy's data, a captioned grid of images.
func TestSamplePictures(t *testing.T) {
	dir := t.TempDir()
	trainToy(t, dir, "toy")
	ok(t, dir, "sample", "-ckpt", "toy", "-n", "200", "-steps", "5", "-out", "toy.png")
	checkScatter(t, filepath.Join(dir, "toy.png"), 500, true) // sample.go: 500×500

	fakeMNIST(t, dir)
	ok(t, dir, "train", "-data", "mnist:mnist", "-width", "8", "-steps", "2", "-batch", "4", "-objective", "fd-mdsm", "-out", "mlp")
	ok(t, dir, "sample", "-ckpt", "mlp", "-n", "4", "-steps", "2", "-annealed", "-sigmas", "1,0.1,2", "-out", "grid.png")
	img := readPNG(t, filepath.Join(dir, "grid.png"))
	// 4 images in 2 columns at scale 2 (sample.go): 2·56 + 1 pixels square;
	// the caption is above, the grid centred below it with a margin of 8
	// (internal/plot's pad).
	const side, pad = 2*56 + 1, 8
	top := img.Bounds().Dy() - side - pad
	if top <= pad {
		t.Fatalf("grid.png: %v: no caption above the %d-pixel grid", img.Bounds(), side)
	}
	// The model, the objective and the sampler, at least a line each.
	if n := textLines(img, 0, top); n < 3 {
		t.Errorf("grid.png: %d lines of caption, want the model, how it was trained and the sampler", n)
	}
}

// TestDemoPictures checks the density maps and scatter plots of fdsm demo.
func TestDemoPictures(t *testing.T) {
	dir := t.TempDir()
	ok(t, dir, "demo", "-quick", "-steps", "3", "-width", "4", "-out", "pics")
	for _, f := range []string{"density-true.png", "density-" + experiment.DemoObjectives()[0] + ".png"} {
		checkHeatmap(t, filepath.Join(dir, "pics", f), 400) // demo.go: 40 cells of 10 pixels with -quick
	}
	checkScatter(t, filepath.Join(dir, "pics", "samples-"+experiment.DemoObjectives()[0]+".png"), 400, true) // the ScatterOptions default
}
