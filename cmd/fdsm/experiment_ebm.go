package main

import (
	"bytes"
	"fmt"
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

const ebmSynopsis = `experiment ebm [-minutes M] [-objectives LIST] [-width W] [-n N] [-out DIR [-force]] [-json]

The deep EBM on MNIST, as in the poster's "generated results of deep EBM"
panel: an energy E(x) on dequantised pixels in [0, 1] is trained from the
same initialisation, on the same minibatches, by each objective for the same
training wall-clock time (-minutes; -steps caps it), then sampled, and the
samples are scored by fdsm quality's LeNet (FID-MNIST against the test set,
the share of samples classified with confidence ≥ 0.9, the share of the
rarest digit).

The energy is the softplus MLP 784-W-W-1 of fdsm train -model mlp, for
cost: on two CPU cores a DSM step of the 1024-wide MLP on 128 images takes
about 16 ms, one of the ResNet energy on 32 images about 170 ms, and drawing
1000 samples by 1000 Langevin steps costs a million model gradients more.
W must be at least 784: the score of an MLP energy lies in the row space of
its first layer, so a narrower net has no restoring force in the other
directions and Langevin dynamics diffuse freely along them. DSM at one
noise level σ = 0.3 and walk-jump sampling (the sampler fdsm train records
for DSM: 1000 steps of 0.5·σ² on the smoothed density from uniform noise,
then the jump y + σ²·s(y)) drew the first digits (EXPERIMENTS.md section 3
has the recipes tried). MDSM and FD-MDSM are sampled by the MDSM reference
sampler, SSM and FD-SSM by plain Langevin, as fdsm train records them;
-walk-steps, -walk-size and -walk-temperature override the walk of DSM and
FD-DSM.

DIR receives, per objective, the checkpoint OBJ.safetensors (parameters
only, no optimizer state) recording the sampler used, so that
'fdsm sample -ckpt DIR/OBJ.safetensors -n N -out s.npy' followed by
'fdsm quality -in s.npy' reproduces the table's figures; the 8×8 sample
grid samples-OBJ.png as fdsm sample draws it; and learning-curve.svg, the
exact SM loss on the -curve-rows first test images against training
wall-clock time (evaluation time excluded).

With -parallel (the default) the objectives train at the same time, one
goroutine each, so that they share whatever load the machine carries; the
time per step then counts that sharing.

Flags:`

// ebmObjectives are the objectives the ebm experiment accepts.
var ebmObjectives = []string{"mdsm", "fd-mdsm", "dsm", "fd-dsm", "ssm", "fd-ssm"}

func expEBM(args []string, out, errw io.Writer) error {
	fs := newFlags("experiment ebm", ebmSynopsis, errw)
	mnistDir := fs.String("mnist", defaultMNISTDir(), "MNIST directory (fetched if missing)")
	objs := fs.String("objectives", "dsm,fd-dsm", "comma-separated objectives: some of "+strings.Join(ebmObjectives, ","))
	minutes := fs.Float64("minutes", 30, "training time per objective in minutes (0: run -steps)")
	steps := fs.Int("steps", 1_000_000, "training steps per objective (with -minutes: the cap)")
	width := fs.Int("width", 1024, "hidden width of the softplus MLP energy 784-w-…-w-1 (at least 784, so that the score can span every direction)")
	depth := fs.Int("depth", 2, "hidden layers of the MLP energy")
	batch := fs.Int("batch", 128, "rows per step")
	lr := fs.Float64("lr", 1e-3, "Adam learning rate, annealed by a cosine to lr/10 over the budget (of time with -minutes, else of steps)")
	sigma := fs.Float64("sigma", 0.3, "DSM and FD-DSM noise level σ (pixels in [0, 1])")
	n := fs.Int("n", 1000, "samples drawn from each model and scored")
	walkSteps := fs.Int("walk-steps", 0, "DSM, FD-DSM: Langevin steps of the walk (0: fdsm train's default, 1000)")
	walkSize := fs.Float64("walk-size", 0, "DSM, FD-DSM: the walk's step size (0: fdsm train's default, 0.5·σ²)")
	walkTemp := fs.String("walk-temperature", "none", "DSM, FD-DSM: the walk's temperature, as fdsm sample's -temperature: none (T = 1), mdsm or mdsm:TMAX,TMIN")
	smRows := fs.Int("sm-rows", 100, "test images for the exact SM loss of the table")
	curveRows := fs.Int("curve-rows", 10, "test images for the learning curve's exact SM loss")
	points := fs.Int("points", 10, "points of each learning curve")
	parallel := fs.Bool("parallel", true, "train the objectives at the same time (false: one after the other)")
	seed := fs.Uint64("seed", 1, "seed of the initialisation, minibatches, noise and samples")
	outFl := addOutFlags(fs, "ebm", "the checkpoints, sample grids and learning-curve.svg")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the table")
	if err := parse(fs, args); err != nil {
		return err
	}
	list, err := parseObjectiveList("objectives", *objs, ebmObjectives)
	if err != nil {
		return err
	}
	switch {
	case *steps < 1:
		return usageError{fmt.Sprintf("-steps %d: want at least 1", *steps)}
	case !(*minutes >= 0) || math.IsInf(*minutes, 0):
		return usageError{fmt.Sprintf("-minutes %g: want a finite time ≥ 0", *minutes)}
	case *width < 1 || *width > 4096:
		return usageError{fmt.Sprintf("-width %d: want 1…4096", *width)}
	case *depth < 1 || *depth > 8:
		return usageError{fmt.Sprintf("-depth %d: want 1…8", *depth)}
	case *batch < 1 || *batch > 1<<14:
		return usageError{fmt.Sprintf("-batch %d: want 1…%d", *batch, 1<<14)}
	case !(*lr > 0) || math.IsInf(*lr, 0):
		return usageError{fmt.Sprintf("-lr %g: want a positive learning rate", *lr)}
	case !(*sigma > 0) || math.IsInf(*sigma, 0):
		return usageError{fmt.Sprintf("-sigma %g: want a positive finite noise level", *sigma)}
	case *n < 2 || *n > 1<<16:
		return usageError{fmt.Sprintf("-n %d: want 2…%d samples (the Fréchet distance needs a covariance)", *n, 1<<16)}
	case *walkSteps < 0 || !(*walkSize >= 0) || math.IsInf(*walkSize, 0):
		return usageError{"-walk-steps and -walk-size must be ≥ 0 (0: the default)"}
	case *smRows < 1 || *curveRows < 1 || *points < 2:
		return usageError{"-sm-rows and -curve-rows must be positive, -points at least 2"}
	}
	// -walk-temperature as fdsm sample will read it from the checkpoint.
	if _, _, err := sm.ParseTemperature(*walkTemp); err != nil {
		return usageError{"-walk-temperature " + err.Error()}
	}
	start := time.Now()
	const dt = tensor.Float32
	trainX, _, testPix, _, err := mnistSplits(*mnistDir, errw, dt)
	if err != nil {
		return err
	}
	classifier, err := quality.Default()
	if err != nil {
		return err
	}
	outDir, err := outFl.prepare()
	if err != nil {
		return err
	}
	absMNIST, err := filepath.Abs(*mnistDir)
	if err != nil {
		return err
	}
	// The test images of the exact SM loss, dequantised once with a fixed
	// seed as training dequantises its batches.
	testX := data.DequantizePixels(tensor.SliceRows(testPix, 0, min(max(*smRows, *curveRows), testPix.Dim(0))), rand.New(rand.NewPCG(*seed, 50)))
	smX := tensor.SliceRows(testX, 0, min(*smRows, testX.Dim(0)))
	curveX := tensor.SliceRows(testX, 0, min(*curveRows, testX.Dim(0)))
	spec := nn.ModelSpec{Kind: nn.KindMLP, Dim: quality.Pixels, Width: *width, Depth: *depth, Act: nn.Softplus}
	arch := "784" + strings.Repeat("-"+strconv.Itoa(*width), *depth) + "-1"
	budget := time.Duration(*minutes * float64(time.Minute))

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
		if *parallel && len(list) > 1 {
			logw = &prefixWriter{w: errw, mu: &logMu, prefix: "[" + name + "] "}
		}
		m := sm.NewModel(spec, dt, rand.New(rand.NewPCG(*seed, 51)))
		obj := energyObjective(name)
		// The learning rate falls by a cosine from lr to lr/10 over the
		// budget: of training time with -minutes (trainSec is the clock
		// the probe sees), of steps otherwise.
		var trainSec float64
		schedule := nn.Cosine(*lr, *lr/10, 0)
		if budget > 0 {
			schedule = func(int, int) float64 {
				f := min(trainSec/budget.Seconds(), 1)
				return *lr/10 + (*lr-*lr/10)*(1+math.Cos(math.Pi*f))/2
			}
		}
		next := 0.0
		probe := func(done int, sec float64) {
			trainSec = sec
			due := done%max(1, *steps / *points) == 0
			if budget > 0 {
				due = sec >= next
			}
			if due {
				next += budget.Seconds() / float64(*points)
				r.times, r.losses = append(r.times, sec), append(r.losses, sm.ExactSMLoss(m.Energy, curveX, 50))
			}
		}
		r.times, r.losses = []float64{0}, []float64{sm.ExactSMLoss(m.Energy, curveX, 50)}
		next = budget.Seconds() / float64(*points)
		desc := fmt.Sprintf("%d steps", *steps)
		if budget > 0 {
			desc = fmt.Sprintf("%.3g min (at most %d steps)", *minutes, *steps)
		}
		arena := new(tensor.Arena)
		var err error
		r.st, err = train(runSpec{
			name:     fmt.Sprintf("ebm %s: MLP %s, %s", name, arch, desc),
			model:    m.Module,
			schedule: schedule,
			steps:    *steps,
			budget:   budget,
			source:   rand.NewPCG(*seed, 52), // the same minibatches for every objective
			release:  true,
			arena:    arena,
			probe:    probe,
			loss: func(_ int, rg *rand.Rand) *ad.Value {
				idx := make([]int, *batch)
				for i := range idx {
					idx[i] = rg.IntN(trainX.Dim(0))
				}
				x := arena.Add(data.DequantizePixels(arena.Add(tensor.GatherRows(trainX, idx)), rg))
				return obj(m.Energy, x, &sm.Options{Rand: rg, Sigma: *sigma, Arena: arena})
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
		settings := sm.ObjectiveSampling(name, *sigma)
		if name == "dsm" || name == "fd-dsm" {
			if *walkSteps > 0 {
				settings["steps"] = strconv.Itoa(*walkSteps)
			}
			if *walkSize > 0 {
				settings["step-size"] = strconv.FormatFloat(*walkSize, 'g', -1, 64)
			}
			if *walkTemp != "none" {
				settings["temperature"] = *walkTemp
			}
		}
		extra := map[string]string{extraData: dataSpec{kind: "mnist", arg: absMNIST}.String()}
		data.Transform{Kind: data.TransformNone, Dequantize: true}.Store(extra)
		for k, v := range map[string]string{"objective": name, "model": nn.KindMLP, "width": strconv.Itoa(*width), "depth": strconv.Itoa(*depth),
			"sigma": strconv.FormatFloat(*sigma, 'g', -1, 64), "batch": strconv.Itoa(*batch), "lr": strconv.FormatFloat(*lr, 'g', -1, 64),
			"seed": strconv.FormatUint(*seed, 10)} {
			extra[extraFlagPref+k] = v
		}
		sm.RecordSampling(extra, settings)
		mm := &sm.Model{Energy: m.Energy}
		eBar := mean(mm.Energies(data.DequantizePixels(tensor.SliceRows(trainX, 0, min(2000, trainX.Dim(0))), rand.New(rand.NewPCG(*seed, 53)))))
		extra[extraEnergy] = data.FormatFloats([]float64{eBar})
		r.ckpt = filepath.Join(outDir, name+".safetensors")
		meta := nn.Metadata{Model: spec.String(), Step: r.st.Steps, Seed: *seed, Objective: name, DType: dt, Extra: extra}
		if err := nn.SaveCheckpoint(r.ckpt, m.Module.Params(), nil, meta); err != nil {
			return err
		}

		// The samples, drawn by fdsm sample itself from the checkpoint with
		// no flag but -n: what the table reports is what a user reproduces.
		fmt.Fprintf(logw, "  sampling %d images (%.0f s so far)\n", *n, time.Since(start).Seconds())
		npy := filepath.Join(outDir, "samples-"+name+".npy")
		var said bytes.Buffer
		if err := cmdSample([]string{"-ckpt", r.ckpt, "-n", strconv.Itoa(*n), "-seed", strconv.FormatUint(*seed, 10), "-out", npy}, &said, logw); err != nil {
			return err
		}
		r.sampler = samplerText(said.String(), *n, r.ckpt, npy)
		b, err := os.ReadFile(npy)
		if err != nil {
			return err
		}
		x, _, err := decodeSamples(npy, b)
		if err != nil {
			return err
		}
		os.Remove(npy) // 3 MB per thousand samples: the checkpoint makes them again
		r.q = classifier.Measure(x)
		r.pic = filepath.Join(outDir, "samples-"+name+".png")
		if err := cmdSample([]string{"-ckpt", r.ckpt, "-n", "64", "-seed", strconv.FormatUint(*seed, 10), "-out", r.pic}, io.Discard, logw); err != nil {
			return err
		}
		fmt.Fprintf(logw, "  %s; exact SM loss %.4g, %.2f ms/step, %d steps\n", r.q, r.exact, r.st.MsPerStep, r.st.Steps)
		return nil
	}
	if *parallel {
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

	if *asJSON {
		var rows []map[string]any
		for _, r := range res {
			rows = append(rows, map[string]any{"objective": r.name, "steps": r.st.Steps, "diverged_at": r.st.Diverged,
				"exact_sm": r.exact, "ms_per_step": r.st.MsPerStep, "peak_tensor_mb": r.st.PeakMB, "train_seconds": r.st.Seconds,
				"fid": r.q.FID, "confident_frac": r.q.ConfidentFrac, "min_class_frac": r.q.MinClassFrac, "class_frac": r.q.ClassFrac,
				"n": r.q.N, "sampler": r.sampler, "checkpoint": r.ckpt, "curve_seconds": r.times, "curve_exact_sm": r.losses})
		}
		return printJSON(out, map[string]any{"experiment": "ebm", "rows": rows, "files": files, "seconds": time.Since(start).Seconds()})
	}
	budgetText := fmt.Sprintf("%d steps", *steps)
	if budget > 0 {
		budgetText = fmt.Sprintf("%.3g min of training (at most %d steps)", *minutes, *steps)
	}
	how := "one after the other"
	if *parallel && len(list) > 1 {
		how = "at the same time"
	}
	fmt.Fprintf(out, "MNIST energy: %s softplus MLP (float32) on dequantised pixels; Adam %g (cosine to %g), batch %d, %s per objective, trained %s; σ = %g (DSM, FD-DSM), seed %d;\n",
		arch, *lr, *lr/10, *batch, budgetText, how, *sigma, *seed)
	fmt.Fprintf(out, "exact SM loss on %d test images; FID-MNIST, confident fraction (p ≥ %g) and smallest class share of %d samples from each model (fdsm quality)\n\n", smX.Dim(0), quality.ConfidenceLevel, *n)
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

// samplerText is the sampler's description in the line fdsm sample
// prints, "wrote N samples of CKPT to FILE (HOW)": HOW.
func samplerText(line string, n int, ckpt, file string) string {
	line = strings.TrimSpace(line)
	head := fmt.Sprintf("wrote %d samples of %s to %s (", n, ckpt, file)
	if strings.HasPrefix(line, head) && strings.HasSuffix(line, ")") {
		return line[len(head) : len(line)-1]
	}
	return line
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
