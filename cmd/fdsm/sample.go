package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/fdsm/fdsm/internal/plot"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

func init() {
	register("sample", "draw samples from a trained model by (annealed) Langevin dynamics", cmdSample)
}

const sampleSynopsis = `sample -ckpt DIR|FILE|-model M.safetensors [-n N] [-steps N] [-step-size A] [-annealed [-sigmas HI,LO,L] | -exact] [-out FILE]

Runs Langevin dynamics x ← x + (α/2)·s(x) + √α·n on the model of a checkpoint
written by fdsm train, in the space the model was trained in, and writes the
samples in the data's units: a PNG (a grid of 28×28 images when d = 784, a
scatter plot when d = 2, over the training data of a toy), a .npy array
[N, d] or a .csv table (headed by the training columns of a CSV, by x0,x1,…
otherwise); without -out, the CSV goes to standard output. With -annealed the
step size follows the noise levels σ_i of Song & Ermon (2019):
α_i = α·σ_i²/σ_L². A NICE model can also be sampled exactly (-exact).

` + weightHelp + `
With -model, -init auto starts from N(0, I): give -init uniform for pixels.

Flags:`

func cmdSample(args []string, out, errw io.Writer) (err error) {
	fs := newFlags("sample", sampleSynopsis, errw)
	ckpt := fs.String("ckpt", "", "checkpoint: a file, or the -out directory of fdsm train (this or -model)")
	wf := addWeightFlags(fs, true)
	n := fs.Int("n", 0, "number of samples (0: 64 images when d = 784, 1000 otherwise)")
	steps := fs.Int("steps", 500, "Langevin steps (with -annealed: in all, split evenly across the levels)")
	stepSize := fs.Float64("step-size", 0.01, "step size α (with -annealed: the step size at the last, smallest level)")
	annealed := fs.Bool("annealed", false, "annealed Langevin dynamics over the noise levels of -sigmas")
	sigmas := fs.String("sigmas", "1,0.01,10", "annealed: HI,LO,L: L noise levels from HI down to LO, geometrically spaced")
	exact := fs.Bool("exact", false, "nice only: draw exact samples by inverting the flow, instead of Langevin dynamics")
	initName := fs.String("init", "auto", "starting points: gaussian (N(0, I) in the model's space), uniform (U[0, 1] per coordinate in the data's units: pixels) or auto (uniform for MNIST, gaussian otherwise)")
	seed := fs.Uint64("seed", 1, "seed of the starting points and the Langevin noise")
	outPath := fs.String("out", "", "output file: .png, .npy or .csv (empty: CSV on standard output)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *exact && *annealed {
		return usageError{"-exact and -annealed are alternatives: give one"}
	}
	if *n < 0 || *n > 1<<22 || *steps < 1 || !(*stepSize > 0) || math.IsInf(*stepSize, 0) {
		return usageError{"-n must be 0…4194304, -steps at least 1 and -step-size positive"}
	}
	var levels []float64
	if *annealed {
		var err error
		if levels, err = parseSigmas(*sigmas); err != nil {
			return usageError{err.Error()}
		}
	}
	switch *initName {
	case "auto", "gaussian", "uniform":
	default:
		return usageError{fmt.Sprintf("-init %q: want auto, gaussian or uniform", *initName)}
	}
	ext := outExt(*outPath)
	if ext != "" && ext != ".png" && ext != ".npy" && ext != ".csv" {
		return usageError{fmt.Sprintf("-out %s: want a .png, .npy or .csv file", *outPath)}
	}

	m, err := openModel(*ckpt, wf)
	if err != nil {
		return err
	}
	d := m.spec.Dim
	if ext == ".png" && d != 2 && d != 784 {
		return fmt.Errorf("%s: a PNG needs 2-D data or 28×28 images, the model has d = %d: write .npy or .csv", *outPath, d)
	}
	count := *n
	if count == 0 {
		count = 1000
		if d == 784 {
			count = 64
		}
	}
	dt := m.meta.DType
	if dt == 0 {
		dt = tensor.Float32
	}
	rng := rand.New(rand.NewPCG(*seed, 5))
	dataKind, _, _ := strings.Cut(m.meta.Extra[extraData], ":")
	initKind := *initName
	if initKind == "auto" {
		initKind = "gaussian"
		if dataKind == "mnist" {
			initKind = "uniform"
		}
	}
	var x0 *tensor.Tensor
	if initKind == "uniform" {
		x0, _ = m.tr.apply(tensor.RandU(dt, rng, 0, 1, count, d))
	} else {
		x0 = tensor.RandN(dt, rng, count, d)
	}
	var y *tensor.Tensor
	switch {
	case *exact:
		if m.nice == nil {
			return fmt.Errorf("%s: -exact needs a NICE model, this is %s", m.path, m.spec.Kind)
		}
		y = m.nice.Sample(count, rng)
	case *annealed:
		per := max(1, *steps/len(levels))
		y = sm.AnnealedLangevin(m.sampler(), x0, levels, per, *stepSize, rng)
	default:
		y = sm.Langevin(m.sampler(), x0, *steps, *stepSize, rng)
	}
	x := m.tr.invert(y)
	if bad := countNonFinite(x); bad > 0 {
		fmt.Fprintf(errw, "fdsm sample: warning: %d of %d samples are not finite (is -step-size too large?)\n", bad, count)
	}

	if *outPath != "" {
		// One line saying what was written where, once it has been.
		method := fmt.Sprintf("Langevin dynamics, %d steps of size %g", *steps, *stepSize)
		switch {
		case *exact:
			method = "exactly, by inverting the flow"
		case *annealed:
			method = fmt.Sprintf("annealed Langevin dynamics over %d noise levels, %d steps per level", len(levels), max(1, *steps/len(levels)))
		}
		defer func() {
			if err == nil {
				fmt.Fprintf(out, "wrote %d samples of %s to %s (%s)\n", count, m.path, *outPath, method)
			}
		}()
	}
	switch ext {
	case ".png":
		// What the picture shows: the model, and how it was sampled.
		trained := "objective not recorded"
		if m.meta.Objective != "" {
			trained = fmt.Sprintf("trained by %s for %d steps", strings.ToUpper(m.meta.Objective), m.meta.Step)
		}
		sampler := fmt.Sprintf("Langevin, %d steps, α = %g, %s start, seed %d", *steps, *stepSize, initKind, *seed)
		switch {
		case *exact:
			sampler = fmt.Sprintf("exact samples of the flow, seed %d", *seed)
		case *annealed:
			sampler = fmt.Sprintf("annealed Langevin, %d steps over %d levels σ = %.3g…%.3g, α = %g at the last level, %s start, seed %d",
				max(1, *steps/len(levels))*len(levels), len(levels), levels[0], levels[len(levels)-1], *stepSize, initKind, *seed)
		}
		caption := fmt.Sprintf("model: %s (%s)\n%s\nsampler: %s", m.meta.Model, m.path, trained, sampler)
		v := x.ToFloat64()
		if d == 784 {
			imgs := make([][]float64, count)
			for i := range imgs {
				imgs[i] = v[i*d : (i+1)*d]
			}
			cols := int(math.Ceil(math.Sqrt(float64(count))))
			return plot.WriteFile(*outPath, func(w io.Writer) error {
				return plot.ImageGrid(w, imgs, 28, 28, cols, plot.ImageGridOptions{Scale: 2, Caption: caption})
			})
		}
		xs, ys := columns2(v)
		xl, yl := "x0", "x1"
		if len(m.tr.columns) == 2 {
			xl, yl = m.tr.columns[0], m.tr.columns[1]
		}
		opts := plot.ScatterOptions{Width: 500, Height: 500, Radius: 1.5, Alpha: 0.4, Label: "samples",
			Frame: &plot.Frame{Title: caption, XLabel: xl, YLabel: yl}}
		if dataKind == "toy" {
			spec, err := parseDataSpec(m.meta.Extra[extraData])
			if err == nil {
				if ds, err := loadData(spec, tensor.Float64, true, nil, nil); err == nil {
					// The data in blue under the samples in orange.
					ref := ds.rows(tensor.Float64, rand.New(rand.NewPCG(*seed, 6)), count).ToFloat64()
					rx, ry := columns2(ref)
					xs, ys, opts.X2, opts.Y2 = rx, ry, xs, ys
					opts.Label, opts.Label2 = "data", "samples"
				}
			}
		}
		return plot.WriteFile(*outPath, func(w io.Writer) error { return plot.Scatter(w, xs, ys, opts) })
	case ".npy":
		return tensor.SaveNpy(*outPath, x)
	case ".csv":
		return tensor.WriteFileAtomic(*outPath, func(w io.Writer) error { return writeCSV(w, x, m.tr.columns) })
	}
	return writeCSV(out, x, m.tr.columns)
}

// parseSigmas parses HI,LO,L into L geometrically spaced levels.
func parseSigmas(s string) ([]float64, error) {
	p := strings.Split(s, ",")
	if len(p) != 3 {
		return nil, fmt.Errorf("-sigmas %q: want HI,LO,L", s)
	}
	hi, err1 := strconv.ParseFloat(p[0], 64)
	lo, err2 := strconv.ParseFloat(p[1], 64)
	l, err3 := strconv.Atoi(p[2])
	if err1 != nil || err2 != nil || err3 != nil || !(lo > 0) || !(hi >= lo) || math.IsInf(hi, 0) || l < 1 || l > 10000 {
		return nil, fmt.Errorf("-sigmas %q: want HI ≥ LO > 0 and 1 ≤ L ≤ 10000", s)
	}
	return sm.GeometricSchedule(hi, lo, l), nil
}

// outExt returns the lower-case extension of an output path ("" if none).
func outExt(p string) string {
	if p == "" {
		return ""
	}
	i := strings.LastIndexByte(p, '.')
	if i < 0 || strings.ContainsAny(p[i:], `/\`) {
		return "(none)"
	}
	return strings.ToLower(p[i:])
}

// columns2 splits interleaved 2-D points into their coordinates.
func columns2(v []float64) (xs, ys []float64) {
	xs, ys = make([]float64, len(v)/2), make([]float64, len(v)/2)
	for i := range xs {
		xs[i], ys[i] = v[2*i], v[2*i+1]
	}
	return xs, ys
}

// countNonFinite counts the rows of x that hold a NaN or an infinity.
func countNonFinite(x *tensor.Tensor) int {
	d := x.Dim(1)
	v := x.ToFloat64()
	bad := 0
	for i := range x.Dim(0) {
		for _, e := range v[i*d : (i+1)*d] {
			if math.IsNaN(e) || math.IsInf(e, 0) {
				bad++
				break
			}
		}
	}
	return bad
}

// writeCSV writes the rows of x under a header of the column names, or
// x0,x1,… if there are none.
func writeCSV(w io.Writer, x *tensor.Tensor, columns []string) error {
	d := x.Dim(1)
	var b strings.Builder
	for j := range d {
		if j > 0 {
			b.WriteByte(',')
		}
		if len(columns) == d {
			b.WriteString(csvField(columns[j]))
		} else {
			fmt.Fprintf(&b, "x%d", j)
		}
	}
	b.WriteByte('\n')
	v := x.ToFloat64()
	for i := range x.Dim(0) {
		for j := range d {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatFloat(v[i*d+j], 'g', 9, 64))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// csvField quotes a CSV field if it needs it.
func csvField(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") && strings.TrimSpace(s) == s {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
