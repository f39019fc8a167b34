package nn

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// CheckpointName is the file Train writes in TrainConfig.CheckpointDir. The
// name is fixed so that each checkpoint atomically replaces the previous
// one: the directory always holds the last good checkpoint.
const CheckpointName = "ckpt.safetensors"

// RandSource is a random source whose state can be saved and restored, so a
// run can resume exactly: math/rand/v2's *PCG and *ChaCha8 are.
type RandSource interface {
	rand.Source
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// ErrStop, returned by TrainConfig.Eval, ends training early without an
// error (early stopping).
var ErrStop = errors.New("nn: stop training")

// StepInfo describes one completed training step.
type StepInfo struct {
	Step     int     // the step's index, from 0
	Loss     float64 // the loss the step was computed from
	GradNorm float64 // the global gradient norm, before clipping
	LR       float64 // the learning rate applied
	// PeakBytes is the step's peak tensor memory (the graph the backward
	// pass walks plus its live cotangents, autodiff.GradStats.PeakBytes),
	// measured only with TrainConfig.TrackMemory; 0 otherwise.
	PeakBytes int64
}

// TrainConfig configures Train. Model, Loss, Optimizer, Schedule and Source
// are required.
type TrainConfig struct {
	// Model holds the parameters to train.
	Model Module
	// Loss returns the scalar loss of step (from 0), drawing every random
	// number it needs (batches, noise, projections) from rng. For an sm
	// objective: func(_ int, r *rand.Rand) *autodiff.Value {
	// return sm.FDSSM(model, sample(r), &sm.Options{Rand: r}) }.
	Loss func(step int, rng *rand.Rand) *ad.Value
	// Optimizer applies the updates.
	Optimizer Optimizer
	// Schedule gives each step's learning rate.
	Schedule Schedule
	// ClipNorm, if positive, clips the global gradient norm to it (see
	// ClipGradNorm).
	ClipNorm float64
	// MaxParamNorm bounds the global L2 norm of the parameters after each
	// update (see Train): positive, that is the bound; 0, the default
	// bound DefaultParamNormGrowth × max(‖θ₀‖, 1), where θ₀ is what Model
	// holds when Train is called (before ResumeFrom is loaded, so that a
	// resumed run built like the original has the original's bound);
	// negative, no bound (non-finite parameters still stop the run).
	MaxParamNorm float64
	// Steps is the total number of steps of the run, counting those before
	// a resumed checkpoint; the schedule sees it as total.
	Steps int
	// Source is the run's only randomness: Loss receives rand.New(Source),
	// and Source's state is checkpointed and restored.
	Source RandSource
	// Eval, if not nil, is called after every EvalEvery-th step (counting
	// completed steps, so EvalEvery = 100 calls it after steps 99, 199, …)
	// and after the last; EvalEvery ≤ 0 means after the last only. It
	// runs after that step's checkpoint is written. Returning ErrStop ends
	// training without error; another error ends it with that error.
	Eval      func(StepInfo) error
	EvalEvery int
	// CheckpointDir, if not empty, is the directory (created if needed)
	// where the checkpoint CheckpointName is written after every
	// CheckpointEvery-th step and after the last; CheckpointEvery ≤ 0
	// means after the last only.
	CheckpointDir   string
	CheckpointEvery int
	// Meta is written into each checkpoint; Train sets its Step, RNG and
	// DType.
	Meta Metadata
	// TrackMemory measures each step's peak tensor memory into
	// StepInfo.PeakBytes (a cheap count kept during the backward pass).
	TrackMemory bool
	// ReleaseGraph frees the loss's graph during the backward pass
	// (autodiff.ReleaseGraph), which lowers the peak; set it only when Loss
	// keeps no intermediate value of its graph for later use (DKEF's fitted
	// α, for one, is such a value).
	ReleaseGraph bool
	// Arena, if not nil, is released after every step (after the update,
	// the checkpoint and Eval): Loss records in it the tensors it
	// allocates for the step (the batch, sm.Options.Arena), and Train adds
	// the step's gradients, so that a steady run reuses their storage
	// instead of making garbage. Nothing recorded may be used after its
	// step.
	Arena *tensor.Arena
	// ResumeFrom, if not empty, is a checkpoint to resume from: its
	// parameters, optimizer state, step count and generator state are
	// restored before the first step, which is then Meta.Step of the
	// checkpoint.
	ResumeFrom string
}

// DefaultParamNormGrowth is the factor by which the parameters' norm may grow
// over a run before Train stops it as diverged, when TrainConfig.MaxParamNorm
// is 0. A run that learns moves its weights by a few times their initial
// scale (fdsm train's default MLP on toy:8gaussians goes from a norm of 10.5
// to 24 in 5000 steps at -lr 1e-3, and to 37 in 3000 at 1e-2), so a
// millionfold growth is far past anything training means, and still far
// below the scale at which float32 arithmetic on the weights overflows
// (a product of two weights of 1e19 passes float32's largest value, 3.4e38):
// the run stops with finite, if useless, parameters, and the checkpoint on
// disk from before they went bad.
const DefaultParamNormGrowth = 1e6

// ErrParamNorm is wrapped by the error of Train when an update takes the
// parameters' norm past TrainConfig.MaxParamNorm's bound, so that a caller can
// name its own setting of the bound.
var ErrParamNorm = errors.New("the update took the parameters' norm")

// TrainResult summarises a call to Train.
type TrainResult struct {
	// Steps is the number of steps completed by the run, including those
	// before a resumed checkpoint.
	Steps int
	// Last describes the last step this call completed (its Step is −1 if
	// there was none).
	Last StepInfo
	// Checkpoint is the path of the last checkpoint written ("" if none).
	Checkpoint string
}

// Train runs the training loop: for each step, the loss and its gradient
// with respect to the model's parameters, optional clipping, then an
// optimizer update with the schedule's learning rate; checkpoints and
// evaluations as configured.
//
// Train stops a diverging run with an error naming the step (from 1, as
// progress lines and the metrics log count): if the loss or the gradient norm
// of a step is NaN or ±Inf, before its update is applied, so Model holds the
// parameters of the last good step; if the update makes a parameter NaN or
// ±Inf, or the parameters' global norm exceed the bound of
// TrainConfig.MaxParamNorm, after it, so Model holds the bad parameters. In
// every case no checkpoint is written for that step: the last checkpoint on
// disk is that of the last good step it was due at.
//
// Given the same configuration and Source state, Train is deterministic:
// running N steps of a run of Steps = N+M, then resuming from the checkpoint
// for the remaining M gives bit for bit the parameters of N+M uninterrupted
// steps. Resuming with a larger Steps continues the run, but a Schedule that
// depends on the total (Cosine) then gives the remaining steps the rates of
// the new total, so the result is not that of a run started with it.
//
// On an error from ResumeFrom (a checkpoint that does not fit, or whose
// step and optimizer step disagree) Model and Optimizer may hold the
// checkpoint's state.
func Train(cfg TrainConfig) (TrainResult, error) {
	res := TrainResult{Last: StepInfo{Step: -1}}
	switch {
	case cfg.Model == nil:
		return res, errors.New("nn: TrainConfig.Model is nil")
	case cfg.Loss == nil:
		return res, errors.New("nn: TrainConfig.Loss is nil")
	case cfg.Optimizer == nil:
		return res, errors.New("nn: TrainConfig.Optimizer is nil")
	case cfg.Schedule == nil:
		return res, errors.New("nn: TrainConfig.Schedule is nil")
	case cfg.Source == nil:
		return res, errors.New("nn: TrainConfig.Source is nil")
	case cfg.Steps < 0:
		return res, fmt.Errorf("nn: TrainConfig.Steps is %d", cfg.Steps)
	}
	if cfg.Arena != nil {
		defer cfg.Arena.Release()
	}
	params := cfg.Model.Params()
	vals := make([]*ad.Value, len(params))
	ptens := make([]*tensor.Tensor, len(params))
	for i, p := range params {
		vals[i] = p.Value
		ptens[i] = p.Value.T()
	}
	maxNorm := cfg.MaxParamNorm
	if maxNorm == 0 {
		maxNorm = DefaultParamNormGrowth * max(GradNorm(ptens), 1)
	}
	if math.IsNaN(maxNorm) {
		return res, errors.New("nn: TrainConfig.MaxParamNorm is NaN")
	}
	rng := rand.New(cfg.Source)

	start := 0
	if cfg.ResumeFrom != "" {
		meta, err := loadCheckpoint(cfg.ResumeFrom, params, cfg.Optimizer, cfg.Source)
		if err != nil {
			return res, err
		}
		// Train counts one update per step: a checkpoint whose counts
		// disagree was not written by it (or was edited), and resuming it
		// would run Adam's bias correction at the wrong step.
		if n, ok := cfg.Optimizer.State().Scalars["step"]; ok && n != float64(meta.Step) {
			return res, fmt.Errorf("%s: metadata %q is %d but the optimizer state %q is %v: the checkpoint is inconsistent", cfg.ResumeFrom, metaStep, meta.Step, optimPrefix+"step", n)
		}
		if meta.Step > cfg.Steps {
			return res, fmt.Errorf("%s: metadata %q: the checkpoint is at step %d, past TrainConfig.Steps = %d", cfg.ResumeFrom, metaStep, meta.Step, cfg.Steps)
		}
		start = meta.Step
	}
	res.Steps = start
	var ckpt string
	if cfg.CheckpointDir != "" {
		if err := os.MkdirAll(cfg.CheckpointDir, 0o777); err != nil {
			return res, fmt.Errorf("nn: checkpoint directory: %w", err)
		}
		ckpt = filepath.Join(cfg.CheckpointDir, CheckpointName)
	}
	ckptStep := -1 // the step of the checkpoint on disk, if known
	if ckpt != "" && cfg.ResumeFrom != "" && filepath.Clean(cfg.ResumeFrom) == ckpt {
		ckptStep = start
	}
	lastCkpt := func() string {
		if ckptStep < 0 {
			return ""
		}
		return fmt.Sprintf(" (the last checkpoint, %s, is of step %d)", ckpt, ckptStep)
	}
	due := func(done, every int) bool {
		return done == cfg.Steps || (every > 0 && done%every == 0)
	}

	for step := start; step < cfg.Steps; step++ {
		lr := cfg.Schedule(step, cfg.Steps)
		loss := cfg.Loss(step, rng)
		l := loss.Item()
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return res, fmt.Errorf("nn: step %d: loss is %v; the step was not applied and not checkpointed%s", step+1, l, lastCkpt())
		}
		var gs ad.GradStats
		var gopts []ad.Option
		if cfg.TrackMemory {
			gopts = append(gopts, ad.TrackStats(&gs))
		}
		if cfg.ReleaseGraph {
			gopts = append(gopts, ad.ReleaseGraph())
		}
		gv := ad.Grad(loss, vals, gopts...)
		grads := make([]*tensor.Tensor, len(gv))
		for i, g := range gv {
			grads[i] = g.T()
		}
		var norm float64
		if cfg.ClipNorm > 0 {
			norm = ClipGradNorm(grads, cfg.ClipNorm)
		} else {
			norm = GradNorm(grads)
		}
		if math.IsNaN(norm) || math.IsInf(norm, 0) {
			return res, fmt.Errorf("nn: step %d: gradient norm is %v (first in %s); the step was not applied and not checkpointed%s", step+1, norm, firstNonFinite(params, grads, "the gradient of "), lastCkpt())
		}
		cfg.Optimizer.Step(params, grads, lr)
		// The update itself can diverge (a huge learning rate on a finite
		// gradient): check the parameters before they can be checkpointed.
		if pn := GradNorm(ptens); math.IsNaN(pn) || math.IsInf(pn, 0) {
			return res, fmt.Errorf("nn: step %d: the update made %s NaN or infinite (learning rate %g); not checkpointed%s", step+1, firstNonFinite(params, ptens, "parameter "), lr, lastCkpt())
		} else if maxNorm > 0 && pn > maxNorm {
			return res, fmt.Errorf("nn: step %d: %w to %.3g, past the bound %.3g (learning rate %g); not checkpointed%s", step+1, ErrParamNorm, pn, maxNorm, lr, lastCkpt())
		}
		if cfg.Arena != nil {
			for i, g := range grads {
				if !g.SharesStorage(params[i].Value.T()) { // never a parameter's own storage
					cfg.Arena.Add(g)
				}
			}
		}
		done := step + 1
		res.Steps = done
		res.Last = StepInfo{Step: step, Loss: l, GradNorm: norm, LR: lr, PeakBytes: gs.PeakBytes}

		if ckpt != "" && due(done, cfg.CheckpointEvery) {
			if err := saveTrainCheckpoint(ckpt, params, &cfg, done); err != nil {
				return res, fmt.Errorf("nn: step %d: checkpoint: %w", done, err)
			}
			res.Checkpoint, ckptStep = ckpt, done
		}
		if cfg.Eval != nil && due(done, cfg.EvalEvery) {
			if err := cfg.Eval(res.Last); err != nil {
				if errors.Is(err, ErrStop) {
					return res, nil
				}
				return res, fmt.Errorf("nn: step %d: eval: %w", done, err)
			}
		}
		if cfg.Arena != nil {
			cfg.Arena.Release()
		}
	}
	return res, nil
}

// saveTrainCheckpoint writes the checkpoint of the state after done steps.
func saveTrainCheckpoint(path string, params []Param, cfg *TrainConfig, done int) error {
	state, err := cfg.Source.MarshalBinary()
	if err != nil {
		return fmt.Errorf("generator state: %w", err)
	}
	meta := cfg.Meta
	meta.Step = done
	meta.RNG = state
	if len(params) > 0 {
		meta.DType = params[0].Value.DType()
	}
	return SaveCheckpoint(path, params, cfg.Optimizer, meta)
}

// firstNonFinite names, after what, the first parameter whose tensor in ts
// (its gradient or its value) holds a NaN or ±Inf.
func firstNonFinite(params []Param, ts []*tensor.Tensor, what string) string {
	for i, g := range ts {
		if g.HasNaNOrInf() {
			return fmt.Sprintf("%s%q", what, params[i].Name)
		}
	}
	return "the sum of squares (overflow)"
}
