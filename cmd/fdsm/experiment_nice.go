package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"time"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/plot"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

const niceSynopsis = `experiment nice [-minutes M | -steps N] [-width W] [-objectives LIST] [-out DIR [-force]] [-json]

NICE (Dinh et al., 2014) on MNIST in logit space, as in the paper's NICE
table: pixels are dequantised to (k + u)/256 and mapped to
y = logit(λ + (1 − 2λ)x), λ = 1e-6. The same initialisation is trained, on
the same minibatches, by each objective; MLE (the negative mean exact
log-likelihood) is the reference. Each objective runs for -steps steps or,
with -minutes, until that much training time has passed (-steps then caps
it).

Reported per objective: the exact test log-likelihood on the 10000 test
images, in nats per image in pixel space (the logit transform's
log-determinant included, so it is the density of the dequantised pixels in
[0, 1]^784) and as bits/dim on the 0…255 scale (−LL/(784·ln 2) + 8); the
exact SM loss in logit space on -sm-rows test images (784 backward passes per
batch); the median time of a training step; and the largest peak tensor
memory of a step (graph plus cotangents, released as the backward pass
goes). DIR receives learning-curve.svg: the test log-likelihood of the first
-curve-rows test images against training wall-clock time (evaluation time
excluded).

Flags:`

// niceObjectives are the objectives the nice experiment accepts.
var niceObjectives = []string{"ssm", "ssm-vr", "dsm", "fd-ssm", "mle", "fd-dsm", "mdsm", "fd-mdsm"}

func expNICE(args []string, out, errw io.Writer) error {
	fs := newFlags("experiment nice", niceSynopsis, errw)
	mnistDir := fs.String("mnist", defaultMNISTDir(), "MNIST directory (fetched if missing)")
	objs := fs.String("objectives", "ssm,ssm-vr,dsm,fd-ssm,mle", "comma-separated objectives: some of "+strings.Join(niceObjectives, ","))
	steps := fs.Int("steps", 1000, "training steps per objective (with -minutes: the cap)")
	minutes := fs.Float64("minutes", 0, "training time per objective in minutes (0: run -steps)")
	width := fs.Int("width", 256, "hidden width of each coupling network (the paper's NICE: 1000)")
	depth := fs.Int("depth", 2, "hidden layers of each coupling network (the paper's NICE: 5)")
	couplings := fs.Int("couplings", 4, "coupling layers (the paper's NICE: 4)")
	batch := fs.Int("batch", 128, "rows per step")
	lr := fs.Float64("lr", 1e-3, "Adam learning rate (constant)")
	sigma := fs.Float64("sigma", sm.DefaultSigma, "DSM noise level σ, in logit space")
	smRows := fs.Int("sm-rows", 100, "test images for the exact SM loss")
	curveRows := fs.Int("curve-rows", 1000, "test images for the learning curve's log-likelihood")
	points := fs.Int("points", 25, "points of each learning curve")
	seed := fs.Uint64("seed", 1, "seed of the initialisation, minibatches, dequantisation and objectives' randomness")
	outFl := addOutFlags(fs, "nice", "learning-curve.svg")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the table")
	if err := parse(fs, args); err != nil {
		return err
	}
	list, err := parseObjectiveList("objectives", *objs, niceObjectives)
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
	case *depth < 1 || *depth > 16:
		return usageError{fmt.Sprintf("-depth %d: want 1…16", *depth)}
	case *couplings < 1 || *couplings > nn.MaxModelCouplings:
		return usageError{fmt.Sprintf("-couplings %d: want 1…%d", *couplings, nn.MaxModelCouplings)}
	case *batch < 1 || *batch > 1<<14:
		return usageError{fmt.Sprintf("-batch %d: want 1…%d", *batch, 1<<14)}
	case !(*lr > 0) || math.IsInf(*lr, 0):
		return usageError{fmt.Sprintf("-lr %g: want a positive learning rate", *lr)}
	case !(*sigma > 0) || math.IsInf(*sigma, 0):
		return usageError{fmt.Sprintf("-sigma %g: want a positive finite noise level", *sigma)}
	case *smRows < 1 || *curveRows < 1 || *points < 2:
		return usageError{"-sm-rows and -curve-rows must be positive, -points at least 2"}
	}
	start := time.Now()
	const dt = tensor.Float32
	trainX, _, testPix, _, err := mnistSplits(*mnistDir, errw, dt)
	if err != nil {
		return err
	}
	d := trainX.Dim(1)
	outDir, err := outFl.prepare()
	if err != nil {
		return err
	}
	// The test set, dequantised once with a fixed seed, in logit space.
	testY, testLD := data.Logit(data.DequantizePixels(testPix, rand.New(rand.NewPCG(*seed, 30))), data.LogitLambda)
	curveY := tensor.SliceRows(testY, 0, min(*curveRows, testY.Dim(0)))
	curveLD := testLD[:curveY.Dim(0)]
	smY := tensor.SliceRows(testY, 0, min(*smRows, testY.Dim(0)))
	// pixelLL is the mean log-likelihood in pixel space of logit rows y.
	pixelLL := func(m *nn.NICE, y *tensor.Tensor, ld []float64) float64 {
		var s float64
		for lo := 0; lo < y.Dim(0); lo += 1000 {
			hi := min(lo+1000, y.Dim(0))
			for i, v := range m.LogProb(ad.Const(tensor.SliceRows(y, lo, hi))).T().ToFloat64() {
				s += v + ld[lo+i]
			}
		}
		return s / float64(y.Dim(0))
	}

	budget := time.Duration(*minutes * float64(time.Minute))
	type result struct {
		name           string
		st             runStats
		ll, bpd, exact float64
		times, lls     []float64
	}
	var res []*result
	for _, name := range list {
		m := nn.NewNICE(dt, d, &nn.NICEConfig{Couplings: *couplings, Hidden: *width, Depth: *depth}, rand.New(rand.NewPCG(*seed, 31)))
		obj := energyObjective(name)
		r := &result{name: name}
		// Probes every -steps/points steps, or every budget/points of
		// training time.
		next := 0.0
		probe := func(done int, sec float64) {
			due := false
			if budget > 0 {
				due = sec >= next
			} else {
				due = done%max(1, *steps / *points) == 0
			}
			if !due {
				return
			}
			next += budget.Seconds() / float64(*points)
			r.times, r.lls = append(r.times, sec), append(r.lls, pixelLL(m, curveY, curveLD))
		}
		r.times, r.lls = []float64{0}, []float64{pixelLL(m, curveY, curveLD)}
		next = budget.Seconds() / float64(*points)
		desc := fmt.Sprintf("%d steps", *steps)
		if budget > 0 {
			desc = fmt.Sprintf("%.3g min (at most %d steps)", *minutes, *steps)
		}
		arena := new(tensor.Arena)
		r.st, err = train(runSpec{
			name:     fmt.Sprintf("nice %s: NICE %d×%d-%d, %s", name, *couplings, *depth, *width, desc),
			model:    m,
			schedule: nn.Constant(*lr),
			steps:    *steps,
			budget:   budget,
			source:   rand.NewPCG(*seed, 32), // the same minibatches for every objective
			release:  true,
			arena:    arena,
			probe:    probe,
			loss: func(_ int, rg *rand.Rand) *ad.Value {
				idx := make([]int, *batch)
				for i := range idx {
					idx[i] = rg.IntN(trainX.Dim(0))
				}
				x := arena.Add(data.DequantizePixels(arena.Add(tensor.GatherRows(trainX, idx)), rg))
				y, _ := data.Logit(x, data.LogitLambda)
				return obj(m, arena.Add(y), &sm.Options{Rand: rg, Sigma: *sigma, Arena: arena})
			},
		}, errw)
		if err != nil {
			return err
		}
		if l := r.times[len(r.times)-1]; l < r.st.Seconds {
			r.times, r.lls = append(r.times, r.st.Seconds), append(r.lls, pixelLL(m, curveY, curveLD))
		}
		fmt.Fprintf(errw, "  evaluating (%.0f s so far)\n", time.Since(start).Seconds())
		r.ll = pixelLL(m, testY, testLD)
		r.bpd = nn.BitsPerDim(r.ll, d) + 8
		r.exact = sm.ExactSMLoss(m, smY, 50)
		fmt.Fprintf(errw, "  test log-likelihood %.1f nats (%.3f bits/dim), exact SM loss %.4g, %.1f ms/step, %.1f MB\n", r.ll, r.bpd, r.exact, r.st.MsPerStep, r.st.PeakMB)
		res = append(res, r)
	}

	// The learning curve.
	var series []plot.Series
	for _, r := range res {
		// Bits/dim of the curve's images: lower is better, and on one scale
		// for every objective (nats per image reach −10⁶ before training).
		y := make([]float64, len(r.lls))
		for i, v := range r.lls {
			y[i] = nn.BitsPerDim(v, d) + 8
		}
		series = append(series, plot.Series{Name: strings.ToUpper(r.name), X: r.times, Y: y})
	}
	curve := filepath.Join(outDir, "learning-curve.svg")
	if err := plot.WriteFile(curve, func(w io.Writer) error {
		return plot.LineChart(w, series, plot.ChartOptions{
			Title:  fmt.Sprintf("NICE on MNIST: test negative log-likelihood (%d images) during training", curveY.Dim(0)),
			XLabel: "training wall-clock time (s)", YLabel: "bits/dim (lower is better)", LogY: true})
	}); err != nil {
		return err
	}

	if *asJSON {
		var rows []map[string]any
		for _, r := range res {
			rows = append(rows, map[string]any{"objective": r.name, "steps": r.st.Steps, "diverged_at": r.st.Diverged, "test_loglik_nats": r.ll,
				"bits_per_dim": r.bpd, "exact_sm": r.exact, "ms_per_step": r.st.MsPerStep, "peak_tensor_mb": r.st.PeakMB,
				"train_seconds": r.st.Seconds, "curve_seconds": r.times, "curve_loglik_nats": r.lls})
		}
		return printJSON(out, map[string]any{"experiment": "nice", "rows": rows, "files": []string{curve},
			"seconds": time.Since(start).Seconds()})
	}
	budgetText := fmt.Sprintf("%d steps", *steps)
	if budget > 0 {
		budgetText = fmt.Sprintf("%.3g min of training (at most %d steps)", *minutes, *steps)
	}
	fmt.Fprintf(out, "NICE on MNIST (logit space, λ = 1e-6): %d couplings, each a softplus MLP of %d hidden layers of %d; float32, Adam %g, batch %d, %s per objective, seed %d;\n",
		*couplings, *depth, *width, *lr, *batch, budgetText, *seed)
	fmt.Fprintf(out, "log-likelihood exact on the %d test images (nats per image in pixel space; bits/dim on the 0…255 scale), exact SM loss (logit space) on %d\n\n", testY.Dim(0), smY.Dim(0))
	t := mdTable{head: []string{"objective", "steps", "test LL (nats)", "bits/dim", "exact SM loss", "ms/step", "peak MB"}}
	for _, r := range res {
		stepsText := fmt.Sprint(r.st.Steps)
		if r.st.Diverged > 0 {
			stepsText = fmt.Sprintf("%d (diverged at %d)", r.st.Steps, r.st.Diverged)
		}
		t.add(strings.ToUpper(r.name), stepsText, fmt.Sprintf("%.1f", r.ll), fmt.Sprintf("%.3f", r.bpd),
			fmt.Sprintf("%.4g", r.exact), fmt.Sprintf("%.1f", r.st.MsPerStep), fmt.Sprintf("%.1f", r.st.PeakMB))
	}
	t.write(out)
	fmt.Fprintf(out, "\nWrote %s (%.0f s in all).\n", curve, time.Since(start).Seconds())
	return nil
}
