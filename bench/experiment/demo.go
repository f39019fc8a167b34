package experiment

import (
	"encoding/json"
	"flag"
	"fmt"
	"github.com/fdsm/fdsm/internal/rundir"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"time"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/numeric"
	"github.com/fdsm/fdsm/internal/plot"
	"github.com/fdsm/fdsm/internal/progress"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// DemoObjectives returns the objectives the demo compares, in table order.
func DemoObjectives() []string { return []string{"ssm", "fd-ssm", "dsm", "fd-dsm"} }

// demoRun is one objective's training run and evaluation.
type demoRun struct {
	Objective string
	MsPerStep float64 // the median
	PeakMB    float64 // peak tensor memory of a step
	ExactSM   float64 // on the held-out samples
	LogLik    float64 // on the held-out samples
	Seconds   float64 // training time in all

	times, losses   []float64 // training loss against cumulative training time
	etimes, exactSM []float64 // held-out exact SM loss against training time
	model           *nn.MLP
}

// DemoConfig holds the settings of Demo. DefaultDemoConfig gives those of
// `fdsm demo`, RegisterFlags its flags.
type DemoConfig struct {
	Toy          string    // the distribution, a toy with a known density
	Width        int       // hidden width of the 2-w-w-1 MLP
	Steps        int       // training steps per objective
	Batch        int       // rows per step
	LR           float64   // Adam learning rate, annealed by a cosine to LR/100
	Seed         uint64    // seed of the initialisation, the data, the minibatches and the objectives' randomness
	JSON         bool      // print JSON lines instead of the tables
	Sigma        float64   // DSM noise level σ
	Quick        bool      // small grids, few samples (for tests; -quick, not in -h)
	HighDim      bool      // after the 2-D table, time the four objectives on a 784-512-512-1 MLP energy
	HighDimSteps int       // steps per objective of the high-dimensional comparison
	MNIST        string    // MNIST directory for it (synthetic data of the same shape when MNIST is not there)
	Out          string    // the output directory ("": ./fdsm-out/demo); refused if it holds files, unless Force
	Force        bool      // write into Out even when it holds files
	Progress     io.Writer // progress and per-run lines (nil: none)
}

// DefaultDemoConfig returns the defaults of `fdsm demo`.
func DefaultDemoConfig() DemoConfig {
	// 40 high-dimensional steps: a few dozen, enough for a stable median,
	// about 2 s on two idle cores.
	return DemoConfig{Toy: "8gaussians", Width: 64, Steps: 600, Batch: 128, LR: 1e-2, Seed: 1, Sigma: 0.2,
		HighDim: true, HighDimSteps: 40, MNIST: data.DefaultDir("mnist")}
}

// RegisterFlags defines on fs the flags of `fdsm demo` but -quick, with c's
// values as their defaults.
func (c *DemoConfig) RegisterFlags(fs *flag.FlagSet) {
	outFlags(fs, &c.Out, &c.Force, "demo", "the pictures")
	fs.StringVar(&c.Toy, "toy", c.Toy, "the distribution, a toy with a known density: 8gaussians, 2gaussians, rings or checkerboard")
	fs.IntVar(&c.Width, "width", c.Width, "hidden width of the 2-w-w-1 MLP")
	fs.IntVar(&c.Steps, "steps", c.Steps, "training steps per objective")
	fs.IntVar(&c.Batch, "batch", c.Batch, "rows per step")
	fs.Float64Var(&c.LR, "lr", c.LR, "Adam learning rate, annealed by a cosine to lr/100")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the initialisation, the data, the minibatches and the objectives' randomness")
	fs.BoolVar(&c.JSON, "json", c.JSON, "print JSON lines instead of the table: one object per objective, then one with the true log-likelihood and the files written, then one per objective of the high-dimensional comparison (\"kind\": \"highdim\")")
	fs.Float64Var(&c.Sigma, "sigma", c.Sigma, "DSM noise level σ (the DSM-trained models fit the data convolved with N(0, σ²I))")
	fs.BoolVar(&c.HighDim, "highdim", c.HighDim, "after the 2-D table, time the four objectives on a 784-512-512-1 MLP energy (batch 128, float32), where FD's speed-up shows")
	fs.IntVar(&c.HighDimSteps, "highdim-steps", c.HighDimSteps, "training steps per objective of the high-dimensional comparison")
	fs.StringVar(&c.MNIST, "mnist", c.MNIST, "MNIST directory for the high-dimensional comparison (synthetic data of the same shape when MNIST is not there; fetch it with 'fdsm data mnist')")
}

// Validate returns a *ConfigError for the first field of c out of bounds.
func (c DemoConfig) Validate() error {
	k := checker{config: "DemoConfig"}
	k.within("Width", "width", c.Width, 1, 4096)
	k.atLeast("Steps", "steps", c.Steps, 1)
	k.within("Batch", "batch", c.Batch, 1, 1<<16)
	// Infinite σ and lr are let through, as fdsm demo always has.
	k.check(c.Sigma > 0, "Sigma", "-sigma %g: want a positive noise level", c.Sigma)
	k.check(c.LR > 0, "LR", "-lr %g: want a positive learning rate", c.LR)
	k.atLeast("HighDimSteps", "highdim-steps", c.HighDimSteps, 1)
	k.check(knownDensity(c.Toy), "Toy", "-toy %q: want a toy with a known density: 8gaussians, 2gaussians, rings or checkerboard", c.Toy)
	return k.result()
}

// Demo runs `fdsm demo` with the settings of c, once Validate accepts
// them, writing its report (the tables, or JSON lines if c.JSON) to out and
// the figures into c.Out.
func Demo(c DemoConfig, out io.Writer) error {
	if err := c.Validate(); err != nil {
		return err
	}
	errw := progressWriter(c.Progress)
	hdSteps := c.HighDimSteps
	toy, _ := data.NewToy(c.Toy)
	dens := toy.(data.Density)
	outDir, err := rundir.PrepareOutDir(c.Out, "demo", c.Force)
	if err != nil {
		return err
	}
	gridN, heldN, sampleN, langevinSteps, evalEvery := 300, 2000, 800, 120, max(c.Steps/20, 1)
	if c.Quick {
		gridN, heldN, sampleN, langevinSteps = 40, 200, 100, 20
	}
	start := time.Now()

	const dt = tensor.Float32
	dataRng := rand.New(rand.NewPCG(c.Seed, 10))
	train := toy.Sample(dt, dataRng, 20000)
	held := toy.Sample(dt, dataRng, heldN)
	probe := tensor.SliceRows(held, 0, min(heldN, 500)) // for the exact SM loss during training
	lo, hi := sm.GridBox2D(held)

	// The four runs advance in lockstep, one step of each in turn, so that
	// whatever else the machine is doing slows them alike.
	type state struct {
		obj           sm.Objective
		opts          *sm.Options
		opt           nn.Optimizer
		params        []nn.Param
		vals          []*ad.Value
		batchRng      *rand.Rand
		elapsed, peak float64
		stepTimes     []float64
	}
	runs := make([]*demoRun, len(DemoObjectives()))
	states := make([]*state, len(DemoObjectives()))
	for i, name := range DemoObjectives() {
		obj, err := sm.Lookup(name)
		if err != nil {
			return err
		}
		r := &demoRun{Objective: name}
		r.model = nn.NewMLP(dt, []int{2, c.Width, c.Width, 1}, nn.Softplus, rand.New(rand.NewPCG(c.Seed, 11)))
		runs[i] = r
		states[i] = &state{
			obj: obj, opt: nn.NewAdam(), params: r.model.Params(), vals: nn.Values(r.model),
			opts:     &sm.Options{Rand: rand.New(rand.NewPCG(c.Seed, 13)), Sigma: c.Sigma}, // the same noise and projections
			batchRng: rand.New(rand.NewPCG(c.Seed, 12)),                                    // the same minibatches
		}
	}
	sched := nn.Cosine(c.LR, c.LR/100, c.Steps/20)
	fmt.Fprintf(errw, "training %s in lockstep (the loss shown is %s's):\n", strings.Join(DemoObjectives(), ", "), DemoObjectives()[0])
	bar := progress.New(errw, c.Steps, progress.IsTerminalWriter(errw))
	idx := make([]int, c.Batch)
	for step := range c.Steps {
		var first float64
		for i, r := range runs {
			st := states[i]
			for k := range idx {
				idx[k] = st.batchRng.IntN(train.Dim(0))
			}
			x := tensor.GatherRows(train, idx)
			t0 := time.Now()
			loss := st.obj.Energy(r.model, x, st.opts)
			// The peak: graph still held plus cotangents, over a backward
			// pass that releases the graph as it goes (see package bench).
			var gs ad.GradStats
			gv := ad.Grad(loss, st.vals, ad.TrackStats(&gs), ad.ReleaseGraph())
			st.peak = max(st.peak, float64(gs.PeakBytes))
			grads := make([]*tensor.Tensor, len(gv))
			for k, g := range gv {
				grads[k] = g.T()
			}
			l := loss.Item()
			if math.IsNaN(l) || math.IsInf(l, 0) {
				bar.Finish()
				return fmt.Errorf("%s: step %d: the loss is %v (try a smaller -lr)", r.Objective, step+1, l)
			}
			st.opt.Step(st.params, grads, sched(step, c.Steps))
			dur := time.Since(t0).Seconds()
			st.elapsed += dur
			st.stepTimes = append(st.stepTimes, dur)
			r.times = append(r.times, st.elapsed)
			r.losses = append(r.losses, l)
			if step%evalEvery == 0 || step == c.Steps-1 {
				r.etimes = append(r.etimes, st.elapsed)
				r.exactSM = append(r.exactSM, sm.ExactSMLoss(r.model, probe, 500))
			}
			if i == 0 {
				first = l
			}
		}
		bar.Update(step+1, first)
	}
	bar.Finish()
	fmt.Fprintf(errw, "evaluating (%.1f s so far)\n", time.Since(start).Seconds())
	for i, r := range runs {
		st := states[i]
		r.Seconds = st.elapsed
		r.MsPerStep = 1000 * numeric.Median(st.stepTimes)
		r.PeakMB = st.peak / (1 << 20)
		r.ExactSM = sm.ExactSMLoss(r.model, held, 500)
		r.LogLik, _ = sm.LogLikelihoodGrid2D(r.model, lo, hi, gridN, held)
	}

	// The true log-likelihood of the held-out samples.
	var trueLL float64
	for _, v := range dens.LogDensity(held) {
		trueLL += v
	}
	trueLL /= float64(heldN)

	// Pictures.
	fmt.Fprintf(errw, "drawing (%.1f s so far)\n", time.Since(start).Seconds())
	files, err := demoPictures(outDir, dens, train, runs, gridN, sampleN, langevinSteps, c.Seed)
	if err != nil {
		return err
	}
	var hd *highDim // nil with -highdim=false
	if c.HighDim {
		if hd, err = runHighDim(hdSteps, c.MNIST, c.Seed, errw); err != nil {
			return err
		}
	}

	if c.JSON {
		enc := json.NewEncoder(out)
		for _, r := range runs {
			if err := enc.Encode(map[string]any{"objective": r.Objective, "ms_per_step": finite(r.MsPerStep),
				"peak_tensor_mb": finite(r.PeakMB), "exact_sm": finite(r.ExactSM), "loglik": finite(r.LogLik),
				"train_seconds": finite(r.Seconds)}); err != nil {
				return err
			}
		}
		if err := enc.Encode(map[string]any{"true_loglik": finite(trueLL), "files": files, "seconds": time.Since(start).Seconds()}); err != nil {
			return err
		}
		return hd.writeJSON(enc)
	}
	fmt.Fprintf(out, "%s, MLP 2-%d-%d-1 softplus (float32), %d Adam steps of %d rows from the same initialisation and minibatches;\n",
		c.Toy, c.Width, c.Width, c.Steps, c.Batch)
	fmt.Fprintf(out, "exact SM loss and log-likelihood on %d held-out samples (log Z on a %d×%d grid)\n\n", heldN, gridN, gridN)
	fmt.Fprintf(out, "%-10s %10s %15s %14s %15s\n", "objective", "ms/step", "peak tensor MB", "exact SM loss", "log-likelihood")
	for _, r := range runs {
		fmt.Fprintf(out, "%-10s %10.2f %15.3f %14.4f %15.4f\n", strings.ToUpper(r.Objective), r.MsPerStep, r.PeakMB, r.ExactSM, r.LogLik)
	}
	fmt.Fprintf(out, "%-10s %10s %15s %14s %15.4f\n", "true", "", "", "", trueLL)
	demoWhyD2(out, runs, hd != nil)
	hd.print(out)
	fmt.Fprintf(out, "\nFD-SSM and FD-DSM replace the gradients of gradients of SSM and DSM by function evaluations\n")
	fmt.Fprintf(out, "stacked into one batch. Wrote %s in %s (%.1f s in all).\n", strings.Join(files, ", "), outDir, time.Since(start).Seconds())
	return nil
}

// demoPictures writes the density heatmaps, the sample scatter plots and the
// loss charts, and returns the files' names.
func demoPictures(dir string, dens data.Density, train *tensor.Tensor, runs []*demoRun, gridN, sampleN, langevinSteps int, seed uint64) ([]string, error) {
	var files []string
	write := func(name string, render func(io.Writer) error) error {
		files = append(files, name)
		return plot.WriteFile(filepath.Join(dir, name), render)
	}
	// One box for every picture: the training data's, widened by a tenth.
	lo, hi := sm.BoundingBox2D(train, 0.1, 0.1)
	n := min(gridN, 200)
	pts := make([]float64, 0, 2*n*n)
	for j := range n { // row j of the picture, from the bottom
		y := lo[1] + (float64(j)+0.5)*(hi[1]-lo[1])/float64(n)
		for i := range n {
			pts = append(pts, lo[0]+(float64(i)+0.5)*(hi[0]-lo[0])/float64(n), y)
		}
	}
	grid := tensor.FromFloat64(tensor.Float32, pts, n*n, 2)
	box := plot.Box{XMin: lo[0], XMax: hi[0], YMin: lo[1], YMax: hi[1]}
	heat := func(name, title string, logp []float64) error {
		p := make([]float64, len(logp))
		for i, v := range logp {
			p[i] = math.Exp(v)
		}
		return write(name, func(w io.Writer) error {
			return plot.Heatmap(w, p, n, n, plot.HeatmapOptions{Scale: max(1, 400/n), Box: box, ValueLabel: "density",
				Frame: &plot.Frame{Title: title, XLabel: "x0", YLabel: "x1"}})
		})
	}
	if err := heat("density-true.png", "true density", dens.LogDensity(grid)); err != nil {
		return files, err
	}
	tv := train.ToFloat64()
	dx, dy := plot.Columns2(tv[:2*min(sampleN, train.Dim(0))])
	for _, r := range runs {
		m := &sm.Model{Energy: r.model}
		e := m.Energies(grid)
		// exp(−E) normalised by its integral on the grid (the sum times a
		// cell's area), a density on the true density's scale.
		logp := make([]float64, len(e))
		for i, v := range e {
			logp[i] = -v
		}
		lz := numeric.LogSumExp(logp) + math.Log((hi[0]-lo[0])*(hi[1]-lo[1])/float64(n*n))
		for i := range logp {
			logp[i] -= lz
		}
		if err := heat("density-"+r.Objective+".png", "density of the "+strings.ToUpper(r.Objective)+" model", logp); err != nil {
			return files, err
		}
		rng := rand.New(rand.NewPCG(seed, 14))
		x0 := tensor.RandU(tensor.Float32, rng, 0, 1, sampleN, 2) // uniform on the box
		x0 = tensor.Add(tensor.Mul(x0, tensor.FromFloat64(tensor.Float32, []float64{hi[0] - lo[0], hi[1] - lo[1]}, 1, 2)),
			tensor.FromFloat64(tensor.Float32, []float64{lo[0], lo[1]}, 1, 2))
		s := sm.Langevin(r.model, x0, langevinSteps, 0.03, rng).ToFloat64()
		sx, sy := plot.Columns2(s)
		if err := write("samples-"+r.Objective+".png", func(w io.Writer) error {
			return plot.Scatter(w, dx, dy, plot.ScatterOptions{Box: box, X2: sx, Y2: sy, Radius: 1.5, Alpha: 0.4,
				Label: "data", Label2: "samples", Frame: &plot.Frame{XLabel: "x0", YLabel: "x1",
					Title: fmt.Sprintf("%s: Langevin, %d steps", strings.ToUpper(r.Objective), langevinSteps)}})
		}); err != nil {
			return files, err
		}
	}
	var exact []plot.Series
	for _, r := range runs {
		exact = append(exact, plot.Series{Name: strings.ToUpper(r.Objective), X: r.etimes, Y: r.exactSM})
	}
	if err := write("loss.svg", func(w io.Writer) error {
		return plot.LineChart(w, exact, plot.ChartOptions{Title: "exact SM loss on held-out samples during training",
			XLabel: "training wall-clock time (s)", YLabel: "exact SM loss"})
	}); err != nil {
		return files, err
	}
	for _, pair := range [][2]int{{0, 1}, {2, 3}} {
		a, b := runs[pair[0]], runs[pair[1]]
		name := "train-loss-" + a.Objective + ".svg"
		if err := write(name, func(w io.Writer) error {
			return plot.LineChart(w, []plot.Series{
				{Name: strings.ToUpper(a.Objective), X: a.times, Y: smooth(a.losses)},
				{Name: strings.ToUpper(b.Objective), X: b.times, Y: smooth(b.losses)},
			}, plot.ChartOptions{Title: fmt.Sprintf("training loss (moving average), %s and %s", strings.ToUpper(a.Objective), strings.ToUpper(b.Objective)),
				XLabel: "training wall-clock time (s)", YLabel: "loss"})
		}); err != nil {
			return files, err
		}
	}
	return files, nil
}

// smooth returns the moving average of v over a window of 1/10 of its length.
func smooth(v []float64) []float64 {
	w := max(1, len(v)/10)
	out := make([]float64, len(v))
	var s float64
	for i, x := range v {
		s += x
		if i >= w {
			s -= v[i-w]
		}
		out[i] = s / float64(min(i+1, w))
	}
	return out
}

// finite returns v, or nil (JSON null) if v is NaN or infinite, which JSON
// cannot represent.
func finite(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}
