package experiment

import (
	"flag"
	"fmt"
	"github.com/fdsm/fdsm/internal/rundir"
	"io"
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

// NICEObjectives returns the objectives the nice experiment accepts.
func NICEObjectives() []string {
	return []string{"ssm", "ssm-vr", "dsm", "fd-ssm", "mle", "fd-dsm", "mdsm", "fd-mdsm", "taylor-ssm", "taylor-dsm"}
}

// NICEConfig holds the settings of NICE. DefaultNICEConfig gives those of
// `fdsm experiment nice`, RegisterFlags its flags.
type NICEConfig struct {
	MNIST      string    // MNIST directory (fetched if missing)
	Steps      int       // training steps per objective (with Minutes: the cap)
	Minutes    float64   // training time per objective in minutes (0: run Steps)
	Width      int       // hidden width of each coupling network
	Depth      int       // hidden layers of each coupling network
	Couplings  int       // coupling layers
	Batch      int       // rows per step
	LR         float64   // Adam learning rate (constant)
	Sigma      float64   // DSM noise level σ, in logit space
	SMRows     int       // test images for the exact SM loss
	CurveRows  int       // test images for the learning curve's log-likelihood
	Points     int       // points of each learning curve
	Seed       uint64    // seed of the initialisation, minibatches, dequantisation and objectives' randomness
	JSON       bool      // print one JSON object instead of the table
	Objectives []string  // the objectives, some of NICEObjectives, in table order
	Out        string    // the output directory ("": ./fdsm-out/nice); refused if it holds files, unless Force
	Force      bool      // write into Out even when it holds files
	Progress   io.Writer // progress and per-run lines (nil: none)
}

// DefaultNICEConfig returns the defaults of `fdsm experiment nice`.
func DefaultNICEConfig() NICEConfig {
	return NICEConfig{MNIST: data.DefaultDir("mnist"), Steps: 1000, Width: 256, Depth: 2, Couplings: 4, Batch: 128, LR: 1e-3,
		Sigma: sm.DefaultSigma, SMRows: 100, CurveRows: 1000, Points: 25, Seed: 1,
		Objectives: []string{"ssm", "ssm-vr", "dsm", "fd-ssm", "mle"}}
}

// RegisterFlags defines on fs the flags of `fdsm experiment nice` that set
// c's scalar fields, with c's values as their defaults (the command reads
// -objectives as a list itself).
func (c *NICEConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.MNIST, "mnist", c.MNIST, "MNIST directory (fetched if missing)")
	fs.IntVar(&c.Steps, "steps", c.Steps, "training steps per objective (with -minutes: the cap)")
	fs.Float64Var(&c.Minutes, "minutes", c.Minutes, "training time per objective in minutes (0: run -steps)")
	fs.IntVar(&c.Width, "width", c.Width, "hidden width of each coupling network (the paper's NICE: 1000)")
	fs.IntVar(&c.Depth, "depth", c.Depth, "hidden layers of each coupling network (the paper's NICE: 5)")
	fs.IntVar(&c.Couplings, "couplings", c.Couplings, "coupling layers (the paper's NICE: 4)")
	fs.IntVar(&c.Batch, "batch", c.Batch, "rows per step")
	fs.Float64Var(&c.LR, "lr", c.LR, "Adam learning rate (constant)")
	fs.Float64Var(&c.Sigma, "sigma", c.Sigma, "DSM noise level σ, in logit space")
	fs.IntVar(&c.SMRows, "sm-rows", c.SMRows, "test images for the exact SM loss")
	fs.IntVar(&c.CurveRows, "curve-rows", c.CurveRows, "test images for the learning curve's log-likelihood")
	fs.IntVar(&c.Points, "points", c.Points, "points of each learning curve")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the initialisation, minibatches, dequantisation and objectives' randomness")
	fs.BoolVar(&c.JSON, "json", c.JSON, "print one JSON object instead of the table")
	outFlags(fs, &c.Out, &c.Force, "nice", "learning-curve.svg")
}

// Validate returns a *ConfigError for the first field of c out of bounds.
func (c NICEConfig) Validate() error {
	k := checker{config: "NICEConfig"}
	k.objectives(c.Objectives, NICEObjectives())
	k.atLeast("Steps", "steps", c.Steps, 1)
	k.minutes(c.Minutes)
	k.within("Width", "width", c.Width, 1, 4096)
	k.within("Depth", "depth", c.Depth, 1, 16)
	k.within("Couplings", "couplings", c.Couplings, 1, nn.MaxModelCouplings)
	k.within("Batch", "batch", c.Batch, 1, 1<<14)
	k.learningRate(c.LR)
	k.noiseLevel(c.Sigma)
	k.evalRows(c.SMRows, c.CurveRows, c.Points)
	return k.result()
}

// NICE runs the experiment `fdsm experiment nice` with the settings of c,
// once Validate accepts them, writing its report (a markdown table, or one
// JSON object if c.JSON) to out and the figures into c.Out.
func NICE(c NICEConfig, out io.Writer) error {
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
	d := trainX.Dim(1)
	outDir, err := rundir.PrepareOutDir(c.Out, "nice", c.Force)
	if err != nil {
		return err
	}
	// The test set, dequantised once with a fixed seed, in logit space.
	testY, testLD := data.Logit(data.DequantizePixels(testPix, rand.New(rand.NewPCG(c.Seed, 30))), data.LogitLambda)
	curveY := tensor.SliceRows(testY, 0, min(c.CurveRows, testY.Dim(0)))
	curveLD := testLD[:curveY.Dim(0)]
	smY := tensor.SliceRows(testY, 0, min(c.SMRows, testY.Dim(0)))
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

	budget := time.Duration(c.Minutes * float64(time.Minute))
	type result struct {
		name           string
		st             runStats
		ll, bpd, exact float64
		times, lls     []float64
	}
	var res []*result
	for _, name := range list {
		m := nn.NewNICE(dt, d, &nn.NICEConfig{Couplings: c.Couplings, Hidden: c.Width, Depth: c.Depth}, rand.New(rand.NewPCG(c.Seed, 31)))
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
				due = done%max(1, c.Steps/c.Points) == 0
			}
			if !due {
				return
			}
			next += budget.Seconds() / float64(c.Points)
			r.times, r.lls = append(r.times, sec), append(r.lls, pixelLL(m, curveY, curveLD))
		}
		r.times, r.lls = []float64{0}, []float64{pixelLL(m, curveY, curveLD)}
		next = budget.Seconds() / float64(c.Points)
		desc := fmt.Sprintf("%d steps", c.Steps)
		if budget > 0 {
			desc = fmt.Sprintf("%.3g min (at most %d steps)", c.Minutes, c.Steps)
		}
		arena := new(tensor.Arena)
		r.st, err = trainRun(runSpec{
			name:     fmt.Sprintf("nice %s: NICE %d×%d-%d, %s", name, c.Couplings, c.Depth, c.Width, desc),
			model:    m,
			schedule: nn.Constant(c.LR),
			steps:    c.Steps,
			budget:   budget,
			source:   rand.NewPCG(c.Seed, 32), // the same minibatches for every objective
			release:  true,
			arena:    arena,
			probe:    probe,
			loss: func(_ int, rg *rand.Rand) *ad.Value {
				idx := make([]int, c.Batch)
				for i := range idx {
					idx[i] = rg.IntN(trainX.Dim(0))
				}
				x := arena.Add(data.DequantizePixels(arena.Add(tensor.GatherRows(trainX, idx)), rg))
				y, _ := data.Logit(x, data.LogitLambda)
				return obj(m, arena.Add(y), &sm.Options{Rand: rg, Sigma: c.Sigma, Arena: arena})
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

	if c.JSON {
		var rows []map[string]any
		for _, r := range res {
			rows = append(rows, map[string]any{"objective": r.name, "steps": r.st.Steps, "diverged_at": r.st.Diverged, "test_loglik_nats": r.ll,
				"bits_per_dim": r.bpd, "exact_sm": r.exact, "ms_per_step": r.st.MsPerStep, "peak_tensor_mb": r.st.PeakMB,
				"train_seconds": r.st.Seconds, "curve_seconds": r.times, "curve_loglik_nats": r.lls})
		}
		return printJSON(out, map[string]any{"experiment": "nice", "rows": rows, "files": []string{curve},
			"seconds": time.Since(start).Seconds()})
	}
	budgetText := fmt.Sprintf("%d steps", c.Steps)
	if budget > 0 {
		budgetText = fmt.Sprintf("%.3g min of training (at most %d steps)", c.Minutes, c.Steps)
	}
	fmt.Fprintf(out, "NICE on MNIST (logit space, λ = 1e-6): %d couplings, each a softplus MLP of %d hidden layers of %d; float32, Adam %g, batch %d, %s per objective, seed %d;\n",
		c.Couplings, c.Depth, c.Width, c.LR, c.Batch, budgetText, c.Seed)
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
