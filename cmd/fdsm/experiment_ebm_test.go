package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ebmArgs is experiment ebm at toy scale on the fake MNIST: a few steps of a
// narrow MLP, few samples and a short walk.
var ebmArgs = []string{"experiment", "ebm", "-mnist", "mnist", "-minutes", "0", "-steps", "40", "-width", "16", "-batch", "16",
	"-n", "30", "-walk-steps", "5", "-sm-rows", "4", "-curve-rows", "4", "-points", "4", "-out", "out"}

// ebmRow is a row of experiment ebm's JSON.
type ebmRow struct {
	Objective     string    `json:"objective"`
	Steps         int       `json:"steps"`
	FID           float64   `json:"fid"`
	ConfidentFrac float64   `json:"confident_frac"`
	MinClassFrac  float64   `json:"min_class_frac"`
	N             int       `json:"n"`
	Checkpoint    string    `json:"checkpoint"`
	CurveSM       []float64 `json:"curve_exact_sm"`
}

func ebmJSON(t *testing.T, r result) []ebmRow {
	t.Helper()
	var res struct {
		Rows []ebmRow `json:"rows"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("-json: %v\n%v", err, r)
	}
	return res.Rows
}

// The contract of the checkpoints: fdsm sample with no flag but -ckpt, -n
// and -out, then fdsm quality, gives the table's figures (here to the bit:
// the same seed, so the same samples).
func TestExperimentEBMCheckpointReproduces(t *testing.T) {
	dir := t.TempDir()
	fakeMNIST(t, dir)
	rows := ebmJSON(t, ok(t, dir, append(ebmArgs, "-objectives", "dsm,fd-dsm", "-json")...))
	if len(rows) != 2 || rows[0].Objective != "dsm" || rows[1].Objective != "fd-dsm" {
		t.Fatalf("want rows dsm, fd-dsm: %+v", rows)
	}
	for _, row := range rows {
		if row.Steps != 40 || row.N != 30 {
			t.Errorf("%s: %d steps, n = %d; want 40 and 30", row.Objective, row.Steps, row.N)
		}
		for _, f := range []string{row.Checkpoint, filepath.Join("out", "samples-"+row.Objective+".png")} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("%s: %v", row.Objective, err)
			}
		}
		s := ok(t, dir, "sample", "-ckpt", row.Checkpoint, "-n", "30", "-out", "s.npy")
		if !strings.Contains(s.stdout, "walk-jump: 5 Langevin steps") || !strings.Contains(s.stdout, "settings from the checkpoint") {
			t.Errorf("%s: fdsm sample did not use the recorded walk-jump settings:\n%v", row.Objective, s)
		}
		var q ebmRow
		if err := json.Unmarshal([]byte(ok(t, dir, "quality", "-in", "s.npy", "-json").stdout), &q); err != nil {
			t.Fatal(err)
		}
		if q.N != row.N || q.FID != row.FID || q.ConfidentFrac != row.ConfidentFrac || q.MinClassFrac != row.MinClassFrac {
			t.Errorf("%s: fdsm sample + quality gave %+v, the experiment %+v", row.Objective, q, row)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "out", "learning-curve.svg")); err != nil || st.Size() == 0 {
		t.Errorf("no learning curve: %v", err)
	}
	// The table: one row per objective, every column filled.
	r := ok(t, dir, append(ebmArgs, "-objectives", "mdsm", "-force")...)
	checkRows(t, r, []string{"MDSM"}, 8)
	if !strings.Contains(r.stdout, "MDSM sampled by Langevin, 2700 steps") {
		t.Errorf("MDSM is not sampled by the MDSM reference sampler:\n%v", r)
	}
}

// Training does something: on the fake images, DSM's exact SM loss on
// test images falls below that of the initialisation. (FD-DSM's does not
// reliably at this size: its single projection per sample leaves a
// gradient d times noisier, and 40 steps do not average it out.)
func TestExperimentEBMLossFalls(t *testing.T) {
	dir := t.TempDir()
	fakeMNIST(t, dir)
	rows := ebmJSON(t, ok(t, dir, append(ebmArgs, "-objectives", "dsm", "-n", "2", "-json")...))
	for _, row := range rows {
		c := row.CurveSM
		if len(c) < 3 || math.IsNaN(c[0]) || !(c[len(c)-1] < c[0]) {
			t.Errorf("%s: exact SM loss along training %v: want at least 3 points, the last below the first", row.Objective, c)
		}
	}
}

func TestExperimentEBMFlags(t *testing.T) {
	dir := t.TempDir()
	usage(t, dir, "-objectives", "experiment", "ebm", "-objectives", "nice")
	usage(t, dir, "-n 1", "experiment", "ebm", "-n", "1")
	usage(t, dir, "-minutes", "experiment", "ebm", "-minutes", "-1")
	usage(t, dir, "-walk-temperature", "experiment", "ebm", "-walk-temperature", "hot")
	usage(t, dir, "-depth", "experiment", "ebm", "-depth", "0")
}
