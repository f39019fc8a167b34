package main

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/internal/quality"
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

// Training does something: on the fake images, the exact SM loss on test
// images falls below that of the initialisation, for an objective and its
// FD counterpart alike.
func TestExperimentEBMLossFalls(t *testing.T) {
	dir := t.TempDir()
	fakeMNIST(t, dir)
	rows := ebmJSON(t, ok(t, dir, append(ebmArgs, "-objectives", "dsm,fd-dsm", "-n", "2", "-json", "-parallel=false")...))
	for _, row := range rows {
		c := row.CurveSM
		if len(c) < 2 || math.IsNaN(c[0]) || !(c[len(c)-1] < c[0]) {
			t.Errorf("%s: exact SM loss along training %v: want the last below the first", row.Objective, c)
		}
	}
}

func TestExperimentEBMFlags(t *testing.T) {
	dir := t.TempDir()
	usage(t, dir, "-objectives", "experiment", "ebm", "-objectives", "nice")
	usage(t, dir, "-n 1", "experiment", "ebm", "-n", "1")
	usage(t, dir, "-minutes", "experiment", "ebm", "-minutes", "-1")
}

// realMNIST writes into dir/mnist a small MNIST of real digits: the first
// 500 test images that internal/quality keeps for its tests, 400 of them as
// the training set and the last 100 as the test set.
func realMNIST(t *testing.T, dir string) {
	t.Helper()
	read := func(name string, header int) []byte {
		f, err := os.Open(filepath.Join("..", "..", "internal", "quality", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(z)
		if err != nil || len(b) < header {
			t.Fatalf("%s: %v", name, err)
		}
		return b[header:]
	}
	img := read("t10k-images-first500-idx3-ubyte.gz", 16) // the IDX headers: 16 bytes for images, 8 for labels
	lbl := read("t10k-labels-first500-idx1-ubyte.gz", 8)
	const n, train = 500, 400
	if len(img) != n*784 || len(lbl) != n {
		t.Fatalf("testdata: %d pixels and %d labels, want %d images", len(img), len(lbl), n)
	}
	mn := filepath.Join(dir, "mnist")
	os.Mkdir(mn, 0o777)
	writeIDX(t, filepath.Join(mn, "train-images-idx3-ubyte"), []int{train, 28, 28}, img[:train*784])
	writeIDX(t, filepath.Join(mn, "train-labels-idx1-ubyte"), []int{train}, lbl[:train])
	writeIDX(t, filepath.Join(mn, "t10k-images-idx3-ubyte"), []int{n - train, 28, 28}, img[train*784:])
	writeIDX(t, filepath.Join(mn, "t10k-labels-idx1-ubyte"), []int{n - train}, lbl[train:])
}

// On real digits, a short DSM run's samples are closer to MNIST than
// uniform noise is, by the metric the table reports.
func TestExperimentEBMBeatsNoise(t *testing.T) {
	dir := t.TempDir()
	realMNIST(t, dir)
	const n = 100
	rows := ebmJSON(t, ok(t, dir, "experiment", "ebm", "-mnist", "mnist", "-minutes", "0", "-steps", "300", "-width", "64", "-batch", "32",
		"-n", strconv.Itoa(n), "-walk-steps", "100", "-sm-rows", "4", "-curve-rows", "4", "-points", "2", "-objectives", "dsm,fd-dsm", "-json"))
	c, err := quality.Default()
	if err != nil {
		t.Fatal(err)
	}
	noise := c.Measure(quality.UniformNoise(n, rand.New(rand.NewPCG(1, 1)))).FID
	for _, row := range rows {
		t.Logf("%s: FID-MNIST %.1f, uniform noise %.1f", row.Objective, row.FID, noise)
		if !(row.FID < noise/2) {
			t.Errorf("%s: FID-MNIST %.1f of the samples, want under half uniform noise's %.1f", row.Objective, row.FID, noise)
		}
	}
}
