package bench

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// TableOptions configures RunTable. Zero fields take the defaults.
type TableOptions struct {
	Objectives []string     // default: DefaultObjectives(cfg)
	Steps      int          // training steps per objective (default 50)
	Seed       uint64       // model initialisation, minibatches and objective randomness (default 1)
	DType      tensor.DType // default float32
	EvalRows   int          // held-out rows for the exact SM loss (default 256)
	LR         float64      // Adam learning rate (default 1e-3)
	// Progress, if set, is called after every step.
	Progress func(objective string, step int, loss float64)
}

// Row is one line of the poster's table: an objective's exact SM loss on
// held-out data after the same short training run from the same
// initialisation, its median time per step and its peak memory.
type Row struct {
	Objective string  `json:"objective"`
	Config    string  `json:"config"`
	Steps     int     `json:"steps"`
	MsPerStep float64 `json:"ms_per_step"` // median over the steps
	MsMin     float64 `json:"ms_min"`
	MsMax     float64 `json:"ms_max"`
	PeakBytes int64   `json:"peak_bytes"`       // peak tensor bytes of a step, parameters included
	StepBytes int64   `json:"step_peak_bytes"`  // the peak less the parameters (Result.StepBytes)
	ActBytes  int64   `json:"activation_bytes"` // the peak less parameters and gradients
	PeakRSS   int64   `json:"peak_rss_bytes"`   // process peak RSS after this objective
	TrainLoss float64 `json:"train_loss"`       // the objective's own loss at the last step
	SMLoss    float64 `json:"sm_loss"`          // exact SM loss on held-out rows after training
	EvalRows  int     `json:"eval_rows"`
	// For FD objectives trained in float32: the float32 evaluation against
	// float64 on the trained weights and a held-out batch (see Agreement).
	Agreement *Agreement `json:"agreement,omitempty"`
}

// TableObjectives returns every objective of the table, in the poster's
// order (a new slice each call, so callers may edit it).
func TableObjectives() []string {
	return []string{"dsm", "fd-dsm", "ssm", "ssm-vr", "fd-ssm", "mdsm", "fd-mdsm", "sm"}
}

// DefaultObjectives returns the objectives of a table on cfg unless told
// otherwise: TableObjectives(), but for exact SM ("sm") when d > 2, where a
// step costs d recorded backward passes (at d = 784, minutes and gigabytes
// for the table's 50 steps). BenchmarkObjective leaves it out the same way.
func DefaultObjectives(cfg Config) []string {
	if cfg.Sizes[0] <= 2 {
		return TableObjectives()
	}
	return slices.DeleteFunc(TableObjectives(), func(o string) bool { return o == "sm" })
}

// RunTable trains a fresh model (the same initialisation every time) with each
// objective for o.Steps steps on minibatches of train (the same sequence of
// minibatches every time), timing each step, then evaluates the exact score
// matching loss on up to o.EvalRows rows of test.
func RunTable(cfg Config, train, test *tensor.Tensor, o TableOptions) ([]Row, error) {
	if o.Steps <= 0 {
		o.Steps = 50
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.DType == 0 {
		o.DType = tensor.Float32
	}
	if o.EvalRows <= 0 {
		o.EvalRows = 256
	}
	if o.LR == 0 {
		o.LR = 1e-3
	}
	if len(o.Objectives) == 0 {
		o.Objectives = DefaultObjectives(cfg)
	}
	d := cfg.Sizes[0]
	for _, t := range []*tensor.Tensor{train, test} {
		if t.Rank() != 2 || t.Dim(1) != d || t.Dim(0) == 0 {
			return nil, fmt.Errorf("bench: data of shape %v for configuration %s (want [N, %d])", t.Shape(), cfg.Name, d)
		}
	}
	eval := tensor.SliceRows(test, 0, min(o.EvalRows, test.Dim(0))).AsType(o.DType)
	var rows []Row
	for _, name := range o.Objectives {
		s, err := NewStep(cfg, name, o.DType, o.Seed)
		if err != nil {
			return nil, err
		}
		s.LR = o.LR
		batches := rand.New(rand.NewPCG(o.Seed, 3))
		times := make([]float64, o.Steps)
		var peak, stepPeak, act int64
		var last float64
		for i := range o.Steps {
			idx := make([]int, cfg.Batch)
			for j := range idx {
				idx[j] = batches.IntN(train.Dim(0))
			}
			x := tensor.GatherRows(train, idx).AsType(o.DType)
			t0 := time.Now()
			r := s.RunOn(x)
			times[i] = float64(time.Since(t0).Microseconds()) / 1e3
			peak, stepPeak, act = max(peak, r.PeakBytes), max(stepPeak, r.StepBytes), max(act, r.ActivationBytes)
			last = r.Loss
			if o.Progress != nil {
				o.Progress(name, i, r.Loss)
			}
		}
		var smLoss float64
		if s.IsScore() {
			smLoss = sm.ExactScoreSMLoss(s.Model().(sm.Score), eval, 64)
		} else {
			smLoss = sm.ExactSMLoss(s.Model(), eval, 64)
		}
		var agreement *Agreement
		if s.Objective.FD && o.DType == tensor.Float32 {
			a := s.Agreement(tensor.SliceRows(test, 0, min(cfg.Batch, test.Dim(0))), o.Seed)
			agreement = &a
		}
		slices.Sort(times)
		rows = append(rows, Row{
			Objective: name, Config: cfg.Name, Steps: o.Steps,
			MsPerStep: median(times), MsMin: times[0], MsMax: times[len(times)-1],
			PeakBytes: peak, StepBytes: stepPeak, ActBytes: act, PeakRSS: PeakRSS(), TrainLoss: last, SMLoss: smLoss, EvalRows: eval.Dim(0),
			Agreement: agreement,
		})
	}
	return rows, nil
}

// median of sorted values.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
