package experiment

import (
	"io"
	"strings"
	"testing"
)

// TestUnknownToy checks that a config naming a toy without a known density
// is an error naming it, not a panic: the configs are a Go API, and only
// cmd/fdsm validates its flags before building one.
func TestUnknownToy(t *testing.T) {
	dir := t.TempDir()
	err := Toys(ToysConfig{Toys: []string{"moons"}, Objectives: []string{"ssm"}, Steps: 1, Width: 2, Batch: 2, LR: 1e-2,
		Sigma: 0.1, Panel: 8, Grid: 4, Out: dir}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `"moons"`) {
		t.Errorf("Toys with toy moons (no known density): error %v, want one naming it", err)
	}
	err = Demo(DemoConfig{Toy: "nowhere", Steps: 1, Width: 2, Batch: 2, LR: 1e-2, Sigma: 0.1, Out: dir}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `"nowhere"`) {
		t.Errorf("Demo with toy nowhere: error %v, want one naming it", err)
	}
}
