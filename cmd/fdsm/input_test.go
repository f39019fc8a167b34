package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// TestPanicIsABug checks that a panic in a command becomes one line saying
// it is a bug in fdsm, with the panic's value, and exit status exitBug: not
// the 2 of a usage mistake nor the 1 of bad input.
func TestPanicIsABug(t *testing.T) {
	const name = "test-panic"
	register(name, "panics (test only)", func([]string, io.Writer, io.Writer) error { panic("the panic value") })
	defer delete(commands, name)
	t.Setenv(stackEnv, "")
	var out, errw bytes.Buffer
	if code := runGuarded([]string{name}, &out, &errw); code != exitBug || exitBug == 1 || exitBug == 2 {
		t.Errorf("exit %d, want %d", code, exitBug)
	}
	lines := strings.Split(strings.TrimRight(errw.String(), "\n"), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "a bug in fdsm") || !strings.Contains(lines[0], "the panic value") {
		t.Errorf("want one line naming the bug and the panic value, got:\n%s", errw.String())
	}
	errw.Reset()
	t.Setenv(stackEnv, "1")
	runGuarded([]string{name}, &out, &errw)
	if !strings.Contains(errw.String(), "goroutine ") {
		t.Errorf("%s=1: want the stack after the line, got:\n%s", stackEnv, errw.String())
	}
}

// editCheckpoint rewrites the safetensors file at path after edit has
// changed its tensors and metadata.
func editCheckpoint(t *testing.T, path string, edit func(ts map[string]*tensor.Tensor, md map[string]string)) {
	t.Helper()
	ts, md, err := tensor.LoadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	edit(ts, md)
	if err := tensor.SaveSafetensors(path, ts, md); err != nil {
		t.Fatal(err)
	}
}

// copyFile copies src to dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o666); err != nil {
		t.Fatal(err)
	}
}

// TestNonFiniteParameters checks that eval, sample and energy refuse a
// checkpoint holding a NaN or an infinite parameter, and loss such a -model,
// naming the file and the tensor: they printed NaN and exited 0.
func TestNonFiniteParameters(t *testing.T) {
	dir := t.TempDir()
	run := trainToy(t, dir, "run")
	good := filepath.Join(run, nn.CheckpointName)
	os.WriteFile(filepath.Join(dir, "x.csv"), []byte("x0,x1\n0.5,1\n"), 0o666)
	for _, bad := range []float64{math.NaN(), math.Inf(-1)} {
		ck := filepath.Join(dir, "bad.safetensors")
		copyFile(t, good, ck)
		editCheckpoint(t, ck, func(ts map[string]*tensor.Tensor, _ map[string]string) { ts["layers.1.weight"].Set(3, bad) })
		want := []string{"bad.safetensors", `tensor "layers.1.weight"`, "element 3", fmt.Sprint(bad)}
		fails(t, dir, want, "eval", "-ckpt", ck, "-rows", "10")
		fails(t, dir, want, "eval", "-ckpt", ck, "-rows", "10", "-json")
		fails(t, dir, want, "sample", "-ckpt", ck, "-n", "3", "-steps", "2")
		fails(t, dir, want, "energy", "-ckpt", ck, "-in", "x.csv")
	}

	r := rand.New(rand.NewPCG(3, 4))
	mlp := nn.NewMLP(tensor.Float64, []int{2, 5, 1}, nn.Softplus, r)
	ts := nn.Tensors(mlp)
	ts["layers.0.bias"].Set(4, math.NaN())
	tensor.SaveSafetensors(filepath.Join(dir, "m.safetensors"), ts, nil)
	tensor.SaveNpy(filepath.Join(dir, "x.npy"), tensor.RandN(tensor.Float64, r, 6, 2))
	fails(t, dir, []string{"m.safetensors", `tensor "layers.0.bias"`, "element 4", "NaN"}, "loss", "-model", "m.safetensors", "-x", "x.npy", "-json")
}

// TestOverflowingEnergy checks that energy and eval refuse a model whose
// parameters are finite but whose energy is not: a DKEF α of ±1e308 (the
// float64 limit is 1.8e308) gave NaN energies, printed with exit 0.
func TestOverflowingEnergy(t *testing.T) {
	dir := t.TempDir()
	run := trainToy(t, dir, "run", "-model", "dkef", "-inducing", "3", "-kernels", "1", "-width", "4", "-depth", "1")
	ck := filepath.Join(run, nn.CheckpointName)
	editCheckpoint(t, ck, func(_ map[string]*tensor.Tensor, md map[string]string) {
		md["extra."+nn.ExtraDKEFAlpha] = "1e308,-1e308,1e308"
	})
	os.WriteFile(filepath.Join(dir, "x.csv"), []byte("x0,x1\n0.5,1\n"), 0o666)
	fails(t, dir, []string{ck, "energy of row 1 of x.csv is NaN", "overflows"}, "energy", "-ckpt", ck, "-in", "x.csv")
	fails(t, dir, []string{ck, "energy of row 1 of the evaluation rows", "overflows"}, "eval", "-ckpt", ck, "-rows", "10", "-json")
}

// TestNonFiniteInputs checks that energy -in and loss -x, -v and -noise
// refuse rows holding a NaN or an infinity, or a value beyond float32,
// naming the file, the row and the column: energy printed NaN, loss gave a
// finite number for Inf rows.
func TestNonFiniteInputs(t *testing.T) {
	dir := t.TempDir()
	run := trainToy(t, dir, "run")
	r := rand.New(rand.NewPCG(3, 5))
	mlp := nn.NewMLP(tensor.Float64, []int{2, 5, 1}, nn.Softplus, r)
	tensor.SaveSafetensors(filepath.Join(dir, "m.safetensors"), nn.Tensors(mlp), nil)
	x := tensor.RandN(tensor.Float64, r, 6, 2)
	tensor.SaveNpy(filepath.Join(dir, "x.npy"), x)
	for _, c := range []struct {
		v    float64
		want string
	}{{math.NaN(), "row 3, column 2 is NaN"}, {math.Inf(1), "row 3, column 2 is +Inf"}, {1e300, "row 3, column 2 is 1e+300, beyond the range of float32"}} {
		bad := x.Clone()
		bad.Set(5, c.v) // row 3, column 2 of 6×2
		tensor.SaveNpy(filepath.Join(dir, "bad.npy"), bad)
		fails(t, dir, []string{"bad.npy", c.want}, "energy", "-ckpt", run, "-in", "bad.npy")
		fails(t, dir, []string{"bad.npy", c.want}, "loss", "-model", "m.safetensors", "-x", "bad.npy")
		fails(t, dir, []string{"bad.npy", c.want}, "loss", "-model", "m.safetensors", "-x", "x.npy", "-objective", "dsm", "-noise", "bad.npy")
	}
	// Finite in float64, and -dtype float64 keeps it.
	big := x.Clone()
	big.Set(5, 1e300)
	tensor.SaveNpy(filepath.Join(dir, "big.npy"), big)
	fdsm(t, dir, "loss", "-model", "m.safetensors", "-x", "big.npy", "-dtype", "float64")
	// A CSV value beyond float32.
	os.WriteFile(filepath.Join(dir, "big.csv"), []byte("x0,x1\n1,2\n3,1e300\n"), 0o666)
	fails(t, dir, []string{"big.csv", "row 2, column 2 is 1e+300, beyond the range of float32"}, "energy", "-ckpt", run, "-in", "big.csv")
}

// TestMetadataPanics checks the inputs that made commands panic: a
// checkpoint's extra.data.mean of NaN,NaN or Inf,0 (eval's quadrature grid),
// and an MNIST set of 0 images (train's batch).
func TestMetadataPanics(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "d.csv"), []byte("a,b\n1,2\n2,1\n3,5\n0,0\n"), 0o666)
	ok(t, dir, "train", "-data", "csv:d.csv", "-width", "4", "-steps", "2", "-batch", "4", "-out", "run")
	ck := filepath.Join(dir, "run", nn.CheckpointName)
	orig := filepath.Join(dir, "orig.safetensors")
	copyFile(t, ck, orig)
	for _, c := range []struct{ key, val, want string }{
		{"extra.data.mean", "NaN,NaN", `metadata "extra.data.mean": mean NaN is not finite`},
		{"extra.data.mean", "Inf,0", `metadata "extra.data.mean": mean +Inf is not finite`},
		{"extra.data.std", "1e-320,1", "d.csv (after the standardize transform of" /* CSV paths are recorded absolute (-holdout) */},
		{"extra.train.energy_mean", "NaN", `metadata "extra.train.energy_mean"`},
	} {
		copyFile(t, orig, ck)
		editCheckpoint(t, ck, func(_ map[string]*tensor.Tensor, md map[string]string) { md[c.key] = c.val })
		fails(t, dir, []string{filepath.Join("run", nn.CheckpointName), c.want}, "eval", "-ckpt", "run", "-ood", "csv:d.csv")
	}

	mn := filepath.Join(dir, "mnist")
	os.Mkdir(mn, 0o777)
	writeIDX(t, filepath.Join(mn, "train-images-idx3-ubyte"), []int{0, 28, 28}, nil)
	writeIDX(t, filepath.Join(mn, "train-labels-idx1-ubyte"), []int{0}, nil)
	fails(t, dir, []string{"train-images-idx3-ubyte", "no images"}, "train", "-data", "mnist:mnist", "-steps", "1", "-out", "m")
}

// TestNonRegularInputs checks that a device given as any input file is
// refused by its kind, not read until memory runs out.
func TestNonRegularInputs(t *testing.T) {
	const dev = "/dev/zero"
	if st, err := os.Stat(dev); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Skip("no /dev/zero")
	}
	dir := t.TempDir()
	run := trainToy(t, dir, "run")
	r := rand.New(rand.NewPCG(3, 6))
	tensor.SaveSafetensors(filepath.Join(dir, "m.safetensors"), nn.Tensors(nn.NewMLP(tensor.Float64, []int{2, 5, 1}, nn.Softplus, r)), nil)
	tensor.SaveNpy(filepath.Join(dir, "x.npy"), tensor.RandN(tensor.Float64, r, 6, 2))
	// energy -in and loss -x want a name ending in .csv or .npy.
	for _, link := range []string{"zero.csv", "zero.npy"} {
		if err := os.Symlink(dev, filepath.Join(dir, link)); err != nil {
			t.Skip(err)
		}
	}
	const kind = "not a regular file (a character device)"
	fails(t, dir, []string{dev, kind}, "eval", "-ckpt", dev)
	fails(t, dir, []string{dev, kind}, "eval", "-ckpt", run, "-data", "csv:"+dev)
	fails(t, dir, []string{"zero.csv", kind}, "energy", "-ckpt", run, "-in", "zero.csv")
	fails(t, dir, []string{"zero.npy", kind}, "energy", "-ckpt", run, "-in", "zero.npy")
	fails(t, dir, []string{dev, kind}, "loss", "-model", dev, "-x", "x.npy")
	fails(t, dir, []string{"zero.npy", kind}, "loss", "-model", "m.safetensors", "-x", "zero.npy")
	fails(t, dir, []string{dev, kind}, "train", "-data", "csv:"+dev, "-steps", "1", "-out", "t")
}

// TestHugeEmptyBatch checks that loss refuses a (10¹², 0) .npy, which holds
// no number yet asked for 16 TB.
func TestHugeEmptyBatch(t *testing.T) {
	dir := t.TempDir()
	tensor.SaveSafetensors(filepath.Join(dir, "m.safetensors"), nn.Tensors(nn.NewMLP(tensor.Float64, []int{2, 5, 1}, nn.Softplus, rand.New(rand.NewPCG(3, 7)))), nil)
	hdr := "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 0), }"
	hdr += strings.Repeat(" ", 63-(10+len(hdr))%64) + "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(hdr)), byte(len(hdr)>>8))
	os.WriteFile(filepath.Join(dir, "e.npy"), append(b, hdr...), 0o666)
	fails(t, dir, []string{"e.npy", "dimension 0 is 1000000000000"}, "loss", "-model", "m.safetensors", "-x", "e.npy")
	tensor.SaveNpy(filepath.Join(dir, "z.npy"), tensor.Zeros(tensor.Float64, 3, 0))
	fails(t, dir, []string{"z.npy", "at least one row and one column"}, "loss", "-model", "m.safetensors", "-x", "z.npy")
}
