package nn

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/tensor"
)

// ckptMLP returns a small MLP and an Adam that has taken two steps on it
// (with made-up gradients), so that every buffer is non-trivial.
func ckptMLP(dt tensor.DType, sizes []int, seed uint64) (*MLP, *Adam) {
	rng := rand.New(rand.NewPCG(seed, 0))
	m := NewMLP(dt, sizes, Softplus, rng)
	opt := NewAdam()
	ps := m.Params()
	for range 2 {
		grads := make([]*tensor.Tensor, len(ps))
		for i, p := range ps {
			grads[i] = tensor.RandN(dt, rng, p.Value.Shape()...)
		}
		opt.Step(ps, grads, 0.01)
	}
	return m, opt
}

// ckptBits returns a model's parameters as bit patterns, for exact comparison
// (NaN-safe, and −0 ≠ +0).
func ckptBits(ps []Param) map[string][]uint64 {
	out := map[string][]uint64{}
	for _, p := range ps {
		for _, v := range p.Value.T().ToFloat64() {
			out[p.Name] = append(out[p.Name], math.Float64bits(v))
		}
	}
	return out
}

func TestCheckpointRoundTrip(t *testing.T) {
	for _, dt := range optDTypes {
		m, opt := ckptMLP(dt, []int{2, 4, 1}, 1)
		src := rand.NewPCG(3, 4)
		src.Uint64()
		state, err := src.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		meta := Metadata{
			Model: "mlp 2-4-1 softplus", Step: 17, Seed: math.MaxUint64, RNG: state,
			Objective: "fd-ssm", DType: dt, Extra: map[string]string{"lr": "0.001", "note": "ünïcode"},
		}
		path := filepath.Join(t.TempDir(), "ckpt.safetensors")
		if err := SaveCheckpoint(path, m.Params(), opt, meta); err != nil {
			t.Fatal(err)
		}

		// The file as any safetensors reader sees it: PyTorch names and
		// layout, optimizer buffers beside them, metadata as strings.
		raw, md, err := tensor.LoadSafetensors(path)
		if err != nil {
			t.Fatal(err)
		}
		wantNames := []string{"layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.weight"}
		for _, n := range wantNames {
			wantNames = append(wantNames, "optim.exp_avg."+n, "optim.exp_avg_sq."+n)
		}
		slices.Sort(wantNames)
		var names []string
		for n := range raw {
			names = append(names, n)
		}
		slices.Sort(names)
		if !slices.Equal(names, wantNames) {
			t.Errorf("%v: tensors %v, want %v", dt, names, wantNames)
		}
		if s := raw["layers.0.weight"].Shape(); !slices.Equal(s, []int{4, 2}) {
			t.Errorf("%v: layers.0.weight shape %v, want [4 2] ([out, in])", dt, s)
		}
		for k, want := range map[string]string{
			"format": "pt", "step": "17", "seed": "18446744073709551615", "rng": hex.EncodeToString(state),
			"model": meta.Model, "objective": "fd-ssm", "dtype": dt.String(),
			"optim": "adam", "optim.step": "2", "extra.lr": "0.001", "extra.note": "ünïcode",
		} {
			if md[k] != want {
				t.Errorf("%v: metadata %q = %q, want %q", dt, k, md[k], want)
			}
		}

		// Loading into a differently initialised model and a fresh Adam
		// restores everything exactly.
		m2, _ := ckptMLP(dt, []int{2, 4, 1}, 99)
		opt2 := NewAdam()
		got, err := LoadCheckpoint(path, m2.Params(), opt2)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, meta) {
			t.Errorf("%v: metadata %+v, want %+v", dt, got, meta)
		}
		if !reflect.DeepEqual(ckptBits(m2.Params()), ckptBits(m.Params())) {
			t.Errorf("%v: loaded parameters differ from the saved ones", dt)
		}
		st, st2 := opt.State(), opt2.State()
		if !reflect.DeepEqual(st.Scalars, st2.Scalars) || len(st.Tensors) != len(st2.Tensors) {
			t.Errorf("%v: optimizer state %v, want %v", dt, st2.Scalars, st.Scalars)
		}
		for k, v := range st.Tensors {
			if !slices.Equal(v.ToFloat64(), st2.Tensors[k].ToFloat64()) {
				t.Errorf("%v: optimizer buffer %q differs", dt, k)
			}
		}
		src2 := rand.NewPCG(0, 0)
		if err := src2.UnmarshalBinary(got.RNG); err != nil {
			t.Fatal(err)
		}
		if a, b := src.Uint64(), src2.Uint64(); a != b {
			t.Errorf("%v: restored generator draws %d, want %d", dt, b, a)
		}

		// Without an optimizer, only the parameters are read.
		m3, _ := ckptMLP(dt, []int{2, 4, 1}, 5)
		if _, err := LoadCheckpoint(path, m3.Params(), nil); err != nil {
			t.Errorf("%v: loading parameters only: %v", dt, err)
		}
	}
}

// A file holding only parameters, as PyTorch's save_file(model.state_dict())
// writes it, loads with no optimizer and gives zero metadata.
func TestCheckpointPyTorchStateDict(t *testing.T) {
	m, _ := ckptMLP(tensor.Float32, []int{2, 3, 1}, 1)
	tensors := map[string]*tensor.Tensor{}
	for _, p := range m.Params() {
		tensors[p.Name] = p.Value.T()
	}
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := tensor.SaveSafetensors(path, tensors, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	m2, _ := ckptMLP(tensor.Float32, []int{2, 3, 1}, 2)
	meta, err := LoadCheckpoint(path, m2.Params(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(meta, Metadata{}) {
		t.Errorf("metadata %+v, want zero", meta)
	}
	if !reflect.DeepEqual(ckptBits(m2.Params()), ckptBits(m.Params())) {
		t.Errorf("parameters differ after loading")
	}
	if _, err := LoadCheckpoint(path, m2.Params(), NewAdam()); err == nil || !strings.Contains(err.Error(), `no optimizer state`) {
		t.Errorf("loading with an optimizer: %v, want a no-optimizer-state error", err)
	}
}

func TestLoadCheckpointErrors(t *testing.T) {
	dir := t.TempDir()
	m, opt := ckptMLP(tensor.Float32, []int{2, 4, 1}, 1)
	good := filepath.Join(dir, "good.safetensors")
	if err := SaveCheckpoint(good, m.Params(), opt, Metadata{Step: 3}); err != nil {
		t.Fatal(err)
	}
	tensors, md, err := tensor.LoadSafetensors(good)
	if err != nil {
		t.Fatal(err)
	}
	// withMeta writes good's tensors with one metadata value replaced.
	n := 0
	withMeta := func(key, val string) string {
		m := map[string]string{}
		for k, v := range md {
			m[k] = v
		}
		m[key] = val
		n++
		path := filepath.Join(dir, fmt.Sprintf("bad%d.safetensors", n))
		if err := tensor.SaveSafetensors(path, tensors, m); err != nil {
			t.Fatal(err)
		}
		return path
	}
	truncated := filepath.Join(dir, "truncated.safetensors")
	data, _ := os.ReadFile(good)
	os.WriteFile(truncated, data[:len(data)-3], 0o666)

	type model struct {
		dt    tensor.DType
		sizes []int
	}
	std := model{tensor.Float32, []int{2, 4, 1}}
	cases := []struct {
		name  string
		path  string
		model model
		opt   Optimizer
		want  []string // substrings of the error: the file and the field
	}{
		{"missing parameters", good, model{tensor.Float32, []int{2, 4, 4, 1}}, nil, []string{`parameters "layers.2.bias", "layers.2.weight" missing`}},
		{"extra tensors", good, model{tensor.Float32, []int{2, 1}}, nil, []string{`"layers.1.bias", "layers.1.weight" in the file are not parameters`}},
		{"shape", good, model{tensor.Float32, []int{2, 5, 1}}, nil, []string{`parameter "layers.0.weight": shape [4 2] in the file, [5 2] in the model`}},
		{"dtype", good, model{tensor.Float64, []int{2, 4, 1}}, nil, []string{`parameter "layers.0.weight": dtype float32 in the file, float64 in the model`}},
		{"optimizer kind", good, std, NewSGD(0.9), []string{`optimizer state`, `for "adam", not "sgd"`}},
		{"step not a number", withMeta("step", "abc"), std, nil, []string{`metadata "step": "abc" is not a non-negative integer`}},
		{"negative step", withMeta("step", "-2"), std, nil, []string{`metadata "step": "-2"`}},
		{"seed", withMeta("seed", "0x10"), std, nil, []string{`metadata "seed": "0x10"`}},
		{"bad hex", withMeta("rng", "7063673zz"), std, nil, []string{`metadata "rng": "7063673zz" is not a non-empty hex string`}},
		{"odd hex", withMeta("rng", "abc"), std, nil, []string{`metadata "rng": "abc"`}},
		{"dtype name", withMeta("dtype", "float16"), std, nil, []string{`metadata "dtype": "float16"`}},
		{"optimizer scalar", withMeta("optim.step", "two"), std, NewAdam(), []string{`metadata "optim.step": "two" is not a finite number`}},
		{"optimizer scalar NaN", withMeta("optim.step", "NaN"), std, NewAdam(), []string{`metadata "optim.step": "NaN"`}},
		{"optimizer step fraction", withMeta("optim.step", "2.5"), std, NewAdam(), []string{`"step" is 2.5`}},
		{"long value", withMeta("step", strings.Repeat("9", 1000)), std, nil, []string{`metadata "step": "9999`, `…`}},
		{"no file", filepath.Join(dir, "absent.safetensors"), std, nil, []string{"no such file"}},
		{"truncated", truncated, std, nil, []string{"safetensors"}},
	}
	for _, c := range cases {
		mm := NewMLP(c.model.dt, c.model.sizes, Softplus, rand.New(rand.NewPCG(7, 7)))
		before := ckptBits(mm.Params())
		var stBefore OptimState
		if c.opt != nil {
			stBefore = c.opt.State()
		}
		_, err := LoadCheckpoint(c.path, mm.Params(), c.opt)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, c.path+": ") {
			t.Errorf("%s: error %q does not start with the file name", c.name, msg)
		}
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: error %q does not contain %q", c.name, msg, w)
			}
		}
		if !reflect.DeepEqual(ckptBits(mm.Params()), before) {
			t.Errorf("%s: a failed load changed the parameters", c.name)
		}
		if c.opt != nil && !reflect.DeepEqual(c.opt.State(), stBefore) {
			t.Errorf("%s: a failed load changed the optimizer", c.name)
		}
	}
}

func TestSaveCheckpointErrors(t *testing.T) {
	dir := t.TempDir()
	w := Param{Name: "w", Value: optParam(tensor.Float32, "w", 1).Value}
	cases := []struct {
		name   string
		path   string
		params []Param
		want   string
	}{
		{"reserved name", filepath.Join(dir, "a"), []Param{{Name: "optim.w", Value: w.Value}}, `"optim.w": names starting with "optim." are reserved`},
		{"duplicate", filepath.Join(dir, "b"), []Param{w, w}, `"w" appears twice`},
		{"no directory", filepath.Join(dir, "absent", "c"), []Param{w}, "no such file"},
	}
	for _, c := range cases {
		err := SaveCheckpoint(c.path, c.params, NewAdam(), Metadata{})
		if err == nil || !strings.HasPrefix(err.Error(), c.path+": ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error starting with the path and containing %s", c.name, err, c.want)
		}
	}
}

// FuzzCheckpointMetadata checks the metadata parser on arbitrary values:
// it never panics, an error names the key ("metadata \"step\": ..."), and
// whatever it accepts encodes back to the same values.
func FuzzCheckpointMetadata(f *testing.F) {
	pcg, _ := rand.NewPCG(1, 2).MarshalBinary()
	rngHex := hex.EncodeToString(pcg)
	// Arguments: step, seed, rng, dtype, optimizer kind, optimizer step,
	// extra value.
	f.Add("0", "0", rngHex, "float32", "adam", "0", "")
	f.Add("12345", "18446744073709551615", rngHex, "float64", "sgd", "12345", "x")
	f.Add("+7", "007", "ABCDEF", "f32", "rmsprop", "1e3", "ünï")
	f.Add("abc", "1", rngHex, "float32", "adam", "1", "")
	f.Add("-1", "-1", "zz", "float16", "", "NaN", "")
	f.Add("99999999999999999999", "18446744073709551616", "abc", "", "adam", "Inf", "")
	f.Add("", "", "", "", "", "", "")
	f.Add("1", "1", "00", "float64", "adam", "-0", "\xff")
	f.Fuzz(func(t *testing.T, step, seed, rng, dtype, kind, optimStep, extra string) {
		md := map[string]string{
			"step": step, "seed": seed, "rng": rng, "dtype": dtype,
			"optim": kind, "optim.step": optimStep, "extra.x": extra, "model": extra,
		}
		meta, st, err := decodeMetadata(md)
		if err != nil {
			if !strings.HasPrefix(err.Error(), `metadata "`) {
				t.Fatalf("error %q does not name the metadata key", err)
			}
			return
		}
		if meta.Step < 0 || len(meta.RNG) == 0 || st.Kind == "" || (meta.DType != tensor.Float32 && meta.DType != tensor.Float64) {
			t.Fatalf("accepted an invalid value: %+v %+v", meta, st)
		}
		md2 := encodeMetadata(meta)
		encodeOptimMetadata(md2, st)
		meta2, st2, err := decodeMetadata(md2)
		if err != nil {
			t.Fatalf("re-encoded metadata %v does not parse: %v", md2, err)
		}
		if !reflect.DeepEqual(meta, meta2) || !reflect.DeepEqual(st, st2) {
			t.Fatalf("round trip changed %+v %+v into %+v %+v", meta, st, meta2, st2)
		}
	})
}
