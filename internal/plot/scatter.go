package plot

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
)

// Box is a rectangle of the data plane, [XMin, XMax] × [YMin, YMax].
type Box struct {
	XMin, XMax, YMin, YMax float64
}

// valid reports whether b is a non-empty finite rectangle.
func (b Box) valid() bool {
	ok := func(lo, hi float64) bool {
		return lo < hi && !math.IsInf(lo, 0) && !math.IsInf(hi, 0) && !math.IsInf(hi-lo, 0)
	}
	return ok(b.XMin, b.XMax) && ok(b.YMin, b.YMax)
}

// ScatterOptions control Scatter. The zero value draws a 400×400 picture of
// the points' bounding box plus a 5% margin, with blue dots of radius 1.5
// pixels at 50% opacity on white.
type ScatterOptions struct {
	// Width and Height are the picture's size in pixels; 0 means 400.
	Width, Height int
	// Box is the region drawn. The zero Box means the bounding box of all
	// finite points (of both sets) enlarged by Margin on every side.
	Box Box
	// Margin is the fraction of the bounding box's width and height added on
	// each side of an automatic box; 0 means 0.05, negative means none.
	Margin float64
	// Radius of a dot in pixels: a dot covers the pixels whose centres are
	// within Radius of the point. 0 means 1.5 (a 3×3 dot); a radius below
	// 0.5 still covers the pixel under the point.
	Radius float64
	// Alpha is the dots' opacity in (0, 1]; 0 means 0.5. Overlapping dots
	// blend, so dense regions look darker.
	Alpha float64
	// Color of the first set of points; nil means blue (#1f77b4).
	Color color.Color
	// X2 and Y2 are an optional second set of points, drawn over the first
	// in Color2, for instance the training data beside a model's samples.
	X2, Y2 []float64
	// Color2 of the second set; nil means orange (#ff7f0e).
	Color2 color.Color
	// Background colour; nil means white. It is drawn opaque.
	Background color.Color
	// Frame, if not nil, draws a title and axes with the coordinates of the
	// box around the picture, and a legend of the sets that have a label.
	Frame *Frame
	// Label and Label2 name the first and second set in the legend, as
	// "data" and "samples"; a set without a label is left out of it.
	Label, Label2 string
}

// Scatter writes a PNG of the points (xs[i], ys[i]) as translucent dots,
// y up. Points with a NaN or infinite coordinate are skipped, as are points
// outside the box. If no point is finite, an automatic box is [−1, 1]².
// Each dot's colour is composited over the picture with the "over" operator,
// dst ← α·src + (1 − α)·dst, per channel in sRGB.
//
// With a Frame the Width×Height picture is set in margins holding the
// title, the axes and the legend, whose swatches are the sets' colours.
func Scatter(w io.Writer, xs, ys []float64, opts ScatterOptions) error {
	img, box, err := scatterImage(xs, ys, opts)
	if err != nil {
		return err
	}
	if opts.Frame != nil {
		var legend []legendItem
		if opts.Label != "" {
			legend = append(legend, legendItem{opts.Label, colorOf(opts.Color, defaultColor)})
		}
		if opts.Label2 != "" {
			legend = append(legend, legendItem{opts.Label2, colorOf(opts.Color2, defaultColor2)})
		}
		img, _ = framed(img, decor{frame: *opts.Frame, box: box, legend: legend})
	}
	return encodePNG(w, img)
}

// The colours of Scatter's first and second sets when none is given:
// matplotlib's first two "tab10" colours.
var (
	defaultColor  = color.NRGBA{0x1f, 0x77, 0xb4, 0xff}
	defaultColor2 = color.NRGBA{0xff, 0x7f, 0x0e, 0xff}
)

// scatterImage draws the dots of Scatter and returns them with the box
// they are drawn in.
func scatterImage(xs, ys []float64, opts ScatterOptions) (*image.NRGBA, Box, error) {
	if len(xs) != len(ys) {
		return nil, Box{}, fmt.Errorf("plot: Scatter: %d x values and %d y values", len(xs), len(ys))
	}
	if len(xs) == 0 {
		return nil, Box{}, errors.New("plot: Scatter: no points")
	}
	if len(opts.X2) != len(opts.Y2) {
		return nil, Box{}, fmt.Errorf("plot: Scatter: %d X2 values and %d Y2 values", len(opts.X2), len(opts.Y2))
	}
	W, H := opts.Width, opts.Height
	if W == 0 {
		W = 400
	}
	if H == 0 {
		H = 400
	}
	if err := checkImageSize("Scatter", W, H); err != nil {
		return nil, Box{}, err
	}
	radius := opts.Radius
	switch {
	case radius == 0:
		radius = 1.5
	case !(radius > 0) || radius > 1000:
		return nil, Box{}, fmt.Errorf("plot: Scatter: radius %g outside (0, 1000]", radius)
	}
	alpha := opts.Alpha
	switch {
	case alpha == 0:
		alpha = 0.5
	case !(alpha > 0 && alpha <= 1):
		return nil, Box{}, fmt.Errorf("plot: Scatter: alpha %g outside (0, 1]", alpha)
	}
	box := opts.Box
	if box == (Box{}) {
		margin := opts.Margin
		if margin == 0 {
			margin = 0.05
		}
		if !(margin > 0) { // negative or NaN: none
			margin = 0
		}
		box = autoBox([][2][]float64{{xs, ys}, {opts.X2, opts.Y2}}, margin)
	} else if !box.valid() {
		return nil, Box{}, fmt.Errorf("plot: Scatter: invalid box %+v", box)
	}

	// The canvas holds linear blends of 8-bit sRGB values in float32, so that
	// many faint dots add up without rounding at each step.
	canvas := make([]float32, 3*W*H)
	bg := rgbOf(opts.Background, color.White)
	for k := 0; k < len(canvas); k += 3 {
		canvas[k], canvas[k+1], canvas[k+2] = bg[0], bg[1], bg[2]
	}
	c1 := rgbOf(opts.Color, defaultColor)
	c2 := rgbOf(opts.Color2, defaultColor2)
	sx := float64(W) / (box.XMax - box.XMin)
	sy := float64(H) / (box.YMax - box.YMin)
	a := float32(alpha)
	draw := func(xs, ys []float64, c [3]float32) {
		for i, x := range xs {
			y := ys[i]
			if !isFinite(x) || !isFinite(y) || x < box.XMin || x > box.XMax || y < box.YMin || y > box.YMax {
				continue
			}
			// (px, py) in continuous pixel coordinates: pixel (i, j) spans
			// [i, i+1) × [j, j+1), and y grows downwards.
			px := (x - box.XMin) * sx
			py := (box.YMax - y) * sy
			dot(canvas, W, H, px, py, radius, c, a)
		}
	}
	draw(xs, ys, c1)
	draw(opts.X2, opts.Y2, c2)

	img := image.NewNRGBA(image.Rect(0, 0, W, H))
	for p := range W * H {
		for ch := range 3 {
			img.Pix[4*p+ch] = uint8(math.Round(float64(min(max(canvas[3*p+ch], 0), 255))))
		}
		img.Pix[4*p+3] = 0xff
	}
	return img, box, nil
}

// dot blends colour c with opacity a into the pixels of canvas whose centres
// are within r of (px, py), and always into the pixel containing (px, py).
func dot(canvas []float32, W, H int, px, py, r float64, c [3]float32, a float32) {
	ci, cj := int(math.Floor(px)), int(math.Floor(py))
	ri := int(math.Ceil(r))
	for j := cj - ri; j <= cj+ri; j++ {
		if j < 0 || j >= H {
			continue
		}
		for i := ci - ri; i <= ci+ri; i++ {
			if i < 0 || i >= W {
				continue
			}
			dx, dy := float64(i)+0.5-px, float64(j)+0.5-py
			if dx*dx+dy*dy > r*r && (i != ci || j != cj) {
				continue
			}
			p := canvas[3*(j*W+i) : 3*(j*W+i)+3]
			for ch := range 3 {
				p[ch] = a*c[ch] + (1-a)*p[ch]
			}
		}
	}
}

// autoBox returns the bounding box of the finite points of all sets,
// enlarged by margin times its width and height on each side. A degenerate
// extent (a single point, or points on a line) is widened to ±1 around it,
// or ±10% of its magnitude if that is larger; no point at all gives [−1, 1]².
func autoBox(sets [][2][]float64, margin float64) Box {
	b := Box{math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)}
	for _, s := range sets {
		for i, x := range s[0] {
			y := s[1][i]
			if !isFinite(x) || !isFinite(y) {
				continue
			}
			b.XMin, b.XMax = min(b.XMin, x), max(b.XMax, x)
			b.YMin, b.YMax = min(b.YMin, y), max(b.YMax, y)
		}
	}
	if b.XMin > b.XMax {
		return Box{-1, 1, -1, 1}
	}
	b.XMin, b.XMax = widen(b.XMin, b.XMax, margin)
	b.YMin, b.YMax = widen(b.YMin, b.YMax, margin)
	return b
}

// widen adds margin·(hi − lo) on both sides of [lo, hi], or makes a
// degenerate interval non-empty.
func widen(lo, hi, margin float64) (float64, float64) {
	d := hi - lo
	switch {
	case math.IsInf(d, 0): // points near ±MaxFloat64: no room for a margin
		return lo, hi
	case d <= 1e-12*max(math.Abs(lo), math.Abs(hi)):
		h := max(1, 0.1*max(math.Abs(lo), math.Abs(hi)))
		return lo - h, hi + h
	}
	return lo - margin*d, hi + margin*d
}

// rgbOf returns the 8-bit sRGB components of c (unpremultiplied), or of def
// if c is nil.
func rgbOf(c, def color.Color) [3]float32 {
	n := colorOf(c, def)
	return [3]float32{float32(n.R), float32(n.G), float32(n.B)}
}

// colorOf returns c, or def if c is nil, unpremultiplied and opaque.
func colorOf(c, def color.Color) color.NRGBA {
	if c == nil {
		c = def
	}
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	n.A = 0xff
	return n
}

// isFinite reports whether v is neither NaN nor infinite.
func isFinite(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0)
}
