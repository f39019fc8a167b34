package experiment

import (
	"bytes"
	"flag"
	"fmt"
	"github.com/fdsm/fdsm/internal/numeric"
	"github.com/fdsm/fdsm/internal/rundir"
	"github.com/fdsm/fdsm/internal/samplerun"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/plot"
	"github.com/fdsm/fdsm/internal/quality"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// EBMObjectives returns the objectives the ebm experiment accepts.
func EBMObjectives() []string {
	return []string{"mdsm", "fd-mdsm", "dsm", "fd-dsm", "ssm", "fd-ssm", "taylor-ssm", "sm"}
}

// EBMConfig holds the settings of EBM. DefaultEBMConfig gives those of
// `fdsm experiment ebm`, RegisterFlags its flags.
type EBMConfig struct {
	MNIST           string    // MNIST directory (fetched if missing)
	Minutes         float64   // training time per objective in minutes (0: run Steps)
	Steps           int       // training steps per objective (with Minutes: the cap)
	Width           int       // hidden width of the softplus MLP energy 784-w-…-w-1 (at least 784, so that the score can span every direction)
	Depth           int       // hidden layers of the MLP energy
	Batch           int       // rows per step
	LR              float64   // Adam learning rate, annealed by a cosine to LR/10 over the budget (of time with Minutes, else of steps)
	Sigma           float64   // DSM and FD-DSM noise level σ (pixels in [0, 1])
	N               int       // samples drawn from each model and scored
	WalkSteps       int       // DSM, FD-DSM: Langevin steps of the walk (0: fdsm train's default, 1000)
	WalkSize        float64   // DSM, FD-DSM: the walk's step size (0: fdsm train's default, 0.5·σ²)
	WalkTemperature string    // DSM, FD-DSM: the walk's temperature, as fdsm sample's -temperature: none, mdsm or mdsm:TMAX,TMIN
	SMRows          int       // test images for the exact SM loss of the table
	CurveRows       int       // test images for the learning curve's exact SM loss
	Points          int       // points of each learning curve
	Parallel        bool      // train the objectives at the same time (false: one after the other)
	Seed            uint64    // seed of the initialisation, minibatches, noise and samples
	JSON            bool      // print one JSON object instead of the table
	Objectives      []string  // the objectives, some of EBMObjectives, in table order
	Out             string    // the output directory ("": ./fdsm-out/ebm); refused if it holds files, unless Force
	Force           bool      // write into Out even when it holds files
	Progress        io.Writer // progress and per-run lines (nil: none)
}

// DefaultEBMConfig returns the defaults of `fdsm experiment ebm`.
func DefaultEBMConfig() EBMConfig {
	return EBMConfig{MNIST: data.DefaultDir("mnist"), Minutes: 30, Steps: 1_000_000, Width: 1024, Depth: 2, Batch: 128, LR: 1e-3,
		Sigma: 0.3, N: 1000, WalkTemperature: "none", SMRows: 100, CurveRows: 10, Points: 10, Parallel: true, Seed: 1,
		Objectives: []string{"dsm", "fd-dsm"}}
}

// RegisterFlags defines on fs the flags of `fdsm experiment ebm` that set
// c's scalar fields, with c's values as their defaults (the command reads
// -objectives as a list itself).
func (c *EBMConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.MNIST, "mnist", c.MNIST, "MNIST directory (fetched if missing)")
	fs.Float64Var(&c.Minutes, "minutes", c.Minutes, "training time per objective in minutes (0: run -steps)")
	fs.IntVar(&c.Steps, "steps", c.Steps, "training steps per objective (with -minutes: the cap)")
	fs.IntVar(&c.Width, "width", c.Width, "hidden width of the softplus MLP energy 784-w-…-w-1 (at least 784, so that the score can span every direction)")
	fs.IntVar(&c.Depth, "depth", c.Depth, "hidden layers of the MLP energy")
	fs.IntVar(&c.Batch, "batch", c.Batch, "rows per step")
	fs.Float64Var(&c.LR, "lr", c.LR, "Adam learning rate, annealed by a cosine to lr/10 over the budget (of time with -minutes, else of steps)")
	fs.Float64Var(&c.Sigma, "sigma", c.Sigma, "DSM and FD-DSM noise level σ (pixels in [0, 1])")
	fs.IntVar(&c.N, "n", c.N, "samples drawn from each model and scored")
	fs.IntVar(&c.WalkSteps, "walk-steps", c.WalkSteps, "DSM, FD-DSM: Langevin steps of the walk (0: fdsm train's default, 1000)")
	fs.Float64Var(&c.WalkSize, "walk-size", c.WalkSize, "DSM, FD-DSM: the walk's step size (0: fdsm train's default, 0.5·σ²)")
	fs.StringVar(&c.WalkTemperature, "walk-temperature", c.WalkTemperature, "DSM, FD-DSM: the walk's temperature, as fdsm sample's -temperature: none (T = 1), mdsm or mdsm:TMAX,TMIN")
	fs.IntVar(&c.SMRows, "sm-rows", c.SMRows, "test images for the exact SM loss of the table")
	fs.IntVar(&c.CurveRows, "curve-rows", c.CurveRows, "test images for the learning curve's exact SM loss")
	fs.IntVar(&c.Points, "points", c.Points, "points of each learning curve")
	fs.BoolVar(&c.Parallel, "parallel", c.Parallel, "train the objectives at the same time (false: one after the other)")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the initialisation, minibatches, noise and samples")
	fs.BoolVar(&c.JSON, "json", c.JSON, "print one JSON object instead of the table")
	outFlags(fs, &c.Out, &c.Force, "ebm", "the checkpoints, sample grids and learning-curve.svg")
}

// Validate returns a *ConfigError for the first field of c out of bounds.
func (c EBMConfig) Validate() error {
	k := checker{config: "EBMConfig"}
	k.objectives(c.Objectives, EBMObjectives())
	k.atLeast("Steps", "steps", c.Steps, 1)
	k.minutes(c.Minutes)
	k.within("Width", "width", c.Width, 1, 4096)
	k.within("Depth", "depth", c.Depth, 1, 8)
	k.within("Batch", "batch", c.Batch, 1, 1<<14)
	k.learningRate(c.LR)
	k.noiseLevel(c.Sigma)
	k.check(c.N >= 2 && c.N <= 1<<16, "N", "-n %d: want 2…%d samples (the Fréchet distance needs a covariance)", c.N, 1<<16)
	k.check(c.WalkSteps >= 0, "WalkSteps", "-walk-steps and -walk-size must be ≥ 0 (0: the default)")
	k.check(c.WalkSize >= 0 && !math.IsInf(c.WalkSize, 0), "WalkSize", "-walk-steps and -walk-size must be ≥ 0 (0: the default)")
	k.evalRows(c.SMRows, c.CurveRows, c.Points)
	// As fdsm sample will read it from the checkpoints.
	if _, _, err := sm.ParseTemperature(c.WalkTemperature); err != nil {
		k.fail("WalkTemperature", "-walk-temperature %v", err)
	}
	return k.result()
}

// EBM runs the experiment `fdsm experiment ebm` with the settings of c,
// once Validate accepts them, writing its report (a markdown table, or one
// JSON object if c.JSON) to out and the figures into c.Out.
func EBM(c EBMConfig, out io.Writer) error {
	if err := c.Validate(); err != nil {
		return err
	}
	errw := progressWriter(c.Progress)
	list := c.Objectives
	start := time.Now()
	const dt = tensor.Float32
	trainX, _, testPix, _, err := data.MNISTSplits(c.MNIST, errw, dt)
	if err != nil {
		return err
	}
	classifier, err := quality.Default()
	if err != nil {
		return err
	}
	outDir, err := rundir.PrepareOutDir(c.Out, "ebm", c.Force)
	if err != nil {
		return err
	}
	absMNIST, err := filepath.Abs(c.MNIST)
	if err != nil {
		return err
	}
	// The test images of the exact SM loss, dequantised once with a fixed
	// seed as training dequantises its batches.
	testX := data.DequantizePixels(tensor.SliceRows(testPix, 0, min(max(c.SMRows, c.CurveRows), testPix.Dim(0))), rand.New(rand.NewPCG(c.Seed, 50)))
	smX := tensor.SliceRows(testX, 0, min(c.SMRows, testX.Dim(0)))
	curveX := tensor.SliceRows(testX, 0, min(c.CurveRows, testX.Dim(0)))
	spec := nn.ModelSpec{Kind: nn.KindMLP, Dim: quality.Pixels, Width: c.Width, Depth: c.Depth, Act: nn.Softplus}
	arch := "784" + strings.Repeat("-"+strconv.Itoa(c.Width), c.Depth) + "-1"
	budget := time.Duration(c.Minutes * float64(time.Minute))

	type result struct {
		name      string
		st        runStats
		exact     float64
		q         quality.Report
		sampler   string
		ckpt, pic string
		times     []float64 // learning curve: training seconds…
		losses    []float64 // …and the exact SM loss on curveX then
	}
	res := make([]*result, len(list))
	errs := make([]error, len(list))
	var logMu sync.Mutex // the runs' progress lines, whole and prefixed
	runOne := func(i int) error {
		name := list[i]
		r := &result{name: name}
		res[i] = r
		logw := errw
		if c.Parallel && len(list) > 1 {
			logw = &prefixWriter{w: errw, mu: &logMu, prefix: "[" + name + "] "}
		}
		m := sm.NewModel(spec, dt, rand.New(rand.NewPCG(c.Seed, 51)))
		obj := energyObjective(name)
		// The learning rate falls by a cosine from lr to lr/10 over the
		// budget: of training time with -minutes (trainSec is the clock
		// the probe sees), of steps otherwise.
		var trainSec float64
		schedule := nn.Cosine(c.LR, c.LR/10, 0)
		if budget > 0 {
			schedule = func(int, int) float64 {
				f := min(trainSec/budget.Seconds(), 1)
				return c.LR/10 + (c.LR-c.LR/10)*(1+math.Cos(math.Pi*f))/2
			}
		}
		next := 0.0
		probe := func(done int, sec float64) {
			trainSec = sec
			due := done%max(1, c.Steps/c.Points) == 0
			if budget > 0 {
				due = sec >= next
			}
			if due {
				next += budget.Seconds() / float64(c.Points)
				r.times, r.losses = append(r.times, sec), append(r.losses, sm.ExactSMLoss(m.Energy, curveX, 50))
			}
		}
		r.times, r.losses = []float64{0}, []float64{sm.ExactSMLoss(m.Energy, curveX, 50)}
		next = budget.Seconds() / float64(c.Points)
		desc := fmt.Sprintf("%d steps", c.Steps)
		if budget > 0 {
			desc = fmt.Sprintf("%.3g min (at most %d steps)", c.Minutes, c.Steps)
		}
		arena := new(tensor.Arena)
		var err error
		r.st, err = trainRun(runSpec{
			name:     fmt.Sprintf("ebm %s: MLP %s, %s", name, arch, desc),
			model:    m.Module,
			schedule: schedule,
			steps:    c.Steps,
			budget:   budget,
			source:   rand.NewPCG(c.Seed, 52), // the same minibatches for every objective
			release:  true,
			arena:    arena,
			probe:    probe,
			loss: func(_ int, rg *rand.Rand) *ad.Value {
				idx := make([]int, c.Batch)
				for i := range idx {
					idx[i] = rg.IntN(trainX.Dim(0))
				}
				x := arena.Add(data.DequantizePixels(arena.Add(tensor.GatherRows(trainX, idx)), rg))
				return obj(m.Energy, x, &sm.Options{Rand: rg, Sigma: c.Sigma, Arena: arena})
			},
		}, logw)
		if err != nil {
			return err
		}
		if l := r.times[len(r.times)-1]; l < r.st.Seconds {
			r.times, r.losses = append(r.times, r.st.Seconds), append(r.losses, sm.ExactSMLoss(m.Energy, curveX, 50))
		}
		r.exact = sm.ExactSMLoss(m.Energy, smX, 50)

		// The checkpoint, as fdsm train would write it for this model, with
		// the sampler settings used here.
		settings := sm.ObjectiveSampling(name, c.Sigma)
		if name == "dsm" || name == "fd-dsm" {
			if c.WalkSteps > 0 {
				settings["steps"] = strconv.Itoa(c.WalkSteps)
			}
			if c.WalkSize > 0 {
				settings["step-size"] = strconv.FormatFloat(c.WalkSize, 'g', -1, 64)
			}
			if c.WalkTemperature != "none" {
				settings["temperature"] = c.WalkTemperature
			}
		}
		extra := map[string]string{nn.ExtraData: data.Spec{Kind: "mnist", Arg: absMNIST}.String()}
		data.Transform{Kind: data.TransformNone, Dequantize: true}.Store(extra)
		for k, v := range map[string]string{"objective": name, "model": nn.KindMLP, "width": strconv.Itoa(c.Width), "depth": strconv.Itoa(c.Depth),
			"sigma": strconv.FormatFloat(c.Sigma, 'g', -1, 64), "batch": strconv.Itoa(c.Batch), "lr": strconv.FormatFloat(c.LR, 'g', -1, 64),
			"seed": strconv.FormatUint(c.Seed, 10)} {
			extra[nn.ExtraFlagPrefix+k] = v
		}
		sm.RecordSampling(extra, settings)
		mm := &sm.Model{Energy: m.Energy}
		eBar := numeric.Mean(mm.Energies(data.DequantizePixels(tensor.SliceRows(trainX, 0, min(2000, trainX.Dim(0))), rand.New(rand.NewPCG(c.Seed, 53)))))
		extra[nn.ExtraEnergyMean] = data.FormatFloats([]float64{eBar})
		r.ckpt = filepath.Join(outDir, name+".safetensors")
		meta := nn.Metadata{Model: spec.String(), Step: r.st.Steps, Seed: c.Seed, Objective: name, DType: dt, Extra: extra}
		if err := nn.SaveCheckpoint(r.ckpt, m.Module.Params(), nil, meta); err != nil {
			return err
		}

		// The samples, drawn as fdsm sample draws them from the checkpoint
		// with no flag but -n: what the table reports is what a user
		// reproduces.
		fmt.Fprintf(logw, "  sampling %d images (%.0f s so far)\n", c.N, time.Since(start).Seconds())
		npy := filepath.Join(outDir, "samples-"+name+".npy")
		plan, err := samplerun.FromCheckpoint(r.ckpt, c.N, c.Seed, npy, logw)
		if err != nil {
			return err
		}
		r.sampler = plan.String()
		b, err := os.ReadFile(npy)
		if err != nil {
			return err
		}
		x, _, err := quality.DecodeSamples(npy, b)
		if err != nil {
			return err
		}
		os.Remove(npy) // 3 MB per thousand samples: the checkpoint makes them again
		r.q = classifier.Measure(x)
		r.pic = filepath.Join(outDir, "samples-"+name+".png")
		if _, err := samplerun.FromCheckpoint(r.ckpt, 64, c.Seed, r.pic, logw); err != nil {
			return err
		}
		fmt.Fprintf(logw, "  %s; exact SM loss %.4g, %.2f ms/step, %d steps\n", r.q, r.exact, r.st.MsPerStep, r.st.Steps)
		return nil
	}
	if c.Parallel {
		var wg sync.WaitGroup
		for i := range list {
			wg.Go(func() { errs[i] = runOne(i) })
		}
		wg.Wait()
	} else {
		for i := range list {
			if errs[i] = runOne(i); errs[i] != nil {
				break
			}
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}

	var series []plot.Series
	for _, r := range res {
		series = append(series, plot.Series{Name: strings.ToUpper(r.name), X: r.times, Y: r.losses})
	}
	curve := filepath.Join(outDir, "learning-curve.svg")
	if err := plot.WriteFile(curve, func(w io.Writer) error {
		return plot.LineChart(w, series, plot.ChartOptions{
			Title:  fmt.Sprintf("MLP energy on MNIST: exact SM loss on %d test images during training", curveX.Dim(0)),
			XLabel: "training wall-clock time (s)", YLabel: "exact SM loss (lower is better)"})
	}); err != nil {
		return err
	}
	files := []string{curve}
	for _, r := range res {
		files = append(files, r.ckpt, r.pic)
	}

	if c.JSON {
		var rows []map[string]any
		for _, r := range res {
			rows = append(rows, map[string]any{"objective": r.name, "steps": r.st.Steps, "diverged_at": r.st.Diverged,
				"exact_sm": r.exact, "ms_per_step": r.st.MsPerStep, "peak_tensor_mb": r.st.PeakMB, "train_seconds": r.st.Seconds,
				"fid": r.q.FID, "confident_frac": r.q.ConfidentFrac, "min_class_frac": r.q.MinClassFrac, "class_frac": r.q.ClassFrac,
				"n": r.q.N, "sampler": r.sampler, "checkpoint": r.ckpt, "curve_seconds": r.times, "curve_exact_sm": r.losses})
		}
		return printJSON(out, map[string]any{"experiment": "ebm", "rows": rows, "files": files, "seconds": time.Since(start).Seconds()})
	}
	budgetText := fmt.Sprintf("%d steps", c.Steps)
	if budget > 0 {
		budgetText = fmt.Sprintf("%.3g min of training (at most %d steps)", c.Minutes, c.Steps)
	}
	how := "one after the other"
	if c.Parallel && len(list) > 1 {
		how = "at the same time"
	}
	fmt.Fprintf(out, "MNIST energy: %s softplus MLP (float32) on dequantised pixels; Adam %g (cosine to %g), batch %d, %s per objective, trained %s; σ = %g (DSM, FD-DSM), seed %d;\n",
		arch, c.LR, c.LR/10, c.Batch, budgetText, how, c.Sigma, c.Seed)
	fmt.Fprintf(out, "exact SM loss on %d test images; FID-MNIST, confident fraction (p ≥ %g) and smallest class share of %d samples from each model (fdsm quality)\n\n", smX.Dim(0), quality.ConfidenceLevel, c.N)
	t := mdTable{head: []string{"objective", "exact SM loss", "ms/step", "peak MB", "steps", "FID-MNIST", "confident", "smallest class"}}
	for _, r := range res {
		stepsText := fmt.Sprint(r.st.Steps)
		if r.st.Diverged > 0 {
			stepsText = fmt.Sprintf("%d (diverged at %d)", r.st.Steps, r.st.Diverged)
		}
		t.add(strings.ToUpper(r.name), fmt.Sprintf("%.4g", r.exact), fmt.Sprintf("%.2f", r.st.MsPerStep), fmt.Sprintf("%.1f", r.st.PeakMB),
			stepsText, fmt.Sprintf("%.1f", r.q.FID), fmt.Sprintf("%.3f", r.q.ConfidentFrac), fmt.Sprintf("%.3f", r.q.MinClassFrac))
	}
	t.write(out)
	fmt.Fprintln(out)
	for _, r := range res {
		fmt.Fprintf(out, "%s sampled by %s\n", strings.ToUpper(r.name), r.sampler)
	}
	fmt.Fprintf(out, "\nWrote %s (%.0f s in all).\n", strings.Join(files, ", "), time.Since(start).Seconds())
	return nil
}

// prefixWriter writes whole lines to w, each behind prefix, under mu: the
// progress of runs that go on at the same time, told apart. A partial line
// waits for its end; carriage returns (a terminal's progress bar) end a
// line too.
type prefixWriter struct {
	w      io.Writer
	mu     *sync.Mutex
	prefix string
	buf    []byte
}

// Write buffers b and writes out the whole lines it completes.
func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexAny(p.buf, "\r\n")
		if i < 0 {
			return len(b), nil
		}
		p.mu.Lock()
		_, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i])
		p.mu.Unlock()
		p.buf = p.buf[i+1:]
		if err != nil {
			return len(b), err
		}
	}
}
