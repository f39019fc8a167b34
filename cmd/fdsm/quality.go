package main

import (
	"fmt"
	"github.com/fdsm/fdsm/internal/jsonout"
	"github.com/fdsm/fdsm/internal/samplerun"
	"io"

	"github.com/fdsm/fdsm/internal/infile"
	"github.com/fdsm/fdsm/internal/quality"
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
	if ext := samplerun.Ext(*in); ext != ".npy" && ext != ".png" {
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
	x, clamped, err := quality.DecodeSamples(*in, b)
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
		nulled, err := jsonout.Write(out, r)
		jsonout.WarnNonFinite(errw, "quality", nulled)
		return err
	}
	_, err = fmt.Fprintf(out, "%s: %s\nclass shares:", *in, r)
	for k, s := range r.ClassFrac {
		fmt.Fprintf(out, " %d %.3f", k, s)
	}
	fmt.Fprintln(out)
	return err
}
