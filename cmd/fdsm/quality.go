package main

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"strings"

	"github.com/fdsm/fdsm/internal/infile"
	"github.com/fdsm/fdsm/internal/plot"
	"github.com/fdsm/fdsm/internal/quality"
	"github.com/fdsm/fdsm/tensor"
)

func init() {
	register("quality", "score MNIST samples: FID-MNIST, confident fraction, smallest class share", cmdQuality)
}

const qualitySynopsis = `quality -in SAMPLES.npy|SAMPLES.png [-json]

Scores samples of an MNIST model with a LeNet-5 classifier that fdsm
trained (shipped in the binary; test accuracy in its metadata):

  fid             FID-MNIST: the Fréchet distance between Gaussians fitted to
                  the classifier's 84 penultimate features of the samples and
                  of the 10 000 MNIST test images (lower is better; compare
                  figures at equal n, as the distance grows as n shrinks)
  confident_frac  share of samples whose top class has probability ≥ 0.9
  min_class_frac  share of the rarest predicted digit (0.1 when balanced)
  n               number of samples

SAMPLES is a .npy array [N, 784] of pixels in [0, 1] (N ≥ 2), as
'fdsm sample -out s.npy' writes it, or a PNG grid of 28×28 images that
'fdsm sample -out s.png' drew (pixels quantised to 1/255). Pixels of a
.npy outside [0, 1] are clamped to it, as the PNG grid clamps them, with
a note on standard error saying how many.

Flags:`

func cmdQuality(args []string, out, errw io.Writer) error {
	fs := newFlags("quality", qualitySynopsis, errw)
	in := fs.String("in", "", "samples: a .npy array [N, 784] in [0, 1] or a PNG grid from fdsm sample (required)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *in == "" {
		return usageError{"-in is required"}
	}
	if ext := outExt(*in); ext != ".npy" && ext != ".png" {
		return usageError{fmt.Sprintf("-in %s: want a .npy or .png file", *in)}
	}
	f, size, err := infile.Open(*in)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(f, size))
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	x, clamped, err := decodeSamples(*in, b)
	if err != nil {
		return err
	}
	if clamped > 0 {
		fmt.Fprintf(errw, "fdsm quality: %s: %d of the %d pixels were outside [0, 1] and are clamped to it\n", *in, clamped, x.Len())
	}
	c, err := quality.Default()
	if err != nil {
		return err
	}
	r := c.Measure(x)
	if *asJSON {
		nulled, err := writeJSON(out, r)
		warnNonFinite(errw, "quality", nulled)
		return err
	}
	_, err = fmt.Fprintf(out, "%s: %s\nclass shares:", *in, r)
	for k, s := range r.ClassFrac {
		fmt.Fprintf(out, " %d %.3f", k, s)
	}
	fmt.Fprintln(out)
	return err
}

// maxGridPixels bounds the PNG pictures decoded, before decoding: 2²⁶
// pixels (256 MB as NRGBA) is internal/plot's bound on what it draws.
const maxGridPixels = 1 << 26

// decodeSamples reads the samples in b, the bytes of the file name (a .npy
// or .png, by its extension), as float32 rows [N, 784] in [0, 1], with an
// error naming the file and what is wrong. Finite pixels of a .npy outside
// [0, 1] (Langevin samples overshoot) are clamped to it, as a PNG grid
// clamps them, and counted.
func decodeSamples(name string, b []byte) (x *tensor.Tensor, clamped int, err error) {
	if strings.EqualFold(outExt(name), ".png") {
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
		imgs, err := readSampleGrid(img)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", name, err)
		}
		x = tensor.Zeros(tensor.Float32, len(imgs), quality.Pixels)
		v := x.Float32s()
		for k, im := range imgs {
			for i, p := range im {
				v[k*quality.Pixels+i] = float32(p)
			}
		}
	} else {
		t, err := tensor.DecodeNpy(b)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", name, err)
		}
		if t.Rank() != 2 || t.Dim(1) != quality.Pixels {
			return nil, 0, fmt.Errorf("%s: samples of shape %v, want [N, %d] (rows of 28×28 pixels)", name, t.Shape(), quality.Pixels)
		}
		x = t.AsType(tensor.Float32).Clone()
		v := x.Float32s()
		for i, p := range v {
			if math.IsNaN(float64(p)) || math.IsInf(float64(p), 0) {
				return nil, 0, fmt.Errorf("%s: row %d, pixel %d is %g, want a finite value (pixels in [0, 1])", name, i/quality.Pixels, i%quality.Pixels, p)
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

// readSampleGrid cuts a picture of fdsm sample into its images: 28×28 at
// the scale sample draws them (2 pixels a pixel).
func readSampleGrid(img image.Image) ([][]float64, error) {
	return plot.ReadImageGrid(img, quality.Side, quality.Side, sampleGridScale)
}

// sampleGridScale is the side in screen pixels of one image pixel in the
// PNG grids fdsm sample draws.
const sampleGridScale = 2
