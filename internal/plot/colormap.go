package plot

import (
	"image/color"
	"math"
)

// viridisTable is viridis at t = 0, 0.1, …, 1 (matplotlib's 256-entry table
// at indices round(255·t), as in R's viridisLite::viridis(11)).
var viridisTable = [...]color.NRGBA{
	{0x44, 0x01, 0x54, 0xff},
	{0x48, 0x24, 0x75, 0xff},
	{0x41, 0x44, 0x87, 0xff},
	{0x35, 0x5f, 0x8d, 0xff},
	{0x2a, 0x78, 0x8e, 0xff},
	{0x21, 0x91, 0x8c, 0xff},
	{0x22, 0xa8, 0x84, 0xff},
	{0x44, 0xbf, 0x70, 0xff},
	{0x7a, 0xd1, 0x51, 0xff},
	{0xbd, 0xdf, 0x26, 0xff},
	{0xfd, 0xe7, 0x25, 0xff},
}

// NaNColor returns the neutral gray in which Heatmap draws NaN cells; it is not a
// viridis colour.
func NaNColor() color.NRGBA { return color.NRGBA{0x80, 0x80, 0x80, 0xff} }

// Viridis returns the viridis colour at t, clamped to [0, 1]: dark purple at 0,
// teal at 0.5, yellow at 1. It interpolates linearly between eleven control
// points. NaN gives NaNColor().
func Viridis(t float64) color.NRGBA {
	if math.IsNaN(t) {
		return NaNColor()
	}
	t = min(max(t, 0), 1)
	last := len(viridisTable) - 1
	s := t * float64(last)
	i := int(s)
	if i >= last {
		return viridisTable[last]
	}
	f := s - float64(i)
	a, b := viridisTable[i], viridisTable[i+1]
	lerp := func(x, y uint8) uint8 {
		return uint8(math.Round(float64(x) + f*(float64(y)-float64(x))))
	}
	return color.NRGBA{lerp(a.R, b.R), lerp(a.G, b.G), lerp(a.B, b.B), 0xff}
}
