package plot

import (
	"fmt"
	"image"
	"image/png"
	"io"
)

// maxPixels bounds the size of every image and chart, so that a wrong option
// gives an error instead of an attempt to allocate gigabytes.
const maxPixels = 1 << 26

// checkImageSize reports an error unless a w×h image is possible and not
// absurdly large. what names the function for the message.
func checkImageSize(what string, w, h int) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("plot: %s: image size %d×%d is not positive", what, w, h)
	}
	if w > maxPixels/h {
		return fmt.Errorf("plot: %s: image size %d×%d exceeds %d pixels", what, w, h, maxPixels)
	}
	return nil
}

// mulSize returns a·b, or -1 if a, b > 0 and the product exceeds maxPixels
// (so that it cannot overflow).
func mulSize(a, b int) int {
	if a > 0 && b > 0 && a > maxPixels/b {
		return -1
	}
	return a * b
}

// encodePNG writes img as a PNG.
func encodePNG(w io.Writer, img image.Image) error {
	return png.Encode(w, img)
}
