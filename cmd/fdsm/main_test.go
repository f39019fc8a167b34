package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/fdsm/fdsm/bench/experiment"
	"github.com/fdsm/fdsm/internal/evalrun"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// The tests drive the built binary, as a user would: exit status, standard
// output and standard error.

var fdsmBin string // the fdsm binary built by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fdsm-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fdsmBin = filepath.Join(dir, "fdsm")
	if out, err := exec.Command("go", "build", "-o", fdsmBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	// A missing MNIST is fetched through the Go module proxy: no test may
	// reach the network or the machine's module cache, so the go command the
	// binary runs sees no proxy and an empty cache (TestMNISTFetchedWhenMissing
	// sets its own).
	os.Setenv("GOPROXY", "off")
	os.Setenv("GOMODCACHE", filepath.Join(dir, "modcache"))
	os.Setenv("GOFLAGS", "-modcacherw")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one run of the binary.
type result struct {
	args           []string
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("fdsm %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// fdsm runs the binary in dir with args.
func fdsm(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(fdsmBin, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("fdsm %v: %v", args, err)
	}
	if strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine ") {
		t.Errorf("a Go panic reached the user:\n%v", r)
	}
	return r
}

// ok runs the binary and fails the test unless it exits 0.
func ok(t *testing.T, dir string, args ...string) result {
	t.Helper()
	r := fdsm(t, dir, args...)
	if r.code != 0 {
		t.Fatalf("want exit 0:\n%v", r)
	}
	return r
}

// usage runs the binary and checks that it exits 2 having printed the usage
// (a flag error) or pointed at it (a bad value), and mentions want.
func usage(t *testing.T, dir, want string, args ...string) {
	t.Helper()
	r := fdsm(t, dir, args...)
	if r.code != 2 {
		t.Errorf("want exit 2:\n%v", r)
		return
	}
	if !strings.Contains(r.stderr, "Usage: fdsm") && !strings.Contains(r.stderr, "for usage") {
		t.Errorf("no usage text:\n%v", r)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr does not mention %q:\n%v", want, r)
	}
}

// fails runs the binary and checks that it exits 1 with one line on
// standard error that mentions every string of want (the file and the
// problem).
func fails(t *testing.T, dir string, want []string, args ...string) {
	t.Helper()
	r := fdsm(t, dir, args...)
	if r.code != 1 {
		t.Errorf("want exit 1:\n%v", r)
		return
	}
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "fdsm ") {
		t.Errorf("the error line does not start with \"fdsm \":\n%v", r)
	}
	if len(lines) != 1 {
		t.Errorf("want one line on stderr:\n%v", r)
	}
	for _, w := range want {
		if !strings.Contains(last, w) {
			t.Errorf("the error line does not mention %q:\n%v", w, r)
		}
	}
}

var subcommands = []string{"demo", "train", "sample", "eval", "energy", "data", "loss", "quality"}

func TestHelpAndUsage(t *testing.T) {
	dir := t.TempDir()
	r := fdsm(t, dir)
	if r.code != 2 || !strings.Contains(r.stderr, "Commands:") {
		t.Errorf("no arguments: want exit 2 and the command list:\n%v", r)
	}
	r = ok(t, dir, "help")
	for _, c := range subcommands {
		if !strings.Contains(r.stdout, "  "+c+" ") {
			t.Errorf("fdsm help does not list %s:\n%v", c, r)
		}
	}
	usage(t, dir, `unknown command "frobnicate"`, "frobnicate")
	for _, c := range subcommands {
		r := ok(t, dir, c, "-h")
		if !strings.Contains(r.stdout, "Usage: fdsm "+c) {
			t.Errorf("%s -h: no usage line:\n%v", c, r)
		}
		// Every flag is explained.
		for _, line := range strings.Split(r.stdout, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "-") && strings.HasPrefix(line, "  -") && !strings.Contains(r.stdout, line+"\n    \t") {
				t.Errorf("%s -h: flag without an explanation: %q", c, line)
			}
		}
		usage(t, dir, "flag provided but not defined: -bogus", c, "-bogus")
	}
	if r := ok(t, dir, "demo", "-h"); strings.Contains(r.stdout, "-quick") {
		t.Errorf("demo -h shows the hidden -quick flag")
	}
}

func TestBadValues(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		want string
		args []string
	}{
		{"-data is required", []string{"train"}},
		{`-data "bogus"`, []string{"train", "-data", "bogus"}},
		{`unknown toy distribution "nope"`, []string{"train", "-data", "toy:nope"}},
		{`-objective "nope"`, []string{"train", "-data", "toy:moons", "-objective", "nope"}},
		{`-model "nope"`, []string{"train", "-data", "toy:moons", "-model", "nope"}},
		{`-act`, []string{"train", "-data", "toy:moons", "-act", "relu"}},
		{`-optim "nope"`, []string{"train", "-data", "toy:moons", "-optim", "nope"}},
		{`-schedule "nope"`, []string{"train", "-data", "toy:moons", "-schedule", "nope"}},
		{`-dtype "float16"`, []string{"train", "-data", "toy:moons", "-dtype", "float16"}},
		{`-steps 0`, []string{"train", "-data", "toy:moons", "-steps", "0"}},
		{`-width 0`, []string{"train", "-data", "toy:moons", "-width", "0"}},
		{`-log "xml"`, []string{"train", "-data", "toy:moons", "-log", "xml"}},
		{`-resume needs -out`, []string{"train", "-data", "toy:moons", "-resume"}},
		{`invalid value "many"`, []string{"train", "-steps", "many"}},
		{`-transform standardize needs a table`, []string{"train", "-data", "toy:moons", "-transform", "standardize"}},
		{`needs a score network (-model score-mlp)`, []string{"train", "-data", "toy:moons", "-objective", "fd-ssm-vr"}},
		{`needs an energy model`, []string{"train", "-data", "toy:moons", "-model", "score-mlp", "-objective", "fd-ssm"}},
		{`needs an energy model`, []string{"train", "-data", "toy:moons", "-model", "score-mlp", "-objective", "dsm"}},
		{`-fit-batch is for -model dkef`, []string{"train", "-data", "toy:moons", "-fit-batch", "3"}},
		{`-ckpt or -model is required`, []string{"sample"}},
		{`-sigmas`, []string{"sample", "-ckpt", "x", "-annealed", "-sigmas", "1,2"}},
		{`-out x.gif`, []string{"sample", "-ckpt", "x", "-out", "x.gif"}},
		{`-init "zero"`, []string{"sample", "-ckpt", "x", "-init", "zero"}},
		{`-ckpt or -model is required`, []string{"eval"}},
		{`-ood "toy:nope"`, []string{"eval", "-ckpt", "x", "-ood", "toy:nope"}},
		{`-in is required`, []string{"energy", "-ckpt", "x"}},
		{`-ckpt or -model is required`, []string{"energy", "-in", "x.npy"}},
		{`-in x.txt`, []string{"energy", "-ckpt", "x", "-in", "x.txt"}},
		{`which data set`, []string{"data"}},
		{`unknown data set "cifar"`, []string{"data", "cifar"}},
		{`unexpected arguments: extra`, []string{"data", "mnist", "extra"}},
		{`-toy "moons"`, []string{"demo", "-toy", "moons"}},
		{`-model and -x are required`, []string{"loss"}},
	} {
		usage(t, dir, c.want, c.args...)
	}
}

// trainToy trains a tiny model on a toy into dir/name and returns the
// directory.
func trainToy(t *testing.T, dir, name string, extra ...string) string {
	t.Helper()
	args := append([]string{"train", "-data", "toy:8gaussians", "-width", "8", "-steps", "20", "-batch", "32", "-lr", "1e-2", "-out", name}, extra...)
	r := ok(t, dir, args...)
	if !strings.Contains(r.stdout, "checkpoint "+filepath.Join(name, nn.CheckpointName)) {
		t.Errorf("train does not name the checkpoint:\n%v", r)
	}
	return filepath.Join(dir, name)
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	run := trainToy(t, dir, "run", "-log", "jsonl", "-log-every", "5")
	for _, f := range []string{nn.CheckpointName, "metrics.jsonl"} {
		if _, err := os.Stat(filepath.Join(run, f)); err != nil {
			t.Fatal(err)
		}
	}
	log, _ := os.ReadFile(filepath.Join(run, "metrics.jsonl"))
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	if len(lines) != 4 {
		t.Errorf("metrics.jsonl: %d records, want 4 (every 5 of 20 steps)", len(lines))
	}
	var rec map[string]float64
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rec); err != nil || rec["step"] != 20 {
		t.Errorf("metrics.jsonl: last record %q: %v", lines[len(lines)-1], err)
	}

	// The checkpoint alone rebuilds the model.
	ck, err := nn.ReadCheckpoint(filepath.Join(run, nn.CheckpointName))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Meta.Model != "mlp d=2 width=8 depth=2 act=softplus" || ck.Meta.Objective != "fd-ssm" || ck.Meta.Step != 20 {
		t.Errorf("checkpoint metadata %+v", ck.Meta)
	}

	ok(t, dir, "sample", "-ckpt", "run", "-n", "50", "-steps", "20", "-out", "s.png")
	ok(t, dir, "sample", "-ckpt", "run/"+nn.CheckpointName, "-n", "50", "-steps", "20", "-annealed", "-sigmas", "1,0.1,4", "-out", "s.npy")
	ok(t, dir, "sample", "-ckpt", "run", "-n", "7", "-steps", "5", "-out", "s.csv")
	r := ok(t, dir, "sample", "-ckpt", "run", "-n", "3", "-steps", "5")
	if got := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(got) != 4 || got[0] != "x0,x1" {
		t.Errorf("sample CSV on stdout: %q", r.stdout)
	}
	s, err := tensor.LoadNpy(filepath.Join(dir, "s.npy"))
	if err != nil || s.Dim(0) != 50 || s.Dim(1) != 2 {
		t.Fatalf("s.npy: %v %v", s, err)
	}
	png, _ := os.ReadFile(filepath.Join(dir, "s.png"))
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("s.png is not a PNG")
	}

	// Energies of a CSV and of a .npy file.
	r = ok(t, dir, "energy", "-ckpt", "run", "-in", "s.csv")
	if got := strings.Fields(r.stdout); len(got) != 7 {
		t.Errorf("energy of 7 rows: %q", r.stdout)
	} else if _, err := strconv.ParseFloat(got[0], 64); err != nil {
		t.Errorf("energy: %v", err)
	}
	ok(t, dir, "energy", "-ckpt", "run", "-in", "s.npy", "-out", "e.npy")
	if e, err := tensor.LoadNpy(filepath.Join(dir, "e.npy")); err != nil || e.Len() != 50 {
		t.Errorf("e.npy: %v %v", e, err)
	}
	ok(t, dir, "energy", "-ckpt", "run", "-in", "s.npy", "-out", "e.txt")
	if b, _ := os.ReadFile(filepath.Join(dir, "e.txt")); len(strings.Fields(string(b))) != 50 {
		t.Errorf("e.txt: %q", b)
	}

	// Evaluation, with an OOD data set.
	r = ok(t, dir, "eval", "-ckpt", "run", "-rows", "200", "-grid", "50", "-ood", "toy:rings", "-json")
	var ev map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil {
		t.Fatalf("eval -json: %v\n%v", err, r)
	}
	for _, k := range []string{"exact_sm", "loglik", "true_loglik", "auroc"} {
		if v, ok := ev[k].(float64); !ok || math.IsNaN(v) {
			t.Errorf("eval -json: %s = %v", k, ev[k])
		}
	}
	if ev["rows"] != 200.0 || ev["ood_rows"] != 200.0 {
		t.Errorf("eval -json: rows %v, ood_rows %v", ev["rows"], ev["ood_rows"])
	}
	r = ok(t, dir, "eval", "-ckpt", "run", "-rows", "100", "-grid", "30")
	if !strings.Contains(r.stdout, "exact SM loss") || !strings.Contains(r.stdout, "log-likelihood") {
		t.Errorf("eval table:\n%v", r)
	}
}

// paramsOf reads the parameters (not the optimizer state) of a checkpoint.
func paramsOf(t *testing.T, path string) map[string]*tensor.Tensor {
	t.Helper()
	ck, err := nn.ReadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	return ck.Params
}

func TestResume(t *testing.T) {
	dir := t.TempDir()
	whole := trainToy(t, dir, "whole", "-steps", "30")
	// 12 steps, then the rest: the other flags come from the checkpoint.
	trainToy(t, dir, "parts", "-steps", "12")
	r := ok(t, dir, "train", "-out", "parts", "-resume", "-steps", "30")
	if !strings.Contains(r.stdout, "30 steps") {
		t.Errorf("resume:\n%v", r)
	}
	a := paramsOf(t, filepath.Join(whole, nn.CheckpointName))
	b := paramsOf(t, filepath.Join(dir, "parts", nn.CheckpointName))
	for name, ta := range a {
		if !slicesEqual(ta.ToFloat64(), b[name].ToFloat64()) {
			t.Errorf("%s differs between 30 steps and 12 + 18 resumed", name)
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, "parts", "metrics.csv"))
	// Logged every 10 steps and at the end of each run: 10, 12, then 20, 30.
	if n := strings.Count(string(log), "\n"); n != 1+4 {
		t.Errorf("metrics.csv after resuming: %d lines, want a header and 4 records:\n%s", n, log)
	}
	fails(t, dir, []string{filepath.Join("parts", nn.CheckpointName), "at step 30 already"}, "train", "-out", "parts", "-resume")
	fails(t, dir, []string{filepath.Join("nothing", nn.CheckpointName)}, "train", "-out", "nothing", "-resume")
	fails(t, dir, []string{"not ssm"}, "train", "-out", "parts", "-resume", "-steps", "40", "-objective", "ssm")
}

func slicesEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestModels(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
	}{
		{"score", []string{"-model", "score-mlp", "-objective", "fd-ssm-vr"}},
		{"score-vr", []string{"-model", "score-mlp", "-objective", "ssm-vr"}},
		{"nice", []string{"-model", "nice", "-couplings", "2", "-depth", "1", "-objective", "fd-dsm", "-nobatch"}},
		{"quadratic", []string{"-model", "quadratic", "-objective", "ssm", "-optim", "rmsprop", "-schedule", "cosine", "-warmup", "2"}},
		{"dkef", []string{"-model", "dkef", "-inducing", "10", "-objective", "fd-ssm", "-fit-batch", "16", "-optim", "sgd", "-lr", "1e-3"}},
		{"mdsm", []string{"-objective", "fd-mdsm", "-dtype", "float64", "-accuracy", "4", "-clip", "1"}},
		{"exact", []string{"-objective", "sm", "-log", "none"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			trainToy(t, dir, c.name, append(c.args, "-steps", "5")...)
			ok(t, dir, "sample", "-ckpt", c.name, "-n", "10", "-steps", "3", "-out", c.name+".png")
			r := ok(t, dir, "eval", "-ckpt", c.name, "-rows", "50", "-grid", "20", "-ood", "toy:moons", "-json")
			var ev map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil {
				t.Fatal(err)
			}
			if _, ok := ev["auroc"].(float64); !ok {
				t.Errorf("no AUROC:\n%v", r)
			}
			if strings.HasPrefix(c.name, "score") {
				fails(t, dir, []string{"score network", "no energy"}, "energy", "-ckpt", c.name, "-in", c.name+".npy")
				return
			}
			if _, ok := ev["loglik"].(float64); !ok {
				t.Errorf("no log-likelihood:\n%v", r)
			}
			if c.name == "nice" {
				if ev["loglik_method"] != "exact" {
					t.Errorf("NICE log-likelihood by %v", ev["loglik_method"])
				}
				ok(t, dir, "sample", "-ckpt", c.name, "-n", "10", "-exact", "-out", "exact.npy")
			} else {
				fails(t, dir, []string{c.name, "-exact needs a NICE model"}, "sample", "-ckpt", c.name, "-exact")
			}
			ok(t, dir, "sample", "-ckpt", c.name, "-n", "4", "-steps", "2", "-out", c.name+".npy")
			ok(t, dir, "energy", "-ckpt", c.name, "-in", c.name+".npy")
		})
	}
}

func TestCSV(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("a,b,label,c\n")
	r := rand.New(rand.NewPCG(1, 1))
	for range 300 {
		x := r.NormFloat64()
		fmt.Fprintf(&b, "%g,%g,%d,%g\n", 10+3*x, -5+0.1*r.NormFloat64(), r.IntN(3), x+0.5*r.NormFloat64())
	}
	os.WriteFile(filepath.Join(dir, "t.csv"), []byte(b.String()), 0o666)
	ok(t, dir, "train", "-data", "csv:t.csv", "-drop", "label", "-width", "8", "-steps", "10", "-batch", "16", "-out", "run")
	ck, err := nn.ReadCheckpoint(filepath.Join(dir, "run", nn.CheckpointName))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Meta.Extra[data.MetaTransform] != data.TransformStandardize || ck.Meta.Extra[data.MetaColumns] != `["a","b","c"]` {
		t.Errorf("checkpoint extra %v", ck.Meta.Extra)
	}
	res := ok(t, dir, "eval", "-ckpt", "run", "-is-samples", "2000", "-json")
	var ev map[string]any
	json.Unmarshal([]byte(res.stdout), &ev)
	// By default the 30 rows (-holdout 0.1 of 300) train held out.
	if _, ok := ev["loglik_stderr"].(float64); !ok || ev["rows"] != 30.0 || ev["split"] != evalrun.SplitHeldOut {
		t.Errorf("eval by importance sampling:\n%v", res)
	}
	// The energy command selects the training columns by name.
	res = ok(t, dir, "energy", "-ckpt", "run", "-in", "t.csv")
	if n := len(strings.Fields(res.stdout)); n != 300 {
		t.Errorf("energy: %d values, want 300", n)
	}
	os.WriteFile(filepath.Join(dir, "other.csv"), []byte("a,b\n1,2\n"), 0o666)
	fails(t, dir, []string{"other.csv", `"c"`}, "energy", "-ckpt", "run", "-in", "other.csv")
	ok(t, dir, "sample", "-ckpt", "run", "-n", "5", "-steps", "2", "-out", "s.csv")
	ok(t, dir, "energy", "-ckpt", "run", "-in", "s.csv")
	fails(t, dir, []string{"toy:moons", "3 columns"}, "eval", "-ckpt", "run", "-data", "toy:moons")

	os.WriteFile(filepath.Join(dir, "bad.csv"), []byte("a,b\n1,x\n"), 0o666)
	fails(t, dir, []string{"bad.csv", "line 2"}, "train", "-data", "csv:bad.csv")
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	run := trainToy(t, dir, "run", "-steps", "3")
	ckpt := filepath.Join(run, nn.CheckpointName)
	good, _ := os.ReadFile(ckpt)

	fails(t, dir, []string{"missing", "no such file"}, "sample", "-ckpt", "missing")
	fails(t, dir, []string{"missing.csv", "no such file"}, "train", "-data", "csv:missing.csv")
	// A missing MNIST directory: TestMNISTFetchedWhenMissing.
	fails(t, dir, []string{"missing.npy"}, "energy", "-ckpt", "run", "-in", "missing.npy")
	os.Mkdir(filepath.Join(dir, "empty"), 0o777)
	fails(t, dir, []string{"empty", "no checkpoint"}, "eval", "-ckpt", "empty")

	// Corrupt checkpoints: garbage, truncated, a safetensors file that is not
	// a checkpoint, and metadata that does not match the tensors.
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o666); err != nil {
			t.Fatal(err)
		}
		return name
	}
	for _, name := range []string{
		write("garbage.safetensors", []byte("this is not a checkpoint at all")),
		write("truncated.safetensors", good[:len(good)-40]),
		write("short.safetensors", good[:5]),
	} {
		fails(t, dir, []string{name}, "sample", "-ckpt", name)
		fails(t, dir, []string{name}, "eval", "-ckpt", name)
		fails(t, dir, []string{name}, "energy", "-ckpt", name, "-in", "x.npy")
	}
	tensor.SaveSafetensors(filepath.Join(dir, "plain.safetensors"), map[string]*tensor.Tensor{"w": tensor.Zeros(tensor.Float32, 2)}, nil)
	fails(t, dir, []string{"plain.safetensors", "not a checkpoint written by fdsm train"}, "sample", "-ckpt", "plain.safetensors")
	for _, c := range []struct{ from, to, want string }{
		{"width=8", "width=9", "shape"},
		{"width=8", "width=16000", "the file holds"},
		{"width=8", "width=-1", "width -1"},
		{"mlp d=2", "cnn d=2", `unknown model kind "cnn"`},
		{"act=softplus", "act=relu", "act=relu"},
	} {
		ck, err := nn.ReadCheckpoint(ckpt)
		if err != nil {
			t.Fatal(err)
		}
		ck.Meta.Model = strings.Replace(ck.Meta.Model, c.from, c.to, 1)
		name := "edited-" + c.to + ".safetensors"
		m, _ := nn.ParseModelSpec("mlp d=2 width=8 depth=2 act=softplus")
		mm := sm.NewModel(m, tensor.Float32, rand.New(rand.NewPCG(1, 1)))
		if _, err := nn.LoadCheckpoint(ckpt, mm.Module.Params(), nil); err != nil {
			t.Fatal(err)
		}
		if err := nn.SaveCheckpoint(filepath.Join(dir, name), mm.Module.Params(), nil, ck.Meta); err != nil {
			t.Fatal(err)
		}
		fails(t, dir, []string{name, c.want}, "eval", "-ckpt", name)
	}

	// Inputs of the wrong shape.
	tensor.SaveNpy(filepath.Join(dir, "three.npy"), tensor.Zeros(tensor.Float64, 4, 3))
	fails(t, dir, []string{"three.npy", "2 columns"}, "energy", "-ckpt", "run", "-in", "three.npy")
	tensor.SaveNpy(filepath.Join(dir, "cube.npy"), tensor.Zeros(tensor.Float64, 2, 2, 2))
	fails(t, dir, []string{"cube.npy", "[2 2 2]"}, "energy", "-ckpt", "run", "-in", "cube.npy")
	tensor.SaveNpy(filepath.Join(dir, "none.npy"), tensor.Zeros(tensor.Float64, 0, 2))
	fails(t, dir, []string{"none.npy", "no rows"}, "energy", "-ckpt", "run", "-in", "none.npy")
	tensor.SaveNpy(filepath.Join(dir, "one.npy"), tensor.Zeros(tensor.Float64, 2))
	if r := ok(t, dir, "energy", "-ckpt", "run", "-in", "one.npy"); len(strings.Fields(r.stdout)) != 1 {
		t.Errorf("energy of a vector of length d: %q", r.stdout)
	}
	os.WriteFile(filepath.Join(dir, "header.csv"), []byte("x0,x1\n"), 0o666)
	fails(t, dir, []string{"header.csv", "no data rows"}, "energy", "-ckpt", "run", "-in", "header.csv")
	write("junk.npy", []byte("\x93NUMPY junk"))
	fails(t, dir, []string{"junk.npy"}, "energy", "-ckpt", "run", "-in", "junk.npy")
	// An output file that cannot be written.
	fails(t, dir, []string{filepath.Join("no", "such", "dir", "s.png")}, "sample", "-ckpt", "run", "-n", "2", "-steps", "1", "-out", filepath.Join("no", "such", "dir", "s.png"))
	fails(t, dir, []string{"s.png", "d = 3"}, "sample", "-ckpt", trainCSV3(t, dir), "-n", "2", "-steps", "1", "-out", "s.png")
}

// trainCSV3 trains a model on a 3-column CSV and returns its directory.
func trainCSV3(t *testing.T, dir string) string {
	var b strings.Builder
	b.WriteString("a,b,c\n")
	for i := range 40 {
		fmt.Fprintf(&b, "%d,%d,%d\n", i%7, i%5, i%3)
	}
	os.WriteFile(filepath.Join(dir, "three.csv"), []byte(b.String()), 0o666)
	ok(t, dir, "train", "-data", "csv:three.csv", "-width", "4", "-steps", "2", "-batch", "8", "-out", "three")
	return "three"
}

// writeIDX writes a raw (not gzipped) IDX file of unsigned bytes.
func writeIDX(t *testing.T, path string, dims []int, data []byte) {
	t.Helper()
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, int32(d))
	}
	b.Write(data)
	if err := os.WriteFile(path, b.Bytes(), 0o666); err != nil {
		t.Fatal(err)
	}
}

// TestMNIST trains on a fake MNIST of a few random images, written as IDX
// files where -data mnist:DIR looks for them (the real one needs the
// network).
func TestMNIST(t *testing.T) {
	dir := t.TempDir()
	mn := filepath.Join(dir, "mnist")
	os.Mkdir(mn, 0o777)
	r := rand.New(rand.NewPCG(2, 2))
	for _, set := range []struct {
		prefix string
		n      int
	}{{"train", 40}, {"t10k", 20}} {
		img := make([]byte, set.n*784)
		for i := range img {
			img[i] = byte(r.IntN(256))
		}
		lbl := make([]byte, set.n)
		writeIDX(t, filepath.Join(mn, set.prefix+"-images-idx3-ubyte"), []int{set.n, 28, 28}, img)
		writeIDX(t, filepath.Join(mn, set.prefix+"-labels-idx1-ubyte"), []int{set.n}, lbl)
	}
	ok(t, dir, "train", "-data", "mnist:mnist", "-model", "nice", "-couplings", "2", "-width", "8", "-depth", "1", "-steps", "3", "-batch", "4", "-out", "nice")
	ok(t, dir, "sample", "-ckpt", "nice", "-n", "4", "-steps", "2", "-step-size", "1e-4", "-out", "digits.png")
	res := ok(t, dir, "eval", "-ckpt", "nice", "-rows", "10", "-json")
	var ev map[string]any
	json.Unmarshal([]byte(res.stdout), &ev)
	if ev["loglik_method"] != "exact" || ev["bits_per_dim"] == nil || ev["data"] != "mnist:"+mn || ev["split"] != evalrun.SplitTest {
		t.Errorf("eval on MNIST:\n%v", res)
	}
	ok(t, dir, "train", "-data", "mnist:mnist", "-width", "8", "-steps", "2", "-batch", "4", "-objective", "fd-mdsm", "-out", "mlp")
	ok(t, dir, "eval", "-ckpt", "mlp", "-rows", "5", "-batch", "5", "-is-samples", "100")
	// The convolutional energy (a tiny one): 28×28 rows padded to 32×32
	// inside the model, annealed-Langevin image grids, exact SM with a
	// progress bar on stderr (d = 784).
	ok(t, dir, "train", "-data", "mnist:mnist", "-model", "resnet", "-width", "4", "-depth", "2", "-steps", "2", "-batch", "4", "-objective", "fd-dsm", "-out", "resnet")
	ck, err := nn.ReadCheckpoint(filepath.Join(dir, "resnet", nn.CheckpointName))
	if err != nil || ck.Meta.Model != "resnet d=784 width=4 depth=2 act=softplus" || ck.Params["blocks.1.conv2.weight"] == nil {
		t.Fatalf("resnet checkpoint: %v, model %q", err, ck.Meta.Model)
	}
	ok(t, dir, "sample", "-ckpt", "resnet", "-n", "4", "-steps", "4", "-annealed", "-sigmas", "1,0.1,2", "-out", "conv.png")
	if st, err := os.Stat(filepath.Join(dir, "conv.png")); err != nil || st.Size() == 0 {
		t.Errorf("resnet sample grid not written: %v", err)
	}
	res = ok(t, dir, "eval", "-ckpt", "resnet", "-rows", "2", "-batch", "1", "-is-samples", "50")
	if !strings.Contains(res.stderr, "exact SM loss on 2 rows") || !strings.Contains(res.stdout, "exact SM loss") {
		t.Errorf("resnet eval: want a progress report on stderr and the loss:\n%v", res)
	}
	usage(t, dir, "act tanh", "train", "-data", "mnist:mnist", "-model", "resnet", "-act", "tanh", "-steps", "1")

	// fdsm data mnist keeps the files already there and needs nothing else.
	fake := filepath.Join(dir, "fetched")
	os.Mkdir(fake, 0o777)
	for _, f := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		os.WriteFile(filepath.Join(fake, f), []byte("x"), 0o666)
	}
	res = ok(t, dir, "data", "mnist", "-dir", "fetched")
	if !strings.Contains(res.stdout, "fetched") {
		t.Errorf("data mnist:\n%v", res)
	}
	ok(t, dir, "data", "-dir", "fetched", "mnist")
	// Corrupt image files are reported by name.
	fails(t, dir, []string{"fetched", "train-images"}, "train", "-data", "mnist:fetched")
}

func TestLoss(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(3, 3))
	// A PyTorch-style MLP energy 2-5-1 and a score network 2-5-2.
	mlp := nn.NewMLP(tensor.Float64, []int{2, 5, 1}, nn.Softplus, r)
	if err := tensor.SaveSafetensors(filepath.Join(dir, "m.safetensors"), nn.Tensors(mlp), nil); err != nil {
		t.Fatal(err)
	}
	score := nn.NewMLP(tensor.Float64, []int{2, 5, 2}, nn.Softplus, r)
	tensor.SaveSafetensors(filepath.Join(dir, "s.safetensors"), nn.Tensors(score), nil)
	tensor.SaveNpy(filepath.Join(dir, "x.npy"), tensor.RandN(tensor.Float64, r, 6, 2))
	tensor.SaveNpy(filepath.Join(dir, "v.npy"), tensor.RandN(tensor.Float64, r, 6, 2))
	tensor.SaveNpy(filepath.Join(dir, "x3.npy"), tensor.RandN(tensor.Float64, r, 6, 3))

	res := ok(t, dir, "loss", "-model", "m.safetensors", "-objective", "fd-ssm", "-x", "x.npy", "-v", "v.npy", "-dtype", "float64", "-json", "-grad", "g.safetensors")
	var out struct {
		Objective string
		Loss      float64
		Rows      int
	}
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil || out.Objective != "fd-ssm" || out.Rows != 6 || math.IsNaN(out.Loss) {
		t.Errorf("loss -json: %+v %v\n%v", out, err, res)
	}
	g, _, err := tensor.LoadSafetensors(filepath.Join(dir, "g.safetensors"))
	if err != nil || len(g) != 4 || g["layers.0.weight"] == nil {
		t.Errorf("g.safetensors: %v %v", g, err)
	}
	ok(t, dir, "loss", "-model", "s.safetensors", "-objective", "fd-ssm-vr", "-x", "x.npy")
	ok(t, dir, "loss", "-model", "m.safetensors", "-objective", "dsm", "-x", "x.npy", "-noise", "v.npy")

	usage(t, dir, `unknown objective "nope"`, "loss", "-model", "m.safetensors", "-x", "x.npy", "-objective", "nope")
	usage(t, dir, "-accuracy 3", "loss", "-model", "m.safetensors", "-x", "x.npy", "-accuracy", "3")
	fails(t, dir, []string{"missing.safetensors"}, "loss", "-model", "missing.safetensors", "-x", "x.npy")
	fails(t, dir, []string{"missing.npy"}, "loss", "-model", "m.safetensors", "-x", "missing.npy")
	fails(t, dir, []string{"m.safetensors", "x3.npy", "3 columns"}, "loss", "-model", "m.safetensors", "-x", "x3.npy")
	fails(t, dir, []string{"m.safetensors", "needs a score network"}, "loss", "-model", "m.safetensors", "-x", "x.npy", "-objective", "fd-ssm-vr")
	fails(t, dir, []string{"x3.npy"}, "loss", "-model", "m.safetensors", "-x", "x.npy", "-v", "x3.npy")
	// The same energy under nn.Sequential names (Linear, Softplus, Linear:
	// indices 0 and 2) inside a DataParallel and a second module, and stored
	// as F32 instead of F64, gives the same loss to float32 rounding.
	seq := map[string]*tensor.Tensor{}
	for name, v := range nn.Tensors(mlp) {
		seq[strings.Replace(strings.Replace(name, "layers.1.", "module.2.", 1), "layers.0.", "module.0.", 1)] = v.AsType(tensor.Float32)
		seq["other."+name] = v
	}
	tensor.SaveSafetensors(filepath.Join(dir, "seq.safetensors"), seq, nil)
	var seqOut struct{ Loss float64 }
	json.Unmarshal([]byte(ok(t, dir, "loss", "-model", "seq.safetensors", "-prefix", "module.", "-objective", "fd-ssm", "-x", "x.npy", "-v", "v.npy", "-dtype", "float64", "-json").stdout), &seqOut)
	if math.Abs(seqOut.Loss-out.Loss) > 1e-5*(1+math.Abs(out.Loss)) { // float32 weights: relative 2⁻²⁴ per weight
		t.Errorf("Sequential names: loss %v, want %v", seqOut.Loss, out.Loss)
	}
	fails(t, dir, []string{"seq.safetensors", "different prefixes"}, "loss", "-model", "seq.safetensors", "-x", "x.npy")
	fails(t, dir, []string{"seq.safetensors", `no tensor name starts with "nope."`}, "loss", "-model", "seq.safetensors", "-prefix", "nope.", "-x", "x.npy")
	os.WriteFile(filepath.Join(dir, "bad.safetensors"), []byte("\x08\x00\x00\x00\x00\x00\x00\x00{broken}"), 0o666)
	fails(t, dir, []string{"bad.safetensors"}, "loss", "-model", "bad.safetensors", "-x", "x.npy")
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	res := ok(t, dir, "demo", "-quick", "-steps", "10", "-width", "8", "-out", "pics")
	for _, name := range []string{"SSM", "FD-SSM", "DSM", "FD-DSM", "true"} {
		if !strings.Contains(res.stdout, "\n"+name+" ") {
			t.Errorf("the table has no row %s:\n%s", name, res.stdout)
		}
	}
	for _, f := range []string{"density-true.png", "loss.svg", "train-loss-ssm.svg", "train-loss-dsm.svg"} {
		if st, err := os.Stat(filepath.Join(dir, "pics", f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, o := range experiment.DemoObjectives() {
		for _, f := range []string{"density-" + o + ".png", "samples-" + o + ".png"} {
			if st, err := os.Stat(filepath.Join(dir, "pics", f)); err != nil || st.Size() == 0 {
				t.Errorf("%s: %v", f, err)
			}
		}
	}
	res = ok(t, dir, "demo", "-quick", "-steps", "3", "-width", "4", "-out", "pics2", "-json")
	dec := json.NewDecoder(strings.NewReader(res.stdout))
	for i := range 5 {
		var v map[string]any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("demo -json record %d: %v", i, err)
		}
		if i < 4 && (v["objective"] != experiment.DemoObjectives()[i] || v["peak_tensor_mb"].(float64) <= 0) {
			t.Errorf("demo -json record %d: %v", i, v)
		}
	}
}

// TestOddValues: values found by a review run to slip through or crash.
func TestOddValues(t *testing.T) {
	dir := t.TempDir()
	usage(t, dir, "-m", "train", "-data", "toy:8gaussians", "-steps", "2", "-m", "100000000000")
	usage(t, dir, "-eps", "train", "-data", "toy:8gaussians", "-steps", "2", "-eps", "Inf")
	usage(t, dir, "-momentum", "train", "-data", "toy:8gaussians", "-steps", "2", "-momentum", "NaN")
	usage(t, dir, "-clip", "train", "-data", "toy:8gaussians", "-steps", "2", "-clip", "NaN")
	usage(t, dir, "-lr", "bench", "-config", "toy", "-steps", "1", "-lr", "-1")
	usage(t, dir, "-eval-rows", "bench", "-config", "toy", "-steps", "1", "-eval-rows", "-1")
	usage(t, dir, "-exact", "sample", "-ckpt", "x", "-exact", "-annealed")
	usage(t, dir, "-eps", "loss", "-model", "m", "-x", "x", "-eps", "-1")
	usage(t, dir, "-sigma", "loss", "-model", "m", "-x", "x", "-sigma", "0")
	usage(t, dir, "-m", "loss", "-model", "m", "-x", "x", "-m", "4611686018427387904")
}
