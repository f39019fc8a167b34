package plot

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
)

// ReadImageGrid is the inverse of ImageGrid: it cuts a picture that
// ImageGrid drew, with or without a caption, back into its h×wdt images at
// the given scale, values in [0, 1] quantised to 1/255. The layout is found
// from the picture's size (and, under a caption, the margins ImageGrid
// leaves) and confirmed by the separator lines; empty cells at the end of the
// last row are not images (so an image all of whose pixels are exactly the
// separator's mid-gray would be taken for one). A picture of another layout,
// a tile that is not gray or not constant over each scale×scale block, or a
// NaN pixel (drawn in NaNPixelColor()) is an error naming what is wrong.
func ReadImageGrid(src image.Image, h, wdt, scale int) ([][]float64, error) {
	if h <= 0 || wdt <= 0 || scale <= 0 {
		return nil, fmt.Errorf("plot: ReadImageGrid: image size %d×%d or scale %d is not positive", h, wdt, scale)
	}
	b := src.Bounds()
	if err := checkImageSize("ReadImageGrid", b.Dx(), b.Dy()); err != nil {
		return nil, err
	}
	img := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(img, img.Rect, src, b.Min, draw.Src)
	cw, ch := mulSize(wdt, scale), mulSize(h, scale)
	if cw < 0 || ch < 0 {
		return nil, fmt.Errorf("plot: ReadImageGrid: image size %d×%d at scale %d is too large", h, wdt, scale)
	}
	for _, l := range gridLayouts(img.Rect.Dx(), img.Rect.Dy(), cw, ch) {
		if l.fits(img, cw, ch) {
			return l.cut(img, cw, ch, wdt, scale)
		}
	}
	return nil, fmt.Errorf("a %d×%d picture is no grid of %d×%d images at scale %d as ImageGrid draws them",
		img.Rect.Dx(), img.Rect.Dy(), h, wdt, scale)
}

// gridLayout is a candidate position of the grid in a picture.
type gridLayout struct {
	x0, y0, rows, cols int
	framed             bool // under a caption, on paper
}

// gridLayouts lists the layouts a W×H picture of cw×ch cells can have:
// the bare grid, then each number of caption lines and of columns that
// ImageGrid's captioned sizes allow.
func gridLayouts(W, H, cw, ch int) []gridLayout {
	var ls []gridLayout
	if (W+1)%(cw+1) == 0 && (H+1)%(ch+1) == 0 {
		ls = append(ls, gridLayout{0, 0, (H + 1) / (ch + 1), (W + 1) / (cw + 1), false})
	}
	for lines := 1; pad+lines*lineH+4 < H; lines++ {
		top := pad + lines*lineH + 4 // as in captioned
		ph := H - top - pad
		if ph <= 0 || (ph+1)%(ch+1) != 0 {
			continue
		}
		for cols := (W - 2*pad + 1) / (cw + 1); cols >= 1; cols-- {
			pw := cols*(cw+1) - 1
			if max(pw, captionRunes*advance-1)+2*pad == W {
				ls = append(ls, gridLayout{(W - pw) / 2, top, (ph + 1) / (ch + 1), cols, true})
			}
		}
	}
	return ls
}

var separator = color.NRGBA{0x80, 0x80, 0x80, 0xff}

// fits reports whether the separator lines (and, under a caption, the paper
// around the grid) are where the layout puts them.
func (l gridLayout) fits(img *image.NRGBA, cw, ch int) bool {
	pw, ph := l.cols*(cw+1)-1, l.rows*(ch+1)-1
	for y := range ph {
		for c := 1; c < l.cols; c++ {
			if img.NRGBAAt(l.x0+c*(cw+1)-1, l.y0+y) != separator {
				return false
			}
		}
	}
	for x := range pw {
		for r := 1; r < l.rows; r++ {
			if img.NRGBAAt(l.x0+x, l.y0+r*(ch+1)-1) != separator {
				return false
			}
		}
	}
	if l.framed {
		for y := l.y0 - 1; y <= l.y0+ph; y++ {
			if img.NRGBAAt(l.x0-1, y) != paper || img.NRGBAAt(l.x0+pw, y) != paper {
				return false
			}
		}
		for x := l.x0 - 1; x <= l.x0+pw; x++ {
			if img.NRGBAAt(x, l.y0-1) != paper || img.NRGBAAt(x, l.y0+ph) != paper {
				return false
			}
		}
	}
	return true
}

// cut reads the cells of the layout, dropping empty cells that end the
// last row.
func (l gridLayout) cut(img *image.NRGBA, cw, ch, wdt, scale int) ([][]float64, error) {
	n := l.rows * l.cols
	for n > (l.rows-1)*l.cols && n > 1 && l.emptyCell(img, n-1, cw, ch) {
		n--
	}
	out := make([][]float64, n)
	for k := range out {
		x0, y0 := l.x0+(k%l.cols)*(cw+1), l.y0+(k/l.cols)*(ch+1)
		im := make([]float64, 0, (ch/scale)*wdt)
		for y := 0; y < ch; y += scale {
			for x := 0; x < cw; x += scale {
				c := img.NRGBAAt(x0+x, y0+y)
				if c == NaNPixelColor() {
					return nil, fmt.Errorf("image %d (row %d, column %d of the grid) has a NaN pixel (drawn red) at (%d, %d)",
						k, k/l.cols, k%l.cols, y/scale, x/scale)
				}
				if c.R != c.G || c.G != c.B || c.A != 0xff {
					return nil, fmt.Errorf("image %d (row %d, column %d of the grid): pixel (%d, %d) is not gray: %v",
						k, k/l.cols, k%l.cols, y/scale, x/scale, c)
				}
				for dy := range scale {
					for dx := range scale {
						if img.NRGBAAt(x0+x+dx, y0+y+dy) != c {
							return nil, fmt.Errorf("image %d (row %d, column %d of the grid): pixel (%d, %d) is not one colour over its %d×%d block",
								k, k/l.cols, k%l.cols, y/scale, x/scale, scale, scale)
						}
					}
				}
				im = append(im, float64(c.R)/255)
			}
		}
		out[k] = im
	}
	return out, nil
}

// emptyCell reports whether cell k is all separator colour.
func (l gridLayout) emptyCell(img *image.NRGBA, k, cw, ch int) bool {
	x0, y0 := l.x0+(k%l.cols)*(cw+1), l.y0+(k/l.cols)*(ch+1)
	for y := range ch {
		for x := range cw {
			if img.NRGBAAt(x0+x, y0+y) != separator {
				return false
			}
		}
	}
	return true
}
