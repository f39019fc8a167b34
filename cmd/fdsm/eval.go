package main

import (
	"flag"
	"fmt"
	"github.com/fdsm/fdsm/internal/evalrun"
	"github.com/fdsm/fdsm/internal/jsonout"
	"github.com/fdsm/fdsm/internal/rundir"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/fdsm/fdsm/data"
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
                  space (one forward-Laplacian sweep for MLP energies and NICE,
                  d backward passes per batch otherwise)
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

` + rundir.WeightHelp + `
With -model, -data is required (of a CSV, all rows: no split is recorded),
MNIST pixels are dequantised as for a model trained on MNIST, and the
AUROC's reference energy is the mean energy of the -data rows.

Flags:`

func cmdEval(args []string, out, errw io.Writer) error {
	fs := newFlags("eval", evalSynopsis, errw)
	ckpt := fs.String("ckpt", "", "checkpoint: a file, or the -out directory of fdsm train (this or -model)")
	wf := rundir.AddWeightFlags(fs, true)
	dataFlag := fs.String("data", "", dataFlagHelp()+" (default: the training data's spec; for mnist its test set)")
	rows := fs.Int("rows", 2000, "rows to evaluate: the first N of a table's chosen rows, N fresh samples of a toy (0: all of a table, 10000 of a toy)")
	splitName := fs.String("split", evalrun.SplitHeldOut, "csv, on the file the model was trained on: held-out (the rows train held out), train (the rows it trained on) or all")
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

	m, err := rundir.OpenModel(*ckpt, wf)
	if err != nil {
		return flagError(err)
	}
	if *dataFlag == "" {
		if m.TrainData == nil {
			return usageError{fmt.Sprintf("%s records no training data: give -data", m.Path)}
		}
		ds = *m.TrainData
	}
	dt := m.Meta.DType
	if dt == 0 {
		dt = tensor.Float32
	}
	rng := rand.New(rand.NewPCG(*seed, 8))
	choice, label, warning, err := evalrun.Choose(m, ds, *splitName, splitGiven)
	if err != nil {
		return flagError(err)
	}
	x, logDet, err := evalrun.Rows(m, ds, dt, *rows, rng, choice, errw)
	if err != nil {
		return err
	}
	res := evalrun.Result{Checkpoint: m.Path, Model: m.Meta.Model, Objective: m.Meta.Objective, Step: m.Meta.Step,
		Data: ds.String(), Rows: x.Dim(0), Split: label}
	if warning != "" {
		res.Warnings = append(res.Warnings, warning)
	}
	var oodRows func() (string, *tensor.Tensor, error)
	if *ood != "" {
		oodRows = func() (string, *tensor.Tensor, error) {
			xo, _, err := evalrun.Rows(m, oodSpec, dt, *rows, rng, evalrun.RowChoice{}, errw)
			return oodSpec.String(), xo, err
		}
	}
	err = evalrun.Run(evalrun.Config{
		Model: m.Model, Transform: m.Transform, EnergyMean: m.EnergyMean, Data: ds, X: x, LogDet: logDet,
		Batch: *batch, Grid: *grid, ISSamples: *isSamples, ProposalStd: *propStd, Rand: rng, Progress: errw,
		OOD: oodRows,
	}, &res)
	if err != nil {
		return err
	}

	for _, w := range res.Warnings {
		fmt.Fprintf(errw, "fdsm eval: warning: %s\n", w)
	}
	if *asJSON {
		nulled, err := jsonout.Write(out, res)
		jsonout.WarnNonFinite(errw, "eval", nulled)
		return err
	}
	if wf.Path() != "" { // a state_dict records no objective or step
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
