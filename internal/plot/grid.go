package plot

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"
	"math"
)

// ImageGridOptions control ImageGrid. The zero value draws one pixel per
// image pixel with mid-gray separators.
type ImageGridOptions struct {
	// Scale is the side in pixels of one image pixel; 0 means 1.
	Scale int
	// Separator is the colour of the separator lines and of the empty cells
	// in the last row; nil means mid-gray (#808080).
	Separator color.Color
	// Caption, if not empty, is drawn above the grid on white, wrapped to
	// its width (at least captionRunes characters, widening a narrow
	// picture) and broken at newlines: say, the model on one line and the
	// sampler on the next.
	Caption string
	// RowLabels, if not nil, are drawn on white left of the grid, one per
	// row from the top, right-aligned and centred on their row: what each
	// row shows. There may be fewer labels than rows, not more.
	RowLabels []string
}

// captionRunes is the shortest line a caption is wrapped to: 64 characters
// (383 pixels) keep a caption of a small grid, such as 2×2 samples, to a few
// lines instead of a column of words.
const captionRunes = 64

// NaNPixelColor returns the colour in which ImageGrid draws NaN pixels: red, which
// no grayscale value can be mistaken for.
func NaNPixelColor() color.NRGBA { return color.NRGBA{0xff, 0x00, 0x00, 0xff} }

// ImageGrid writes a PNG of grayscale images tiled cols to a row (fewer if
// there are fewer images), with a 1-pixel separator line between neighbouring
// images and none around the border. Each image is h×wdt values in row-major
// order, top row first, with 0 black and 1 white; values outside [0, 1] are
// clamped and NaN pixels are drawn in NaNPixelColor(). With r rows, c columns
// and scale s, the picture is c·wdt·s + c − 1 pixels wide and r·h·s + r − 1
// high.
func ImageGrid(w io.Writer, images [][]float64, h, wdt, cols int, opts ImageGridOptions) error {
	if len(images) == 0 {
		return errors.New("plot: ImageGrid: no images")
	}
	if h <= 0 || wdt <= 0 || cols <= 0 {
		return fmt.Errorf("plot: ImageGrid: image size %d×%d or %d columns is not positive", h, wdt, cols)
	}
	n := mulSize(h, wdt)
	if n < 0 {
		return fmt.Errorf("plot: ImageGrid: image size %d×%d is too large", h, wdt)
	}
	for k, im := range images {
		if len(im) != n {
			return fmt.Errorf("plot: ImageGrid: image %d has %d values, want %d×%d = %d", k, len(im), h, wdt, n)
		}
	}
	scale := opts.Scale
	if scale < 0 {
		return fmt.Errorf("plot: ImageGrid: negative scale %d", scale)
	}
	if scale == 0 {
		scale = 1
	}
	cols = min(cols, len(images))
	rows := (len(images) + cols - 1) / cols
	cw, ch := mulSize(wdt, scale), mulSize(h, scale) // cell size in pixels
	W, H := mulSize(cols, cw+1)-1, mulSize(rows, ch+1)-1
	if cw < 0 || ch < 0 || W < 0 || H < 0 {
		return fmt.Errorf("plot: ImageGrid: picture exceeds %d pixels", maxPixels)
	}
	if err := checkImageSize("ImageGrid", W, H); err != nil {
		return err
	}

	img := image.NewNRGBA(image.Rect(0, 0, W, H))
	sep := color.NRGBA{0x80, 0x80, 0x80, 0xff}
	if opts.Separator != nil {
		sep = color.NRGBAModel.Convert(opts.Separator).(color.NRGBA)
		sep.A = 0xff
	}
	for p := 0; p < len(img.Pix); p += 4 {
		img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = sep.R, sep.G, sep.B, sep.A
	}
	for k, im := range images {
		x0, y0 := (k%cols)*(cw+1), (k/cols)*(ch+1)
		for y := range ch {
			row := im[(y/scale)*wdt : (y/scale+1)*wdt]
			pix := img.Pix[(y0+y)*img.Stride+4*x0:]
			for x := range cw {
				c := NaNPixelColor()
				if v := row[x/scale]; !math.IsNaN(v) {
					g := uint8(math.Round(255 * min(max(v, 0), 1)))
					c = color.NRGBA{g, g, g, 0xff}
				}
				pix[4*x], pix[4*x+1], pix[4*x+2], pix[4*x+3] = c.R, c.G, c.B, c.A
			}
		}
	}
	if len(opts.RowLabels) > rows {
		return fmt.Errorf("plot: ImageGrid: %d row labels for %d rows", len(opts.RowLabels), rows)
	}
	if len(opts.RowLabels) > 0 {
		img = rowLabelled(img, opts.RowLabels, ch+1)
	}
	if opts.Caption != "" {
		img = captioned(img, opts.Caption)
	}
	return encodePNG(w, img)
}

// rowLabelled returns pic with labels left of it, on white: label i
// right-aligned and centred on the rows [i·step, (i+1)·step − 1).
func rowLabelled(pic *image.NRGBA, labels []string, step int) *image.NRGBA {
	widest := 0
	for _, l := range labels {
		widest = max(widest, textWidth(l, 1))
	}
	left := widest + 6 // 6: a gap between the labels and the grid
	pw, ph := pic.Rect.Dx(), pic.Rect.Dy()
	img := image.NewNRGBA(image.Rect(0, 0, left+pw, ph))
	fillRect(img, img.Rect, paper)
	for i, l := range labels {
		drawText(img, widest-textWidth(l, 1), i*step+(step-1-capH)/2, l, 1, ink)
	}
	draw.Draw(img, image.Rect(left, 0, left+pw, ph), pic, pic.Rect.Min, draw.Src)
	return img
}

// captioned returns pic below the lines of caption, centred, with margins.
func captioned(pic *image.NRGBA, caption string) *image.NRGBA {
	pw, ph := pic.Rect.Dx(), pic.Rect.Dy()
	W := max(pw, captionRunes*advance-1) + 2*pad
	lines := wrapText(caption, W-2*pad, 1)
	top := pad + len(lines)*lineH + 4
	img := image.NewNRGBA(image.Rect(0, 0, W, top+ph+pad))
	fillRect(img, img.Rect, paper)
	for i, line := range lines {
		drawText(img, pad, pad+i*lineH, line, 1, ink)
	}
	x := (W - pw) / 2
	draw.Draw(img, image.Rect(x, top, x+pw, top+ph), pic, pic.Rect.Min, draw.Src)
	return img
}
