package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/fdsm/fdsm/internal/rundir"
	"github.com/fdsm/fdsm/internal/trainrun"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

func init() {
	register("train", "train a model on a data set with a score-matching objective", cmdTrain)
}

// Flags of train that -resume does not take from the checkpoint.
var trainNotStored = map[string]bool{"resume": true, "out": true, "force": true}

// Flags of train stored in the checkpoint only when they differ from their
// default: those added after the format was first written, so that a run
// leaving them alone writes the checkpoint it always did (and -resume reads
// their default from older checkpoints).
var trainStoredIfSet = map[string]bool{"max-param-norm": true}

const trainSynopsis = `train -data SPEC [-model KIND] [-objective NAME] [-out DIR [-resume | -force]] [flags]

Trains a model by a score-matching objective and, with -out, writes the
checkpoint DIR/` + nn.CheckpointName + ` (every -every steps and at the end) and
a metrics log DIR/metrics.csv or DIR/metrics.jsonl. The checkpoint records the
model, the data's transform and these flags, so that sample, eval and energy
need only the checkpoint, and -resume continues the run: flags not given again
are taken from the checkpoint, except that -data must be given again when it
names a file (a checkpoint does not choose the files fdsm opens); the metrics
log is cut back to the checkpoint's step. With the same -steps the resumed run
is bit for bit the uninterrupted one. -steps may be raised to train longer:
under -schedule constant that is bit for bit the longer run, but under cosine
the remaining steps follow the cosine of the new total, so the result differs
from a run started with that -steps. Of CSV data, -holdout keeps a fraction
of the rows out of training, chosen by -seed and recorded in the checkpoint:
eval takes them by default, -resume keeps them out.

A directory holding another run is refused unless -resume continues it or
-force replaces it; while a run writes DIR it holds the lock DIR/` + rundir.LockName + `,
which keeps a second fdsm out (a lock left by a killed run is taken over), and
temporary checkpoint files a killed run left are removed.

A run stops with an error naming the step, keeping the last good checkpoint,
when the loss or gradient is NaN or infinite or an update makes a parameter
so or takes the parameters' norm past -max-param-norm.

Objectives take energy models (mlp, nice, quadratic, dkef, resnet) except fd-ssm-vr,
which takes a score network (score-mlp); ssm-vr takes either.

Flags:`

func cmdTrain(args []string, out, errw io.Writer) (err error) {
	fs := newFlags("train", trainSynopsis, errw)
	dataFlag := fs.String("data", "", dataFlagHelp()+" (required)")
	drop := fs.String("drop", "", "csv: comma-separated columns to leave out, e.g. quality")
	// 10% by default, as issue 17 asked: enough rows to evaluate on, few lost to training.
	holdout := fs.Float64("holdout", 0.1, "csv: fraction of the rows held out from training for eval, chosen by -seed (0 ≤ f < 1)")
	trName := fs.String("transform", "auto", "map from the data to the model's space: none, standardize (per column, fitted to the training rows), logit (pixels in [0, 1]) or auto (standardize for csv, logit for mnist under nice, none otherwise); MNIST pixels are always dequantised")
	mf := addModelFlags(fs)
	objName := fs.String("objective", "fd-ssm", "objective: "+strings.Join(sm.ObjectiveNames(nil), ", "))
	nobatch := fs.Bool("nobatch", false, "evaluate the points of an FD stencil in separate model calls instead of one stacked batch (the paper's ablation)")
	eps := fs.Float64("eps", 0, "finite-difference step ε (0: the objective's default)")
	sigma := fs.Float64("sigma", sm.DefaultSigma, "DSM noise level σ (dsm, fd-dsm)")
	mproj := fs.Int("m", 1, "projections per sample (sliced objectives)")
	proj := fs.String("proj", "rademacher", "projection distribution of ssm and ssm-vr: rademacher, gaussian or sphere")
	acc := fs.Int("accuracy", 2, "FD stencil accuracy order: 2 (2 or 3 evaluations) or 4 (5 evaluations)")
	optName := fs.String("optim", "adam", "optimizer: adam, sgd or rmsprop")
	lr := fs.Float64("lr", 1e-3, "learning rate")
	momentum := fs.Float64("momentum", 0.9, "sgd: momentum")
	sched := fs.String("schedule", "constant", "learning-rate schedule: constant or cosine (annealed to -min-lr at the last step)")
	warmup := fs.Int("warmup", 0, "cosine: steps of linear warm-up")
	minLR := fs.Float64("min-lr", 0, "cosine: final learning rate")
	clip := fs.Float64("clip", 0, "clip the global gradient norm to this (0: no clipping)")
	steps := fs.Int("steps", 1000, "total number of training steps")
	batch := fs.Int("batch", 128, "rows per step")
	fitBatch := fs.Int("fit-batch", 0, "dkef: rows of the batch α is fitted on each step (0: -batch)")
	seed := fs.Uint64("seed", 1, "seed of all randomness: initialisation, batches, noise, projections")
	dtName := fs.String("dtype", "float32", "float32 or float64")
	outDir := fs.String("out", "", "directory for the checkpoint and the metrics log (none if empty)")
	every := fs.Int("every", 100, "write the checkpoint every this many steps, and at the end (0: at the end only)")
	logFmt := fs.String("log", "csv", "metrics log in -out: csv, jsonl or none")
	logEvery := fs.Int("log-every", 10, "log every this many steps, and the last")
	resume := fs.Bool("resume", false, "continue from the checkpoint in -out")
	force := fs.Bool("force", false, "start a new run in -out even if it holds another one, whose checkpoint and metrics log are deleted")
	maxNorm := fs.Float64("max-param-norm", 0, fmt.Sprintf("stop when an update takes the global L2 norm of the parameters past this (0: %g times the initial norm, at least 1, a growth no run that learns comes near; negative: no bound)", nn.DefaultParamNormGrowth))
	if err := parse(fs, args); err != nil {
		return err
	}
	holdoutGiven := false
	fs.Visit(func(f *flag.Flag) { holdoutGiven = holdoutGiven || f.Name == "holdout" })
	if *resume && *force {
		return usageError{"-resume continues the run in -out, -force replaces it: give one"}
	}
	if *force && *outDir == "" {
		return usageError{"-force needs -out DIR, the directory of the run to replace"}
	}

	// -out: the directory, its lock, and what a killed run left in it.
	var ckpt string
	if *outDir != "" {
		ckpt = filepath.Join(*outDir, nn.CheckpointName)
		unlock, err := rundir.OpenRunDir(*outDir, errw)
		if err != nil {
			return err
		}
		defer unlock()
	}

	// -resume: flags not given again come from the checkpoint. A value
	// read back passes the checks a flag's does, and an error about it
	// names the checkpoint (see blameCheckpoint).
	var prev *nn.Checkpoint
	fromCkpt := map[string]bool{}
	if *resume {
		if *outDir == "" {
			return usageError{"-resume needs -out DIR, the directory of the checkpoint to continue"}
		}
		if prev, err = nn.ReadCheckpoint(ckpt); err != nil { // err: the result, for the deferred blame
			return err
		}
		defer func() { err = blameCheckpoint(err, ckpt, fromCkpt) }()
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		var bad error
		fs.VisitAll(func(f *flag.Flag) {
			v, ok := prev.Meta.Extra[nn.ExtraFlagPrefix+f.Name]
			if !ok || set[f.Name] || trainNotStored[f.Name] || bad != nil {
				return
			}
			key := "extra." + nn.ExtraFlagPrefix + f.Name
			if f.Name == "data" {
				if ds, err := parseDataSpec(v); err == nil && ds.Kind != "toy" {
					bad = fmt.Errorf("%s: metadata %q: the run was trained on -data %s, which reads files: give -data again to resume (a checkpoint does not choose the files fdsm opens)", ckpt, key, fmt.Sprintf("%.60q", v))
					return
				}
			}
			if err := fs.Set(f.Name, v); err != nil {
				bad = fmt.Errorf("%s: metadata %q: %v", ckpt, key, err)
			}
			fromCkpt[f.Name] = true
		})
		if bad != nil {
			return bad
		}
	} else if err := rundir.CheckNoRun(*outDir, *force); err != nil {
		return err
	}

	if *dataFlag == "" {
		return usageError{"-data is required"}
	}
	ds, err := parseDataSpec(*dataFlag)
	if err != nil {
		return err
	}
	if ds.Kind == "csv" || ds.Kind == "mnist" {
		// Recorded absolute, so that eval and -resume find the data from
		// any directory.
		if abs, err := filepath.Abs(ds.Arg); err == nil {
			ds.Arg = abs
			fs.Set("data", ds.String())
		}
	}
	obj, err := sm.Lookup(*objName)
	if err != nil {
		return usageError{fmt.Sprintf("-objective %q: want one of %s", *objName, strings.Join(sm.ObjectiveNames(nil), ", "))}
	}
	dt, err := tensor.ParseDType(*dtName)
	if err != nil {
		return usageError{fmt.Sprintf("-dtype %q: want float32 or float64", *dtName)}
	}
	projection, err := sm.ParseProjection(*proj)
	if err != nil {
		return usageError{fmt.Sprintf("-proj %q: want rademacher, gaussian or sphere", *proj)}
	}
	switch {
	case *acc != 2 && *acc != 4:
		return usageError{fmt.Sprintf("-accuracy %d: want 2 or 4", *acc)}
	case *mproj < 1 || *mproj > 1<<12:
		return usageError{fmt.Sprintf("-m %d: want 1…%d projections per sample", *mproj, 1<<12)}
	case *batch > 0 && *mproj > (1<<22)/min(*batch, 1<<20):
		// M·B rows are stacked into one batch: keep it to what memory holds.
		return usageError{fmt.Sprintf("-m %d with -batch %d: want at most %d rows in all", *mproj, *batch, 1<<22)}
	case *steps < 1:
		return usageError{fmt.Sprintf("-steps %d: want at least 1", *steps)}
	case *batch < 1 || *batch > 1<<20:
		return usageError{fmt.Sprintf("-batch %d: want 1…%d", *batch, 1<<20)}
	case *fitBatch < 0 || *fitBatch > 1<<20:
		return usageError{fmt.Sprintf("-fit-batch %d: want 1…%d (or 0 for -batch)", *fitBatch, 1<<20)}
	case !(*lr > 0) || math.IsInf(*lr, 0):
		return usageError{fmt.Sprintf("-lr %g: want a positive learning rate", *lr)}
	case !(*minLR >= 0) || math.IsInf(*minLR, 0):
		return usageError{fmt.Sprintf("-min-lr %g: want a finite rate ≥ 0", *minLR)}
	case *warmup < 0:
		return usageError{fmt.Sprintf("-warmup %d: want ≥ 0 steps", *warmup)}
	case *every < 0:
		return usageError{fmt.Sprintf("-every %d: want ≥ 0 steps (0: at the end only)", *every)}
	case *logEvery < 1:
		return usageError{fmt.Sprintf("-log-every %d: want at least 1", *logEvery)}
	case !(*clip >= 0):
		return usageError{fmt.Sprintf("-clip %g: want a norm ≥ 0 (0: no clipping)", *clip)}
	case math.IsNaN(*maxNorm):
		return usageError{"-max-param-norm NaN: want a number (0: the default bound, negative: none)"}
	case !(*momentum >= 0 && *momentum < 1):
		return usageError{fmt.Sprintf("-momentum %g: want 0 ≤ μ < 1", *momentum)}
	case !(*eps >= 0) || math.IsInf(*eps, 0):
		return usageError{fmt.Sprintf("-eps %g: want a finite step ≥ 0 (0 for the default)", *eps)}
	case !(*sigma > 0) || math.IsInf(*sigma, 0):
		return usageError{fmt.Sprintf("-sigma %g: want a positive finite noise level", *sigma)}
	case !(*holdout >= 0 && *holdout < 1):
		return usageError{fmt.Sprintf("-holdout %g: want a fraction 0 ≤ f < 1 of the rows", *holdout)}
	case holdoutGiven && *holdout != 0 && ds.Kind != "csv":
		return usageError{fmt.Sprintf("-holdout is for csv data; %s has its own held-out rows (fresh samples of a toy, the MNIST test set)", ds)}
	case *logFmt != "csv" && *logFmt != "jsonl" && *logFmt != "none":
		return usageError{fmt.Sprintf("-log %q: want csv, jsonl or none", *logFmt)}
	}
	var opt nn.Optimizer
	switch *optName {
	case "adam":
		opt = nn.NewAdam()
	case "sgd":
		opt = nn.NewSGD(*momentum)
	case "rmsprop":
		opt = nn.NewRMSProp()
	default:
		return usageError{fmt.Sprintf("-optim %q: want adam, sgd or rmsprop", *optName)}
	}
	var schedule nn.Schedule
	switch *sched {
	case "constant":
		schedule = nn.Constant(*lr)
	case "cosine":
		schedule = nn.Cosine(*lr, *minLR, *warmup)
	default:
		return usageError{fmt.Sprintf("-schedule %q: want constant or cosine", *sched)}
	}
	if *mf.kind != nn.KindDKEF && *fitBatch != 0 {
		return usageError{"-fit-batch is for -model dkef"}
	}

	// Data, its transform, the model.
	var dropCols []string
	if *drop != "" {
		dropCols = strings.Split(*drop, ",")
	}
	d, err := data.Load(ds, dt, true, nil, dropCols, errw)
	if err != nil {
		return err
	}
	var sp data.Holdout // CSV: training never sees the held-out rows
	if ds.Kind == "csv" {
		if sp, err = trainSplit(ds.Arg, d.X.Dim(0), *holdout, *seed, holdoutGiven, prev, ckpt); err != nil {
			return err
		}
		d.X = sp.Pick(d.X, false)
	}
	spec, err := mf.spec(d.Dim())
	if err != nil {
		return err
	}
	tr, err := newTransform(*trName, d, spec.Kind)
	if err != nil {
		return err
	}
	if prev != nil {
		if prev.Meta.Model != spec.String() {
			return fmt.Errorf("%s: the checkpoint holds the model %q, the flags ask for %q", ckpt, prev.Meta.Model, spec.String())
		}
		if prev.Meta.Objective != obj.Name {
			return fmt.Errorf("%s: the checkpoint was trained with -objective %s, not %s", ckpt, prev.Meta.Objective, obj.Name)
		}
		if prev.Meta.Step >= *steps {
			return fmt.Errorf("%s: the checkpoint is at step %d already: give a larger -steps to continue", ckpt, prev.Meta.Step)
		}
		if tr, err = data.TransformFromMeta(prev.Meta.Extra, spec.Dim); err != nil {
			return fmt.Errorf("%s: %v", ckpt, err)
		}
		tr.Dequantize = ds.Kind == "mnist"
	}
	m := sm.NewModel(spec, dt, rand.New(rand.NewPCG(*seed, 1)))
	if err := m.Compatible(obj); err != nil {
		return usageError{err.Error()}
	}
	fitRows := *fitBatch
	if fitRows == 0 {
		fitRows = *batch
	}

	// Metadata: everything later commands and -resume need.
	extra := map[string]string{nn.ExtraData: ds.String()}
	tr.Store(extra)
	if ds.Kind == "csv" {
		sp.Store(extra)
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !trainNotStored[f.Name] && !(trainStoredIfSet[f.Name] && f.Value.String() == f.DefValue) {
			extra[nn.ExtraFlagPrefix+f.Name] = f.Value.String()
		}
	})
	sm.RecordSampling(extra, sm.ObjectiveSampling(obj.Name, *sigma)) // the defaults of fdsm sample
	meta := nn.Metadata{Model: spec.String(), Seed: *seed, Objective: obj.Name, Extra: extra}

	// The run: batches through the transform, the metrics log, nn.Train,
	// the final touches to the checkpoint.
	if *force {
		if err := rundir.RemoveRun(*outDir); err != nil {
			return err
		}
	}
	keep := 0
	if prev != nil {
		keep = prev.Meta.Step
	}
	resumeFrom := ""
	if *resume {
		resumeFrom = ckpt
	}
	o := sm.Options{Sigma: *sigma, Eps: *eps, M: *mproj, Projection: projection, NonBatched: *nobatch}
	res, err := trainrun.Run(trainrun.Config{
		Data: d, DType: dt, Transform: tr, Model: m, Objective: obj, Options: o, Accuracy4: *acc == 4,
		Batch: *batch, FitRows: fitRows, Steps: *steps, Seed: *seed, Optimizer: opt, Schedule: schedule, Clip: *clip,
		MaxParamNorm: *maxNorm, Meta: meta, OutDir: *outDir, Every: *every, LogFormat: *logFmt, LogEvery: *logEvery,
		Keep: keep, Resume: resumeFrom, Progress: errw,
	})
	if errors.Is(err, nn.ErrParamNorm) {
		return fmt.Errorf("%v; -max-param-norm sets the bound", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s %s on %s: %d steps, last loss %.6g", obj.Name, spec.Kind, ds, res.Steps, res.Last.Loss)
	if res.Checkpoint != "" {
		fmt.Fprintf(out, ", checkpoint %s", res.Checkpoint)
	}
	fmt.Fprintln(out)
	return nil
}

// blameCheckpoint turns a usage error about a flag whose value -resume read
// back from the checkpoint ckpt into an error naming the checkpoint and the
// metadata key: the command line is not at fault, the file is.
func blameCheckpoint(err error, ckpt string, fromCkpt map[string]bool) error {
	var ue usageError
	if !errors.As(err, &ue) {
		return err
	}
	for _, w := range strings.Fields(ue.msg) {
		name, ok := strings.CutPrefix(w, "-")
		name = strings.TrimRight(name, ",.:;")
		if ok && fromCkpt[name] {
			return fmt.Errorf("%s: metadata %q, read back for -%s: %s", ckpt, "extra."+nn.ExtraFlagPrefix+name, name, ue.msg)
		}
	}
	return err
}
