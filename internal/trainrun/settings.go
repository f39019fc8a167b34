package trainrun

import (
	"flag"
	"fmt"
	"math"
	"strings"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/rundir"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// Settings are the flags of fdsm train that set the objective and the
// optimisation, by value; the data, model and run-directory flags are the
// command's. A checkpoint records them under their flag names, so that
// -resume sets them back through the flags RegisterFlags defines. Each
// field is the flag of its name (Projection: -proj, Optimizer: -optim,
// NoBatch: -nobatch, Log: -log, M: -m, MinLR: -min-lr, LogEvery:
// -log-every, FitBatch: -fit-batch, MaxParamNorm: -max-param-norm).
type Settings struct {
	Objective, Projection, Optimizer, Schedule, DType, Log string
	NoBatch                                                bool
	Eps, Sigma, LR, Momentum, MinLR, Clip, MaxParamNorm    float64
	Holdout                                                float64
	M, Accuracy, Warmup, Steps, Batch, FitBatch            int
	Every, LogEvery                                        int
	Seed                                                   uint64
}

// DefaultSettings returns the defaults of fdsm train.
func DefaultSettings() Settings {
	// -holdout 10%, as issue 17 asked: enough rows to evaluate on, few lost
	// to training.
	return Settings{Objective: "fd-ssm", Projection: "rademacher", Optimizer: "adam", Schedule: "constant", DType: "float32",
		Log: "csv", Sigma: sm.DefaultSigma, LR: 1e-3, Momentum: 0.9, Holdout: 0.1, M: 1, Accuracy: 2, Steps: 1000,
		Batch: 128, Every: 100, LogEvery: 10, Seed: 1}
}

// RegisterFlags defines the flags of s on fs, bound to s, with s's values as
// their defaults.
func (s *Settings) RegisterFlags(fs *flag.FlagSet) {
	fs.Float64Var(&s.Holdout, "holdout", s.Holdout, "csv: fraction of the rows held out from training for eval, chosen by -seed (0 ≤ f < 1)")
	fs.StringVar(&s.Objective, "objective", s.Objective, "objective: "+strings.Join(sm.ObjectiveNames(nil), ", "))
	fs.BoolVar(&s.NoBatch, "nobatch", s.NoBatch, "evaluate the points of an FD stencil in separate model calls instead of one stacked batch (the paper's ablation)")
	fs.Float64Var(&s.Eps, "eps", s.Eps, "finite-difference step ε (0: the objective's default)")
	fs.Float64Var(&s.Sigma, "sigma", s.Sigma, "DSM noise level σ (dsm, fd-dsm)")
	fs.IntVar(&s.M, "m", s.M, "projections per sample (sliced objectives)")
	fs.StringVar(&s.Projection, "proj", s.Projection, "projection distribution of ssm and ssm-vr: rademacher, gaussian or sphere")
	fs.IntVar(&s.Accuracy, "accuracy", s.Accuracy, "FD stencil accuracy order: 2 (2 or 3 evaluations) or 4 (5 evaluations)")
	fs.StringVar(&s.Optimizer, "optim", s.Optimizer, "optimizer: adam, sgd or rmsprop")
	fs.Float64Var(&s.LR, "lr", s.LR, "learning rate")
	fs.Float64Var(&s.Momentum, "momentum", s.Momentum, "sgd: momentum")
	fs.StringVar(&s.Schedule, "schedule", s.Schedule, "learning-rate schedule: constant or cosine (annealed to -min-lr at the last step)")
	fs.IntVar(&s.Warmup, "warmup", s.Warmup, "cosine: steps of linear warm-up")
	fs.Float64Var(&s.MinLR, "min-lr", s.MinLR, "cosine: final learning rate")
	fs.Float64Var(&s.Clip, "clip", s.Clip, "clip the global gradient norm to this (0: no clipping)")
	fs.IntVar(&s.Steps, "steps", s.Steps, "total number of training steps")
	fs.IntVar(&s.Batch, "batch", s.Batch, "rows per step")
	fs.IntVar(&s.FitBatch, "fit-batch", s.FitBatch, "dkef: rows of the batch α is fitted on each step (0: -batch)")
	fs.Uint64Var(&s.Seed, "seed", s.Seed, "seed of all randomness: initialisation, batches, noise, projections")
	fs.StringVar(&s.DType, "dtype", s.DType, "float32 or float64")
	fs.IntVar(&s.Every, "every", s.Every, "write the checkpoint every this many steps, and at the end (0: at the end only)")
	fs.StringVar(&s.Log, "log", s.Log, "metrics log in -out: csv, jsonl or none")
	fs.IntVar(&s.LogEvery, "log-every", s.LogEvery, "log every this many steps, and the last")
	fs.Float64Var(&s.MaxParamNorm, "max-param-norm", s.MaxParamNorm, fmt.Sprintf("stop when an update takes the global L2 norm of the parameters past this (0: %g times the initial norm, at least 1, a growth no run that learns comes near; negative: no bound)", nn.DefaultParamNormGrowth))
}

// Built is what Settings name, looked up and built.
type Built struct {
	Objective  sm.Objective
	DType      tensor.DType
	Projection sm.Projection
	Optimizer  nn.Optimizer
	Schedule   nn.Schedule
}

// Build validates s for training on the data ds (holdoutGiven: -holdout
// was given on the command line) and builds its pieces. A mistake is a
// rundir.FlagError naming the flag.
func (s Settings) Build(ds data.Spec, holdoutGiven bool) (Built, error) {
	var b Built
	var err error
	if b.Objective, err = sm.Lookup(s.Objective); err != nil {
		return b, rundir.Flagf("-objective %q: want one of %s", s.Objective, strings.Join(sm.ObjectiveNames(nil), ", "))
	}
	if b.DType, err = tensor.ParseDType(s.DType); err != nil {
		return b, rundir.Flagf("-dtype %q: want float32 or float64", s.DType)
	}
	if b.Projection, err = sm.ParseProjection(s.Projection); err != nil {
		return b, rundir.Flagf("-proj %q: want rademacher, gaussian or sphere", s.Projection)
	}
	switch {
	case s.Accuracy != 2 && s.Accuracy != 4:
		return b, rundir.Flagf("-accuracy %d: want 2 or 4", s.Accuracy)
	case s.M < 1 || s.M > 1<<12:
		return b, rundir.Flagf("-m %d: want 1…%d projections per sample", s.M, 1<<12)
	case s.Batch > 0 && s.M > (1<<22)/min(s.Batch, 1<<20):
		// M·B rows are stacked into one batch: keep it to what memory holds.
		return b, rundir.Flagf("-m %d with -batch %d: want at most %d rows in all", s.M, s.Batch, 1<<22)
	case s.Steps < 1:
		return b, rundir.Flagf("-steps %d: want at least 1", s.Steps)
	case s.Batch < 1 || s.Batch > 1<<20:
		return b, rundir.Flagf("-batch %d: want 1…%d", s.Batch, 1<<20)
	case s.FitBatch < 0 || s.FitBatch > 1<<20:
		return b, rundir.Flagf("-fit-batch %d: want 1…%d (or 0 for -batch)", s.FitBatch, 1<<20)
	case !(s.LR > 0) || math.IsInf(s.LR, 0):
		return b, rundir.Flagf("-lr %g: want a positive learning rate", s.LR)
	case !(s.MinLR >= 0) || math.IsInf(s.MinLR, 0):
		return b, rundir.Flagf("-min-lr %g: want a finite rate ≥ 0", s.MinLR)
	case s.Warmup < 0:
		return b, rundir.Flagf("-warmup %d: want ≥ 0 steps", s.Warmup)
	case s.Every < 0:
		return b, rundir.Flagf("-every %d: want ≥ 0 steps (0: at the end only)", s.Every)
	case s.LogEvery < 1:
		return b, rundir.Flagf("-log-every %d: want at least 1", s.LogEvery)
	case !(s.Clip >= 0):
		return b, rundir.Flagf("-clip %g: want a norm ≥ 0 (0: no clipping)", s.Clip)
	case math.IsNaN(s.MaxParamNorm):
		return b, rundir.Flagf("-max-param-norm NaN: want a number (0: the default bound, negative: none)")
	case !(s.Momentum >= 0 && s.Momentum < 1):
		return b, rundir.Flagf("-momentum %g: want 0 ≤ μ < 1", s.Momentum)
	case !(s.Eps >= 0) || math.IsInf(s.Eps, 0):
		return b, rundir.Flagf("-eps %g: want a finite step ≥ 0 (0 for the default)", s.Eps)
	case !(s.Sigma > 0) || math.IsInf(s.Sigma, 0):
		return b, rundir.Flagf("-sigma %g: want a positive finite noise level", s.Sigma)
	case !(s.Holdout >= 0 && s.Holdout < 1):
		return b, rundir.Flagf("-holdout %g: want a fraction 0 ≤ f < 1 of the rows", s.Holdout)
	case holdoutGiven && s.Holdout != 0 && ds.Kind != "csv":
		return b, rundir.Flagf("-holdout is for csv data; %s has its own held-out rows (fresh samples of a toy, the MNIST test set)", ds)
	case s.Log != "csv" && s.Log != "jsonl" && s.Log != "none":
		return b, rundir.Flagf("-log %q: want csv, jsonl or none", s.Log)
	}
	switch s.Optimizer {
	case "adam":
		b.Optimizer = nn.NewAdam()
	case "sgd":
		b.Optimizer = nn.NewSGD(s.Momentum)
	case "rmsprop":
		b.Optimizer = nn.NewRMSProp()
	default:
		return b, rundir.Flagf("-optim %q: want adam, sgd or rmsprop", s.Optimizer)
	}
	switch s.Schedule {
	case "constant":
		b.Schedule = nn.Constant(s.LR)
	case "cosine":
		b.Schedule = nn.Cosine(s.LR, s.MinLR, s.Warmup)
	default:
		return b, rundir.Flagf("-schedule %q: want constant or cosine", s.Schedule)
	}
	return b, nil
}
