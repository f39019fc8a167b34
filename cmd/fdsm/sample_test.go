package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// sameFile reports whether two files in dir hold the same bytes.
func sameFile(t *testing.T, dir, a, b string) bool {
	t.Helper()
	x, err1 := os.ReadFile(filepath.Join(dir, a))
	y, err2 := os.ReadFile(filepath.Join(dir, b))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return bytes.Equal(x, y)
}

// TestSampleUsesRecordedSettings: train records the sampler that suits its
// objective, and sample with no sampler flag draws exactly what the same
// settings given as flags draw; flags given override single settings, and
// -sampler the whole record.
func TestSampleUsesRecordedSettings(t *testing.T) {
	dir := t.TempDir()
	run := trainToy(t, dir, "dsm", "-objective", "dsm", "-sigma", "0.2")
	ck, err := nn.ReadCheckpoint(filepath.Join(run, nn.CheckpointName))
	if err != nil {
		t.Fatal(err)
	}
	// DSM at σ = 0.2: walk-jump, 1000 steps of 0.5·σ² = 0.02.
	for k, want := range map[string]string{"sampler": "walk-jump", "steps": "1000", "step-size": "0.02", "sigma": "0.2"} {
		if got := ck.Meta.Extra[sm.MetaSamplePrefix+k]; got != want {
			t.Errorf("recorded %s = %q, want %q", k, got, want)
		}
	}
	r := ok(t, dir, "sample", "-ckpt", "dsm", "-n", "40", "-out", "rec.npy")
	if !strings.Contains(r.stdout, "walk-jump") || !strings.Contains(r.stdout, "from the checkpoint") {
		t.Errorf("sample does not say it used the recorded walk-jump:\n%v", r)
	}
	ok(t, dir, "sample", "-ckpt", "dsm", "-n", "40", "-sampler", "walk-jump", "-steps", "1000", "-step-size", "0.02", "-sigma", "0.2", "-out", "flags.npy")
	if !sameFile(t, dir, "rec.npy", "flags.npy") {
		t.Error("sample with the recorded settings differs from sample with them as flags")
	}
	ok(t, dir, "sample", "-ckpt", "dsm", "-n", "40", "-steps", "1000", "-step-size", "0.02", "-out", "plain.npy", "-sampler", "langevin")
	if sameFile(t, dir, "rec.npy", "plain.npy") {
		t.Error("the recorded walk-jump draws what plain Langevin draws: the jump is not made")
	}
	// One flag given: the rest from the record.
	ok(t, dir, "sample", "-ckpt", "dsm", "-n", "40", "-steps", "7", "-out", "some.npy")
	ok(t, dir, "sample", "-ckpt", "dsm", "-n", "40", "-steps", "7", "-sampler", "walk-jump", "-step-size", "0.02", "-out", "some2.npy")
	if !sameFile(t, dir, "some.npy", "some2.npy") {
		t.Error("-steps given: the other recorded settings (and the model's σ) were not used")
	}

	// MDSM: the reference sampler, tempered, then the denoising step at σ₀.
	trainToy(t, dir, "mdsm", "-objective", "mdsm")
	r = ok(t, dir, "sample", "-ckpt", "mdsm", "-n", "20", "-out", "m.npy")
	if !strings.Contains(r.stdout, "MDSM schedule") || !strings.Contains(r.stdout, "σ = 0.1") {
		t.Errorf("sample does not name the MDSM schedule and σ₀:\n%v", r)
	}
	ok(t, dir, "sample", "-ckpt", "mdsm", "-n", "20", "-sampler", "langevin", "-steps", "2700", "-step-size", "0.0004", "-temperature", "mdsm", "-denoise", "-sigma", "0.1", "-out", "m2.npy")
	ok(t, dir, "sample", "-ckpt", "mdsm", "-n", "20", "-sampler", "langevin", "-steps", "2700", "-step-size", "0.0004", "-temperature", "mdsm", "-out", "m3.npy")
	if !sameFile(t, dir, "m.npy", "m2.npy") {
		t.Error("MDSM: sample with the recorded settings differs from sample with them as flags")
	}
	if sameFile(t, dir, "m.npy", "m3.npy") {
		t.Error("MDSM: -denoise changes nothing")
	}

	// A checkpoint without a noise level needs -sigma for the jump.
	trainToy(t, dir, "ssm")
	usage(t, dir, "needs -sigma", "sample", "-ckpt", "ssm", "-n", "3", "-steps", "2", "-denoise")
	ok(t, dir, "sample", "-ckpt", "ssm", "-n", "3", "-steps", "2", "-sampler", "walk-jump", "-sigma", "0.1")
	usage(t, dir, "-temperature is for", "sample", "-ckpt", "ssm", "-sampler", "annealed", "-temperature", "mdsm")
	usage(t, dir, "-temperature \"hot\"", "sample", "-ckpt", "ssm", "-temperature", "hot")

	// A bad recorded setting names the checkpoint and the key.
	bad := filepath.Join(dir, "bad.safetensors")
	copyFile(t, filepath.Join(run, nn.CheckpointName), bad)
	editCheckpoint(t, bad, func(_ map[string]*tensor.Tensor, md map[string]string) { md["extra.sample.temperature"] = "hot" })
	fails(t, dir, []string{"bad.safetensors", `"extra.sample.temperature"`, "hot"}, "sample", "-ckpt", bad, "-n", "2")
}

// TestSampleGOMAXPROCS: walk-jump and the tempered sampler give the same bits
// with GOMAXPROCS 1 and 2.
func TestSampleGOMAXPROCS(t *testing.T) {
	dir := t.TempDir()
	trainToy(t, dir, "run", "-objective", "dsm", "-width", "64")
	for _, procs := range []string{"1", "2"} {
		for _, s := range [][]string{{"-sampler", "walk-jump"}, {"-temperature", "mdsm", "-denoise", "-sigma", "0.1"}} {
			args := append([]string{"sample", "-ckpt", "run", "-n", "300", "-steps", "20", "-out", s[1] + procs + ".npy"}, s...)
			cmd := exec.Command(fdsmBin, args...)
			cmd.Dir, cmd.Env = dir, append(os.Environ(), "GOMAXPROCS="+procs)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("GOMAXPROCS=%s: %v\n%s", procs, err, out)
			}
		}
	}
	for _, s := range []string{"walk-jump", "mdsm"} {
		if !sameFile(t, dir, s+"1.npy", s+"2.npy") {
			t.Errorf("%s: GOMAXPROCS 1 and 2 give different samples", s)
		}
	}
}
