package main

import (
	"flag"
	"fmt"
	"github.com/fdsm/fdsm/internal/jsonout"
	"github.com/fdsm/fdsm/internal/numeric"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/progress"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

func init() {
	register("eval", "evaluate a trained model: exact SM loss, log-likelihood, OOD AUROC", cmdEval)
}

var evalSynopsis = `eval -ckpt DIR|FILE|-model M.safetensors [-data SPEC] [-split held-out|train|all] [-rows N] [-ood SPEC] [-json]

Evaluates the model of a checkpoint on held-out data (by default the data it
was trained on: fresh samples of a toy, the MNIST test set, or the rows of
the CSV file that train held out, -holdout). The output and the JSON "split"
field say which rows: held-out, train, all (of a CSV file), test (MNIST) or
samples (a toy).

  exact SM loss   ½‖s(x)‖² + tr ∇x s(x) averaged over the rows, in the model's
                  space (d backward passes per batch)
  log-likelihood  mean log p(x) in the data's units (the log-determinant of the
                  training transform included): exact for NICE, quadrature on
                  a grid for 2-D energies, importance sampling with a standard
                  error and the effective sample size otherwise; none for a
                  score network
  AUROC           with -ood, how well |E(x) − mean training energy| (‖s(x)‖²
                  for a score network) tells the -ood rows from the -data rows

Warnings go to stderr and, with -json, to the "warnings" list: an
importance-sampling effective sample size below ` + strconv.Itoa(sm.MinESS) + ` (the estimate and its
standard error then rest on a few weights: try another -proposal-std or more
-is-samples).

` + weightHelp + `
With -model, -data is required (of a CSV, all rows: no split is recorded),
MNIST pixels are dequantised as for a model trained on MNIST, and the
AUROC's reference energy is the mean energy of the -data rows.

Flags:`

// evalResult is what eval prints.
type evalResult struct {
	Checkpoint     string   `json:"checkpoint"`
	Model          string   `json:"model"`
	Objective      string   `json:"objective,omitempty"`
	Step           int      `json:"step"`
	Data           string   `json:"data"`
	Rows           int      `json:"rows"`
	Split          string   `json:"split,omitempty"` // which rows: held-out, train, all, test or samples
	ExactSM        float64  `json:"exact_sm"`
	LogLik         *float64 `json:"loglik,omitempty"`
	LogLikStderr   *float64 `json:"loglik_stderr,omitempty"`
	LogLikESS      *float64 `json:"loglik_ess,omitempty"` // importance sampling: Kish's effective sample size
	LogLikMethod   string   `json:"loglik_method"`
	BitsPerDim     *float64 `json:"bits_per_dim,omitempty"`
	TrueLogLik     *float64 `json:"true_loglik,omitempty"`
	OOD            string   `json:"ood,omitempty"`
	OODRows        int      `json:"ood_rows,omitempty"`
	AUROC          *float64 `json:"auroc,omitempty"`
	EnergyInMean   *float64 `json:"energy_mean,omitempty"`
	EnergyOODMean  *float64 `json:"ood_energy_mean,omitempty"`
	TrainEnergyRef *float64 `json:"train_energy_mean,omitempty"`
	Warnings       []string `json:"warnings,omitempty"` // also printed to stderr
}

func cmdEval(args []string, out, errw io.Writer) error {
	fs := newFlags("eval", evalSynopsis, errw)
	ckpt := fs.String("ckpt", "", "checkpoint: a file, or the -out directory of fdsm train (this or -model)")
	wf := addWeightFlags(fs, true)
	dataFlag := fs.String("data", "", dataFlagHelp()+" (default: the training data's spec; for mnist its test set)")
	rows := fs.Int("rows", 2000, "rows to evaluate: the first N of a table's chosen rows, N fresh samples of a toy (0: all of a table, 10000 of a toy)")
	splitName := fs.String("split", splitHeldOut, "csv, on the file the model was trained on: held-out (the rows train held out), train (the rows it trained on) or all")
	ood := fs.String("ood", "", "out-of-distribution data (same forms as -data) for the AUROC")
	batch := fs.Int("batch", 500, "rows per batch of the exact SM loss")
	grid := fs.Int("grid", 300, "2-D: grid points per axis for the quadrature of log Z")
	isSamples := fs.Int("is-samples", 100000, "importance samples for log Z when d > 2 (not NICE)")
	propStd := fs.Float64("proposal-std", sm.DefaultProposalStd, "standard deviation of the importance-sampling proposal N(0, σ²I), in the model's space")
	seed := fs.Uint64("seed", 7, "seed of toy samples, dequantisation noise and importance samples")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	splitGiven := false
	fs.Visit(func(f *flag.Flag) { splitGiven = splitGiven || f.Name == "split" })
	if *rows < 0 || *batch < 1 || *grid < 2 || *grid > 4000 || *isSamples < 1 || !(*propStd > 0) {
		return usageError{"-rows must not be negative; -batch, -is-samples and -proposal-std must be positive; -grid 2…4000"}
	}
	var ds, oodSpec data.Spec
	var err error
	if *dataFlag != "" {
		if ds, err = parseDataSpec(*dataFlag); err != nil {
			return err
		}
	}
	if *ood != "" {
		if oodSpec, err = parseDataSpec(*ood); err != nil {
			return usageError{strings.Replace(err.Error(), "-data", "-ood", 1)}
		}
	}

	m, err := openModel(*ckpt, wf)
	if err != nil {
		return err
	}
	if *dataFlag == "" {
		if m.trainData == nil {
			return usageError{fmt.Sprintf("%s records no training data: give -data", m.path)}
		}
		ds = *m.trainData
	}
	dt := m.meta.DType
	if dt == 0 {
		dt = tensor.Float32
	}
	rng := rand.New(rand.NewPCG(*seed, 8))
	choice, label, warning, err := evalChoice(m, ds, *splitName, splitGiven)
	if err != nil {
		return err
	}
	x, logDet, err := evalRows(m, ds, dt, *rows, rng, choice, errw)
	if err != nil {
		return err
	}
	res := evalResult{Checkpoint: m.path, Model: m.meta.Model, Objective: m.meta.Objective, Step: m.meta.Step,
		Data: ds.String(), Rows: x.Dim(0), Split: label}
	if warning != "" {
		res.Warnings = append(res.Warnings, warning)
	}
	d := m.Spec.Dim

	// Exact SM loss in the model's space, a batch at a time: each costs d
	// backward passes (784 through a ResNet: seconds per row), so a
	// progress bar goes to stderr on a terminal or when d is large.
	n := x.Dim(0)
	var bar *progress.Bar
	if progress.IsTerminal(os.Stderr) || d >= 256 {
		fmt.Fprintf(errw, "exact SM loss on %d rows (%d backward passes per batch of %d):\n", n, d, *batch)
		bar = progress.New(errw, n, progress.IsTerminal(os.Stderr))
		bar.Unit = "row" // the bar counts rows, not training steps
	}
	var total float64
	for lo := 0; lo < n; lo += *batch {
		hi := min(lo+*batch, n)
		xb := tensor.SliceRows(x, lo, hi)
		var l float64
		if m.IsScore() {
			l = sm.ExactScoreSMLoss(m.Score, xb, *batch)
		} else {
			l = sm.ExactSMLoss(m.Energy, xb, *batch)
		}
		total += l * float64(hi-lo)
		if bar != nil {
			bar.Update(hi, total/float64(hi))
		}
	}
	if bar != nil {
		bar.Finish()
	}
	res.ExactSM = total / float64(n)

	// Log-likelihood in the model's space, then in the data's units.
	var ll, stderr float64
	switch {
	case m.IsScore():
		res.LogLikMethod = "none (score network)"
	case m.NICE != nil:
		res.LogLikMethod = "exact"
		lp := m.NICE.LogProb(ad.Const(x)).T().ToFloat64()
		for _, v := range lp {
			ll += v
		}
		ll /= float64(len(lp))
	case d == 2:
		res.LogLikMethod = fmt.Sprintf("grid %d×%d", *grid, *grid)
		lo, hi := sm.GridBox2D(x)
		ll, _ = sm.LogLikelihoodGrid2D(m.Energy, lo, hi, *grid, x)
	default:
		res.LogLikMethod = fmt.Sprintf("importance sampling, %d samples", *isSamples)
		var ess float64
		ll, _, stderr = sm.LogLikelihoodIS(m.Energy, x, *isSamples, 1000, rng, sm.ProposalStd(*propStd), sm.ReportESS(&ess))
		res.LogLikStderr, res.LogLikESS = &stderr, &ess
		if !(ess >= sm.MinESS) {
			res.Warnings = append(res.Warnings, fmt.Sprintf("the importance weights have an effective sample size of %.3g of %d (below %d): the log-likelihood and its standard error are unreliable; try another -proposal-std or more -is-samples", ess, *isSamples, sm.MinESS))
		}
	}
	if !m.IsScore() {
		var ld float64
		for _, v := range logDet {
			ld += v
		}
		ll += ld / float64(len(logDet))
		res.LogLik = &ll
		if ds.Kind == "mnist" {
			b := nn.BitsPerDim(ll, d) + 8
			res.BitsPerDim = &b
		}
	}
	if ds.Kind == "toy" && m.tr.Kind == data.TransformNone {
		if dens, ok := mustToy(ds).(data.Density); ok {
			var t float64
			for _, v := range dens.LogDensity(x) {
				t += v
			}
			t /= float64(x.Dim(0))
			res.TrueLogLik = &t
		}
	}

	// AUROC against the -ood rows.
	if *ood != "" {
		xo, _, err := evalRows(m, oodSpec, dt, *rows, rng, rowChoice{}, errw)
		if err != nil {
			return err
		}
		res.OOD, res.OODRows = oodSpec.String(), xo.Dim(0)
		var in, outS []float64
		if m.IsScore() {
			in, outS = m.ScoreNorms(x), m.ScoreNorms(xo)
		} else {
			ein, eout := m.Energies(x), m.Energies(xo)
			ref := numeric.Mean(ein)
			if m.energyMean != nil {
				ref = *m.energyMean
				res.TrainEnergyRef = &ref
			}
			mi, mo := numeric.Mean(ein), numeric.Mean(eout)
			res.EnergyInMean, res.EnergyOODMean = &mi, &mo
			in, outS = numeric.AbsDev(ein, ref), numeric.AbsDev(eout, ref)
		}
		a := sm.AUROC(in, outS)
		res.AUROC = &a
	}

	for _, w := range res.Warnings {
		fmt.Fprintf(errw, "fdsm eval: warning: %s\n", w)
	}
	if *asJSON {
		nulled, err := jsonout.Write(out, res)
		jsonout.WarnNonFinite(errw, "eval", nulled)
		return err
	}
	if *wf.path != "" { // a state_dict records no objective or step
		fmt.Fprintf(out, "model          %s (%s)\n", res.Checkpoint, res.Model)
	} else {
		fmt.Fprintf(out, "checkpoint     %s (%s, %s, step %d)\n", res.Checkpoint, res.Model, res.Objective, res.Step)
	}
	fmt.Fprintf(out, "data           %s, %d rows (%s)\n", res.Data, res.Rows, res.Split)
	fmt.Fprintf(out, "exact SM loss  %.6g\n", res.ExactSM)
	switch {
	case res.LogLik == nil:
		fmt.Fprintf(out, "log-likelihood %s\n", res.LogLikMethod)
	case res.LogLikStderr != nil:
		fmt.Fprintf(out, "log-likelihood %.6g ± %.2g (%s)\n", *res.LogLik, *res.LogLikStderr, res.LogLikMethod)
		if res.LogLikESS != nil {
			fmt.Fprintf(out, "effective n    %.4g of the importance samples (Kish)\n", *res.LogLikESS)
		}
	default:
		fmt.Fprintf(out, "log-likelihood %.6g (%s)\n", *res.LogLik, res.LogLikMethod)
	}
	if res.BitsPerDim != nil {
		fmt.Fprintf(out, "bits/dim       %.4g (8-bit scale)\n", *res.BitsPerDim)
	}
	if res.TrueLogLik != nil {
		fmt.Fprintf(out, "true log-lik.  %.6g (the data's density)\n", *res.TrueLogLik)
	}
	if res.AUROC != nil {
		fmt.Fprintf(out, "AUROC          %.4f against %s (%d rows)\n", *res.AUROC, res.OOD, res.OODRows)
	}
	return nil
}

// evalRows loads up to n rows of data set s for model m (of a CSV table,
// those of choice), checks their width and maps them into the model's space;
// it returns them with the transform's per-row log-determinant. MNIST is
// fetched if missing, with progress on errw.
func evalRows(m *loaded, s data.Spec, dt tensor.DType, n int, rng *rand.Rand, choice rowChoice, errw io.Writer) (*tensor.Tensor, []float64, error) {
	var cols []string
	if s.Kind == "csv" {
		cols = m.tr.Columns
	}
	ds, err := data.Load(s, dt, false, cols, nil, errw)
	if err != nil {
		return nil, nil, err
	}
	if ds.X != nil && s.Kind == "csv" {
		if ds.X, err = choice.apply(s.Arg, ds.X); err != nil {
			return nil, nil, err
		}
	}
	raw := ds.Rows(dt, rng, n)
	if err := checkDim(s.String(), raw, m.Spec.Dim); err != nil {
		return nil, nil, err
	}
	if m.tr.Kind == data.TransformLogit {
		if err := checkUnit(s.String(), raw); err != nil {
			return nil, nil, err
		}
	}
	var r *rand.Rand
	if s.Kind == "mnist" {
		r = rng
	}
	x, ld := m.tr.Prepare(raw, r)
	if err := data.CheckFiniteRows(fmt.Sprintf("%s (after the %s transform of %s)", s, m.tr.Kind, m.path), x); err != nil {
		return nil, nil, err
	}
	if !m.IsScore() {
		// Finite parameters can still overflow (a DKEF α of 1e308): every
		// figure eval prints would then be NaN, so say where instead.
		if err := checkFiniteEnergies(m.path, "the evaluation rows of "+s.String(), m.Energies(x)); err != nil {
			return nil, nil, err
		}
	}
	return x, ld, nil
}

// checkUnit checks that every value lies in [0, 1], as the logit transform
// needs.
func checkUnit(what string, x *tensor.Tensor) error {
	for _, v := range x.ToFloat64() {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("%s: the model's logit transform needs values in [0, 1], the data has %g", what, v)
		}
	}
	return nil
}

// mustToy returns the toy of a toy data spec (parseDataSpec has checked it).
func mustToy(s data.Spec) data.Toy {
	t, err := data.NewToy(s.Arg)
	if err != nil {
		panic(err)
	}
	return t
}
