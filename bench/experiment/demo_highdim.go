package experiment

// The demo's high-dimensional comparison. The 2-D toy shows what the four
// objectives learn, but at d = 2 FD's speed-up does not show; this part times
// the same four objectives on a 784-d MLP energy, where it does.

import (
	"encoding/json"
	"fmt"
	"github.com/fdsm/fdsm/internal/numeric"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/fdsm/fdsm/bench"
	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/progress"
	"github.com/fdsm/fdsm/tensor"
)

// highDimConfig is the high-dimensional comparison's model and batch: the
// mnist-mlp benchmark configuration (784-512-512-1 softplus, batch 128), the
// one the README's timing table reports.
const highDimConfig = "mnist-mlp"

// HighDimCounterpart returns, for each FD objective of the demo, the
// objective it approximates, which the high-dimensional table divides by.
func HighDimCounterpart() map[string]string {
	return map[string]string{"fd-ssm": "ssm", "fd-dsm": "dsm"}
}

// highDimRun is one objective's row of the high-dimensional table.
type highDimRun struct {
	Objective string
	MsPerStep float64 // the median over the steps
	StepMB    float64 // the step peak, parameters excluded (bench.Result.StepBytes)
	// For an FD objective, its counterpart and the ratios FD / counterpart.
	Vs                  string
	TimeRatio, MemRatio float64
}

// highDim is the comparison's outcome.
type highDim struct {
	cfg   bench.Config
	steps int
	data  string // "mnist" or "synthetic"
	note  string // where the data came from, for the table's header
	runs  []highDimRun
}

// runHighDim trains a fresh mnist-mlp energy (the same initialisation for
// every objective) with each of DemoObjectives() for steps steps on the same
// minibatches, one step of each in turn so that load from elsewhere on the
// machine slows them alike, and returns their median times and step peaks.
// It uses MNIST's dequantised training images from mnistDir when they load,
// uniform pixels of the same shape otherwise.
func runHighDim(steps int, mnistDir string, seed uint64, errw io.Writer) (*highDim, error) {
	cfg, err := bench.LookupConfig(highDimConfig)
	if err != nil {
		return nil, err
	}
	const dt = tensor.Float32
	d := cfg.Sizes[0]
	h := &highDim{cfg: cfg, steps: steps}
	rng := rand.New(rand.NewPCG(seed, 15)) // the minibatches (demo.go's streams are 10–14)
	var batch func() *tensor.Tensor
	x, _, err := data.LoadMNIST(mnistDir, true, dt)
	if err == nil && x.Dim(1) != d {
		err = fmt.Errorf("%s: images of %d pixels, want %d", mnistDir, x.Dim(1), d)
	}
	if err == nil {
		h.data, h.note = "mnist", fmt.Sprintf("MNIST (%d dequantised training images from %s)", x.Dim(0), mnistDir)
		idx := make([]int, cfg.Batch)
		batch = func() *tensor.Tensor {
			for k := range idx {
				idx[k] = rng.IntN(x.Dim(0))
			}
			return data.DequantizePixels(tensor.GatherRows(x, idx), rng)
		}
	} else {
		// A demo shows something in any case: synthetic data times the
		// same, and the header says why MNIST was not used.
		h.data, h.note = "synthetic", fmt.Sprintf("synthetic data: uniform pixels in [0, 1), MNIST's shape\n(MNIST did not load: %v)", err)
		batch = func() *tensor.Tensor { return tensor.RandU(dt, rng, 0, 1, cfg.Batch, d) }
	}

	runs := make([]*bench.Step, len(DemoObjectives()))
	for i, name := range DemoObjectives() {
		if runs[i], err = bench.NewStep(cfg, name, dt, seed); err != nil {
			return nil, err
		}
	}
	times := make([][]float64, len(runs))
	peaks := make([]int64, len(runs))
	fmt.Fprintf(errw, "timing %s at d = %d (%s, %s) in lockstep:\n", strings.Join(DemoObjectives(), ", "), d, sizesString(cfg.Sizes), h.data)
	bar := progress.New(errw, steps, progress.IsTerminalWriter(errw))
	for step := range steps {
		x := batch()
		var first float64
		for i, s := range runs {
			t0 := time.Now()
			r := s.RunOn(x)
			times[i] = append(times[i], time.Since(t0).Seconds())
			peaks[i] = max(peaks[i], r.StepBytes)
			if math.IsNaN(r.Loss) || math.IsInf(r.Loss, 0) {
				bar.Finish()
				return nil, fmt.Errorf("%s at d = %d: step %d: the loss is %v", DemoObjectives()[i], d, step+1, r.Loss)
			}
			if i == 0 {
				first = r.Loss
			}
		}
		bar.Update(step+1, first)
	}
	bar.Finish()
	byName := map[string]*highDimRun{}
	for i, name := range DemoObjectives() {
		h.runs = append(h.runs, highDimRun{Objective: name, MsPerStep: 1000 * numeric.Median(times[i]), StepMB: float64(peaks[i]) / (1 << 20)})
		byName[name] = &h.runs[len(h.runs)-1]
	}
	for i := range h.runs {
		r := &h.runs[i]
		if c, ok := byName[HighDimCounterpart()[r.Objective]]; ok {
			r.Vs, r.TimeRatio, r.MemRatio = c.Objective, r.MsPerStep/c.MsPerStep, r.StepMB/c.StepMB
		}
	}
	return h, nil
}

// sizesString formats layer widths as 784-512-512-1.
func sizesString(sizes []int) string {
	s := make([]string, len(sizes))
	for i, n := range sizes {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, "-")
}

// print writes the comparison's table; a nil h (-highdim=false) writes nothing.
func (h *highDim) print(out io.Writer) {
	if h == nil {
		return
	}
	fmt.Fprintf(out, "\nAt d = %d: MLP %s softplus (float32), %d Adam steps of %d rows per objective from the same\n",
		h.cfg.Sizes[0], sizesString(h.cfg.Sizes), h.steps, h.cfg.Batch)
	fmt.Fprintf(out, "initialisation and minibatches, on %s\n\n", h.note)
	fmt.Fprintf(out, "%-10s %10s %13s %16s %16s\n", "objective", "ms/step", "step peak MB", "time ratio", "step peak ratio")
	for _, r := range h.runs {
		line := fmt.Sprintf("%-10s %10.2f %13.2f", strings.ToUpper(r.Objective), r.MsPerStep, r.StepMB)
		if r.Vs != "" {
			line += fmt.Sprintf(" %16s %16s", fmt.Sprintf("%.2f× %s", r.TimeRatio, strings.ToUpper(r.Vs)),
				fmt.Sprintf("%.2f× %s", r.MemRatio, strings.ToUpper(r.Vs)))
		}
		fmt.Fprintln(out, line)
	}
	fmt.Fprintln(out, "\nms/step: the median of one step (objective, backward pass, Adam update); step peak: the tensor bytes a step")
	fmt.Fprintln(out, "holds at its peak beyond the parameters (as `fdsm bench` measures them).")
}

// writeJSON writes one object per objective of the comparison, marked
// "kind": "highdim"; a nil h writes nothing.
func (h *highDim) writeJSON(enc *json.Encoder) error {
	if h == nil {
		return nil
	}
	for _, r := range h.runs {
		v := map[string]any{"kind": "highdim", "objective": r.Objective, "config": h.cfg.Name, "sizes": h.cfg.Sizes,
			"batch": h.cfg.Batch, "steps": h.steps, "data": h.data,
			"ms_per_step": finite(r.MsPerStep), "step_peak_mb": finite(r.StepMB)}
		if r.Vs != "" {
			v["vs"], v["time_ratio"], v["step_peak_ratio"] = r.Vs, finite(r.TimeRatio), finite(r.MemRatio)
		}
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	return nil
}

// demoWhyD2 writes the line under the 2-D table that says why FD is not
// faster there. The reason is measured: a CPU profile of FD-SSM's step on
// this MLP (2-64-64-1, batch 128, float32; bench.NewStep on that Config, 1500
// steps under pprof) puts two thirds of it in the float32-stable evaluation
// (sm.evalCentral and the pair rules of its backward pass: 48% + 20% of the
// samples), and GEMM at 17%; with Options.FDMode = sm.FDNaive the step took
// 0.56× SSM's. At d = 784 the matrix products dominate instead.
func demoWhyD2(out io.Writer, runs []*demoRun, highDimBelow bool) {
	ms := map[string]float64{}
	for _, r := range runs {
		ms[r.Objective] = r.MsPerStep
	}
	fmt.Fprintf(out, "\nAt d = 2 FD-SSM takes %.2f× SSM's time and FD-DSM %.2f× DSM's: the matrix products FD saves are tiny\n",
		ms["fd-ssm"]/ms["ssm"], ms["fd-dsm"]/ms["dsm"])
	fmt.Fprint(out, "here, and two thirds of FD-SSM's step is its float32-stable evaluation (exact softplus differences)")
	if highDimBelow {
		fmt.Fprint(out, ";\nat d = 784 (below) the products dominate")
	}
	fmt.Fprintln(out, ".")
}
