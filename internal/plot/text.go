package plot

import (
	"image"
	"image/color"
	"strings"
	"unicode/utf8"
)

// textWidth returns the width in pixels of s drawn with font pixels of
// side scale: advance pixels a rune, less the last one's spacing.
func textWidth(s string, scale int) int {
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return 0
	}
	return (n*advance - 1) * scale
}

// eachTextPixel calls set(u, v) for every pixel of s drawn with font pixels
// of side scale, in text coordinates: u to the right, v down, (0, 0) the top
// left of the first glyph's cell.
func eachTextPixel(s string, scale int, set func(u, v int)) {
	x := 0
	for _, r := range s {
		g := glyphOf(r)
		for row, bits := range g {
			for col := range glyphW {
				if bits&(1<<(glyphW-1-col)) == 0 {
					continue
				}
				for dy := range scale {
					for dx := range scale {
						set(x+col*scale+dx, row*scale+dy)
					}
				}
			}
		}
		x += advance * scale
	}
}

// drawText draws s in colour c with the top left of its first cell at
// (x, y). Pixels outside img are skipped.
func drawText(img *image.NRGBA, x, y int, s string, scale int, c color.NRGBA) {
	eachTextPixel(s, scale, func(u, v int) { setPixel(img, x+u, y+v, c) })
}

// drawTextUp draws s turned a quarter turn counter-clockwise, to be read
// upwards, as a y-axis label: (x, y) is the bottom left of the turned text,
// which is lineH·scale wide and textWidth(s, scale) high.
func drawTextUp(img *image.NRGBA, x, y int, s string, scale int, c color.NRGBA) {
	eachTextPixel(s, scale, func(u, v int) { setPixel(img, x+v, y-1-u, c) })
}

// setPixel sets the pixel (x, y) of img to c if it is inside img.
func setPixel(img *image.NRGBA, x, y int, c color.NRGBA) {
	if !(image.Point{x, y}.In(img.Rect)) {
		return
	}
	i := img.PixOffset(x, y)
	img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
}

// fillRect fills the rectangle r of img (clipped to it) with c.
func fillRect(img *image.NRGBA, r image.Rectangle, c color.NRGBA) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			setPixel(img, x, y, c)
		}
	}
}

// wrapText splits s into lines no wider than width pixels at the given
// scale: at newlines, then greedily at spaces; a word longer than a line is
// cut. An empty s gives no lines.
func wrapText(s string, width, scale int) []string {
	if s == "" {
		return nil
	}
	maxRunes := max(1, (width/scale+1)/advance)
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			for utf8.RuneCountInString(word) > maxRunes {
				if line != "" {
					lines, line = append(lines, line), ""
				}
				cut := runePrefix(word, maxRunes)
				lines, word = append(lines, word[:cut]), word[cut:]
			}
			switch {
			case line == "":
				line = word
			case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) <= maxRunes:
				line += " " + word
			default:
				lines, line = append(lines, line), word
			}
		}
		lines = append(lines, line) // an empty paragraph is an empty line
	}
	return lines
}

// runePrefix returns the byte length of the first n runes of s.
func runePrefix(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}
