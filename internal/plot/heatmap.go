package plot

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	"io"
	"math"
)

// HeatmapOptions control Heatmap. The zero value draws one pixel per cell,
// with the colour range taken from the data, on a linear scale.
type HeatmapOptions struct {
	// Scale is the side of a cell in pixels; 0 means 1.
	Scale int
	// Min and Max give the value range mapped onto the colormap when
	// Min < Max; values outside it take the end colours. Otherwise (the zero
	// value) the range is the smallest and largest finite value, ignoring
	// non-positive values when Log is set.
	Min, Max float64
	// Log maps ln v instead of v, for densities spanning many orders of
	// magnitude. Values ≤ 0 (a density that underflowed) take the start
	// colour. A given range must then be positive.
	Log bool
	// Frame, if not nil, draws a title, axes with the data coordinates of
	// Box, and a colour bar of the value range, around the picture.
	Frame *Frame
	// Box is the region of the plane the grid covers, its cells' outer
	// edges, for the axes; the zero Box means cell indices, [0, nx] × [0, ny].
	Box Box
	// ValueLabel names the values beside the colour bar, as "density".
	ValueLabel string
}

// Heatmap writes a PNG of the nx×ny grid of values, stored row-major with
// y up: values[j*nx+i] is column i of row j, and row 0 is the bottom row of
// the picture. Cells are coloured by Viridis over the value range of opts
// (the start colour for the smallest value, the end colour for the largest);
// NaN cells are drawn in NaNColor(), +Inf and −Inf in the end colours. If all
// values are equal, or none is usable for the range, cells take the middle
// colour. The image is nx·Scale × ny·Scale pixels.
//
// With a Frame the picture is set in margins holding the title, the axes
// and a colour bar: Viridis(0) at its bottom row is the colour of the
// range's start, Viridis(1) at its top row that of its end.
//
// For a density exp(−E) on a grid, pass the density with Log set, or −E
// without it.
func Heatmap(w io.Writer, values []float64, nx, ny int, opts HeatmapOptions) error {
	img, err := heatmapPicture(values, nx, ny, opts)
	if err != nil {
		return err
	}
	return encodePNG(w, img)
}

// heatmapPicture is the picture Heatmap encodes, framed if opts asks.
func heatmapPicture(values []float64, nx, ny int, opts HeatmapOptions) (*image.NRGBA, error) {
	img, bar, err := heatmapImage(values, nx, ny, opts)
	if err != nil {
		return nil, err
	}
	if opts.Frame != nil {
		box := opts.Box
		if box == (Box{}) {
			box = Box{0, float64(nx), 0, float64(ny)}
		} else if !box.valid() {
			return nil, fmt.Errorf("plot: Heatmap: invalid box %+v", box)
		}
		bar.label = opts.ValueLabel
		img, _ = framed(img, decor{frame: *opts.Frame, box: box, bar: &bar})
	}
	return img, nil
}

// HeatmapPanel is one map of a HeatmapGrid: the arguments of a Heatmap.
type HeatmapPanel struct {
	Values  []float64 // NX×NY, row-major, y up, as Heatmap takes them
	NX, NY  int
	Options HeatmapOptions // with a Frame, the panel's title, axes and colour bar
}

// HeatmapGrid writes one PNG of several maps side by side: each panel drawn
// as Heatmap draws it, tiled cols to a row (fewer if there are fewer panels)
// in cells of the largest panel's size, on white, below caption (wrapped as
// ImageGrid wraps its caption) if it is not empty.
func HeatmapGrid(w io.Writer, panels []HeatmapPanel, cols int, caption string) error {
	if len(panels) == 0 {
		return errors.New("plot: HeatmapGrid: no panels")
	}
	if cols <= 0 {
		return fmt.Errorf("plot: HeatmapGrid: %d columns is not positive", cols)
	}
	pics := make([]*image.NRGBA, len(panels))
	cw, ch := 0, 0 // cell size
	for k, p := range panels {
		img, err := heatmapPicture(p.Values, p.NX, p.NY, p.Options)
		if err != nil {
			return fmt.Errorf("panel %d: %w", k, err)
		}
		pics[k] = img
		cw, ch = max(cw, img.Rect.Dx()), max(ch, img.Rect.Dy())
	}
	cols = min(cols, len(pics))
	rows := (len(pics) + cols - 1) / cols
	W, H := mulSize(cols, cw), mulSize(rows, ch)
	if W < 0 || H < 0 {
		return fmt.Errorf("plot: HeatmapGrid: picture exceeds %d pixels", maxPixels)
	}
	if err := checkImageSize("HeatmapGrid", W, H); err != nil {
		return err
	}
	img := image.NewNRGBA(image.Rect(0, 0, W, H))
	fillRect(img, img.Rect, paper)
	for k, pic := range pics {
		x, y := (k%cols)*cw, (k/cols)*ch
		draw.Draw(img, image.Rect(x, y, x+pic.Rect.Dx(), y+pic.Rect.Dy()), pic, pic.Rect.Min, draw.Src)
	}
	if caption != "" {
		img = captioned(img, caption)
	}
	return encodePNG(w, img)
}

// heatmapImage draws the cells of Heatmap and returns them with their
// colour scale.
func heatmapImage(values []float64, nx, ny int, opts HeatmapOptions) (*image.NRGBA, colorBar, error) {
	fail := func(err error) (*image.NRGBA, colorBar, error) { return nil, colorBar{}, err }
	if nx <= 0 || ny <= 0 {
		return fail(fmt.Errorf("plot: Heatmap: grid %d×%d is not positive", nx, ny))
	}
	if n := mulSize(nx, ny); n != len(values) {
		return fail(fmt.Errorf("plot: Heatmap: %d values for a %d×%d grid", len(values), nx, ny))
	}
	scale := opts.Scale
	if scale < 0 {
		return fail(fmt.Errorf("plot: Heatmap: negative scale %d", scale))
	}
	if scale == 0 {
		scale = 1
	}
	W, H := mulSize(nx, scale), mulSize(ny, scale)
	if err := checkImageSize("Heatmap", W, H); err != nil {
		return fail(err)
	}

	// tr is the transform of a value before linear scaling.
	tr := func(v float64) float64 { return v }
	if opts.Log {
		tr = func(v float64) float64 {
			if v <= 0 {
				return math.Inf(-1)
			}
			return math.Log(v)
		}
	}
	var lo, hi float64
	if opts.Min < opts.Max {
		if opts.Log && opts.Min <= 0 {
			return fail(fmt.Errorf("plot: Heatmap: log scale needs a positive range, got [%g, %g]", opts.Min, opts.Max))
		}
		lo, hi = tr(opts.Min), tr(opts.Max)
	} else if opts.Min > opts.Max || math.IsNaN(opts.Min) || math.IsNaN(opts.Max) {
		return fail(errors.New("plot: Heatmap: Min > Max or NaN in the value range"))
	} else {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, v := range values {
			t := tr(v)
			if math.IsNaN(t) || math.IsInf(t, 0) {
				continue
			}
			lo, hi = min(lo, t), max(hi, t)
		}
	}

	img := image.NewNRGBA(image.Rect(0, 0, W, H))
	for j := range ny {
		// Row j of the grid is drawn at the bottom for j = 0.
		y0 := (ny - 1 - j) * scale
		for i := range nx {
			v := values[j*nx+i]
			c := NaNColor()
			if !math.IsNaN(v) {
				t := tr(v)
				switch {
				case math.IsInf(t, 1):
					c = Viridis(1)
				case math.IsInf(t, -1):
					c = Viridis(0)
				case !(lo < hi): // constant field, or no finite value
					c = Viridis(0.5)
				default:
					c = Viridis((t - lo) / (hi - lo))
				}
			}
			x0 := i * scale
			for y := y0; y < y0+scale; y++ {
				row := img.Pix[y*img.Stride+4*x0 : y*img.Stride+4*(x0+scale)]
				for k := 0; k < len(row); k += 4 {
					row[k], row[k+1], row[k+2], row[k+3] = c.R, c.G, c.B, c.A
				}
			}
		}
	}
	return img, colorBar{lo: lo, hi: hi, log: opts.Log}, nil
}
