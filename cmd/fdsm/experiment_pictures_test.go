package main

import (
	"image"
	"path/filepath"
	"testing"

	"github.com/fdsm/fdsm/internal/plot"
)

// TestExperimentPictures checks the PNG files of experiment toys and ood by
// their pixels, as pictures_test.go does those of sample and demo.
func TestExperimentPictures(t *testing.T) {
	dir := t.TempDir()

	// toys: with 4 objectives, 5 panels three to a row, each a framed map of
	// 60×60 pixels (-panel) with a title, axes and a colour bar.
	const panel = 60
	ok(t, dir, "experiment", "toys", "-toys", "rings", "-objectives", "ssm,fd-ssm,dsm,fd-dsm", "-steps", "2", "-width", "4",
		"-panel", "60", "-grid", "20", "-out", "toys")
	path := filepath.Join(dir, "toys", "density-rings.png")
	img := readPNG(t, path)
	top, left := outlineTop(img, panel+2)
	if top < 0 {
		t.Fatalf("%s: no outline around a %d-pixel panel", path, panel)
	}
	if textLines(img, 0, top-28) < 1 {
		t.Errorf("%s: no caption", path)
	}
	// The title of each panel: internal/plot's frame.go draws it at scale 2
	// (18 pixels a line) from 27 pixels above the outline.
	if textLinesIn(img, image.Rect(left, top-28, left+panel, top-1)) != 1 {
		t.Errorf("%s: the first panel has no title", path)
	}
	if textLinesIn(img, image.Rect(0, top+1, left-1, top+panel)) < 2 {
		t.Errorf("%s: want tick labels left of the first panel", path)
	}
	if textLinesIn(img, image.Rect(left-10, top+panel+2, left+panel+10, top+panel+40)) < 2 {
		t.Errorf("%s: want tick labels and an axis label below the first panel", path)
	}
	// One colour bar per panel of the first row: runs of columns that hold
	// Viridis(1) on the picture's top row.
	bars, prev := 0, false
	for x := range img.Bounds().Dx() {
		is := pixel(img, x, top+1) == plot.Viridis(1) && pixel(img, x, top+panel) == plot.Viridis(0)
		if is && !prev {
			bars++
		}
		prev = is
	}
	if bars != 3 {
		t.Errorf("%s: %d colour bars on the first row of panels, want 3", path, bars)
	}

	// ood: the 8 sets (the test digits, 7 OOD sets) one row each of 8
	// images at scale 2 (experiment_ood.go), a label left of every row.
	fakeMNIST(t, dir)
	ok(t, dir, "experiment", "ood", "-mnist", "mnist", "-steps", "2", "-width", "8", "-batch", "8", "-rows", "10", "-out", "ood")
	path = filepath.Join(dir, "ood", "ood-sets.png")
	img = readPNG(t, path)
	const cell, rows, pad = 2*28 + 1, 8, 8 // an image and its separator; internal/plot's margin
	b := img.Bounds()
	grid := image.Rect(b.Max.X-pad-(8*cell-1), b.Max.Y-pad-(rows*cell-1), b.Max.X-pad, b.Max.Y-pad)
	if grid.Min.X <= pad+20 || grid.Min.Y <= pad {
		t.Fatalf("%s: %v: no room for labels and a caption around the %v grid", path, b, grid.Size())
	}
	for i := range rows {
		band := image.Rect(pad, grid.Min.Y+i*cell, grid.Min.X, grid.Min.Y+(i+1)*cell-1)
		if textLinesIn(img, band) != 1 {
			t.Errorf("%s: row %d has no label (one line of text left of it)", path, i)
		}
	}
	if textLines(img, 0, grid.Min.Y) < 1 {
		t.Errorf("%s: no caption", path)
	}
}

// outlineTop returns the row and first column of the topmost run of at least
// w ink pixels side by side: the top edge of a frame's outline (text has no
// such runs), or −1, −1.
func outlineTop(img image.Image, w int) (int, int) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		run := 0
		for x := b.Min.X; x < b.Max.X; x++ {
			if pixel(img, x, y) != textInk {
				run = 0
				continue
			}
			if run++; run >= w {
				return y, x - run + 2 // inside the outline's corner
			}
		}
	}
	return -1, -1
}
