package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/fdsm/fdsm/internal/rundir"
	"github.com/fdsm/fdsm/internal/trainrun"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
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
	trName := fs.String("transform", "auto", "map from the data to the model's space: none, standardize (per column, fitted to the training rows), logit (pixels in [0, 1]) or auto (standardize for csv, logit for mnist under nice, none otherwise); MNIST pixels are always dequantised")
	mf := addModelFlags(fs)
	st := trainrun.DefaultSettings()
	st.RegisterFlags(fs)
	outDir := fs.String("out", "", "directory for the checkpoint and the metrics log (none if empty)")
	resume := fs.Bool("resume", false, "continue from the checkpoint in -out")
	force := fs.Bool("force", false, "start a new run in -out even if it holds another one, whose checkpoint and metrics log are deleted")
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
	b, err := st.Build(ds, holdoutGiven)
	if err != nil {
		return flagError(err)
	}
	obj, dt := b.Objective, b.DType
	if *mf.kind != nn.KindDKEF && st.FitBatch != 0 {
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
		if sp, err = trainrun.Split(ds.Arg, d.X.Dim(0), st.Holdout, st.Seed, holdoutGiven, prev, ckpt); err != nil {
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
		if prev.Meta.Step >= st.Steps {
			return fmt.Errorf("%s: the checkpoint is at step %d already: give a larger -steps to continue", ckpt, prev.Meta.Step)
		}
		if tr, err = data.TransformFromMeta(prev.Meta.Extra, spec.Dim); err != nil {
			return fmt.Errorf("%s: %v", ckpt, err)
		}
		tr.Dequantize = ds.Kind == "mnist"
	}
	m := sm.NewModel(spec, dt, rand.New(rand.NewPCG(st.Seed, 1)))
	if err := m.Compatible(obj); err != nil {
		return usageError{err.Error()}
	}
	fitRows := st.FitBatch
	if fitRows == 0 {
		fitRows = st.Batch
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
	sm.RecordSampling(extra, sm.ObjectiveSampling(obj.Name, st.Sigma)) // the defaults of fdsm sample
	meta := nn.Metadata{Model: spec.String(), Seed: st.Seed, Objective: obj.Name, Extra: extra}

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
	o := sm.Options{Sigma: st.Sigma, Eps: st.Eps, M: st.M, Projection: b.Projection, NonBatched: st.NoBatch}
	res, err := trainrun.Run(trainrun.Config{
		Data: d, DType: dt, Transform: tr, Model: m, Objective: obj, Options: o, Accuracy4: st.Accuracy == 4,
		Batch: st.Batch, FitRows: fitRows, Steps: st.Steps, Seed: st.Seed, Optimizer: b.Optimizer, Schedule: b.Schedule, Clip: st.Clip,
		MaxParamNorm: st.MaxParamNorm, Meta: meta, OutDir: *outDir, Every: st.Every, LogFormat: st.Log, LogEvery: st.LogEvery,
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
