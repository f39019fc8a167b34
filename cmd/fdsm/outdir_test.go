package main

import (
	"github.com/fdsm/fdsm/internal/rundir"
	"os"
	"path/filepath"
	"testing"
)

// TestScratchOutDir checks that fdsm demo and fdsm experiment write under
// ./fdsm-out/NAME when -out is not given, and refuse a directory that holds
// files (exit 1, naming it and -force), leaving the files alone, unless
// -force. The refusal comes before any training, so the refused runs are
// quick even at default sizes.
func TestScratchOutDir(t *testing.T) {
	dir := t.TempDir()
	fakeMNIST(t, dir)
	// A file of the user's in each default directory and in an explicit -out.
	mine := []byte("the user's file\n")
	for _, d := range []string{"demo", "toys", "ood", "nice"} {
		os.MkdirAll(filepath.Join(dir, rundir.ScratchRoot, d), 0o777)
		os.WriteFile(filepath.Join(dir, rundir.ScratchRoot, d, "mine.txt"), mine, 0o666)
	}
	os.MkdirAll(filepath.Join(dir, "figs"), 0o777)
	os.WriteFile(filepath.Join(dir, "figs", "mine.txt"), mine, 0o666)

	for _, c := range []struct {
		out  string // the directory refused
		args []string
	}{
		{filepath.Join(rundir.ScratchRoot, "demo"), []string{"demo", "-quick", "-steps", "2", "-width", "4", "-highdim=false"}},
		{filepath.Join(rundir.ScratchRoot, "toys"), []string{"experiment", "toys", "-steps", "1", "-width", "4", "-panel", "8", "-grid", "20"}},
		{filepath.Join(rundir.ScratchRoot, "ood"), []string{"experiment", "ood", "-mnist", "mnist", "-steps", "1", "-width", "8", "-batch", "8", "-rows", "10"}},
		{filepath.Join(rundir.ScratchRoot, "nice"), []string{"experiment", "nice", "-mnist", "mnist", "-steps", "1", "-width", "8", "-depth", "1", "-couplings", "2"}},
		{"figs", []string{"experiment", "toys", "-steps", "1", "-width", "4", "-panel", "8", "-grid", "20", "-out", "figs"}},
	} {
		fails(t, dir, []string{c.out, "holds files", "-force"}, c.args...)
		if b, err := os.ReadFile(filepath.Join(dir, c.out, "mine.txt")); err != nil || string(b) != string(mine) {
			t.Errorf("%s/mine.txt after the refusal: %q, %v", c.out, b, err)
		}
	}

	// -force writes into the directory, keeping the files of other names.
	ok(t, dir, "experiment", "toys", "-toys", "8gaussians", "-objectives", "ssm", "-steps", "1", "-width", "4", "-panel", "8", "-grid", "20", "-force")
	for _, f := range []string{"density-8gaussians.png", "mine.txt"} {
		if _, err := os.Stat(filepath.Join(dir, rundir.ScratchRoot, "toys", f)); err != nil {
			t.Errorf("after -force: %v", err)
		}
	}

	// An empty default directory is created and written into.
	os.RemoveAll(filepath.Join(dir, rundir.ScratchRoot, "demo"))
	ok(t, dir, "demo", "-quick", "-steps", "2", "-width", "4", "-highdim=false")
	if _, err := os.Stat(filepath.Join(dir, rundir.ScratchRoot, "demo", "density-true.png")); err != nil {
		t.Errorf("demo without -out: %v", err)
	}
}
