package nn_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// trainData draws n points from an equal mixture of N((±2, 0), 0.5²I),
// the toy data of the tests: bimodal, so a linear score cannot fit it.
func trainData(dt tensor.DType, r *rand.Rand, n int) *tensor.Tensor {
	x := tensor.Zeros(dt, n, 2)
	for i := range n {
		c := 2.0
		if r.IntN(2) == 0 {
			c = -2
		}
		x.Set(2*i, c+0.5*r.NormFloat64())
		x.Set(2*i+1, 0.5*r.NormFloat64())
	}
	return x
}

// trainFDSSMLoss is FD-SSM on a fresh batch of 32 from the run's generator.
func trainFDSSMLoss(m *nn.MLP, dt tensor.DType) func(int, *rand.Rand) *ad.Value {
	return func(_ int, r *rand.Rand) *ad.Value {
		return sm.FDSSM(m, trainData(dt, r, 32), &sm.Options{Rand: r})
	}
}

// trainRun is one training configuration; the model is initialised from its own
// seed so that a resumed run can start from different weights.
type trainRun struct {
	model *nn.MLP
	opt   *nn.Adam
	src   *rand.PCG
	cfg   nn.TrainConfig
}

func newTrainRun(dt tensor.DType, initSeed uint64, steps int) *trainRun {
	r := &trainRun{
		model: nn.NewMLP(dt, []int{2, 16, 16, 1}, nn.Softplus, rand.New(rand.NewPCG(initSeed, 0))),
		opt:   nn.NewAdamW(0.01),
		src:   rand.NewPCG(initSeed, 1),
	}
	r.cfg = nn.TrainConfig{
		Model:     r.model,
		Loss:      trainFDSSMLoss(r.model, dt),
		Optimizer: r.opt,
		Schedule:  nn.Cosine(1e-2, 1e-4, 3),
		ClipNorm:  1,
		Steps:     steps,
		Source:    r.src,
		Meta:      nn.Metadata{Model: "mlp 2-16-16-1 softplus", Objective: "fd-ssm", Seed: initSeed},
	}
	return r
}

func trainParamBits(m nn.Module) map[string][]uint64 {
	out := map[string][]uint64{}
	for _, p := range m.Params() {
		for _, v := range p.Value.T().ToFloat64() {
			out[p.Name] = append(out[p.Name], math.Float64bits(v))
		}
	}
	return out
}

// N steps, an interruption, a resume from the last checkpoint and the rest
// of the steps give bit for bit the parameters, optimizer state and
// generator state of an uninterrupted run.
func TestTrainResumeBitIdentical(t *testing.T) {
	const steps, every, crashAfter = 12, 5, 7 // checkpoints after 5 and 10 steps
	for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64} {
		a := newTrainRun(dt, 1, steps)
		var lossesA []float64
		a.cfg.EvalEvery = 1
		a.cfg.Eval = func(s nn.StepInfo) error { lossesA = append(lossesA, s.Loss); return nil }
		if _, err := nn.Train(a.cfg); err != nil {
			t.Fatal(err)
		}

		// The same run, killed after crashAfter steps: the work after the
		// checkpoint of step 5 is lost.
		dir := t.TempDir()
		b := newTrainRun(dt, 1, steps)
		b.cfg.CheckpointDir, b.cfg.CheckpointEvery = dir, every
		b.cfg.EvalEvery = 1
		crash := errors.New("crash")
		b.cfg.Eval = func(s nn.StepInfo) error {
			if s.Step+1 == crashAfter {
				return crash
			}
			return nil
		}
		res, err := nn.Train(b.cfg)
		if !errors.Is(err, crash) || res.Steps != crashAfter {
			t.Fatalf("%v: interrupted trainRun: %v after %d steps, want the crash after %d", dt, err, res.Steps, crashAfter)
		}

		// Resume into a model, optimizer and generator that start elsewhere.
		c := newTrainRun(dt, 2, steps)
		c.cfg.ResumeFrom = filepath.Join(dir, nn.CheckpointName)
		var lossesC []float64
		c.cfg.EvalEvery = 1
		c.cfg.Eval = func(s nn.StepInfo) error { lossesC = append(lossesC, s.Loss); return nil }
		res, err = nn.Train(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Steps != steps || len(lossesC) != steps-every {
			t.Errorf("%v: resumed trainRun ended at %d after %d steps, want %d after %d", dt, res.Steps, len(lossesC), steps, steps-every)
		}
		if !reflect.DeepEqual(trainParamBits(c.model), trainParamBits(a.model)) {
			t.Errorf("%v: resumed parameters differ from the uninterrupted trainRun's", dt)
		}
		if !reflect.DeepEqual(lossesC, lossesA[every:]) {
			t.Errorf("%v: resumed losses %v, want %v", dt, lossesC, lossesA[every:])
		}
		sa, sc := a.opt.State(), c.opt.State()
		if !reflect.DeepEqual(sa.Scalars, sc.Scalars) {
			t.Errorf("%v: optimizer scalars %v, want %v", dt, sc.Scalars, sa.Scalars)
		}
		for k, v := range sa.Tensors {
			if !reflect.DeepEqual(v.ToFloat64(), sc.Tensors[k].ToFloat64()) {
				t.Errorf("%v: optimizer buffer %q differs", dt, k)
			}
		}
		if a.src.Uint64() != c.src.Uint64() {
			t.Errorf("%v: generator states differ after the runs", dt)
		}
	}
}

// A step whose loss or gradient is not finite stops training with an error
// naming it; the update is not applied, no checkpoint is written for it, and
// the last good checkpoint loads.
func TestTrainStopsOnNaN(t *testing.T) {
	const k, every = 7, 3 // checkpoints after 3 and 6 steps; step index 7, the 8th (step 8 in messages), goes bad
	cases := []struct {
		name string
		bad  func(m *nn.MLP, loss *ad.Value) *ad.Value
		want string
	}{
		{"loss", func(_ *nn.MLP, loss *ad.Value) *ad.Value { return ad.Scale(loss, math.NaN()) }, "loss is NaN"},
		{"loss Inf", func(_ *nn.MLP, loss *ad.Value) *ad.Value { return ad.AddScalar(loss, math.Inf(1)) }, "loss is +Inf"},
		// √‖W − W₀‖² is 0 at W = W₀ but its gradient is 0·∞ = NaN.
		{"gradient", func(m *nn.MLP, loss *ad.Value) *ad.Value {
			w := m.Layers[1].W
			return ad.Add(loss, ad.Sqrt(ad.Sum(ad.Square(ad.Sub(w, ad.Const(w.T().Clone()))))))
		}, `gradient norm is NaN (first in the gradient of "layers.1.weight")`},
	}
	for _, c := range cases {
		r := newTrainRun(tensor.Float32, 3, 20)
		dir := t.TempDir()
		r.cfg.CheckpointDir, r.cfg.CheckpointEvery = dir, every
		good := r.cfg.Loss
		r.cfg.Loss = func(step int, rng *rand.Rand) *ad.Value {
			l := good(step, rng)
			if step == k {
				l = c.bad(r.model, l)
			}
			return l
		}
		// Snapshots of the parameters after each completed step.
		snaps := map[int]map[string][]uint64{}
		r.cfg.EvalEvery = 1
		r.cfg.Eval = func(s nn.StepInfo) error { snaps[s.Step+1] = trainParamBits(r.model); return nil }

		res, err := nn.Train(r.cfg)
		if err == nil || !strings.Contains(err.Error(), "step 8:") || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: error %v, want one naming step 8 and containing %q", c.name, err, c.want)
		}
		if res.Steps != k {
			t.Errorf("%s: %d steps completed, want %d", c.name, res.Steps, k)
		}
		if !reflect.DeepEqual(trainParamBits(r.model), snaps[k]) {
			t.Errorf("%s: the parameters changed after step %d: the bad update was applied", c.name, k-1)
		}
		m := nn.NewMLP(tensor.Float32, []int{2, 16, 16, 1}, nn.Softplus, rand.New(rand.NewPCG(9, 9)))
		meta, err := nn.LoadCheckpoint(filepath.Join(dir, nn.CheckpointName), m.Params(), nn.NewAdamW(0.01))
		if err != nil {
			t.Fatalf("%s: the last checkpoint does not load: %v", c.name, err)
		}
		if meta.Step != 6 || !reflect.DeepEqual(trainParamBits(m), snaps[6]) {
			t.Errorf("%s: checkpoint at step %d, want the one after 6 steps", c.name, meta.Step)
		}
		if meta.Model != "mlp 2-16-16-1 softplus" || meta.Objective != "fd-ssm" || meta.DType != tensor.Float32 || meta.Seed != 3 {
			t.Errorf("%s: checkpoint metadata %+v", c.name, meta)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("%s: checkpoint directory holds %d files, want 1 (no temporary files)", c.name, len(entries))
		}
	}
}

func TestTrainStopAndErrors(t *testing.T) {
	// ErrStop ends training without error.
	r := newTrainRun(tensor.Float32, 4, 10)
	r.cfg.EvalEvery = 2
	r.cfg.Eval = func(s nn.StepInfo) error {
		if s.Step == 3 {
			return nn.ErrStop
		}
		return nil
	}
	res, err := nn.Train(r.cfg)
	if err != nil || res.Steps != 4 || res.Last.Step != 3 || res.Last.LR != nn.Cosine(1e-2, 1e-4, 3)(3, 10) {
		t.Errorf("ErrStop: %v, %+v", err, res)
	}
	// Clipping reports the norm before clipping, and the loop reports it.
	if !(res.Last.GradNorm > 0) {
		t.Errorf("GradNorm %v, want positive", res.Last.GradNorm)
	}

	// An eval error names the step, from 1: EvalEvery 5 first runs after step 5.
	r = newTrainRun(tensor.Float32, 4, 10)
	r.cfg.EvalEvery = 5
	r.cfg.Eval = func(nn.StepInfo) error { return errors.New("disk full") }
	if _, err := nn.Train(r.cfg); err == nil || !strings.Contains(err.Error(), "step 5: eval: disk full") {
		t.Errorf("eval error: %v", err)
	}

	// Missing pieces are errors, not panics.
	for name, mutate := range map[string]func(*nn.TrainConfig){
		"Model":     func(c *nn.TrainConfig) { c.Model = nil },
		"Loss":      func(c *nn.TrainConfig) { c.Loss = nil },
		"Optimizer": func(c *nn.TrainConfig) { c.Optimizer = nil },
		"Schedule":  func(c *nn.TrainConfig) { c.Schedule = nil },
		"Source":    func(c *nn.TrainConfig) { c.Source = nil },
	} {
		r := newTrainRun(tensor.Float32, 4, 10)
		mutate(&r.cfg)
		if _, err := nn.Train(r.cfg); err == nil || !strings.Contains(err.Error(), "TrainConfig."+name) {
			t.Errorf("nil %s: %v", name, err)
		}
	}

	// Resuming: the checkpoint must carry a generator state and must not be
	// past the run's end; a failed resume leaves the model alone.
	dir := t.TempDir()
	r = newTrainRun(tensor.Float32, 5, 4)
	r.cfg.CheckpointDir = dir
	if _, err := nn.Train(r.cfg); err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(dir, nn.CheckpointName)
	short := newTrainRun(tensor.Float32, 6, 3)
	short.cfg.ResumeFrom = ckpt
	if _, err := nn.Train(short.cfg); err == nil || !strings.Contains(err.Error(), "at step 4, past TrainConfig.Steps = 3") {
		t.Errorf("resume past the end: %v", err)
	}
	noRNG := filepath.Join(dir, "no-rng.safetensors")
	if err := nn.SaveCheckpoint(noRNG, r.model.Params(), r.opt, nn.Metadata{Step: 2}); err != nil {
		t.Fatal(err)
	}
	q := newTrainRun(tensor.Float32, 6, 4)
	before := trainParamBits(q.model)
	q.cfg.ResumeFrom = noRNG
	if _, err := nn.Train(q.cfg); err == nil || !strings.HasPrefix(err.Error(), noRNG+`: metadata "rng"`) {
		t.Errorf("resume without generator state: %v", err)
	}
	if !reflect.DeepEqual(trainParamBits(q.model), before) || len(q.opt.State().Tensors) != 0 {
		t.Errorf("a failed resume changed the model or optimizer")
	}
	// Resuming a finished run does nothing and succeeds.
	done := newTrainRun(tensor.Float32, 6, 4)
	done.cfg.ResumeFrom = ckpt
	if res, err := nn.Train(done.cfg); err != nil || res.Steps != 4 || res.Last.Step != -1 {
		t.Errorf("resume a finished trainRun: %v %+v", err, res)
	}
}

// TrackMemory reports a positive peak per step; ReleaseGraph lowers it
// without changing a single parameter bit.
func TestTrainTrackMemory(t *testing.T) {
	run := func(release bool) ([]float64, []int64) {
		r := newTrainRun(tensor.Float64, 4, 5)
		r.cfg.TrackMemory, r.cfg.ReleaseGraph = true, release
		var peaks []int64
		r.cfg.Eval = func(info nn.StepInfo) error { peaks = append(peaks, info.PeakBytes); return nil }
		r.cfg.EvalEvery = 1
		if _, err := nn.Train(r.cfg); err != nil {
			t.Fatal(err)
		}
		var p []float64
		for _, v := range nn.Values(r.model) {
			p = append(p, v.T().ToFloat64()...)
		}
		return p, peaks
	}
	kept, pk := run(false)
	freed, pf := run(true)
	if !reflect.DeepEqual(kept, freed) {
		t.Error("ReleaseGraph changed the trained parameters")
	}
	if len(pk) != 5 || len(pf) != 5 {
		t.Fatalf("%d and %d peaks for 5 steps", len(pk), len(pf))
	}
	for i := range pk {
		if pk[i] <= 0 || pf[i] <= 0 || pf[i] > pk[i] {
			t.Errorf("step %d: peak %d bytes kept, %d released: want 0 < released ≤ kept", i, pk[i], pf[i])
		}
	}
}

// TestTrainArenaBitIdentical: a run whose batches, objective draws and
// gradients go to TrainConfig.Arena (released, and so reused, every step)
// and whose graph is released during the backward pass ends with the same
// parameters, bit for bit, as a run that recycles nothing, for the
// objectives with the most bookkeeping (a recorded backward pass, a stable
// FD evaluation) on an MLP, a NICE flow and a quadratic-head energy. The
// pool is poisoned in this package's tests: storage reused while still
// read would show up as NaNs.
func TestTrainArenaBitIdentical(t *testing.T) {
	models := map[string]func() sm.Energy{
		"mlp": func() sm.Energy {
			return nn.NewMLP(tensor.Float32, []int{2, 32, 32, 1}, nn.Softplus, rand.New(rand.NewPCG(1, 0)))
		},
		"nice": func() sm.Energy {
			return nn.NewNICE(tensor.Float32, 2, &nn.NICEConfig{Couplings: 2, Hidden: 32, Depth: 2}, rand.New(rand.NewPCG(1, 0)))
		},
		"quadratic": func() sm.Energy {
			return nn.NewQuadratic(tensor.Float32, 2, nil, rand.New(rand.NewPCG(1, 0)))
		},
	}
	for name, newModel := range models {
		for _, obj := range []string{"ssm", "fd-ssm", "dsm", "fd-dsm"} {
			o, err := sm.Lookup(obj)
			if err != nil {
				t.Fatal(err)
			}
			run := func(recycle bool) map[string][]uint64 {
				m := newModel()
				r := newTrainRun(tensor.Float32, 1, 8)
				r.cfg.Model = m.(nn.Module)
				var arena *tensor.Arena
				if recycle {
					arena = new(tensor.Arena)
					r.cfg.Arena, r.cfg.ReleaseGraph = arena, true
				}
				r.cfg.Loss = func(_ int, rg *rand.Rand) *ad.Value {
					x := trainData(tensor.Float32, rg, 64)
					if arena != nil {
						arena.Add(x)
					}
					return o.Energy(m, x, &sm.Options{Rand: rg, Arena: arena})
				}
				if _, err := nn.Train(r.cfg); err != nil {
					t.Fatal(err)
				}
				return trainParamBits(m.(nn.Module))
			}
			if a, b := run(false), run(true); !reflect.DeepEqual(a, b) {
				t.Errorf("%s %s: parameters differ with the arena and a released graph", name, obj)
			}
		}
	}
}
