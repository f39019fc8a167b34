package experiment

import (
	"fmt"
	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/internal/jsonout"
	"github.com/fdsm/fdsm/internal/numeric"
	"github.com/fdsm/fdsm/internal/progress"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
	"io"
	"math/rand/v2"
	"strings"
	"time"
)

// energyObjective returns the energy loss of an objective name: those of
// sm.Lookup, "mle" (sm.MLE, for normalised models) and "sliced-dsm"
// (sm.SlicedDSM, FD-DSM's exact gradient-based counterpart: a control that
// separates the effect of slicing from that of the finite difference).
func energyObjective(name string) func(sm.Energy, *tensor.Tensor, *sm.Options) *ad.Value {
	switch name {
	case "mle":
		return sm.MLE
	case "sliced-dsm":
		return sm.SlicedDSM
	}
	o, err := sm.Lookup(name)
	if err != nil || o.Energy == nil {
		panic("fdsm: no energy objective " + name)
	}
	return o.Energy
}

// mdTable is a markdown table, built row by row.
type mdTable struct {
	head []string
	rows [][]string
}

func (t *mdTable) add(cells ...string) { t.rows = append(t.rows, cells) }

// write prints the table with its columns padded to a common width, so
// that it reads as well in a terminal as rendered.
func (t *mdTable) write(w io.Writer) {
	width := make([]int, len(t.head))
	for _, r := range append([][]string{t.head}, t.rows...) {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range cells {
			fmt.Fprintf(&b, " %s%s |", c, strings.Repeat(" ", width[i]-len([]rune(c))))
		}
		fmt.Fprintln(w, b.String())
	}
	line(t.head)
	sep := make([]string, len(t.head))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, r := range t.rows {
		line(r)
	}
}

// pm formats mean ± std of v with prec decimals (just the value for one).
func pm(v []float64, prec int) string {
	m, s := numeric.MeanStd(v)
	if len(v) < 2 {
		return fmt.Sprintf("%.*f", prec, m)
	}
	return fmt.Sprintf("%.*f ± %.*f", prec, m, prec, s)
}

// printJSON writes one JSON object, non-finite numbers as null.
func printJSON(w io.Writer, obj map[string]any) error {
	_, err := jsonout.Write(w, obj)
	return err
}

// runSpec is one training run of an experiment, on nn.Train.
type runSpec struct {
	name     string // shown with the progress
	model    nn.Module
	loss     func(step int, r *rand.Rand) *ad.Value
	schedule nn.Schedule
	steps    int           // steps, or the cap when budget > 0
	budget   time.Duration // training time allowed (0: none)
	source   *rand.PCG
	release  bool // the loss keeps nothing of its graph (see nn.TrainConfig)
	// arena, if set, holds what a step of the loss draws (sm.Options.Arena)
	// and its batch: released after each step (nn.TrainConfig.Arena).
	arena *tensor.Arena
	// probe, if set, runs after each step outside the training clock,
	// given the steps done and the training seconds so far.
	probe func(done int, trainSec float64)
}

// runStats is what a run measured.
type runStats struct {
	Steps     int
	MsPerStep float64 // median over steps
	PeakMB    float64 // largest peak tensor memory of a step
	Seconds   float64 // training time, probes excluded
	LastLoss  float64
	// Diverged is the step (from 1) whose loss or gradient was not finite,
	// or 0. The model then holds the parameters of the step before it.
	Diverged int
}

// trainRun runs s with nn.Train, timing each step (loss, backward pass and
// update) and keeping the probes' time off the training clock.
func trainRun(s runSpec, errw io.Writer) (runStats, error) {
	var st runStats
	var t0 time.Time
	var times []float64
	var peak int64
	total := s.steps
	bar := progress.New(errw, total, progress.IsTerminalWriter(errw))
	fmt.Fprintf(errw, "%s\n", s.name)
	cfg := nn.TrainConfig{
		Model: s.model,
		Loss: func(step int, r *rand.Rand) *ad.Value {
			t0 = time.Now()
			st.Diverged = step + 1 // cleared by Eval if the step is applied
			return s.loss(step, r)
		},
		Optimizer: nn.NewAdam(), Schedule: s.schedule, Steps: s.steps, Source: s.source,
		TrackMemory: true, ReleaseGraph: s.release, Arena: s.arena, EvalEvery: 1,
		Eval: func(info nn.StepInfo) error {
			d := time.Since(t0).Seconds()
			st.Diverged = 0
			times = append(times, d)
			st.Seconds += d
			peak = max(peak, info.PeakBytes)
			st.Steps, st.LastLoss = info.Step+1, info.Loss
			bar.Update(info.Step+1, info.Loss)
			if s.probe != nil {
				s.probe(info.Step+1, st.Seconds)
			}
			if s.budget > 0 && st.Seconds >= s.budget.Seconds() {
				return nn.ErrStop
			}
			return nil
		},
	}
	_, err := nn.Train(cfg) // a budget's ErrStop ends it without an error
	bar.Finish()
	switch {
	case err != nil && st.Diverged > 0:
		// A non-finite loss or gradient: nn.Train applied nothing of it.
		// The run is a result (the objective diverged), not a failure.
		fmt.Fprintf(errw, "  %v\n", err)
	case err != nil:
		return st, fmt.Errorf("%s: %v", s.name, err)
	default:
		st.Diverged = 0
	}
	st.MsPerStep = 1000 * numeric.Median(times)
	st.PeakMB = float64(peak) / (1 << 20)
	return st, nil
}

// seedList returns the n seeds first, first+1, ….
func seedList(first uint64, n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = first + uint64(i)
	}
	return s
}

// progressWriter returns w, or io.Discard if w is nil.
func progressWriter(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
