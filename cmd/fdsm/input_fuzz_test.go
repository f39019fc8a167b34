package main

import (
	"bytes"
	"encoding/json"
	"github.com/fdsm/fdsm/internal/rundir"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// The fuzzers below drive the commands in-process through run, on what a
// user's files can hold: a panic fails them, an error is fine (it must name
// the file at fault). Each execution is a few milliseconds: tiny models,
// tiny files. Their seeds (f.Add and testdata/fuzz/NAME) run with go test.

// fuzzCheckpoint is the safetensors content of a checkpoint fdsm train
// wrote: its tensors and its header metadata.
type fuzzCheckpoint struct {
	name string
	ts   map[string]*tensor.Tensor
	md   map[string]string
}

// fuzzRowsCSV is a table of rows every fuzzCheckpoints model takes: columns
// a, b (those of the CSV runs) with values in (0, 1) (the logit run's).
const fuzzRowsCSV = "a,b\n0.25,0.5\n0.75,0.125\n"

// fuzzCheckpoints trains by fdsm train, in dir, one tiny model of each kind
// whose metadata the commands read differently: an MLP energy on a toy; on a
// CSV table, standardized, with held-out rows; on a CSV table of values in
// (0, 1) under the logit transform; a DKEF (its α); a score network; NICE;
// the quadratic-head energy. It returns their contents, in that order.
func fuzzCheckpoints(f *testing.F, dir string) []fuzzCheckpoint {
	f.Helper()
	os.WriteFile(filepath.Join(dir, "d.csv"), []byte("a,b\n1,2\n2,1\n3,5\n0,0\n4,4\n1,1\n2,2\n5,3\n3,3\n0,4\n"), 0o666)
	os.WriteFile(filepath.Join(dir, "u.csv"), []byte("a,b\n0.1,0.2\n0.3,0.5\n0.9,0.4\n0.6,0.7\n0.2,0.8\n"), 0o666)
	tiny := []string{"-width", "4", "-depth", "1", "-steps", "1", "-batch", "4"}
	var out []fuzzCheckpoint
	for _, c := range []struct {
		name string
		args []string
	}{
		{"mlp-toy", []string{"-data", "toy:8gaussians"}},
		{"mlp-csv", []string{"-data", "csv:" + filepath.Join(dir, "d.csv"), "-holdout", "0.2"}},
		{"mlp-logit", []string{"-data", "csv:" + filepath.Join(dir, "u.csv"), "-transform", "logit"}},
		{"dkef", []string{"-data", "toy:8gaussians", "-model", "dkef", "-inducing", "3", "-kernels", "1"}},
		{"score-mlp", []string{"-data", "toy:8gaussians", "-model", "score-mlp", "-objective", "ssm-vr"}},
		{"nice", []string{"-data", "toy:8gaussians", "-model", "nice", "-couplings", "2"}},
		{"quadratic", []string{"-data", "toy:8gaussians", "-model", "quadratic"}},
	} {
		run1 := filepath.Join(dir, c.name)
		args := append(append([]string{"train", "-out", run1}, tiny...), c.args...)
		var stdout, errw bytes.Buffer
		if code := run(args, &stdout, &errw); code != 0 {
			f.Fatalf("fdsm %s: exit %d\n%s", strings.Join(args, " "), code, errw.String())
		}
		ts, md, err := tensor.LoadSafetensors(filepath.Join(run1, nn.CheckpointName))
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, fuzzCheckpoint{c.name, ts, md})
	}
	return out
}

// FuzzCheckpointMeta edits the extra metadata of checkpoints fdsm train
// wrote, saves them and loads them as the commands do (rundir.LoadModel), then runs
// energy, sample and eval on those that load. edits is lines KEY=VALUE,
// each setting extra.KEY (KEY alone removes it); which picks the checkpoint
// of fuzzCheckpoints.
func FuzzCheckpointMeta(f *testing.F) {
	dir := f.TempDir()
	// eval and sample read MNIST from the cache when the metadata says
	// mnist: none there, so that an execution stays fast.
	f.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	f.Setenv("HOME", filepath.Join(dir, "home"))
	bases := fuzzCheckpoints(f, dir)
	rows := filepath.Join(dir, "rows.csv")
	os.WriteFile(rows, []byte(fuzzRowsCSV), 0o666)
	for which := range bases {
		f.Add(uint8(which), "")
	}
	for _, s := range []struct {
		which int
		edits string
	}{
		{0, "data.mean=NaN,NaN\ndata.transform=standardize\ndata.std=1,1"},
		{0, "data.transform=standardize\ndata.mean=0,0\ndata.std=1e-320,1"},
		{0, "data=mnist\ndata.dequantize=true"},
		{0, "data=mnist:" + filepath.Join(dir, "nowhere")},
		{0, "data=csv:/dev/zero"},
		{0, "data=csv:" + dir},
		{0, "data"},
		{0, "train.energy_mean=Inf"},
		{1, "data.columns=[\"a\",\"a\"]"},
		{1, "data.columns=[\"b\",\"a\"]"},
		{1, "data.columns=null"},
		{1, "data.holdout=0.999999"},
		{1, "data.holdout=0\ndata.rows=1"},
		{1, "data.rows=99999999999999999999"},
		{1, "data.holdout_seed"},
		{2, "data.transform=logit"},
		{3, "dkef.alpha=1,2,3"},
		{3, "dkef.alpha=1e308,1e308,-1e308"},
		{3, "dkef.alpha=,,"},
		{5, "data.transform=logit\ndata=mnist"},
	} {
		f.Add(uint8(s.which), s.edits)
	}
	f.Fuzz(func(t *testing.T, which uint8, edits string) {
		base := bases[int(which)%len(bases)]
		md := maps.Clone(base.md)
		for line := range strings.SplitSeq(edits, "\n") {
			if k, v, set := strings.Cut(line, "="); set {
				md["extra."+k] = v
			} else {
				delete(md, "extra."+k)
			}
		}
		path := filepath.Join(t.TempDir(), "ck.safetensors")
		if err := tensor.SaveSafetensors(path, base.ts, md); err != nil {
			return // metadata no checkpoint can hold (a key or value not UTF-8)
		}
		if _, err := rundir.LoadModel(path); err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("%s, edits %q: the error does not name the checkpoint: %v", base.name, edits, err)
			}
			return
		}
		for _, args := range [][]string{
			{"energy", "-ckpt", path, "-in", rows},
			{"sample", "-ckpt", path, "-n", "2", "-steps", "1"},
			{"eval", "-ckpt", path, "-rows", "2", "-batch", "2", "-grid", "8", "-is-samples", "16"},
		} {
			var stdout, errw bytes.Buffer
			if code := run(args, &stdout, &errw); code > 2 {
				t.Fatalf("%s, edits %q: fdsm %s: exit %d\n%s", base.name, edits, strings.Join(args, " "), code, errw.String())
			}
		}
	})
}

// fuzzNpy returns the .npy encoding of x.
func fuzzNpy(f *testing.F, x *tensor.Tensor) []byte {
	f.Helper()
	p := filepath.Join(f.TempDir(), "x.npy")
	if err := tensor.SaveNpy(p, x); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// fuzzInputSeeds adds seeds for a file of rows of 2 columns: .npy
// encodings (npy true) and CSV tables.
func fuzzInputSeeds(f *testing.F, extra func(npy bool, b []byte)) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, x := range []*tensor.Tensor{
		tensor.RandN(tensor.Float64, r, 3, 2),
		tensor.RandN(tensor.Float32, r, 1, 2),
		tensor.RandN(tensor.Float64, r, 2),    // one row as a 1-D array
		tensor.RandN(tensor.Float64, r, 2, 3), // the wrong columns
		tensor.Zeros(tensor.Float64, 0, 2),
		tensor.FromFloat64(tensor.Float64, []float64{1e300, 0.5}, 1, 2),
	} {
		b := fuzzNpy(f, x)
		extra(true, b)
		extra(true, b[:len(b)-3]) // cut short
	}
	for _, s := range []string{
		fuzzRowsCSV,
		"a,b\n0.25,NaN\n",
		"a,b\n1e39,0\n",
		"b,a\n0.25,0.5\n",
		"a,b,c\n1,2,3\n",
		"a\n1\n",
		"a,b\n1,2,3\n",
		"\"a\r\n\",b\n1,2\n",
		"",
	} {
		extra(false, []byte(s))
	}
}

// FuzzEnergyIn runs fdsm energy -in on arbitrary file bytes, as a .npy
// file or a CSV table, against an MLP energy of a toy run, of a CSV run (its
// columns and standardization) and of a logit run; which picks one.
func FuzzEnergyIn(f *testing.F) {
	dir := f.TempDir()
	ckpts := []string{"mlp-toy", "mlp-csv", "mlp-logit"}
	fuzzCheckpoints(f, dir)
	fuzzInputSeeds(f, func(npy bool, b []byte) {
		for which := range ckpts {
			f.Add(uint8(which), npy, b)
		}
	})
	f.Fuzz(func(t *testing.T, which uint8, npy bool, b []byte) {
		in := filepath.Join(t.TempDir(), "rows.csv")
		if npy {
			in = strings.TrimSuffix(in, ".csv") + ".npy"
		}
		if err := os.WriteFile(in, b, 0o666); err != nil {
			t.Fatal(err)
		}
		ckpt := filepath.Join(dir, ckpts[int(which)%len(ckpts)])
		args := []string{"energy", "-ckpt", ckpt, "-in", in}
		var stdout, errw bytes.Buffer
		switch code := run(args, &stdout, &errw); code {
		case 0:
		case 1:
			if !strings.Contains(errw.String(), in) {
				t.Fatalf("fdsm %s: the error does not name the file:\n%s", strings.Join(args, " "), errw.String())
			}
		default:
			t.Fatalf("fdsm %s: exit %d\n%s", strings.Join(args, " "), code, errw.String())
		}
	})
}

// FuzzLossX runs fdsm loss -x on arbitrary file bytes (loss reads .npy
// only; CSV bytes are seeds of what a user may give it by mistake) with an
// MLP energy saved as PyTorch names it, under an objective which picks.
func FuzzLossX(f *testing.F) {
	dir := f.TempDir()
	model := filepath.Join(dir, "m.safetensors")
	mlp := nn.NewMLP(tensor.Float64, []int{2, 4, 1}, nn.Softplus, rand.New(rand.NewPCG(3, 4)))
	if err := tensor.SaveSafetensors(model, nn.Tensors(mlp), nil); err != nil {
		f.Fatal(err)
	}
	objectives := []string{"fd-ssm", "ssm", "dsm", "sm", "fd-dsm"}
	fuzzInputSeeds(f, func(_ bool, b []byte) {
		for which := range objectives {
			f.Add(uint8(which), b)
		}
	})
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		x := filepath.Join(t.TempDir(), "x.npy")
		if err := os.WriteFile(x, b, 0o666); err != nil {
			t.Fatal(err)
		}
		args := []string{"loss", "-model", model, "-objective", objectives[int(which)%len(objectives)], "-x", x, "-json"}
		var stdout, errw bytes.Buffer
		switch code := run(args, &stdout, &errw); code {
		case 0:
			var v struct{ Loss *float64 }
			if err := json.Unmarshal(stdout.Bytes(), &v); err != nil || v.Loss == nil {
				t.Fatalf("fdsm %s: exit 0 but no loss in the JSON (%v):\n%s", strings.Join(args, " "), err, stdout.String())
			}
		case 1:
			if !strings.Contains(errw.String(), x) {
				t.Fatalf("fdsm %s: the error does not name the file:\n%s", strings.Join(args, " "), errw.String())
			}
		default:
			t.Fatalf("fdsm %s: exit %d\n%s", strings.Join(args, " "), code, errw.String())
		}
	})
}
