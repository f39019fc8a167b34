package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
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

func init() {
	register("demo", "train one energy model four ways (SSM, FD-SSM, DSM, FD-DSM) on a 2-D toy and compare", cmdDemo)
}

const demoSynopsis = `demo [-out DIR [-force]] [flags]

fdsm's main job on built-in data, in well under a minute: the same softplus
MLP energy, from the same initialisation and on the same minibatches, is
trained by sliced score matching (SSM) and its finite-difference form (FD-SSM),
and by denoising score matching (DSM) and FD-DSM, on a 2-D distribution whose
density is known. The table compares the time per step, the peak tensor
memory of a step (the graph the backward pass keeps plus its cotangents) and,
on held-out samples, the exact score-matching loss and the log-likelihood
(log Z by quadrature on a grid). DIR (default ./fdsm-out/demo; refused if it
holds files, unless -force) receives PNGs of the true density, of each
learned density exp(−E)/Z and of Langevin samples from each model, and SVG
charts of the loss against training wall-clock time.

At d = 2 FD's speed-up does not show; a second table (-highdim) times the
four objectives on a 784-512-512-1 MLP energy, on MNIST when it is cached
(-mnist), on synthetic data of the same shape otherwise.

Flags:`

// demoObjectives are the objectives the demo compares, in table order.
var demoObjectives = []string{"ssm", "fd-ssm", "dsm", "fd-dsm"}

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

func cmdDemo(args []string, out, errw io.Writer) error {
	fs := newFlags("demo", demoSynopsis, errw)
	outFl := addOutFlags(fs, "demo", "the pictures")
	toyName := fs.String("toy", "8gaussians", "the distribution, a toy with a known density: 8gaussians, 2gaussians, rings or checkerboard")
	width := fs.Int("width", 64, "hidden width of the 2-w-w-1 MLP")
	steps := fs.Int("steps", 600, "training steps per objective")
	batch := fs.Int("batch", 128, "rows per step")
	lr := fs.Float64("lr", 1e-2, "Adam learning rate, annealed by a cosine to lr/100")
	seed := fs.Uint64("seed", 1, "seed of the initialisation, the data, the minibatches and the objectives' randomness")
	asJSON := fs.Bool("json", false, "print JSON lines instead of the table: one object per objective, then one with the true log-likelihood and the files written, then one per objective of the high-dimensional comparison (\"kind\": \"highdim\")")
	sigma := fs.Float64("sigma", 0.2, "DSM noise level σ (the DSM-trained models fit the data convolved with N(0, σ²I))")
	hdFlags := addHighDimFlags(fs)
	// -quick (for the tests: small grids, few samples) is left out of -h.
	shown := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.VisitAll(func(f *flag.Flag) { shown.Var(f.Value, f.Name, f.Usage) })
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: fdsm %s\n\n", demoSynopsis)
		shown.SetOutput(fs.Output())
		shown.PrintDefaults()
	}
	quick := fs.Bool("quick", false, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *width < 1 || *width > 4096:
		return usageError{fmt.Sprintf("-width %d: want 1…4096", *width)}
	case *steps < 1:
		return usageError{fmt.Sprintf("-steps %d: want at least 1", *steps)}
	case *batch < 1 || *batch > 1<<16:
		return usageError{fmt.Sprintf("-batch %d: want 1…%d", *batch, 1<<16)}
	case !(*sigma > 0):
		return usageError{fmt.Sprintf("-sigma %g: want a positive noise level", *sigma)}
	case !(*lr > 0):
		return usageError{fmt.Sprintf("-lr %g: want a positive learning rate", *lr)}
	}
	hdSteps, err := hdFlags.check(fs, *quick)
	if err != nil {
		return err
	}
	toy, err := data.NewToy(*toyName)
	dens, ok := toy.(data.Density)
	if err != nil || !ok {
		return usageError{fmt.Sprintf("-toy %q: want a toy with a known density: 8gaussians, 2gaussians, rings or checkerboard", *toyName)}
	}
	outDir, err := outFl.prepare()
	if err != nil {
		return err
	}
	gridN, heldN, sampleN, langevinSteps, evalEvery := 300, 2000, 800, 120, max(*steps/20, 1)
	if *quick {
		gridN, heldN, sampleN, langevinSteps = 40, 200, 100, 20
	}
	start := time.Now()

	const dt = tensor.Float32
	dataRng := rand.New(rand.NewPCG(*seed, 10))
	train := toy.Sample(dt, dataRng, 20000)
	held := toy.Sample(dt, dataRng, heldN)
	probe := tensor.SliceRows(held, 0, min(heldN, 500)) // for the exact SM loss during training
	lo, hi := gridBox(held)

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
	runs := make([]*demoRun, len(demoObjectives))
	states := make([]*state, len(demoObjectives))
	for i, name := range demoObjectives {
		obj, err := sm.Lookup(name)
		if err != nil {
			return err
		}
		r := &demoRun{Objective: name}
		r.model = nn.NewMLP(dt, []int{2, *width, *width, 1}, nn.Softplus, rand.New(rand.NewPCG(*seed, 11)))
		runs[i] = r
		states[i] = &state{
			obj: obj, opt: nn.NewAdam(), params: r.model.Params(), vals: nn.Values(r.model),
			opts:     &sm.Options{Rand: rand.New(rand.NewPCG(*seed, 13)), Sigma: *sigma}, // the same noise and projections
			batchRng: rand.New(rand.NewPCG(*seed, 12)),                                   // the same minibatches
		}
	}
	sched := nn.Cosine(*lr, *lr/100, *steps/20)
	fmt.Fprintf(errw, "training %s in lockstep (the loss shown is %s's):\n", strings.Join(demoObjectives, ", "), demoObjectives[0])
	bar := progress.New(errw, *steps, isTerminal(errw))
	idx := make([]int, *batch)
	for step := range *steps {
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
			st.opt.Step(st.params, grads, sched(step, *steps))
			dur := time.Since(t0).Seconds()
			st.elapsed += dur
			st.stepTimes = append(st.stepTimes, dur)
			r.times = append(r.times, st.elapsed)
			r.losses = append(r.losses, l)
			if step%evalEvery == 0 || step == *steps-1 {
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
		r.MsPerStep = 1000 * median(st.stepTimes)
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
	files, err := demoPictures(outDir, dens, train, runs, gridN, sampleN, langevinSteps, *seed)
	if err != nil {
		return err
	}
	var hd *highDim // nil with -highdim=false
	if *hdFlags.on {
		if hd, err = runHighDim(hdSteps, *hdFlags.mnist, *seed, errw); err != nil {
			return err
		}
	}

	if *asJSON {
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
		*toyName, *width, *width, *steps, *batch)
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
	lo, hi := dataBox(train, 0.1, 0.1)
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
	dx, dy := columns2(tv[:2*min(sampleN, train.Dim(0))])
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
		sx, sy := columns2(s)
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

// median returns the median of v (v is reordered).
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// finite returns v, or nil (JSON null) if v is NaN or infinite, which JSON
// cannot represent.
func finite(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}
