package main

import (
	"bytes"
	"github.com/fdsm/fdsm/data"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// PyTorch out: bench/peers/fdsm_to_torch.py loads fdsm checkpoints into
// torch.nn modules. These tests train tiny models with the binary, then
// compare `fdsm energy` with the script's energies on the same rows.

// torchPython is the interpreter with torch (Debian's python3-torch; the
// python3 first on PATH may be another one, see bench/peers/README.md).
const torchPython = "/usr/bin/python3"

// torchScript is the loader, from this package's directory.
var torchScript = filepath.Join("..", "..", "bench", "peers", "fdsm_to_torch.py")

// torchDriver runs fdsm_to_torch.main (the CLI's code) on each argument list
// of its arguments (each given as its length, then the list) in one
// process, to import torch once: each run's output, its error message
// included, follows a line "== i", and a failing run ends with
// "!! exit CODE".
const torchDriver = `
import sys
sys.path.insert(0, sys.argv[1])
import fdsm_to_torch
args = sys.argv[2:]
sys.stderr = sys.stdout
case = 0
while args:
    n = int(args[0])
    print("== %d" % case, flush=True)
    rc = fdsm_to_torch.main(args[1:1 + n])
    sys.stdout.flush()
    if rc:
        print("!! exit %d" % rc, flush=True)
    args, case = args[1 + n:], case + 1
`

// needTorch skips the test unless torchPython exists and finds torch and
// numpy (found, not imported: importing torch takes seconds).
func needTorch(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(torchPython); err != nil {
		t.Skipf("PyTorch interop not tested: %v (install python3-torch, see bench/peers/README.md)", err)
	}
	find := "import importlib.util as u, sys; sys.exit(0 if u.find_spec('torch') and u.find_spec('numpy') else 3)"
	if err := exec.Command(torchPython, "-c", find).Run(); err != nil {
		t.Skipf("PyTorch interop not tested: %s finds no torch or numpy (%v; install python3-torch, see bench/peers/README.md)", torchPython, err)
	}
}

// runTorch runs the driver on argument lists and returns each one's output
// (empty for a successful run with -out).
func runTorch(t *testing.T, dir string, pairs [][]string) []string {
	t.Helper()
	script, err := filepath.Abs(torchScript)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"-c", torchDriver, filepath.Dir(script)}
	for _, p := range pairs {
		args = append(args, strconv.Itoa(len(p)))
		args = append(args, p...)
	}
	cmd := exec.Command(torchPython, args...)
	cmd.Dir = dir
	// One thread: two cores are shared by the whole test run.
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if err != nil {
		t.Fatalf("%s fdsm_to_torch driver: %v\nstdout:\n%s\nstderr:\n%s", torchPython, err, stdout.String(), stderr.String())
	}
	parts := strings.Split(stdout.String(), "== ")
	if len(parts) != len(pairs)+1 || strings.TrimSpace(parts[0]) != "" {
		t.Fatalf("driver output has %d sections, want %d:\n%s\nstderr:\n%s", len(parts)-1, len(pairs), stdout.String(), stderr.String())
	}
	out := make([]string, len(pairs))
	for i, p := range parts[1:] {
		head, body, _ := strings.Cut(p, "\n")
		if head != strconv.Itoa(i) {
			t.Fatalf("driver section %q, want %d", head, i)
		}
		out[i] = body
	}
	if stderr.Len() > 0 {
		t.Logf("driver stderr:\n%s", stderr.String())
	}
	return out
}

// parseEnergies reads one number per line.
func parseEnergies(t *testing.T, what, s string) []float64 {
	t.Helper()
	var e []float64
	for _, f := range strings.Fields(s) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			t.Fatalf("%s: %q is not a number in:\n%s", what, f, s)
		}
		e = append(e, v)
	}
	return e
}

// writeRows writes n rows of d values drawn by gen to dir/name, a .npy
// file or a CSV with a header (data.WriteCSV's).
func writeRows(t *testing.T, dir, name string, n, d int, gen func() float64) {
	t.Helper()
	v := make([]float64, n*d)
	for i := range v {
		v[i] = gen()
	}
	x := tensor.FromFloat64(tensor.Float64, v, n, d)
	var err error
	path := filepath.Join(dir, name)
	if strings.HasSuffix(name, ".npy") {
		err = tensor.SaveNpy(path, x)
	} else {
		var b strings.Builder
		data.WriteCSV(&b, x, nil)
		err = os.WriteFile(path, []byte(b.String()), 0o666)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestTorchEnergies(t *testing.T) {
	needTorch(t)
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(17, 4))
	norm := func() float64 { return 3 * r.NormFloat64() } // wider than the training rows
	unit := func() float64 { return r.Float64() }

	writeRows(t, dir, "t3.csv", 60, 3, func() float64 { return 5 + 2*r.NormFloat64() })
	writeRows(t, dir, "t64.csv", 20, 64, r.NormFloat64)
	mn := filepath.Join(dir, "mnist")
	os.Mkdir(mn, 0o777)
	for _, set := range []struct {
		prefix string
		n      int
	}{{"train", 16}, {"t10k", 8}} {
		img := make([]byte, set.n*784)
		for i := range img {
			img[i] = byte(r.IntN(256))
		}
		writeIDX(t, filepath.Join(mn, set.prefix+"-images-idx3-ubyte"), []int{set.n, 28, 28}, img)
		writeIDX(t, filepath.Join(mn, set.prefix+"-labels-idx1-ubyte"), []int{set.n}, make([]byte, set.n))
	}
	writeRows(t, dir, "x3.npy", 25, 3, func() float64 { return 5 + norm() })
	writeRows(t, dir, "x2.npy", 25, 2, norm)
	writeRows(t, dir, "x64.npy", 9, 64, norm)
	writeRows(t, dir, "x784.npy", 9, 784, unit)

	// Two training steps: the parameters are PyTorch's random initialisation
	// moved a little, every one distinct, so a misplaced tensor shows.
	train := []string{"train", "-steps", "2", "-batch", "8", "-lr", "1e-2"}
	type model struct {
		name, in string
		args     []string
	}
	var models []model
	for _, act := range []string{"softplus", "elu", "tanh", "swish", "sigmoid"} {
		models = append(models, model{"mlp-" + act, "x3.npy", []string{"-data", "csv:t3.csv", "-width", "8", "-depth", "2", "-act", act}})
	}
	models = append(models,
		model{"mlp-f64", "x3.npy", []string{"-data", "csv:t3.csv", "-width", "8", "-depth", "3", "-dtype", "float64"}},
		model{"mlp-logit", "x784.npy", []string{"-data", "mnist:mnist", "-width", "8", "-depth", "1", "-transform", "logit"}},
		model{"quadratic", "x2.npy", []string{"-data", "toy:moons", "-model", "quadratic", "-width", "8", "-depth", "2", "-act", "tanh"}},
		// 8×8 rows: 3 blocks, 8×8 → 4×4 → 2×2, standardized, no padding.
		model{"resnet-8x8", "x64.npy", []string{"-data", "csv:t64.csv", "-model", "resnet", "-width", "3", "-depth", "3"}},
		// MNIST rows: padded to 32×32, 32 → 16 → 8; float64 as well.
		model{"resnet-mnist", "x784.npy", []string{"-data", "mnist:mnist", "-model", "resnet", "-width", "4", "-depth", "3"}},
		model{"resnet-f64", "x784.npy", []string{"-data", "mnist:mnist", "-model", "resnet", "-width", "2", "-depth", "2", "-dtype", "float64"}},
	)
	var pairs [][]string
	for _, m := range models {
		ok(t, dir, append(append(append([]string{}, train...), m.args...), "-out", m.name)...)
		ok(t, dir, "energy", "-ckpt", m.name, "-in", m.in, "-out", m.name+".fdsm.npy")
		pairs = append(pairs, []string{m.name, m.in, "-out", m.name + ".torch.npy"})
	}
	for i, out := range runTorch(t, dir, pairs) {
		m := models[i]
		if out != "" {
			t.Errorf("%s: fdsm_to_torch failed:\n%s", m.name, out)
			continue
		}
		var e [2][]float64
		for k, who := range []string{"fdsm", "torch"} {
			x, err := tensor.LoadNpy(filepath.Join(dir, m.name+"."+who+".npy"))
			if err != nil {
				t.Fatal(err)
			}
			e[k] = x.ToFloat64()
		}
		want, got := e[0], e[1]
		if len(got) != len(want) {
			t.Errorf("%s: %d energies from PyTorch, %d from fdsm", m.name, len(got), len(want))
			continue
		}
		tol := torchTol32
		if strings.HasSuffix(m.name, "f64") {
			tol = torchTol64
		}
		var worst float64
		for j := range got {
			d := math.Abs(got[j]-want[j]) / math.Max(1, math.Abs(want[j]))
			worst = math.Max(worst, d)
			if !(d <= tol) {
				t.Errorf("%s row %d: PyTorch %.17g, fdsm %.17g (relative difference %.2g > %g)", m.name, j, got[j], want[j], d, tol)
			}
		}
		t.Logf("%s: %d rows, largest relative difference %.2g (tolerance %g)", m.name, len(got), worst, tol)
	}
}

// The tolerances on |E_torch − E_fdsm| / max(1, |E|). Both sides compute in
// the checkpoint's dtype, with different summation orders and elementwise
// kernels (fdsm has its own exp and log1p), so they differ by rounding: a
// few units u (float32 2⁻²⁴ ≈ 6e-8, float64 2⁻⁵³ ≈ 1.1e-16) per operation,
// accumulated over fan-ins up to 784 and up to 8 layers, about √K·layers·u
// relative to the terms. Measured here (go test -run TestTorch -v): at most
// 3.1e-7 in float32 (the MLP on logit pixels, fan-in 784, inputs up to
// ±13.8), 2.2e-16 in float64. The tolerances leave a factor 30 (float32)
// and 4500 (float64) above that, and stay below what a layout mistake
// gives: kernels or images transposed (kh ↔ kw) move the ResNets' energies
// by 3e-5 (float64) to 1e-2 relative, a dropped standardization the MLPs'
// by 0.04 to 0.3.
const (
	torchTol32 = 1e-5
	torchTol64 = 1e-12
)

func TestTorchLoaderErrors(t *testing.T) {
	needTorch(t)
	dir := t.TempDir()
	run := trainToy(t, dir, "run")
	b, err := os.ReadFile(filepath.Join(run, nn.CheckpointName))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "short.safetensors"), b[:len(b)-4], 0o666)
	writeRows(t, dir, "x5.npy", 3, 5, func() float64 { return 1 })
	ok(t, dir, "train", "-data", "toy:moons", "-model", "score-mlp", "-width", "4", "-steps", "1", "-objective", "ssm-vr", "-out", "score")
	cases := []struct {
		ckpt, in string
		want     []string // in the error line
	}{
		{"short.safetensors", "x5.npy", []string{"short.safetensors", "data_offsets"}},
		{"score", "x5.npy", []string{"score", "score network"}},
		{"run", "x5.npy", []string{"x5.npy", "rows of 2 columns"}},
		{"run", "missing.npy", []string{"missing.npy"}},
		{dir, "x5.npy", []string{dir, "no checkpoint"}},
	}
	var pairs [][]string
	for _, c := range cases {
		pairs = append(pairs, []string{c.ckpt, c.in})
	}
	for i, out := range runTorch(t, dir, pairs) {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || lines[1] != "!! exit 1" || !strings.HasPrefix(lines[0], "fdsm_to_torch: ") {
			t.Errorf("%s %s: want one error line and exit 1, got:\n%s", cases[i].ckpt, cases[i].in, out)
			continue
		}
		for _, w := range cases[i].want {
			if !strings.Contains(lines[0], w) {
				t.Errorf("%s %s: the error does not mention %q: %s", cases[i].ckpt, cases[i].in, w, lines[0])
			}
		}
	}

	// The script itself, as a user runs it: the energies of fdsm energy
	// (the comparison itself is TestTorchEnergies'), exit 0.
	writeRows(t, dir, "x2.npy", 4, 2, func() float64 { return 0.5 })
	script, _ := filepath.Abs(torchScript)
	cmd := exec.Command(torchPython, script, "run", "x2.npy")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s run x2.npy: %v", torchPython, script, err)
	}
	g := parseEnergies(t, "fdsm_to_torch.py", string(got))
	w := parseEnergies(t, "fdsm energy", ok(t, dir, "energy", "-ckpt", "run", "-in", "x2.npy").stdout)
	if len(g) != 4 || len(w) != 4 {
		t.Fatalf("fdsm_to_torch.py printed %v, fdsm energy %v", g, w)
	}
	for j := range g {
		if math.Abs(g[j]-w[j]) > torchTol32*math.Max(1, math.Abs(w[j])) {
			t.Errorf("fdsm_to_torch.py printed %v, fdsm energy %v", g, w)
		}
	}
}
