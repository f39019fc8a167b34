package nn_test

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// An update that makes the parameters non-finite or explodes their norm stops
// training with an error naming the step (from 1), and the checkpoint on disk
// stays that of the last good step, finite, even when one is due every step.
func TestTrainStopsOnBadUpdate(t *testing.T) {
	const k = 5 // step index 5, step 6 in messages, gets the bad learning rate
	cases := []struct {
		name    string
		lr      float64 // the learning rate of step k
		maxNorm float64
		want    string
	}{
		// Adam moves each weight by about lr at its first steps (m̂/√v̂ ≈ ±1),
		// so the largest float64 overflows float32 and 1e30 (the issue's
		// figure for Adam and RMSProp) stays finite but explodes the norm.
		{"non-finite", math.MaxFloat64, 0, `the update made parameter "layers.0.weight" NaN or infinite`},
		{"exploded", 1e30, 0, "past the bound"},
		{"explicit bound", 10, 20, "past the bound 20"}, // 10·√(321 weights) ≫ 20,
	}
	for _, c := range cases {
		r := newTrainRun(tensor.Float32, 3, 20)
		dir := t.TempDir()
		r.cfg.CheckpointDir, r.cfg.CheckpointEvery = dir, 1
		r.cfg.MaxParamNorm = c.maxNorm
		r.cfg.Schedule = func(step, total int) float64 {
			if step == k {
				return c.lr
			}
			return 1e-3
		}
		snaps := map[int]map[string][]uint64{}
		r.cfg.EvalEvery = 1
		r.cfg.Eval = func(s nn.StepInfo) error { snaps[s.Step+1] = trainParamBits(r.model); return nil }

		res, err := nn.Train(r.cfg)
		if err == nil || !strings.Contains(err.Error(), "step 6:") || !strings.Contains(err.Error(), c.want) ||
			!strings.Contains(err.Error(), "is of step 5") {
			t.Fatalf("%s: error %v, want one naming step 6, containing %q and naming the checkpoint of step 5", c.name, err, c.want)
		}
		if res.Steps != k || res.Checkpoint == "" {
			t.Errorf("%s: %d steps completed, checkpoint %q; want %d and one", c.name, res.Steps, res.Checkpoint, k)
		}
		m := nn.NewMLP(tensor.Float32, []int{2, 16, 16, 1}, nn.Softplus, rand.New(rand.NewPCG(9, 9)))
		meta, err := nn.LoadCheckpoint(filepath.Join(dir, nn.CheckpointName), m.Params(), nn.NewAdamW(0.01))
		if err != nil {
			t.Fatalf("%s: the last checkpoint does not load: %v", c.name, err)
		}
		if meta.Step != k || !reflect.DeepEqual(trainParamBits(m), snaps[k]) {
			t.Errorf("%s: checkpoint at step %d, want the one after %d steps", c.name, meta.Step, k)
		}
		for _, p := range m.Params() {
			if p.Value.T().HasNaNOrInf() {
				t.Errorf("%s: checkpoint parameter %q is not finite", c.name, p.Name)
			}
		}
	}

	// A negative bound turns the norm check off: the exploded run goes on
	// past the step (until its loss is NaN).
	r := newTrainRun(tensor.Float32, 3, 8)
	r.cfg.MaxParamNorm = -1
	r.cfg.Schedule = func(step, total int) float64 {
		if step == k {
			return 1e30
		}
		return 1e-3
	}
	if res, err := nn.Train(r.cfg); res.Steps <= k {
		t.Errorf("MaxParamNorm −1: %d steps, error %v; want more than %d", res.Steps, err, k)
	}
}

// The default bound leaves an ordinary run alone: the test run's norm grows
// by far less than DefaultParamNormGrowth.
func TestTrainDefaultBoundIsLoose(t *testing.T) {
	r := newTrainRun(tensor.Float32, 3, 200)
	norm := func() float64 {
		var ts []*tensor.Tensor
		for _, p := range r.model.Params() {
			ts = append(ts, p.Value.T())
		}
		return nn.GradNorm(ts)
	}
	n0 := norm()
	r.cfg.Schedule = nn.Constant(1e-2)
	if _, err := nn.Train(r.cfg); err != nil {
		t.Fatal(err)
	}
	// 10: two orders of magnitude under the default's 1e6, far from mattering.
	if g := norm() / n0; !(g < 10) {
		t.Errorf("the parameters' norm grew %.3g times in an ordinary run", g)
	}
}

// SaveCheckpoint refuses a non-finite parameter, naming it, and leaves the
// file that was there.
func TestSaveCheckpointRefusesNonFinite(t *testing.T) {
	m := nn.NewMLP(tensor.Float32, []int{2, 4, 1}, nn.Softplus, rand.New(rand.NewPCG(1, 1)))
	path := filepath.Join(t.TempDir(), nn.CheckpointName)
	if err := nn.SaveCheckpoint(path, m.Params(), nil, nn.Metadata{}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	for _, bad := range []float64{math.NaN(), math.Inf(-1)} {
		m.Layers[1].W.T().Set(2, bad)
		err := nn.SaveCheckpoint(path, m.Params(), nil, nn.Metadata{})
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `"layers.1.weight"`) {
			t.Errorf("%v: error %v, want one naming %s and the parameter", bad, err, path)
		}
		if after, _ := os.ReadFile(path); !reflect.DeepEqual(before, after) {
			t.Errorf("%v: the checkpoint on disk changed", bad)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("%d files in the directory, want 1 (no temporary file)", len(entries))
	}
}
