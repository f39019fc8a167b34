package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fdsm/fdsm/tensor"
)

// TestRunTableSameStart checks the table's promise on a small configuration:
// every objective starts from the same initialisation and sees the same
// minibatches, and the figures are filled in.
func TestRunTableSameStart(t *testing.T) {
	cfg := Config{Name: "tiny", Sizes: []int{2, 8, 1}, Batch: 16}
	rng := rand.New(rand.NewPCG(1, 1))
	train := tensor.RandN(tensor.Float64, rng, 64, 2)
	test := tensor.RandN(tensor.Float64, rng, 32, 2)
	rows, err := RunTable(cfg, train, test, TableOptions{Objectives: []string{"ssm", "fd-ssm", "dsm"}, Steps: 3, DType: tensor.Float64})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	for _, r := range rows {
		if r.MsPerStep <= 0 || r.PeakBytes <= 0 || math.IsNaN(r.SMLoss) || r.EvalRows != 32 || r.Steps != 3 {
			t.Errorf("incomplete row %+v", r)
		}
	}
	// Zero steps of training would leave every SM loss equal; the same
	// initialisation is checked through NewStep directly.
	a, _ := NewStep(cfg, "ssm", tensor.Float64, 7)
	b, _ := NewStep(cfg, "fd-dsm", tensor.Float64, 7)
	pa, pb := a.Model().Params(), b.Model().Params()
	for i := range pa {
		x, y := pa[i].Value.T().ToFloat64(), pb[i].Value.T().ToFloat64()
		for j := range x {
			if x[j] != y[j] {
				t.Fatalf("%s differs between objectives at the same seed", pa[i].Name)
			}
		}
	}
	if _, err := RunTable(cfg, tensor.Zeros(tensor.Float64, 4, 3), test, TableOptions{}); err == nil {
		t.Error("data of the wrong width was accepted")
	}
}

// TestDefaultObjectives: exact SM is in a table by default only at d ≤ 2
// (at d = 784 a step costs 784 recorded backward passes), in RunTable's
// default list as in the configurations'.
func TestDefaultObjectives(t *testing.T) {
	for _, cfg := range append(Configs(), Config{Name: "d3", Sizes: []int{3, 8, 1}, Batch: 4}) {
		got := DefaultObjectives(cfg)
		if slices.Contains(got, "sm") != (cfg.Sizes[0] <= 2) || len(got) < len(TableObjectives())-1 {
			t.Errorf("%s (d = %d): default objectives %v", cfg.Name, cfg.Sizes[0], got)
		}
	}
	cfg := Config{Name: "d3", Sizes: []int{3, 8, 1}, Batch: 4}
	rng := rand.New(rand.NewPCG(1, 2))
	rows, err := RunTable(cfg, tensor.RandN(tensor.Float64, rng, 16, 3), tensor.RandN(tensor.Float64, rng, 8, 3), TableOptions{Steps: 1, DType: tensor.Float64})
	if err != nil {
		t.Fatal(err)
	}
	var objs []string
	for _, r := range rows {
		objs = append(objs, r.Objective)
	}
	if !slices.Equal(objs, DefaultObjectives(cfg)) || slices.Contains(objs, "sm") {
		t.Errorf("RunTable at d = 3 ran %v, want %v", objs, DefaultObjectives(cfg))
	}
}
