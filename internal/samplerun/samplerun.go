package samplerun

import (
	"fmt"
	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/plot"
	"github.com/fdsm/fdsm/internal/quality"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
	"io"
	"math"
	"math/rand/v2"
	"strings"
)

// Config is one run of fdsm sample: the model, what its checkpoint says,
// the validated sampler plan and the output.
type Config struct {
	Model     *sm.Model
	Transform data.Transform // maps samples back to the data's units
	Path      string         // the checkpoint or state_dict, for messages and captions
	Meta      nn.Metadata    // its metadata (model, objective, step, dtype)
	TrainData *data.Spec     // the data it was trained on (nil: not recorded)
	Plan      sm.SamplerPlan
	N         int    // samples
	Init      string // starting points: auto, gaussian or uniform
	Seed      uint64 // PCG stream 5 the draws, 6 a toy's data under a scatter plot
	Out       string // the output file ("": CSV on the writer given to Run)
	Ext       string // Out's lower-case extension: .png, .npy, .csv or ""
	Progress  io.Writer
}

// Run draws c.N samples by c.Plan (a NICE's own sampler if c.Plan.Kind is
// exact) from c.Init's starting points, maps them into the data's units and
// writes them: a PNG (a grid of 28×28 images, or a scatter plot over a
// toy's data), .npy or CSV, with one line on out saying what was written
// where. A warning on c.Progress counts samples that are not finite.
func Run(c Config, out io.Writer) (err error) {
	m := c.Model
	d, plan, ext := m.Spec.Dim, c.Plan, c.Ext
	dt := c.Meta.DType
	if dt == 0 {
		dt = tensor.Float32
	}
	rng := rand.New(rand.NewPCG(c.Seed, 5))
	var dataKind string
	if c.TrainData != nil {
		dataKind = c.TrainData.Kind
	}
	initKind := c.Init
	if initKind == "auto" {
		initKind = "gaussian"
		if dataKind == "mnist" {
			initKind = "uniform"
		}
	}
	var x0 *tensor.Tensor
	if initKind == "uniform" {
		x0, _ = c.Transform.Apply(tensor.RandU(dt, rng, 0, 1, c.N, d))
	} else {
		x0 = tensor.RandN(dt, rng, c.N, d)
	}
	var y *tensor.Tensor
	if plan.Kind == "exact" {
		if m.NICE == nil {
			return fmt.Errorf("%s: -exact needs a NICE model, this is %s", c.Path, m.Spec.Kind)
		}
		y = m.NICE.Sample(c.N, rng)
	} else {
		y = plan.Run(m.Sampler(), x0, rng)
	}
	x := c.Transform.Invert(y)
	if bad := countNonFinite(x); bad > 0 {
		fmt.Fprintf(c.Progress, "fdsm sample: warning: %d of %d samples are not finite (is -step-size too large?)\n", bad, c.N)
	}

	if c.Out != "" {
		// One line saying what was written where, once it has been.
		defer func() {
			if err == nil {
				fmt.Fprintf(out, "wrote %d samples of %s to %s (%s)\n", c.N, c.Path, c.Out, plan)
			}
		}()
	}
	switch ext {
	case ".png":
		// What the picture shows: the model, and how it was sampled.
		trained := "objective not recorded"
		if c.Meta.Objective != "" {
			trained = fmt.Sprintf("trained by %s for %d steps", strings.ToUpper(c.Meta.Objective), c.Meta.Step)
		}
		sampler := fmt.Sprintf("%s, %s start, seed %d", plan, initKind, c.Seed)
		if plan.Kind == "exact" {
			sampler = fmt.Sprintf("exact samples of the flow, seed %d", c.Seed)
		}
		caption := fmt.Sprintf("model: %s (%s)\n%s\nsampler: %s", c.Meta.Model, c.Path, trained, sampler)
		v := x.ToFloat64()
		if d == 784 {
			imgs := make([][]float64, c.N)
			for i := range imgs {
				imgs[i] = v[i*d : (i+1)*d]
			}
			cols := int(math.Ceil(math.Sqrt(float64(c.N))))
			return plot.WriteFile(c.Out, func(w io.Writer) error {
				return plot.ImageGrid(w, imgs, 28, 28, cols, plot.ImageGridOptions{Scale: quality.SampleGridScale, Caption: caption})
			})
		}
		xs, ys := plot.Columns2(v)
		xl, yl := "x0", "x1"
		if len(c.Transform.Columns) == 2 {
			xl, yl = c.Transform.Columns[0], c.Transform.Columns[1]
		}
		opts := plot.ScatterOptions{Width: 500, Height: 500, Radius: 1.5, Alpha: 0.4, Label: "samples",
			Frame: &plot.Frame{Title: caption, XLabel: xl, YLabel: yl}}
		if dataKind == "toy" {
			if ds, err := data.Load(*c.TrainData, tensor.Float64, true, nil, nil, c.Progress); err == nil {
				// The data in blue under the samples in orange.
				ref := ds.Rows(tensor.Float64, rand.New(rand.NewPCG(c.Seed, 6)), c.N).ToFloat64()
				rx, ry := plot.Columns2(ref)
				xs, ys, opts.X2, opts.Y2 = rx, ry, xs, ys
				opts.Label, opts.Label2 = "data", "samples"
			}
		}
		return plot.WriteFile(c.Out, func(w io.Writer) error { return plot.Scatter(w, xs, ys, opts) })
	case ".npy":
		return tensor.SaveNpy(c.Out, x)
	case ".csv":
		return tensor.WriteFileAtomic(c.Out, func(w io.Writer) error { return data.WriteCSV(w, x, c.Transform.Columns) })
	}
	return data.WriteCSV(out, x, c.Transform.Columns)
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
