package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// sample, eval and energy with -model M.safetensors: a PyTorch state_dict
// instead of a checkpoint.

// f16Bits encodes v as IEEE binary16 if it is exactly representable as a
// normal number or zero (all the tests need), reporting whether it was.
func f16Bits(v float32) (uint16, bool) {
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	if b&0x7fffffff == 0 {
		return sign, true
	}
	exp := int(b>>23&0xff) - 127
	if exp < -14 || exp > 15 || b&0x1fff != 0 { // binary16: exponents −14…15, 10 mantissa bits
		return 0, false
	}
	return sign | uint16(exp+15)<<10 | uint16(b>>13&0x3ff), true
}

// roundF16 rounds v to the nearest binary16 normal number (half away from
// zero), or to 0 below binary16's normal range; the weights here are far
// inside it.
func roundF16(v float64) float64 {
	b := math.Float32bits(float32(v))
	r := math.Float32frombits((b + 0x1000) &^ 0x1fff)
	if math.Abs(float64(r)) < 0x1p-14 {
		return 0
	}
	return float64(r)
}

// writeF16Safetensors writes ts as a safetensors file of F16 tensors by
// hand (tensor's writer writes F32 and F64 only), as PyTorch's
// model.half() state_dict is stored. Every value must be exact in F16.
func writeF16Safetensors(t *testing.T, path string, ts map[string]*tensor.Tensor) {
	t.Helper()
	var data bytes.Buffer
	header := map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(ts)) {
		x := ts[name]
		start := data.Len()
		for i, v := range x.ToFloat64() {
			h, ok := f16Bits(float32(v))
			if !ok {
				t.Fatalf("%s[%d] = %v is not exact in F16", name, i, v)
			}
			binary.Write(&data, binary.LittleEndian, h)
		}
		header[name] = map[string]any{"dtype": "F16", "shape": x.Shape(), "data_offsets": []int{start, data.Len()}}
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	binary.Write(&file, binary.LittleEndian, uint64(len(h)))
	file.Write(h)
	file.Write(data.Bytes())
	if err := os.WriteFile(path, file.Bytes(), 0o666); err != nil {
		t.Fatal(err)
	}
}

// sequentialNames renames fdsm's layers.K.weight/bias to the names of an
// nn.Sequential(Linear, act, Linear, act, …): index 2K.
func sequentialNames(prefix string, ts map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	out := map[string]*tensor.Tensor{}
	for name, v := range ts {
		rest, _ := strings.CutPrefix(name, "layers.")
		num, param, _ := strings.Cut(rest, ".")
		k, _ := strconv.Atoi(num)
		out[fmt.Sprintf("%s%d.%s", prefix, 2*k, param)] = v
	}
	return out
}

// loadVec reads a .npy file as float64s.
func loadVec(t *testing.T, path string) []float64 {
	t.Helper()
	x, err := tensor.LoadNpy(path)
	if err != nil {
		t.Fatal(err)
	}
	return x.ToFloat64()
}

// TestModelFlagF16Sequential: the parameters of an fdsm checkpoint, rounded
// to F16 in the checkpoint and stored as an F16 nn.Sequential state_dict,
// give sample, eval and energy the results of the checkpoint, bit for bit:
// both build the same float32 MLP from the same values.
func TestModelFlagF16Sequential(t *testing.T) {
	dir := t.TempDir()
	run := trainToy(t, dir, "run") // 2-8-8-1 softplus, float32, no transform
	ckpt := filepath.Join(run, nn.CheckpointName)
	var params map[string]*tensor.Tensor
	editCheckpoint(t, ckpt, func(ts map[string]*tensor.Tensor, _ map[string]string) {
		for name, v := range ts {
			if strings.HasPrefix(name, "layers.") {
				x := v.ToFloat64()
				for i := range x {
					x[i] = roundF16(x[i])
				}
				ts[name] = tensor.FromFloat64(v.DType(), x, v.Shape()...)
			}
		}
		params = map[string]*tensor.Tensor{}
		for name, v := range ts {
			if strings.HasPrefix(name, "layers.") {
				params[name] = v
			}
		}
	})
	if len(params) != 6 {
		t.Fatalf("checkpoint holds %d layer tensors, want 6 (three Linear layers)", len(params))
	}
	writeF16Safetensors(t, filepath.Join(dir, "seq.safetensors"), sequentialNames("", params))
	r := rand.New(rand.NewPCG(17, 5))
	writeRows(t, dir, "x.npy", 30, 2, func() float64 { return 2 * r.NormFloat64() })

	ok(t, dir, "energy", "-ckpt", "run", "-in", "x.npy", "-out", "e_ckpt.npy")
	ok(t, dir, "energy", "-model", "seq.safetensors", "-in", "x.npy", "-out", "e_model.npy")
	want, got := loadVec(t, filepath.Join(dir, "e_ckpt.npy")), loadVec(t, filepath.Join(dir, "e_model.npy"))
	if len(want) != 30 || !slices.Equal(got, want) {
		t.Errorf("energy -model %v\nwant (-ckpt) %v", got, want)
	}

	sampleArgs := []string{"-n", "20", "-steps", "10", "-step-size", "0.01", "-seed", "3"}
	ok(t, dir, append([]string{"sample", "-ckpt", "run", "-out", "s_ckpt.npy"}, sampleArgs...)...)
	res := ok(t, dir, append([]string{"sample", "-model", "seq.safetensors", "-out", "s_model.npy"}, sampleArgs...)...)
	if !strings.Contains(res.stdout, "wrote 20 samples of seq.safetensors") {
		t.Errorf("sample -model does not say what it wrote:\n%v", res)
	}
	want, got = loadVec(t, filepath.Join(dir, "s_ckpt.npy")), loadVec(t, filepath.Join(dir, "s_model.npy"))
	if len(want) != 40 || !slices.Equal(got, want) {
		t.Errorf("sample -model %v\nwant (-ckpt) %v", got, want)
	}

	evalArgs := []string{"-data", "toy:8gaussians", "-rows", "200", "-grid", "60"}
	ck, _ := evalJSON(t, dir, append([]string{"-ckpt", "run"}, evalArgs...)...)
	mo, _ := evalJSON(t, dir, append([]string{"-model", "seq.safetensors"}, evalArgs...)...)
	for _, k := range []string{"exact_sm", "loglik", "rows"} {
		if ck[k] == nil || mo[k] != ck[k] {
			t.Errorf("eval -model: %s = %v, want (-ckpt) %v", k, mo[k], ck[k])
		}
	}
	if mo["model"] != "mlp 2-8-8-1 act=softplus" || mo["checkpoint"] != "seq.safetensors" {
		t.Errorf("eval -model names the model %q in %q, want \"mlp 2-8-8-1 act=softplus\" in seq.safetensors", mo["model"], mo["checkpoint"])
	}
	res = ok(t, dir, "eval", "-model", "seq.safetensors", "-data", "toy:8gaussians", "-rows", "50", "-grid", "20")
	if !strings.Contains(res.stdout, "model          seq.safetensors (mlp 2-8-8-1 act=softplus)\n") {
		t.Errorf("eval -model's first line:\n%v", res)
	}
}

// TestModelFlagStandardize: a model trained on a standardized CSV, stored
// as a Sequential inside a larger state_dict, gives the checkpoint's
// energies with -prefix and the checkpoint's mean and standard deviation
// given by -mean (a list) and -std (a .npy vector), and with -columns on a
// CSV with another column first; without -transform it takes the rows as
// they are (the help's default), and gives other energies.
func TestModelFlagStandardize(t *testing.T) {
	dir := t.TempDir()
	run := trainCSV3(t, dir) // a,b,c, standardized (auto for a CSV)
	ck, err := nn.ReadCheckpoint(filepath.Join(dir, run, nn.CheckpointName))
	if err != nil {
		t.Fatal(err)
	}
	mean, std := ck.Meta.Extra[data.MetaMean], ck.Meta.Extra[data.MetaStd]
	sd, err := data.ParseFloats(std)
	if err != nil || len(sd) != 3 || ck.Meta.Extra[data.MetaTransform] != data.TransformStandardize {
		t.Fatalf("checkpoint metadata: transform %q, std %q (%v)", ck.Meta.Extra[data.MetaTransform], std, err)
	}
	tensor.SaveNpy(filepath.Join(dir, "std.npy"), tensor.WrapFloat64(sd, 3))
	ts := sequentialNames("model.net.", ck.Params)
	ts["encoder.0.weight"] = tensor.Zeros(tensor.Float32, 2, 2) // another module, left out by -prefix
	if err := tensor.SaveSafetensors(filepath.Join(dir, "big.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("id,c,b,a\n") // other order, one more column
	for i := range 12 {
		fmt.Fprintf(&b, "%d,%g,%g,%g\n", i, 0.5*float64(i%3), float64(i%5)-1, 1.5*float64(i%7))
	}
	os.WriteFile(filepath.Join(dir, "rows.csv"), []byte(b.String()), 0o666)

	want := ok(t, dir, "energy", "-ckpt", run, "-in", "rows.csv").stdout
	model := []string{"energy", "-model", "big.safetensors", "-prefix", "model.net.", "-in", "rows.csv", "-columns", "a,b,c"}
	got := ok(t, dir, append(model, "-transform", "standardize", "-mean", mean, "-std", "std.npy")...).stdout
	if len(strings.Fields(want)) != 12 || got != want {
		t.Errorf("energy -model -transform standardize:\n%s\nwant (-ckpt):\n%s", got, want)
	}
	if raw := ok(t, dir, model...).stdout; raw == want {
		t.Errorf("energy -model without -transform gives the standardized energies:\n%s", raw)
	}
	fails(t, dir, []string{"rows.csv", "[12 4]", "3 columns"}, "energy", "-model", "big.safetensors", "-prefix", "model.net.", "-in", "rows.csv")
}

// TestModelFlagMNIST: a model trained on logit-transformed MNIST, its
// parameters as a Sequential state_dict, gives the checkpoint's eval
// (dequantised pixels, the logit's log-determinant, bits/dim) and samples
// with -transform logit.
func TestModelFlagMNIST(t *testing.T) {
	dir := t.TempDir()
	fakeMNIST(t, dir)
	ok(t, dir, "train", "-data", "mnist:mnist", "-width", "8", "-depth", "1", "-transform", "logit", "-steps", "2", "-batch", "8", "-out", "mn")
	ck, err := nn.ReadCheckpoint(filepath.Join(dir, "mn", nn.CheckpointName))
	if err != nil {
		t.Fatal(err)
	}
	if err := tensor.SaveSafetensors(filepath.Join(dir, "seq.safetensors"), sequentialNames("", ck.Params), nil); err != nil {
		t.Fatal(err)
	}
	evalArgs := []string{"-data", "mnist:mnist", "-rows", "6", "-is-samples", "300"}
	want, _ := evalJSON(t, dir, append([]string{"-ckpt", "mn"}, evalArgs...)...)
	got, _ := evalJSON(t, dir, append([]string{"-model", "seq.safetensors", "-transform", "logit"}, evalArgs...)...)
	for _, k := range []string{"exact_sm", "loglik", "bits_per_dim"} {
		if want[k] == nil || got[k] != want[k] {
			t.Errorf("eval -model -transform logit: %s = %v, want (-ckpt) %v", k, got[k], want[k])
		}
	}
	sampleArgs := []string{"-n", "3", "-steps", "2", "-init", "uniform"}
	ok(t, dir, append([]string{"sample", "-ckpt", "mn", "-out", "s_ckpt.npy"}, sampleArgs...)...)
	ok(t, dir, append([]string{"sample", "-model", "seq.safetensors", "-transform", "logit", "-out", "s_model.npy"}, sampleArgs...)...)
	if w, g := loadVec(t, filepath.Join(dir, "s_ckpt.npy")), loadVec(t, filepath.Join(dir, "s_model.npy")); len(w) != 3*784 || !slices.Equal(g, w) {
		t.Errorf("sample -model -transform logit differs from sample -ckpt (%d and %d values)", len(g), len(w))
	}
}

// TestModelFlagErrors: the mistakes of -model and its flags, each named.
func TestModelFlagErrors(t *testing.T) {
	dir := t.TempDir()
	trainToy(t, dir, "run")
	r := rand.New(rand.NewPCG(17, 6))
	save := func(name string, ts map[string]*tensor.Tensor) {
		if err := tensor.SaveSafetensors(filepath.Join(dir, name), ts, nil); err != nil {
			t.Fatal(err)
		}
	}
	save("seq.safetensors", sequentialNames("", nn.Tensors(nn.NewMLP(tensor.Float32, []int{2, 4, 1}, nn.Softplus, r))))
	save("score.safetensors", sequentialNames("", nn.Tensors(nn.NewMLP(tensor.Float32, []int{2, 4, 2}, nn.Softplus, r))))
	save("wide.safetensors", sequentialNames("", nn.Tensors(nn.NewMLP(tensor.Float32, []int{2, 4, 3}, nn.Softplus, r))))
	save("conv.safetensors", map[string]*tensor.Tensor{"blocks.0.conv1.weight": tensor.Zeros(tensor.Float32, 2, 1, 3, 3)})
	writeRows(t, dir, "x.npy", 5, 2, r.NormFloat64)
	writeRows(t, dir, "x3.npy", 5, 3, r.NormFloat64)
	// A hidden layer of width 0 (a constant energy; before the check, d = 0
	// sampled rows of no columns).
	save("empty.safetensors", map[string]*tensor.Tensor{"0.weight": tensor.Zeros(tensor.Float32, 0, 2), "0.bias": tensor.Zeros(tensor.Float32, 0),
		"2.weight": tensor.Zeros(tensor.Float32, 1, 0), "2.bias": tensor.Zeros(tensor.Float32, 1)})
	fails(t, dir, []string{"empty.safetensors", "layer 0's weight is [0 2]"}, "energy", "-model", "empty.safetensors", "-in", "x.npy")
	save("d0.safetensors", map[string]*tensor.Tensor{"0.weight": tensor.Zeros(tensor.Float32, 1, 0), "0.bias": tensor.Zeros(tensor.Float32, 1)})
	fails(t, dir, []string{"d0.safetensors", "layer 0's weight is [1 0]"}, "sample", "-model", "d0.safetensors")
	// An fdsm checkpoint (optimizer state and all) given to -model.
	fails(t, dir, []string{nn.CheckpointName, "different prefixes", "give it to -ckpt"}, "energy", "-model", filepath.Join("run", nn.CheckpointName), "-in", "x.npy")

	// A score network samples and has no energy.
	ok(t, dir, "sample", "-model", "score.safetensors", "-n", "4", "-steps", "2", "-out", "s.npy")
	if s := loadVec(t, filepath.Join(dir, "s.npy")); len(s) != 8 {
		t.Errorf("sample -model score.safetensors wrote %d values, want 4 rows of 2", len(s))
	}
	fails(t, dir, []string{"score.safetensors", "score network"}, "energy", "-model", "score.safetensors", "-in", "x.npy")
	fails(t, dir, []string{"wide.safetensors", "[3 4]", "want 1 output (an energy) or 2"}, "energy", "-model", "wide.safetensors", "-in", "x.npy")
	fails(t, dir, []string{"conv.safetensors", "blocks.0.conv1.weight"}, "eval", "-model", "conv.safetensors", "-data", "toy:moons")
	fails(t, dir, []string{"x3.npy", "rows of 2 columns"}, "energy", "-model", "seq.safetensors", "-in", "x3.npy")
	fails(t, dir, []string{"missing.safetensors"}, "sample", "-model", "missing.safetensors")
	fails(t, dir, []string{"-out seq.safetensors", "refusing"}, "energy", "-model", "seq.safetensors", "-in", "x.npy", "-out", "seq.safetensors")
	fails(t, dir, []string{"m.npy"}, "energy", "-model", "seq.safetensors", "-in", "x.npy", "-transform", "standardize", "-mean", "m.npy", "-std", "1,1")
	tensor.SaveNpy(filepath.Join(dir, "m.npy"), tensor.WrapFloat64([]float64{1, 2, 3}, 3))
	fails(t, dir, []string{"-mean m.npy", "shape [3]"}, "energy", "-model", "seq.safetensors", "-in", "x.npy", "-transform", "standardize", "-mean", "m.npy", "-std", "1,1")

	usage(t, dir, "-ckpt and -model are alternatives", "sample", "-ckpt", "run", "-model", "seq.safetensors")
	usage(t, dir, "-act, -dtype: only with -model", "energy", "-ckpt", "run", "-in", "x.npy", "-act", "tanh", "-dtype", "float64")
	usage(t, dir, "-act: ", "energy", "-model", "seq.safetensors", "-in", "x.npy", "-act", "relu")
	usage(t, dir, "-dtype: ", "energy", "-model", "seq.safetensors", "-in", "x.npy", "-dtype", "float16")
	usage(t, dir, `-transform "nope"`, "energy", "-model", "seq.safetensors", "-in", "x.npy", "-transform", "nope")
	usage(t, dir, "-transform standardize needs -mean (2 values)", "energy", "-model", "seq.safetensors", "-in", "x.npy", "-transform", "standardize")
	usage(t, dir, "-mean: 3 values, but the model takes 2 inputs", "energy", "-model", "seq.safetensors", "-in", "x.npy", "-transform", "standardize", "-mean", "1,2,3", "-std", "1,1")
	usage(t, dir, "-std: value 2 is 0", "energy", "-model", "seq.safetensors", "-in", "x.npy", "-transform", "standardize", "-mean", "0,0", "-std", "1,0")
	usage(t, dir, "-mean and -std are for -transform standardize", "energy", "-model", "seq.safetensors", "-in", "x.npy", "-mean", "0,0")
	usage(t, dir, "-columns: 3 names", "energy", "-model", "seq.safetensors", "-in", "x.npy", "-columns", "a,b,c")
	usage(t, dir, "records no training data: give -data", "eval", "-model", "seq.safetensors")
}

// TestModelFlagTorch: energies computed by PyTorch for nn.Sequential MLPs of
// unequal widths, their state_dicts written by hand as safetensors (F32,
// F64, and F16 from model.half()), are what fdsm energy -model prints.
func TestModelFlagTorch(t *testing.T) {
	needTorch(t)
	dir := t.TempDir()
	// Writes NAME.safetensors, x.npy and NAME.energy.npy for each model; the
	// safetensors format as bench/peers/fdsm_to_torch.py reads it: an 8-byte
	// little-endian header length, a JSON header, the raw little-endian data.
	const script = `
import json, struct, numpy as np, torch
torch.manual_seed(0)
DT = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16"}
def save(path, sd):
    header, blobs, off = {}, [], 0
    for name, t in sd.items():
        b = t.detach().contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": DT[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b); off += len(b)
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h); f.write(b"".join(blobs))
x = torch.randn(40, 3, dtype=torch.float64) * 2
np.save("x.npy", x.numpy())
def seq(act):
    return torch.nn.Sequential(torch.nn.Linear(3, 16), act(), torch.nn.Linear(16, 8), act(), torch.nn.Linear(8, 1))
with torch.no_grad():
    m = seq(torch.nn.Softplus)
    save("sp32.safetensors", m.state_dict())
    np.save("sp32.energy.npy", m(x.float()).squeeze(1).double().numpy())
    m = seq(torch.nn.Tanh).double()
    save("tanh64.safetensors", m.state_dict())
    np.save("tanh64.energy.npy", m(x).squeeze(1).numpy())
    m = seq(torch.nn.SiLU).half()
    save("swish16.safetensors", m.state_dict())
    m = m.float()  # the F16 weights, computed in float32 as fdsm reads them
    np.save("swish16.energy.npy", m(x.float()).squeeze(1).double().numpy())
`
	cmd := exec.Command(torchPython, "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", torchPython, err, out)
	}
	// The tolerances on |E_fdsm − E_torch| / max(1, |E|) are
	// TestTorchEnergies': rounding of the same arithmetic in other orders and
	// kernels (a few float32 or float64 units per operation, over fan-ins
	// up to 16 and 3 layers here). Measured (go test -run TestModelFlagTorch
	// -v): 1.2e-7 (float32), 6e-17 (float64); a wrong activation or a
	// transposed weight moves the energies by more than 1e-2.
	for _, c := range []struct {
		name string
		args []string
		tol  float64
	}{
		{"sp32", nil, torchTol32},
		{"tanh64", []string{"-act", "tanh", "-dtype", "float64"}, torchTol64},
		{"swish16", []string{"-act", "swish"}, torchTol32},
	} {
		ok(t, dir, append([]string{"energy", "-model", c.name + ".safetensors", "-in", "x.npy", "-out", c.name + ".fdsm.npy"}, c.args...)...)
		want, got := loadVec(t, filepath.Join(dir, c.name+".energy.npy")), loadVec(t, filepath.Join(dir, c.name+".fdsm.npy"))
		if len(got) != 40 || len(want) != 40 {
			t.Fatalf("%s: %d energies from fdsm, %d from PyTorch, want 40", c.name, len(got), len(want))
		}
		var worst float64
		for j := range got {
			d := math.Abs(got[j]-want[j]) / math.Max(1, math.Abs(want[j]))
			worst = math.Max(worst, d)
			if !(d <= c.tol) {
				t.Errorf("%s row %d: fdsm %.17g, PyTorch %.17g (relative difference %.2g > %g)", c.name, j, got[j], want[j], d, c.tol)
			}
		}
		t.Logf("%s: largest relative difference %.2g (tolerance %g)", c.name, worst, c.tol)
	}
}
