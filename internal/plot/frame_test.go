package plot

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestTicksWithin(t *testing.T) {
	tests := []struct {
		lo, hi float64
		n      int
		want   []float64
	}{
		{-4.4, 4.4, 5, []float64{-4, -2, 0, 2, 4}}, // the demo's box, data ± 10%
		{0, 0.27, 5, []float64{0, 0.1, 0.2}},       // step 0.054 → 0.1
		{0, 0.27, 6, []float64{0, 0.05, 0.1, 0.15, 0.2, 0.25}},
		{3, 7, 5, []float64{3, 4, 5, 6, 7}}, // both ends are ticks
		{7, 3, 5, []float64{3, 4, 5, 6, 7}}, // either order
		{0.3, 0.7, 1, []float64{0.5}},
		{0.31, 0.39, 1, nil}, // step 0.1: no tick inside
		{0.3, 0.7, 2, []float64{0.4, 0.6}},
		{-2, 2, 2, []float64{-2, 0, 2}},
		{1e-3, 1.9e-3, 5, []float64{0.001, 0.0012, 0.0014, 0.0016, 0.0018}},
	}
	for _, tt := range tests {
		if got := ticksWithin(tt.lo, tt.hi, tt.n); !slices.Equal(got, tt.want) {
			t.Errorf("ticksWithin(%g, %g, %d) = %v, want %v", tt.lo, tt.hi, tt.n, got, tt.want)
		}
	}
}

func TestAxisTicks(t *testing.T) {
	labels := func(ts []tick) []string {
		var s []string
		for _, t := range ts {
			s = append(s, t.label)
		}
		return s
	}
	room := func(s string) int { return textWidth(s, 1) + 10 }
	// [−4.4, 4.4] on 400 pixels, 400/8.8 pixels per unit: −4 in pixel
	// floor(0.4·400/8.8) = 18, 0 in 200, 4 in floor(8.4·400/8.8) = 381.
	ts := axisTicks(-4.4, 4.4, 400/xTickRoom, pixelPos(-4.4, 4.4, 400, false), room)
	if got, want := labels(ts), []string{"-4", "-2", "0", "2", "4"}; !slices.Equal(got, want) {
		t.Errorf("labels %q, want %q", got, want)
	}
	if ts[0].pos != 18 || ts[2].pos != 200 || ts[4].pos != 381 {
		t.Errorf("positions %v, want 18, 200 and 381 for -4, 0 and 4", ts)
	}
	// A range just over 10 (the demo's 8gaussians box): NiceTicks(…, 5)
	// steps by 5, leaving −5 and 0 inside; step 2 fits five labels.
	ts = axisTicks(-5.02, 5.02, 400/xTickRoom, pixelPos(-5.02, 5.02, 400, false), room)
	if got, want := labels(ts), []string{"-4", "-2", "0", "2", "4"}; !slices.Equal(got, want) {
		t.Errorf("labels on [-5.02, 5.02]: %q, want %q", got, want)
	}
	// Vertical, from the top: 4 in row 399 − 381 = 18.
	ts = axisTicks(-4.4, 4.4, 400/yTickRoom, pixelPos(-4.4, 4.4, 400, true), room)
	if ts[len(ts)-1].label != "4" || ts[len(ts)-1].pos != 18 || ts[0].pos != 381 {
		t.Errorf("vertical ticks %v, want -4 in row 381 and 4 in row 18", ts)
	}
	// On 100 pixels, the five labels of [0.001, 0.0019] (40 to 45 pixels
	// with room) do not fit; fewer do, none closer than its room.
	ts = axisTicks(1e-3, 1.9e-3, 5, pixelPos(1e-3, 1.9e-3, 100, false), room)
	if len(ts) < 2 || len(ts) >= 5 {
		t.Fatalf("ticks %v on 100 pixels, want 2 to 4", ts)
	}
	for i := 1; i < len(ts); i++ {
		if gap := ts[i].pos - ts[i-1].pos; 2*gap < room(ts[i].label)+room(ts[i-1].label) {
			t.Errorf("ticks %q and %q %d pixels apart: they overlap", ts[i-1].label, ts[i].label, gap)
		}
	}
	// On 60 pixels not even two (0.001 and 0.0015, 33 pixels apart): one.
	if ts := axisTicks(1e-3, 1.9e-3, 5, pixelPos(1e-3, 1.9e-3, 60, false), room); len(ts) != 1 {
		t.Errorf("ticks %v on 60 pixels, want one", ts)
	}
	if ts := axisTicks(1, 1, 5, pixelPos(1, 2, 60, false), room); ts != nil {
		t.Errorf("an empty range has ticks %v", ts)
	}
}

func TestColorBarTicks(t *testing.T) {
	// 1e-3 to 10 on a log bar of 301 rows: a decade each 75 rows, 10 on top.
	bar := colorBar{lo: math.Log(1e-3), hi: math.Log(10), log: true}
	want := []tick{{"0.001", 300}, {"0.01", 225}, {"0.1", 150}, {"1", 75}, {"10", 0}}
	if got := bar.ticks(301); !slices.Equal(got, want) {
		t.Errorf("log ticks %v, want %v", got, want)
	}
	// A range within a factor 2 holds one power-of-ten tick (2): nice
	// linear values instead.
	bar = colorBar{lo: math.Log(2), hi: math.Log(3), log: true}
	got := bar.ticks(200)
	if len(got) < 3 || got[0].label != "2" || got[0].pos != 199 || got[len(got)-1].label != "3" || got[len(got)-1].pos != 0 {
		t.Errorf("log ticks in [2, 3] %v, want 2 at row 199 to 3 at row 0", got)
	}
	// A constant field: its value, in the middle.
	bar = colorBar{lo: 0.25, hi: 0.25}
	if got, want := bar.ticks(101), []tick{{"0.25", 50}}; !slices.Equal(got, want) {
		t.Errorf("constant field ticks %v, want %v", got, want)
	}
	if bar.color(0, 101) != Viridis(0.5) {
		t.Errorf("constant field bar colour %v, want Viridis(0.5)", bar.color(0, 101))
	}
	if got := (&colorBar{lo: math.Inf(1), hi: math.Inf(-1)}).ticks(100); got != nil {
		t.Errorf("a bar without values has ticks %v", got)
	}
}

// inkIn counts the frame-ink pixels of img in r.
func inkIn(img image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if at(img, x, y) == ink {
				n++
			}
		}
	}
	return n
}

// samePixels reports the first pixel where img inside r differs from want
// placed at r.Min, or ok.
func samePixels(img, want image.Image, r image.Rectangle) (image.Point, bool) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p := image.Pt(x, y).Sub(r.Min).Add(want.Bounds().Min)
			if at(img, x, y) != at(want, p.X, p.Y) {
				return image.Pt(x, y), false
			}
		}
	}
	return image.Point{}, true
}

func TestHeatmapFrame(t *testing.T) {
	// 4×3 cells 0, 1, …, 11 of 30 pixels over [−2, 2] × [0, 3]: a 120×90
	// picture, cell 0 (the smallest) bottom left, 11 (the largest) top right.
	values := make([]float64, 12)
	for i := range values {
		values[i] = float64(i)
	}
	opts := HeatmapOptions{Scale: 30, Frame: &Frame{Title: "Title", XLabel: "x", YLabel: "y"},
		Box: Box{-2, 2, 0, 3}, ValueLabel: "value"}
	var buf bytes.Buffer
	if err := Heatmap(&buf, values, 4, 3, opts); err != nil {
		t.Fatal(err)
	}
	pic, bar, err := heatmapImage(values, 4, 3, opts)
	if err != nil {
		t.Fatal(err)
	}
	bar.label = opts.ValueLabel
	want, lay := framed(pic, decor{frame: *opts.Frame, box: opts.Box, bar: &bar})
	img := decode(t, &buf, want.Rect.Dx(), want.Rect.Dy())
	if p, ok := samePixels(img, want, want.Rect); !ok {
		t.Fatalf("Heatmap's PNG differs from framed's picture at %v", p)
	}
	if lay.plot.Size() != image.Pt(120, 90) {
		t.Fatalf("plot area %v, want 120×90", lay.plot)
	}
	if p, ok := samePixels(img, pic, lay.plot); !ok {
		t.Errorf("the cells are not copied unchanged: pixel %v differs", p)
	}

	// The colour bar runs from the smallest cell's colour at its bottom to
	// the largest's at its top.
	lowCell, highCell := at(img, lay.plot.Min.X, lay.plot.Max.Y-1), at(img, lay.plot.Max.X-1, lay.plot.Min.Y)
	barTop, barBottom := at(img, lay.bar.Min.X+barW/2, lay.bar.Min.Y), at(img, lay.bar.Min.X+barW/2, lay.bar.Max.Y-1)
	if barTop != highCell || barTop != Viridis(1) || barBottom != lowCell || barBottom != Viridis(0) {
		t.Errorf("colour bar from %v (bottom) to %v (top), cells from %v to %v, want Viridis(0) %v to Viridis(1) %v",
			barBottom, barTop, lowCell, highCell, Viridis(0), Viridis(1))
	}
	// Each tick of the bar sits on the row of its value's colour: row
	// positions round to ½ of 1/89 of the range, ≤ 4 units per channel
	// at viridis' steepest (about 6 units per 1% of the range).
	if len(lay.barTicks) < 2 {
		t.Fatalf("colour bar ticks %v, want at least two", lay.barTicks)
	}
	for _, tk := range lay.barTicks {
		v, err := strconv.ParseFloat(tk.label, 64)
		if err != nil {
			t.Fatalf("bar tick label %q: %v", tk.label, err)
		}
		if got := at(img, lay.bar.Min.X+barW/2, lay.bar.Min.Y+tk.pos); !near(got, Viridis(v/11), 4) {
			t.Errorf("bar tick %s in row %d of colour %v, want Viridis(%g/11) %v", tk.label, tk.pos, got, v, Viridis(v/11))
		}
		if at(img, lay.bar.Max.X+1, lay.bar.Min.Y+tk.pos) != ink {
			t.Errorf("no tick mark beside the bar for %s", tk.label)
		}
	}

	// Axes: −2 … 2 on the x axis at pixels 0, 30, 60, 90 and 119 (at least
	// four ticks, axisTicks' floor), with tick marks below the picture,
	// labels under them, and no mark between.
	xl := []string{}
	for _, tk := range lay.xTicks {
		xl = append(xl, tk.label)
		x := lay.plot.Min.X + tk.pos
		if at(img, x, lay.plot.Max.Y+2) != ink {
			t.Errorf("no tick mark under x = %s", tk.label)
		}
		label := image.Rect(x-6, lay.plot.Max.Y+1+tickLen+tickGap, x+6, lay.plot.Max.Y+1+tickLen+tickGap+capH)
		if inkIn(img, label) == 0 {
			t.Errorf("no label under x = %s", tk.label)
		}
	}
	if want := []string{"-2", "-1", "0", "1", "2"}; !slices.Equal(xl, want) {
		t.Errorf("x ticks %q, want %q", xl, want)
	}
	if at(img, lay.plot.Min.X+15, lay.plot.Max.Y+2) == ink {
		t.Error("a tick mark at x = −1.5, which has no tick")
	}
	for _, tk := range lay.yTicks {
		if at(img, lay.plot.Min.X-3, lay.plot.Min.Y+tk.pos) != ink {
			t.Errorf("no tick mark left of y = %s", tk.label)
		}
	}
	if len(lay.yTicks) < 2 {
		t.Errorf("y ticks %v, want at least two", lay.yTicks)
	}

	// The title's glyphs are drawn in its region, and nothing is above it.
	if lay.title.Empty() || inkIn(img, lay.title) < 20 {
		t.Errorf("title region %v holds %d ink pixels, want a word", lay.title, inkIn(img, lay.title))
	}
	if n := inkIn(img, image.Rect(0, 0, img.Bounds().Dx(), lay.title.Min.Y)); n != 0 {
		t.Errorf("%d ink pixels above the title", n)
	}

	// Without a frame, the picture alone, as before.
	buf.Reset()
	opts.Frame = nil
	if err := Heatmap(&buf, values, 4, 3, opts); err != nil {
		t.Fatal(err)
	}
	decode(t, &buf, 120, 90)
}

func TestScatterLegend(t *testing.T) {
	c1, c2 := color.NRGBA{0x20, 0x40, 0xe0, 0xff}, color.NRGBA{0xe0, 0x60, 0x10, 0xff}
	opts := ScatterOptions{Width: 200, Height: 150, Color: c1, Color2: c2, X2: []float64{1}, Y2: []float64{1},
		Frame: &Frame{Title: "samples"}, Label: "data", Label2: "samples"}
	xs, ys := []float64{0, 2}, []float64{0, 2}
	pic, box, err := scatterImage(xs, ys, opts)
	if err != nil {
		t.Fatal(err)
	}
	want, lay := framed(pic, decor{frame: *opts.Frame, box: box,
		legend: []legendItem{{"data", c1}, {"samples", c2}}})
	var buf bytes.Buffer
	if err := Scatter(&buf, xs, ys, opts); err != nil {
		t.Fatal(err)
	}
	img := decode(t, &buf, want.Rect.Dx(), want.Rect.Dy())
	if p, ok := samePixels(img, want, want.Rect); !ok {
		t.Fatalf("Scatter's PNG differs from framed's picture at %v", p)
	}
	if p, ok := samePixels(img, pic, lay.plot); !ok {
		t.Errorf("the dots are not copied unchanged: pixel %v differs", p)
	}
	// The legend's swatches, in order along its middle row, are the sets'
	// colours.
	var swatches []color.NRGBA
	y := lay.legend.Min.Y + swatch/2
	for x := lay.legend.Min.X; x < lay.legend.Max.X; x++ {
		c := at(img, x, y)
		if c != ink && c != paper && (len(swatches) == 0 || swatches[len(swatches)-1] != c) {
			swatches = append(swatches, c)
		}
	}
	if !slices.Equal(swatches, []color.NRGBA{c1, c2}) {
		t.Errorf("legend swatches %v, want the points' colours %v and %v", swatches, c1, c2)
	}
	if inkIn(img, lay.legend) < 20 {
		t.Error("the legend has no names")
	}
	if lay.legend.Max.Y > lay.plot.Min.Y-1 || lay.title.Max.Y > lay.legend.Min.Y {
		t.Errorf("legend %v overlaps the title %v or the plot %v", lay.legend, lay.title, lay.plot)
	}
}

func TestImageGridCaption(t *testing.T) {
	// Two 2×2 images at scale 10: a 41×20 grid, widened to a 64-character
	// caption line (64·6 − 1 = 383 pixels) plus margins.
	images := [][]float64{{0, 1, 1, 0}, {1, 0, 0, 1}}
	var plain, buf bytes.Buffer
	if err := ImageGrid(&plain, images, 2, 2, 2, ImageGridOptions{Scale: 10}); err != nil {
		t.Fatal(err)
	}
	grid := decode(t, &plain, 41, 20)
	// A line of 60 characters stays one line on so small a grid.
	caption := "model M: MLP 784-512-512-1 softplus, FD-SSM, 10000 steps\nsampler Langevin"
	if err := ImageGrid(&buf, images, 2, 2, 2, ImageGridOptions{Scale: 10, Caption: caption}); err != nil {
		t.Fatal(err)
	}
	W := 383 + 2*pad
	top := pad + 2*lineH + 4 // two lines
	img := decode(t, &buf, W, top+20+pad)
	x0 := (W - 41) / 2
	if p, ok := samePixels(img, grid, image.Rect(x0, top, x0+41, top+20)); !ok {
		t.Errorf("the grid is not copied unchanged under the caption: pixel %v differs", p)
	}
	for i := range 2 {
		line := image.Rect(pad, pad+i*lineH, W-pad, pad+i*lineH+capH)
		if inkIn(img, line) < 10 {
			t.Errorf("caption line %d is blank", i)
		}
	}
}

func TestImageGridRowLabels(t *testing.T) {
	// Four 2×2 images, two to a row, at scale 10: a 41×41 grid, with labels
	// left of its two rows (the second label is wider).
	images := [][]float64{{0, 0, 0, 0}, {0, 0, 0, 0}, {1, 1, 1, 1}, {1, 1, 1, 1}}
	var plain, buf bytes.Buffer
	if err := ImageGrid(&plain, images, 2, 2, 2, ImageGridOptions{Scale: 10}); err != nil {
		t.Fatal(err)
	}
	grid := decode(t, &plain, 41, 41)
	labels := []string{"test", "flipped"}
	if err := ImageGrid(&buf, images, 2, 2, 2, ImageGridOptions{Scale: 10, RowLabels: labels}); err != nil {
		t.Fatal(err)
	}
	left := textWidth("flipped", 1) + 6
	img := decode(t, &buf, left+41, 41)
	if p, ok := samePixels(img, grid, image.Rect(left, 0, left+41, 41)); !ok {
		t.Errorf("the grid is not copied unchanged right of the labels: pixel %v differs", p)
	}
	// Each label in its row's band, right-aligned against the gap.
	for i, l := range labels {
		band := image.Rect(0, i*21, left, i*21+20)
		if inkIn(img, band) < 10 {
			t.Errorf("row %d: no label %q", i, l)
		}
		if x0 := left - 6 - textWidth(l, 1); inkIn(img, image.Rect(0, band.Min.Y, x0, band.Max.Y)) != 0 {
			t.Errorf("row %d: label %q is not right-aligned", i, l)
		}
	}
	if err := ImageGrid(&buf, images, 2, 2, 2, ImageGridOptions{RowLabels: []string{"a", "b", "c"}}); err == nil || !strings.Contains(err.Error(), "3 row labels for 2 rows") {
		t.Errorf("too many labels: %v", err)
	}
}

func TestHeatmapGrid(t *testing.T) {
	// Three framed 30×30 maps, two to a row: each panel is pixel for pixel
	// the Heatmap of its arguments, in cells of the largest panel's size.
	var panels []HeatmapPanel
	var pics []image.Image
	for k := range 3 {
		v := make([]float64, 30*30)
		for i := range v {
			v[i] = float64((i + 7*k) % 30)
		}
		opts := HeatmapOptions{Frame: &Frame{Title: fmt.Sprint("panel ", k), XLabel: "x1", YLabel: "x2"}, Box: Box{-1, 1, -1, 1}, ValueLabel: "p"}
		if k == 2 {
			opts.Scale = 2 // the largest
		}
		panels = append(panels, HeatmapPanel{Values: v, NX: 30, NY: 30, Options: opts})
		var b bytes.Buffer
		if err := Heatmap(&b, v, 30, 30, opts); err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(&b)
		if err != nil {
			t.Fatal(err)
		}
		pics = append(pics, img)
	}
	cw, ch := pics[2].Bounds().Dx(), pics[2].Bounds().Dy()
	var buf bytes.Buffer
	if err := HeatmapGrid(&buf, panels, 2, ""); err != nil {
		t.Fatal(err)
	}
	img := decode(t, &buf, 2*cw, 2*ch)
	for k, pic := range pics {
		at := image.Pt((k%2)*cw, (k/2)*ch)
		if p, ok := samePixels(img, pic, pic.Bounds().Add(at)); !ok {
			t.Errorf("panel %d differs from its Heatmap at %v", k, p)
		}
	}
	// The empty cell is white.
	if inkIn(img, image.Rect(cw, ch, 2*cw, 2*ch)) != 0 || at(img, cw+cw/2, ch+ch/2) != paper {
		t.Error("the empty cell is not blank")
	}
	// A caption goes above, as ImageGrid's.
	if err := HeatmapGrid(&buf, panels, 3, "three maps"); err != nil {
		t.Fatal(err)
	}
	if img, err := png.Decode(&buf); err != nil || img.Bounds().Dy() != pad+lineH+4+ch+pad {
		t.Errorf("captioned: %v, %v", img.Bounds(), err)
	}
	for _, c := range []struct {
		panels []HeatmapPanel
		cols   int
		want   string
	}{
		{nil, 1, "no panels"},
		{panels, 0, "0 columns"},
		{[]HeatmapPanel{{Values: []float64{1}, NX: 2, NY: 1}}, 1, "panel 0: plot: Heatmap: 1 values for a 2×1 grid"},
	} {
		if err := HeatmapGrid(&buf, c.panels, c.cols, ""); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("HeatmapGrid error %v, want %q", err, c.want)
		}
	}
}

func TestAxisTicksSmallPanel(t *testing.T) {
	// A 160-pixel axis over [−4.2, 4.2], as experiment toys draws for
	// 8gaussians: 160/70 gives maxN 2, which allowed only "0" (step 5; step 2
	// gives five ticks, 38 pixels apart, room enough); a scale needs at
	// least three.
	ts := axisTicks(-4.2, 4.2, 160/xTickRoom, pixelPos(-4.2, 4.2, 160, false), func(s string) int { return textWidth(s, 1) + 10 })
	var labels []string
	for _, t := range ts {
		labels = append(labels, t.label)
	}
	if len(ts) < 3 {
		t.Errorf("ticks %q on a 160-pixel axis, want at least 3", labels)
	}
}
