package main

import (
	"encoding/json"
	"github.com/fdsm/fdsm/bench/experiment"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/bench"
)

// helpArgs lists a -h command line for every command and experiment
// (taken from the registries, so that a new one is covered).
func helpArgs() [][]string {
	var all [][]string
	for n := range commands {
		all = append(all, []string{n, "-h"})
	}
	for n := range experiments {
		all = append(all, []string{"experiment", n, "-h"})
	}
	sort.Slice(all, func(i, j int) bool { return strings.Join(all[i], " ") < strings.Join(all[j], " ") })
	return all
}

// TestHelpOnStdout: help that is asked for goes to standard output, with
// exit status 0 and nothing on standard error, so that `fdsm train -h |
// less` works.
func TestHelpOnStdout(t *testing.T) {
	dir := t.TempDir()
	cases := append([][]string{{"help"}, {"-h"}, {"--help"}, {"help", "train"}, {"experiment", "-h"}}, helpArgs()...)
	for _, args := range cases {
		r := fdsm(t, dir, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage: fdsm") || r.stderr != "" {
			t.Errorf("want exit 0 and the usage on stdout only:\n%v", r)
		}
	}
	if r := fdsm(t, dir, "help", "train"); !strings.Contains(r.stdout, "Usage: fdsm train") {
		t.Errorf("fdsm help train does not show train's usage:\n%v", r)
	}
}

// TestUsageErrorIsShort: a mistake on the command line prints the mistake
// and a pointer to -h (two lines on stderr, nothing on stdout), exit 2,
// instead of the whole usage.
func TestUsageErrorIsShort(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		hint string
		args []string
	}{
		{"fdsm", []string{"trian"}},
		{"fdsm train", []string{"train", "-bogus"}},
		{"fdsm train", []string{"train", "-steps", "many"}},
		{"fdsm bench", []string{"bench", "-bogus"}},
		{"fdsm data", []string{"data", "-bogus", "mnist"}},
		{"fdsm experiment", []string{"experiment"}},
		{"fdsm experiment", []string{"experiment", "frobnicate"}},
		{"fdsm experiment uci", []string{"experiment", "uci", "-bogus"}},
		{"fdsm version", []string{"version", "extra"}},
	} {
		r := fdsm(t, dir, c.args...)
		lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
		if r.code != 2 || r.stdout != "" || len(lines) != 2 || lines[1] != "Run '"+c.hint+" -h' for usage." {
			t.Errorf("want exit 2, two lines on stderr ending in \"Run '%s -h' for usage.\":\n%v", c.hint, r)
		}
	}
}

// TestVersion: fdsm version names the module (as go.mod spells it) and the
// Go toolchain that built it (the one running this test, which built the
// binary in TestMain).
func TestVersion(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(mod), "\n")
	path, found := strings.CutPrefix(first, "module ")
	if !found {
		t.Fatalf("go.mod does not start with a module line: %q", first)
	}
	r := ok(t, t.TempDir(), "version")
	if !strings.HasPrefix(r.stdout, "fdsm "+path+" ") || !strings.Contains(r.stdout, runtime.Version()) {
		t.Errorf("want the module path %s and %s:\n%v", path, runtime.Version(), r)
	}
	if r2 := ok(t, t.TempDir(), "--version"); r2.stdout != r.stdout {
		t.Errorf("fdsm --version differs from fdsm version:\n%v\n%v", r2, r)
	}
}

// TestVersionText: the VCS stamp the go command records when it builds
// inside a clone (this test's build may have none: -buildvcs=false, or a
// git worktree) is printed on its own line.
func TestVersionText(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Path: "example.com/m", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}}}
	want := "fdsm example.com/m v1.2.3\nrevision abc123 2026-01-02T03:04:05Z (modified)\ngo1.99 " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if got := versionText(bi); got != want {
		t.Errorf("versionText:\n%s\nwant:\n%s", got, want)
	}
	bi.Settings = nil
	if got := versionText(bi); strings.Contains(got, "revision") {
		t.Errorf("versionText without VCS settings names a revision:\n%s", got)
	}
}

// TestFlagHelpOneDefault: no flag's help states a default of its own and
// then gets the flag package's "(default X)" too, as "-depth … resnet:
// residual blocks, default 3) (default 2)" did.
func TestFlagHelpOneDefault(t *testing.T) {
	dir := t.TempDir()
	for _, args := range helpArgs() {
		r := ok(t, dir, args...)
		if !strings.Contains(r.stdout, "Usage: fdsm") {
			t.Fatalf("no usage on stdout:\n%v", r)
		}
		for _, line := range strings.Split(r.stdout, "\n") {
			if i := strings.LastIndex(line, "(default "); i >= 0 && strings.Contains(strings.ToLower(line[:i]), "default") {
				t.Errorf("fdsm %s: two defaults in %q", strings.Join(args, " "), strings.TrimSpace(line))
			}
		}
	}
}

// TestUCIMissing: without the UCI tables, experiment uci says where to
// download them and which flag points at them.
func TestUCIMissing(t *testing.T) {
	fails(t, t.TempDir(), []string{"nowhere", "winequality-red.csv", experiment.UCISource, "-dir"}, "experiment", "uci", "-data", "red", "-dir", "nowhere")
}

// benchRows runs fdsm bench -json in dir and returns the objectives of its
// rows, in order.
func benchRows(t *testing.T, dir string, args ...string) []string {
	t.Helper()
	r := ok(t, dir, append([]string{"bench", "-steps", "1", "-json"}, args...)...)
	var objs []string
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	for dec.More() {
		var row bench.Row
		if err := dec.Decode(&row); err != nil {
			t.Fatalf("%v:\n%v", err, r)
		}
		objs = append(objs, row.Objective)
	}
	return objs
}

// TestBenchDefaultRows: fdsm bench leaves out exact SM at d = 784 (a fake
// MNIST of 60 images stands in for the real one) and keeps it at d = 2,
// as go test -bench does; -objectives all puts it back.
func TestBenchDefaultRows(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 7 objectives of a 784-512-512-1 MLP (about 6 s)")
	}
	dir := t.TempDir()
	fakeMNIST(t, dir)
	withoutSM := slices.DeleteFunc(bench.TableObjectives(), func(o string) bool { return o == "sm" })
	if got := benchRows(t, dir, "-config", "mnist-mlp", "-mnist", "mnist", "-eval-rows", "2"); !slices.Equal(got, withoutSM) {
		t.Errorf("bench -config mnist-mlp: rows %v, want %v", got, withoutSM)
	}
	if got := benchRows(t, dir, "-config", "toy", "-eval-rows", "4"); !slices.Equal(got, bench.TableObjectives()) {
		t.Errorf("bench -config toy: rows %v, want %v", got, bench.TableObjectives())
	}
	// Exact SM at d = 784 costs seconds a step: the list -objectives all
	// gives, not a run, is checked there.
	for _, cfg := range bench.Configs() {
		if got := benchObjectives(cfg, "all"); !slices.Equal(got, bench.TableObjectives()) {
			t.Errorf("-objectives all on %s: %v, want %v", cfg.Name, got, bench.TableObjectives())
		}
	}
}

// TestSampleSaysWhatItWrote: sample -out prints one line naming the file,
// the count and the sampler; without -out stdout is the CSV alone.
func TestSampleSaysWhatItWrote(t *testing.T) {
	dir := t.TempDir()
	trainToy(t, dir, "run")
	r := ok(t, dir, "sample", "-ckpt", "run", "-n", "10", "-steps", "3", "-out", "s.npy")
	if lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n"); len(lines) != 1 ||
		!strings.Contains(lines[0], "wrote 10 samples") || !strings.Contains(lines[0], "s.npy") || !strings.Contains(lines[0], "Langevin") {
		t.Errorf("want one line naming the 10 samples, s.npy and the sampler:\n%v", r)
	}
	if r := ok(t, dir, "sample", "-ckpt", "run", "-n", "2", "-steps", "3"); !strings.HasPrefix(r.stdout, "x0,x1\n") || strings.Contains(r.stdout, "wrote") {
		t.Errorf("without -out, want the CSV alone on stdout:\n%v", r)
	}
}

// TestResNetNeedsImages: -model resnet on 2-D data names the model and the
// data's columns, not a -d flag that train does not have.
func TestResNetNeedsImages(t *testing.T) {
	dir := t.TempDir()
	fails(t, dir, []string{"-model resnet", "2 columns"}, "train", "-data", "toy:8gaussians", "-model", "resnet")
	if r := fdsm(t, dir, "train", "-data", "toy:8gaussians", "-model", "resnet"); strings.Contains(r.stderr, "-d ") {
		t.Errorf("the message names -d:\n%v", r)
	}
}

// TestEvalProgressCountsRows: eval's progress (shown at d ≥ 256) counts
// rows and says so.
func TestEvalProgressCountsRows(t *testing.T) {
	dir := t.TempDir()
	fakeMNIST(t, dir)
	ok(t, dir, "train", "-data", "mnist:mnist", "-width", "8", "-steps", "2", "-batch", "4", "-out", "mlp")
	r := ok(t, dir, "eval", "-ckpt", "mlp", "-rows", "5", "-batch", "5", "-is-samples", "100")
	if !strings.Contains(r.stderr, "row 5/5") || strings.Contains(r.stderr, "step ") {
		t.Errorf("want the progress in rows (row 5/5), no steps:\n%v", r)
	}
}
