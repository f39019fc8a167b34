package plot

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"strconv"
)

// Frame is the text and axes drawn around a Heatmap or Scatter picture: a
// title above, tick marks with their values on the left and bottom edges,
// the axis labels beside them, and the colour bar of a Heatmap or the legend
// of a Scatter. The picture keeps its size and pixels; the frame adds
// margins around it.
type Frame struct {
	// Title is drawn above the picture, wrapped to the image's width;
	// XLabel below the x axis and YLabel turned along the y axis. Each may
	// be empty.
	Title, XLabel, YLabel string
}

// The frame's colours.
var (
	ink   = color.NRGBA{0x22, 0x22, 0x22, 0xff} // text, ticks and axis lines
	paper = color.NRGBA{0xff, 0xff, 0xff, 0xff} // the margins
)

// The frame's layout, in pixels. Text is the 5×7 font (font.go) at scale
// 1, capitals 7 pixels high, and a title that fits on one line at
// titleScale.
const (
	titleScale = 2
	pad        = 8  // blank border of the whole image
	tickLen    = 4  // length of a tick mark
	tickGap    = 3  // between a tick mark and its label
	capH       = 7  // height of digits and capitals at scale 1
	barGap     = 14 // between the picture and the colour bar
	barW       = 14 // width of the colour bar
	swatch     = 8  // side of a legend swatch
	xTickRoom  = 70 // about one x tick per this many pixels, at most
	yTickRoom  = 50 // and one y tick per this many
)

// decor is what framed draws around a picture.
type decor struct {
	frame  Frame
	box    Box       // the data coordinates of the picture's edges
	bar    *colorBar // the colour scale, or nil
	legend []legendItem
}

// colorBar is the colour scale of a Heatmap: Viridis(0) at lo and Viridis(1)
// at hi, where lo and hi are values or, if log is set, their logarithms.
// lo = hi is a constant field, drawn in the middle colour with one tick;
// lo > hi (no usable value) a bar in the middle colour without ticks.
type colorBar struct {
	lo, hi float64
	log    bool
	label  string // drawn turned, right of the tick labels
}

// legendItem is a name and the colour of its points.
type legendItem struct {
	label string
	c     color.NRGBA
}

// tick is one tick mark: its value's label and its position in pixels from
// the start of its axis.
type tick struct {
	label string
	pos   int
}

// frameLayout is where framed put the parts of its picture.
type frameLayout struct {
	plot, bar, title, legend image.Rectangle // bar and legend empty if none
	xTicks, yTicks, barTicks []tick
}

// framed returns pic inside the margins that d describes, and where it put
// what. pic's pixels are copied unchanged; the axis lines are drawn just
// outside it.
func framed(pic *image.NRGBA, d decor) (*image.NRGBA, frameLayout) {
	pw, ph := pic.Rect.Dx(), pic.Rect.Dy()
	b := d.box
	xt := axisTicks(b.XMin, b.XMax, pw/xTickRoom, pixelPos(b.XMin, b.XMax, pw, false),
		func(s string) int { return textWidth(s, 1) + 10 })
	yt := axisTicks(b.YMin, b.YMax, ph/yTickRoom, pixelPos(b.YMin, b.YMax, ph, true),
		func(string) int { return lineH + 4 })
	var bt []tick
	if d.bar != nil {
		bt = d.bar.ticks(ph)
	}

	// Margins: left of the picture the y label, the tick labels and the
	// ticks; right of it the colour bar with its ticks, labels and label.
	widest := func(ts []tick) int {
		w := 0
		for _, t := range ts {
			w = max(w, textWidth(t.label, 1))
		}
		return w
	}
	left := pad + widest(yt) + tickGap + tickLen + 1
	if d.frame.YLabel != "" {
		left += lineH + 6
	}
	right := 1 + pad
	if len(xt) > 0 { // the last x label may stick out
		last := xt[len(xt)-1]
		right = max(right, textWidth(last.label, 1)/2-(pw-last.pos)+pad)
	}
	if d.bar != nil {
		right = 1 + barGap + barW + 2 + tickLen + tickGap + widest(bt) + pad
		if d.bar.label != "" {
			right += 6 + lineH
		}
	}
	W := left + pw + right
	// A title that fits on one line is drawn large, a longer one wrapped
	// at the text size.
	ts := titleScale
	title := wrapText(d.frame.Title, W-2*pad, ts)
	if len(title) > 1 {
		ts = 1
		title = wrapText(d.frame.Title, W-2*pad, ts)
	}
	top := pad + len(title)*lineH*ts + 5 // 5: room for the top y label
	if len(title) > 0 {
		top += 4
	}
	legendY := top - 5
	if len(d.legend) > 0 {
		top += lineH + 6
	}
	bottom := 1 + tickLen + tickGap + capH + pad
	if d.frame.XLabel != "" {
		bottom += 8 + lineH
	}
	H := top + ph + bottom

	lay := frameLayout{plot: image.Rect(left, top, left+pw, top+ph), xTicks: xt, yTicks: yt, barTicks: bt}
	if len(title) > 0 {
		lay.title = image.Rect(pad, pad, W-pad, pad+len(title)*lineH*ts)
	}
	img := image.NewNRGBA(image.Rect(0, 0, W, H))
	fillRect(img, img.Rect, paper)
	draw.Draw(img, image.Rect(left, top, left+pw, top+ph), pic, pic.Rect.Min, draw.Src)
	outline(img, image.Rect(left-1, top-1, left+pw+1, top+ph+1))

	for i, line := range title {
		drawText(img, (W-textWidth(line, ts))/2, pad+i*lineH*ts, line, ts, ink)
	}
	for _, t := range xt {
		x := left + t.pos
		fillRect(img, image.Rect(x, top+ph+1, x+1, top+ph+1+tickLen), ink)
		drawText(img, x-textWidth(t.label, 1)/2, top+ph+1+tickLen+tickGap, t.label, 1, ink)
	}
	for _, t := range yt {
		y := top + t.pos
		fillRect(img, image.Rect(left-1-tickLen, y, left-1, y+1), ink)
		drawText(img, left-1-tickLen-tickGap-textWidth(t.label, 1), y-capH/2, t.label, 1, ink)
	}
	if s := d.frame.XLabel; s != "" {
		drawText(img, left+(pw-textWidth(s, 1))/2, top+ph+1+tickLen+tickGap+capH+8, s, 1, ink)
	}
	if s := d.frame.YLabel; s != "" {
		drawTextUp(img, pad, top+(ph+textWidth(s, 1))/2, s, 1, ink)
	}

	if len(d.legend) > 0 {
		total := 0
		for i, it := range d.legend {
			if i > 0 {
				total += 3 * advance
			}
			total += swatch + 4 + textWidth(it.label, 1)
		}
		x := max(pad, left+(pw-total)/2)
		lay.legend = image.Rect(x, legendY, x+total, legendY+lineH)
		for _, it := range d.legend {
			fillRect(img, image.Rect(x, legendY, x+swatch, legendY+swatch), it.c)
			x += swatch + 4
			drawText(img, x, legendY, it.label, 1, ink)
			x += textWidth(it.label, 1) + 3*advance
		}
	}

	if bar := d.bar; bar != nil {
		bx := left + pw + 1 + barGap
		lay.bar = image.Rect(bx, top, bx+barW, top+ph)
		for r := range ph {
			fillRect(img, image.Rect(bx, top+r, bx+barW, top+r+1), bar.color(r, ph))
		}
		outline(img, image.Rect(bx-1, top-1, bx+barW+1, top+ph+1))
		tx := bx + barW + 1
		for _, t := range bt {
			y := top + t.pos
			fillRect(img, image.Rect(tx, y, tx+tickLen, y+1), ink)
			drawText(img, tx+tickLen+tickGap, y-capH/2, t.label, 1, ink)
		}
		if bar.label != "" {
			drawTextUp(img, W-pad-lineH, top+(ph+textWidth(bar.label, 1))/2, bar.label, 1, ink)
		}
	}
	return img, lay
}

// outline draws the 1-pixel border just inside r.
func outline(img *image.NRGBA, r image.Rectangle) {
	fillRect(img, image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+1), ink)
	fillRect(img, image.Rect(r.Min.X, r.Max.Y-1, r.Max.X, r.Max.Y), ink)
	fillRect(img, image.Rect(r.Min.X, r.Min.Y, r.Min.X+1, r.Max.Y), ink)
	fillRect(img, image.Rect(r.Max.X-1, r.Min.Y, r.Max.X, r.Max.Y), ink)
}

// color returns the colour of row r (0 at the top) of a bar ph rows high:
// Viridis(1) at the top row and Viridis(0) at the bottom one.
func (c *colorBar) color(r, ph int) color.NRGBA {
	if !(c.lo < c.hi) || ph == 1 {
		return Viridis(0.5)
	}
	return Viridis(1 - float64(r)/float64(ph-1))
}

// ticks returns the ticks of a colour bar ph pixels high, positioned as its
// rows are coloured: value lo at row ph − 1, hi at row 0.
func (c *colorBar) ticks(ph int) []tick {
	switch {
	case c.lo > c.hi || math.IsNaN(c.lo):
		return nil
	case c.lo == c.hi: // a constant field
		v := c.lo
		if c.log {
			v = math.Exp(v)
		}
		return []tick{{strconv.FormatFloat(v, 'g', 4, 64), (ph - 1) / 2}}
	}
	// Row r shows 1 − r/(ph − 1) of the way from lo to hi.
	row := func(t float64) int { return int(math.Round((c.hi - t) / (c.hi - c.lo) * float64(ph-1))) }
	if !c.log {
		return axisTicks(c.lo, c.hi, ph/yTickRoom, row, func(string) int { return lineH + 2 })
	}
	// Powers of ten (and 2 and 5 times them over short ranges) that fall in
	// the range, then any nice values if fewer than two do.
	lo, hi := math.Exp(c.lo), math.Exp(c.hi)
	pos := func(v float64) int { return row(math.Log(v)) }
	var ts []tick
	for _, cand := range [][]float64{logTicks(lo, hi), ticksWithin(lo, hi, 5)} {
		ts = ts[:0]
		for _, v := range cand {
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			p := pos(v)
			if len(ts) > 0 && ts[len(ts)-1].pos-p < lineH+2 {
				continue // too close to the one below
			}
			ts = append(ts, tick{formatTick(v), p})
		}
		if len(ts) >= 2 {
			break
		}
	}
	return ts
}

// ticksWithin returns the nice values (NiceTicks(lo, hi, n)) that lie in
// [lo, hi], up to rounding. For n ≥ 5 there are at least two, since the
// step is then at most 2.5·(hi − lo)/n.
func ticksWithin(lo, hi float64, n int) []float64 {
	if lo > hi {
		lo, hi = hi, lo
	}
	eps := 1e-9 * (hi - lo)
	var in []float64
	for _, v := range NiceTicks(lo, hi, n) {
		if v >= lo-eps && v <= hi+eps {
			in = append(in, v)
		}
	}
	return in
}

// axisTicks returns the ticks of an axis from lo to hi at the positions
// pos gives: the nice values within [lo, hi] (ticksWithin) for the n in
// 1 … 2·maxN that gives the most ticks, at most maxN + 1 (so no more than
// about one per xTickRoom or yTickRoom pixels), whose neighbours are at
// least the mean of their room(label) pixels apart; the smallest such n on
// a tie. maxN < 4 counts as 4, so that a small panel still gets a scale of
// a few ticks (room keeps their labels apart). Trying n above maxN matters:
// a range just over 10 gives step 5 and two ticks for n = 5, step 2 and five
// for n = 6.
func axisTicks(lo, hi float64, maxN int, pos func(float64) int, room func(label string) int) []tick {
	if !(lo < hi) || !isFinite(hi-lo) {
		return nil
	}
	maxN = max(4, maxN)
	var best []tick
	for n := 1; n <= 2*maxN; n++ {
		var ts []tick
		fits := true
		for _, v := range ticksWithin(lo, hi, n) {
			t := tick{formatTick(v), pos(v)}
			if k := len(ts); k > 0 {
				gap := t.pos - ts[k-1].pos
				if gap < 0 {
					gap = -gap
				}
				fits = fits && 2*gap >= room(t.label)+room(ts[k-1].label)
			}
			ts = append(ts, t)
		}
		if fits && len(ts) > len(best) && len(ts) <= maxN+1 {
			best = ts
		}
	}
	return best
}

// pixelPos returns the position of v on an axis of length pixels from lo to
// hi, pixel i covering [i, i+1)·(hi − lo)/length from lo, counted from the
// top (from hi) if flip is set.
func pixelPos(lo, hi float64, length int, flip bool) func(float64) int {
	return func(v float64) int {
		p := min(max(int(math.Floor((v-lo)/(hi-lo)*float64(length))), 0), length-1)
		if flip {
			p = length - 1 - p
		}
		return p
	}
}
