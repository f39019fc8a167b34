package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/internal/progress"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

func init() {
	register("experiment", "rerun one of the paper's experiments at CPU scale: uci, nice, ood, toys or ebm", cmdExperiment)
}

// experiments maps a NAME of fdsm experiment to its command and summary.
var experiments = map[string]struct {
	summary string
	run     func(args []string, out, errw io.Writer) error
}{
	"uci":  {"DKEF on the UCI wine data by SSM, SSM-VR and FD-SSM: test log-likelihood, exact SM loss, ms/step", expUCI},
	"nice": {"NICE on MNIST by SSM, SSM-VR, DSM, FD-SSM and MLE: exact test log-likelihood, SM loss, ms/step, memory, learning curve", expNICE},
	"ood":  {"MNIST energy trained by DSM and FD-DSM: AUROC against OOD sets made from MNIST", expOOD},
	"ebm":  {"MNIST energy by MDSM, DSM, SSM and their FD versions for equal wall-clock: FID-MNIST of 1000 samples, SM loss, ms/step, memory", expEBM},
	"toys": {"every energy objective on three 2-D distributions: density images and log-likelihoods", expToys},
}

func experimentUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: fdsm experiment NAME [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Reruns an experiment of Pang et al. (NeurIPS 2020) at a size a CPU finishes in")
	fmt.Fprintln(w, "minutes. Results go to standard output as a markdown table (-json for one JSON")
	fmt.Fprintln(w, "object), figures into -out DIR (default ./fdsm-out/NAME; a directory that")
	fmt.Fprintln(w, "holds files is refused unless -force), progress to standard error.")
	fmt.Fprintln(w, "EXPERIMENTS.md records the commands, sizes and results.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Experiments:")
	names := make([]string, 0, len(experiments))
	for n := range experiments {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-5s %s\n", n, experiments[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'fdsm experiment NAME -h' for an experiment's flags.")
}

func cmdExperiment(args []string, out, errw io.Writer) error {
	if len(args) == 0 {
		return usageError{"which experiment? want uci, nice, ood, toys or ebm"}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		var b strings.Builder
		experimentUsage(&b)
		return helpText(b.String())
	}
	e, ok := experiments[args[0]]
	if !ok {
		return usageError{fmt.Sprintf("unknown experiment %q (want uci, nice, ood, toys or ebm)", args[0])}
	}
	return e.run(args[1:], out, errw)
}

// parseObjectiveList parses a comma-separated list of objective names for
// flag name, each one of allowed, without repeats.
func parseObjectiveList(flagName, list string, allowed []string) ([]string, error) {
	var out []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		found := false
		for _, a := range allowed {
			found = found || a == n
		}
		if !found {
			return nil, usageError{fmt.Sprintf("-%s: unknown objective %q (want some of %s)", flagName, n, strings.Join(allowed, ","))}
		}
		for _, o := range out {
			if o == n {
				return nil, usageError{fmt.Sprintf("-%s: %q twice", flagName, n)}
			}
		}
		out = append(out, n)
	}
	return out, nil
}

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

// meanStd returns the mean and the sample standard deviation (divisor
// n − 1; 0 for a single value) of v.
func meanStd(v []float64) (m, s float64) {
	m = mean(v)
	if len(v) < 2 {
		return m, 0
	}
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return m, math.Sqrt(s / float64(len(v)-1))
}

// pm formats mean ± std of v with prec decimals (just the value for one).
func pm(v []float64, prec int) string {
	m, s := meanStd(v)
	if len(v) < 2 {
		return fmt.Sprintf("%.*f", prec, m)
	}
	return fmt.Sprintf("%.*f ± %.*f", prec, m, prec, s)
}

// printJSON writes one JSON object, non-finite numbers as null.
func printJSON(w io.Writer, obj map[string]any) error {
	_, err := writeJSON(w, obj)
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

// train runs s with nn.Train, timing each step (loss, backward pass and
// update) and keeping the probes' time off the training clock.
func train(s runSpec, errw io.Writer) (runStats, error) {
	var st runStats
	var t0 time.Time
	var times []float64
	var peak int64
	total := s.steps
	bar := progress.New(errw, total, isTerminal(errw))
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
	st.MsPerStep = 1000 * median(times)
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
