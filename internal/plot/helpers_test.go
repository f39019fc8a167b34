package plot

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// decode decodes a PNG written by one of the functions and checks its size.
func decode(t *testing.T, buf *bytes.Buffer, w, h int) image.Image {
	t.Helper()
	img, err := png.Decode(buf)
	if err != nil {
		t.Fatalf("png.Decode: %v", err)
	}
	if got := img.Bounds(); got != image.Rect(0, 0, w, h) {
		t.Fatalf("bounds %v, want %dx%d", got, w, h)
	}
	return img
}

// at returns the unpremultiplied colour of img at (x, y).
func at(img image.Image, x, y int) color.NRGBA {
	return color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
}

// near reports whether two colours differ by at most tol per channel.
func near(a, b color.NRGBA, tol int) bool {
	d := func(x, y uint8) bool { return int(x)-int(y) <= tol && int(y)-int(x) <= tol }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B) && d(a.A, b.A)
}
