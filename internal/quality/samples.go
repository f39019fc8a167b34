package quality

import (
	"bytes"
	"fmt"
	"github.com/fdsm/fdsm/internal/plot"
	"github.com/fdsm/fdsm/tensor"
	"image"
	"image/png"
	"math"
	"path/filepath"
	"strings"
)

// maxGridPixels bounds the PNG pictures decoded, before decoding: 2²⁶
// pixels (256 MB as NRGBA) is internal/plot's bound on what it draws.
const maxGridPixels = 1 << 26

// DecodeSamples reads the samples in b, the bytes of the file name (a .npy
// or .png, by its extension), as float32 rows [N, 784] in [0, 1], with an
// error naming the file and what is wrong. Finite pixels of a .npy outside
// [0, 1] (Langevin samples overshoot) are clamped to it, as a PNG grid
// clamps them, and counted.
func DecodeSamples(name string, b []byte) (x *tensor.Tensor, clamped int, err error) {
	if strings.EqualFold(filepath.Ext(name), ".png") {
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", name, err)
		}
		if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxGridPixels/cfg.Height {
			return nil, 0, fmt.Errorf("%s: a %d×%d picture is larger than the %d pixels read", name, cfg.Width, cfg.Height, maxGridPixels)
		}
		// The decoder allocates the whole picture before reading its data:
		// refuse a header that claims more pixels than the file can hold.
		// Deflate expands at most 1032-fold (zlib's technical details), and
		// a pixel takes at least 1/8 byte (bit depth 1).
		if cfg.Width*cfg.Height > 8*1032*len(b) {
			return nil, 0, fmt.Errorf("%s: the header claims %d×%d pixels, more than %d bytes of PNG can hold", name, cfg.Width, cfg.Height, len(b))
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", name, err)
		}
		imgs, err := ReadSampleGrid(img)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", name, err)
		}
		x = tensor.Zeros(tensor.Float32, len(imgs), Pixels)
		v := x.Float32s()
		for k, im := range imgs {
			for i, p := range im {
				v[k*Pixels+i] = float32(p)
			}
		}
	} else {
		t, err := tensor.DecodeNpy(b)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", name, err)
		}
		if t.Rank() != 2 || t.Dim(1) != Pixels {
			return nil, 0, fmt.Errorf("%s: samples of shape %v, want [N, %d] (rows of 28×28 pixels)", name, t.Shape(), Pixels)
		}
		x = t.AsType(tensor.Float32).Clone()
		v := x.Float32s()
		for i, p := range v {
			if math.IsNaN(float64(p)) || math.IsInf(float64(p), 0) {
				return nil, 0, fmt.Errorf("%s: row %d, pixel %d is %g, want a finite value (pixels in [0, 1])", name, i/Pixels, i%Pixels, p)
			}
			if p < 0 || p > 1 {
				v[i] = min(max(p, 0), 1)
				clamped++
			}
		}
	}
	if x.Dim(0) < 2 {
		return nil, 0, fmt.Errorf("%s: %d sample, want at least 2 (for a covariance; the Fréchet distance needs a few hundred to mean much)", name, x.Dim(0))
	}
	return x, clamped, nil
}

// ReadSampleGrid cuts a picture of fdsm sample into its images: 28×28 at
// the scale sample draws them (2 pixels a pixel).
func ReadSampleGrid(img image.Image) ([][]float64, error) {
	return plot.ReadImageGrid(img, Side, Side, SampleGridScale)
}

// SampleGridScale is the side in screen pixels of one image pixel in the
// PNG grids fdsm sample draws.
const SampleGridScale = 2
