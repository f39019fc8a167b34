package plot

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Series is one curve of a LineChart: the points (X[i], Y[i]) joined in
// order.
type Series struct {
	// Name is shown in the legend.
	Name string
	// X and Y hold the coordinates; they must have the same length.
	X, Y []float64
}

// ChartOptions control LineChart. The zero value draws a 640×400 chart with
// linear axes and no title or axis labels.
type ChartOptions struct {
	// Width and Height are the chart's size in SVG user units (pixels);
	// 0 means 640 and 400.
	Width, Height int
	// Title is drawn above the plot, XLabel below it and YLabel on its left.
	Title, XLabel, YLabel string
	// LogY makes the y axis logarithmic; points with y ≤ 0 are then skipped.
	LogY bool
}

// palette is matplotlib's "tab10": ten colours told apart easily, also by
// most colour-blind readers. Series beyond the tenth reuse them dashed.
var palette = [...]string{
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
	"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
}

// dashes are the stroke patterns of series 0–9, 10–19 and 20–29 (and again).
var dashes = [...]string{"", "6 3", "2 2"}

// LineChart writes an SVG line chart of the series, for instance the
// training loss against wall-clock time: each series is one <path> in its
// own colour, over axes whose ticks are nice numbers (NiceTicks) and which
// end on ticks, with a legend of the series' names when any is non-empty.
//
// A point with a NaN or infinite coordinate (or, with LogY, y ≤ 0) is
// skipped and breaks the line there; a point left without a neighbour is
// drawn as a dot. All text is escaped for XML; characters XML cannot hold
// (control characters, invalid UTF-8) become U+FFFD.
//
// It is an error to pass no series, a series with no points or with X and Y
// of different lengths, or a negative or too small size.
func LineChart(w io.Writer, series []Series, opts ChartOptions) error {
	if len(series) == 0 {
		return errors.New("plot: LineChart: no series")
	}
	for k, s := range series {
		if len(s.X) != len(s.Y) {
			return fmt.Errorf("plot: LineChart: series %d (%q) has %d x values and %d y values", k, s.Name, len(s.X), len(s.Y))
		}
		if len(s.X) == 0 {
			return fmt.Errorf("plot: LineChart: series %d (%q) is empty", k, s.Name)
		}
	}
	W, H := opts.Width, opts.Height
	if W == 0 {
		W = 640
	}
	if H == 0 {
		H = 400
	}
	if err := checkImageSize("LineChart", W, H); err != nil {
		return err
	}
	usable := func(x, y float64) bool {
		return isFinite(x) && isFinite(y) && (!opts.LogY || y > 0)
	}

	// Data ranges over the points that are drawn.
	xlo, xhi := math.Inf(1), math.Inf(-1)
	ylo, yhi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for i, x := range s.X {
			if y := s.Y[i]; usable(x, y) {
				xlo, xhi = min(xlo, x), max(xhi, x)
				ylo, yhi = min(ylo, y), max(yhi, y)
			}
		}
	}
	if xlo > xhi { // nothing to draw: an empty frame
		xlo, xhi, ylo, yhi = 0, 1, 0, 1
		if opts.LogY {
			ylo, yhi = 1, 10
		}
	}

	// Layout. The y ticks fix the left margin (their labels' width), which
	// fixes the plot width and so the number of x ticks.
	const charW = 7 // approximate advance of a 12px sans-serif character
	top, bottom, right := 12, 30, 16
	if opts.Title != "" {
		top = 36
	}
	if opts.XLabel != "" {
		bottom += 18
	}
	ph := H - top - bottom
	var yt []float64
	if opts.LogY {
		yt = logTicks(ylo, yhi)
	} else {
		yt = NiceTicks(ylo, yhi, max(2, ph/60))
	}
	ylabels := make([]string, len(yt))
	maxLen := 0
	for i, v := range yt {
		ylabels[i] = formatTick(v)
		maxLen = max(maxLen, utf8.RuneCountInString(ylabels[i]))
	}
	left := 18 + charW*maxLen
	if opts.YLabel != "" {
		left += 20
	}
	pw := W - left - right
	if pw < 20 || ph < 20 {
		return fmt.Errorf("plot: LineChart: size %d×%d leaves no room for the plot", W, H)
	}
	xt := NiceTicks(xlo, xhi, max(2, pw/90))
	if xt == nil || yt == nil { // a range wider than MaxFloat64
		return errors.New("plot: LineChart: data range too wide to draw")
	}

	x0, x1 := xt[0], xt[len(xt)-1]
	y0, y1 := yt[0], yt[len(yt)-1]
	ty := func(y float64) float64 { return y }
	if opts.LogY {
		ty = math.Log10
	}
	ty0, ty1 := ty(y0), ty(y1)
	sx := func(x float64) float64 { return float64(left) + (x-x0)/(x1-x0)*float64(pw) }
	sy := func(y float64) float64 { return float64(top+ph) - (ty(y)-ty0)/(ty1-ty0)*float64(ph) }

	var b strings.Builder
	f := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	f(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	f(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	f(`<rect width="%d" height="%d" fill="white"/>`+"\n", W, H)
	if opts.Title != "" {
		f(`<text class="title" x="%s" y="22" text-anchor="middle" font-size="15" font-weight="bold">%s</text>`+"\n", num(float64(W)/2), escapeXML(opts.Title))
	}

	// Grid lines, tick marks and tick labels.
	bottomY := float64(top + ph)
	f(`<g class="grid" stroke="#e5e5e5" stroke-width="1">` + "\n")
	for _, v := range xt {
		f(`<line x1="%s" y1="%d" x2="%s" y2="%d"/>`+"\n", num(sx(v)), top, num(sx(v)), top+ph)
	}
	for _, v := range yt {
		f(`<line x1="%d" y1="%s" x2="%d" y2="%s"/>`+"\n", left, num(sy(v)), left+pw, num(sy(v)))
	}
	f("</g>\n")
	f(`<g class="xticks" text-anchor="middle">` + "\n")
	for _, v := range xt {
		f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#333"/>`, num(sx(v)), num(bottomY), num(sx(v)), num(bottomY+5))
		f(`<text x="%s" y="%s">%s</text>`+"\n", num(sx(v)), num(bottomY+18), escapeXML(formatTick(v)))
	}
	f("</g>\n")
	f(`<g class="yticks" text-anchor="end">` + "\n")
	for i, v := range yt {
		f(`<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#333"/>`, left-5, num(sy(v)), left, num(sy(v)))
		f(`<text x="%d" y="%s">%s</text>`+"\n", left-8, num(sy(v)+4), escapeXML(ylabels[i]))
	}
	f("</g>\n")
	f(`<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", left, top, pw, ph)
	if opts.XLabel != "" {
		f(`<text class="xlabel" x="%s" y="%d" text-anchor="middle">%s</text>`+"\n", num(float64(left)+float64(pw)/2), H-10, escapeXML(opts.XLabel))
	}
	if opts.YLabel != "" {
		cy := num(float64(top) + float64(ph)/2)
		f(`<text class="ylabel" x="16" y="%s" text-anchor="middle" transform="rotate(-90 16 %s)">%s</text>`+"\n", cy, cy, escapeXML(opts.YLabel))
	}

	// The curves, clipped to the plot area.
	f(`<clipPath id="fdsm-plot-area"><rect x="%d" y="%d" width="%d" height="%d"/></clipPath>`+"\n", left, top, pw, ph)
	f(`<g clip-path="url(#fdsm-plot-area)" fill="none" stroke-width="1.5" stroke-linejoin="round" stroke-linecap="round">` + "\n")
	var ink curveInk // where the curves are, for placing the legend
	for k, s := range series {
		colour, dash := palette[k%len(palette)], dashes[(k/len(palette))%len(dashes)]
		var d strings.Builder
		var dots [][2]float64 // points without a neighbour
		run := 0              // length of the current run of drawn points
		var prev [2]float64
		for i, x := range s.X {
			y := s.Y[i]
			if !usable(x, y) {
				if run == 1 {
					dots = append(dots, prev)
				}
				run = 0
				continue
			}
			p := [2]float64{sx(x), sy(y)}
			switch {
			case run > 0:
				ink.segs = append(ink.segs, [2][2]float64{prev, p})
				d.WriteString(" L")
			case d.Len() > 0:
				d.WriteString(" M")
			default:
				d.WriteString("M")
			}
			d.WriteString(num(p[0]) + " " + num(p[1]))
			prev = p
			run++
		}
		if run == 1 {
			dots = append(dots, prev)
		}
		ink.dots = append(ink.dots, dots...)
		f(`<path class="series" stroke="%s"`, colour)
		if dash != "" {
			f(` stroke-dasharray="%s"`, dash)
		}
		f(` d="%s"><title>%s</title></path>`+"\n", d.String(), escapeXML(seriesName(s, k)))
		for _, p := range dots {
			f(`<circle class="dot" cx="%s" cy="%s" r="2.5" fill="%s" stroke="none"/>`+"\n", num(p[0]), num(p[1]), colour)
		}
	}
	f("</g>\n")

	// The legend, in the corner of the plot that hides the least of the
	// curves.
	named := false
	for _, s := range series {
		named = named || s.Name != ""
	}
	if named {
		maxName := 0
		for k, s := range series {
			maxName = max(maxName, utf8.RuneCountInString(seriesName(s, k)))
		}
		lw, lh := 48+charW*maxName, 8+18*len(series)
		lx, ly := ink.legendCorner(left, top, pw, ph, lw, lh)
		f(`<g class="legend">` + "\n")
		f(`<rect x="%d" y="%d" width="%d" height="%d" fill="white" fill-opacity="0.85" stroke="#bbb"/>`+"\n", lx, ly, lw, lh)
		for k, s := range series {
			colour, dash := palette[k%len(palette)], dashes[(k/len(palette))%len(dashes)]
			yy := ly + 13 + 18*k
			f(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"`, lx+8, yy, lx+30, yy, colour)
			if dash != "" {
				f(` stroke-dasharray="%s"`, dash)
			}
			f(`/><text x="%d" y="%d">%s</text>`+"\n", lx+36, yy+4, escapeXML(seriesName(s, k)))
		}
		f("</g>\n")
	}
	f("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// curveInk records what LineChart drew, in pixels: the segments of the
// curves and the lone points drawn as dots.
type curveInk struct {
	segs [][2][2]float64
	dots [][2]float64
}

// legendCorner returns the top-left corner of a legend box lw×lh inside
// the plot area (left, top, pw×ph): of the four corners (top right, top
// left, bottom right, bottom left, preferred in that order on ties) the one
// whose box covers the least of the curves, their length inside it sampled
// every pixel and a dot counting as 3 pixels.
func (ink curveInk) legendCorner(left, top, pw, ph, lw, lh int) (x, y int) {
	xs := []int{max(left+pw-lw-8, left+4), left + 8}
	ys := []int{top + 8}
	if b := top + ph - lh - 8; b > top+8 {
		ys = append(ys, b)
	}
	best := math.Inf(1)
	for _, cy := range ys {
		for _, cx := range xs {
			if c := ink.covered(float64(cx), float64(cy), float64(lw), float64(lh)); c < best {
				best, x, y = c, cx, cy
			}
		}
	}
	return x, y
}

// covered returns the length of the curves inside the box (x, y, w×h), in
// pixels, sampled every pixel along each segment, plus 3 per dot inside it.
func (ink curveInk) covered(x, y, w, h float64) float64 {
	in := func(p [2]float64) bool { return p[0] >= x && p[0] <= x+w && p[1] >= y && p[1] <= y+h }
	var c float64
	for _, s := range ink.segs {
		dx, dy := s[1][0]-s[0][0], s[1][1]-s[0][1]
		n := max(1, int(math.Ceil(math.Hypot(dx, dy))))
		for i := range n {
			t := (float64(i) + 0.5) / float64(n)
			if in([2]float64{s[0][0] + t*dx, s[0][1] + t*dy}) {
				c += math.Hypot(dx, dy) / float64(n)
			}
		}
	}
	for _, p := range ink.dots {
		if in(p) {
			c += 3
		}
	}
	return c
}

// seriesName returns the name shown for series k.
func seriesName(s Series, k int) string {
	if s.Name == "" {
		return "series " + strconv.Itoa(k+1)
	}
	return s.Name
}

// num formats a coordinate with two decimals, enough for any display.
func num(v float64) string {
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// escapeXML returns s escaped for XML text and attribute values: the five
// special characters become entities, and runes that XML 1.0 forbids
// (control characters other than tab, newline and carriage return,
// surrogates, U+FFFE, U+FFFF) and invalid UTF-8 become U+FFFD.
func escapeXML(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&apos;")
		case r == utf8.RuneError && size == 1, !xmlChar(r):
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// xmlChar reports whether r is allowed in an XML 1.0 document.
func xmlChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
