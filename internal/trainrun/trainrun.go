package trainrun

import (
	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/fd"
	"github.com/fdsm/fdsm/internal/numeric"
	"github.com/fdsm/fdsm/internal/progress"
	"github.com/fdsm/fdsm/internal/rundir"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
	"io"
	"math/rand/v2"
	"time"
)

// Config is one run of fdsm train, its flags validated and its pieces
// built: the data set and transform, the model and objective, the
// optimiser and the files of the run directory.
type Config struct {
	Data      *data.Set      // the training rows (held-out rows already removed)
	DType     tensor.DType   // of the batches
	Transform data.Transform // from the data's units to the model's space
	Model     *sm.Model
	Objective sm.Objective
	// Options are the objective's settings; Rand and Arena are set per
	// step. Accuracy4 selects the 4th-order stencils fd.D1Acc4, fd.D2Acc4.
	Options   sm.Options
	Accuracy4 bool

	Batch   int    // rows per step
	FitRows int    // DKEF: rows α is fitted on each step
	Steps   int    // total steps
	Seed    uint64 // streams 2 (batches), 3 (DKEF's final α) and 4 (the mean energy)

	Optimizer    nn.Optimizer
	Schedule     nn.Schedule
	Clip         float64     // global gradient-norm clip (0: none)
	MaxParamNorm float64     // as nn.TrainConfig.MaxParamNorm
	Meta         nn.Metadata // the checkpoint's metadata; Meta.Extra gains α and the mean energy

	OutDir    string // the run directory ("": no checkpoint, no log)
	Every     int    // checkpoint every this many steps (0: at the end only)
	LogFormat string // metrics log: csv, jsonl or none
	LogEvery  int    // log every this many steps, and the last
	Keep      int    // the step of the checkpoint resumed from (0: a new run)
	Resume    string // the checkpoint to resume from ("": a new run)
	Progress  io.Writer
}

// Run trains c.Model by c.Objective with nn.Train: the step's batch, draws
// and gradients in an arena released after each step, the progress bar on
// c.Progress, the metrics log in c.OutDir (cut back to c.Keep when
// resuming, in every format), and, once the last checkpoint is written,
// DKEF's α refitted to the final parameters and the mean energy of 2000
// training rows recorded in it. An error of the metrics log comes first,
// then nn.Train's.
func Run(c Config) (res nn.TrainResult, err error) {
	extra := c.Meta.Extra
	tr, d, dt, m, obj := c.Transform, c.Data, c.DType, c.Model, c.Objective
	nextBatch := func(r *rand.Rand, n int) *tensor.Tensor {
		x, _ := tr.Prepare(d.Batch(dt, r, n), r)
		return x
	}
	// The step's batch, draws and gradients go to an arena released after
	// each step, and the graph is released as the backward pass goes
	// (except for DKEF, whose fitted α outlives the step's graph): a
	// steady run then reuses its buffers instead of making garbage.
	arena := new(tensor.Arena)
	lossFn := func(_ int, r *rand.Rand) *ad.Value {
		o := &sm.Options{Rand: r, Sigma: c.Options.Sigma, Eps: c.Options.Eps, M: c.Options.M, Projection: c.Options.Projection, NonBatched: c.Options.NonBatched,
			Arena: arena}
		if c.Accuracy4 {
			o.First, o.Second = fd.D1Acc4, fd.D2Acc4
		}
		if m.DKEF != nil {
			alpha := m.DKEF.Fit(nextBatch(r, c.FitRows))
			extra[nn.ExtraDKEFAlpha] = data.FormatFloats(alpha.T().ToFloat64())
		}
		raw := arena.Add(d.Batch(dt, r, c.Batch))
		x, _ := tr.Prepare(raw, r)
		return m.Loss(obj, arena.Add(x), o)
	}

	// Progress and the metrics log.
	keep := c.Keep // a new run starts a new log; a resumed one keeps its past
	if c.Resume != "" {
		// Every log of the run, not only this -log's: one the killed run
		// wrote in another format would otherwise keep the steps after
		// the checkpoint, which this run redoes.
		for _, format := range rundir.MetricsFormats() {
			if err := rundir.TruncateMetricsLog(rundir.MetricsPath(c.OutDir, format), format, keep); err != nil {
				return res, err
			}
		}
	}
	var logw *rundir.MetricsLog
	if c.OutDir != "" && c.LogFormat != "none" {
		if logw, err = rundir.OpenMetricsLog(rundir.MetricsPath(c.OutDir, c.LogFormat), c.LogFormat, keep); err != nil {
			return res, err
		}
		defer logw.Close()
	}
	bar := progress.New(c.Progress, c.Steps, progress.IsTerminalWriter(c.Progress))
	start := time.Now()
	var logErr error
	eval := func(info nn.StepInfo) error {
		done := info.Step + 1
		bar.Update(done, info.Loss)
		if logw != nil && (done%c.LogEvery == 0 || done == c.Steps) {
			if err := logw.Write(info, time.Since(start)); err != nil {
				logErr = err
				return err
			}
		}
		return nil
	}
	cfg := nn.TrainConfig{
		Model: m.Module, Loss: lossFn, Optimizer: c.Optimizer, Schedule: c.Schedule, ClipNorm: c.Clip, Steps: c.Steps,
		Source: rand.NewPCG(c.Seed, 2), Eval: eval, EvalEvery: 1, Meta: c.Meta,
		Arena: arena, ReleaseGraph: m.DKEF == nil, MaxParamNorm: c.MaxParamNorm,
	}
	if c.OutDir != "" {
		cfg.CheckpointDir, cfg.CheckpointEvery = c.OutDir, c.Every
	}
	cfg.ResumeFrom = c.Resume
	res, err = nn.Train(cfg)
	bar.Finish()
	if logErr != nil {
		return res, logErr
	}
	if err != nil {
		return res, err
	}

	// Final touches to the checkpoint: DKEF's α refitted to the final
	// parameters, and the mean training energy that OOD scores are
	// measured from.
	if res.Checkpoint != "" {
		if m.DKEF != nil {
			r := rand.New(rand.NewPCG(c.Seed, 3))
			extra[nn.ExtraDKEFAlpha] = data.FormatFloats(m.DKEF.Fit(nextBatch(r, c.FitRows)).T().ToFloat64())
		}
		if !m.IsScore() {
			r := rand.New(rand.NewPCG(c.Seed, 4))
			extra[nn.ExtraEnergyMean] = data.FormatFloats([]float64{numeric.Mean(m.Energies(nextBatch(r, 2000)))})
		}
		ck, err := nn.ReadCheckpoint(res.Checkpoint)
		if err != nil {
			return res, err
		}
		ck.Meta.Extra = extra
		if err := nn.SaveCheckpoint(res.Checkpoint, m.Module.Params(), c.Optimizer, ck.Meta); err != nil {
			return res, err
		}
	}
	return res, nil
}
