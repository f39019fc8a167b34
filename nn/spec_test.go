package nn

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/tensor"
)

// TestModelSpecRoundTrip checks that String and ParseModelSpec are
// inverses on one specification of each kind, and that malformed or
// out-of-range specifications are refused.
func TestModelSpecRoundTrip(t *testing.T) {
	for _, s := range []ModelSpec{
		{Kind: KindMLP, Dim: 2, Width: 64, Depth: 2, Act: Softplus},
		{Kind: KindScoreMLP, Dim: 784, Width: 512, Depth: 2, Act: ELU},
		{Kind: KindNICE, Dim: 784, Width: 1000, Depth: 5, Act: Softplus, Couplings: 4, Prior: LogisticPrior},
		{Kind: KindQuadratic, Dim: 11, Width: 128, Depth: 2, Act: Tanh},
		{Kind: KindDKEF, Dim: 11, Width: 30, Depth: 2, Act: Swish, Inducing: 100, Kernels: 3},
	} {
		got, err := ParseModelSpec(s.String())
		if err != nil || got != s {
			t.Errorf("%q: parsed as %+v, %v; want %+v", s.String(), got, err, s)
		}
	}
	for _, bad := range []string{"", "mlp", "mlp d=2 width=8 depth=2", "mlp d=2 width=8 depth=2 act=softplus extra=1",
		"mlp d=2 width=8 depth=2 act=softplus d=3", "mlp d=x width=8 depth=2 act=softplus", "nice d=1 width=8 depth=2 act=softplus couplings=2 prior=gaussian",
		"nice d=4 width=8 depth=2 act=softplus couplings=2 prior=cauchy", "mlp d=2 width=8 depth=0 act=softplus"} {
		if s, err := ParseModelSpec(bad); err == nil {
			t.Errorf("%q: parsed as %+v, want an error", bad, s)
		}
	}
}

// FuzzParseModelSpec feeds arbitrary checkpoint "model" metadata to the
// parser: it must return an error or a specification that validates and
// that its String form reads back to the same specification, never panic.
func FuzzParseModelSpec(f *testing.F) {
	for _, s := range []string{
		"mlp d=2 width=64 depth=2 act=softplus",
		"score-mlp d=784 width=512 depth=2 act=elu",
		"nice d=784 width=1000 depth=5 act=softplus couplings=4 prior=logistic",
		"quadratic d=11 width=30 depth=2 act=tanh",
		"dkef d=11 width=30 depth=2 act=softplus inducing=100 kernels=3",
		"resnet d=784 width=32 depth=3 act=softplus",
		"resnet d=783 width=32 depth=3 act=softplus",
		"resnet d=1024 width=99999 depth=3 act=softplus",
		"mlp d=2 width=8 depth=2 act=softplus d=3",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := ParseModelSpec(s)
		if err != nil {
			return
		}
		if err := spec.Validate(); err != nil {
			t.Fatalf("%q parsed but does not validate: %v", s, err)
		}
		again, err := ParseModelSpec(spec.String())
		if err != nil || again != spec {
			t.Fatalf("%q → %q → %+v, %v (want %+v)", s, spec.String(), again, err, spec)
		}
	})
}

// TestLoadModel checks that LoadModel rebuilds each kind of model from a
// checkpoint holding its parameters and its specification, to the same
// parameters (and a DKEF to its metadata's α), and refuses a specification
// far larger than the file, a missing one, non-finite parameters and a
// malformed α, naming the file.
func TestLoadModel(t *testing.T) {
	dir := t.TempDir()
	for i, s := range []ModelSpec{
		{Kind: KindMLP, Dim: 3, Width: 5, Depth: 2, Act: Softplus},
		{Kind: KindScoreMLP, Dim: 3, Width: 5, Depth: 1, Act: ELU},
		{Kind: KindNICE, Dim: 4, Width: 6, Depth: 1, Act: Softplus, Couplings: 2, Prior: LogisticPrior},
		{Kind: KindQuadratic, Dim: 3, Width: 4, Depth: 1, Act: Tanh},
		{Kind: KindDKEF, Dim: 3, Width: 4, Depth: 1, Act: Softplus, Inducing: 5, Kernels: 2},
		{Kind: KindResNet, Dim: 16, Width: 4, Depth: 1, Act: Softplus},
	} {
		m := s.Build(tensor.Float64, rand.New(rand.NewPCG(uint64(i), 7)))
		path := filepath.Join(dir, s.Kind+".safetensors")
		meta := Metadata{Model: s.String(), DType: tensor.Float64}
		if s.Kind == KindDKEF {
			meta.Extra = map[string]string{ExtraDKEFAlpha: "0.5,-1,2,0.25,3"}
		}
		if err := SaveCheckpoint(path, m.Params(), nil, meta); err != nil {
			t.Fatal(err)
		}
		got, spec, _, err := LoadModel(path)
		if err != nil || spec != s {
			t.Fatalf("%s: LoadModel: %v, spec %+v", s, err, spec)
		}
		if k, ok := got.(*DKEF); ok {
			if a := k.Alpha.T().ToFloat64(); !slices.Equal(a, []float64{0.5, -1, 2, 0.25, 3}) {
				t.Errorf("DKEF α %v, want the metadata's", a)
			}
			for _, bad := range []string{"", "1,2,3,4", "1,2,3,4,NaN", "1,2,3,4,x", "1,2,3,4,5,6"} {
				meta.Extra[ExtraDKEFAlpha] = bad
				SaveCheckpoint(path, m.Params(), nil, meta)
				if _, _, _, err := LoadModel(path); err == nil || !strings.Contains(err.Error(), ExtraDKEFAlpha) {
					t.Errorf("α %q: %v, want an error naming the key", bad, err)
				}
			}
		}
		for j, p := range got.Params() {
			if !slices.Equal(p.Value.T().ToFloat64(), m.Params()[j].Value.T().ToFloat64()) {
				t.Errorf("%s: parameter %s differs after loading", s, p.Name)
			}
		}
	}

	// Metadata that claims a network 4× larger than the file (and 10⁶
	// numbers more, LoadModel's slack for small models) is refused.
	small := ModelSpec{Kind: KindMLP, Dim: 2, Width: 4, Depth: 1, Act: Softplus}
	path := filepath.Join(dir, "liar.safetensors")
	m := small.Build(tensor.Float32, rand.New(rand.NewPCG(1, 1)))
	SaveCheckpoint(path, m.Params(), nil, Metadata{Model: "mlp d=2 width=1024 depth=60 act=softplus"})
	if _, _, _, err := LoadModel(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "the file holds") {
		t.Errorf("a specification far larger than the file: %v", err)
	}
	SaveCheckpoint(path, m.Params(), nil, Metadata{})
	if _, _, _, err := LoadModel(path); err == nil || !strings.Contains(err.Error(), "no model specification") {
		t.Errorf("no specification: %v", err)
	}
	m.Params()[0].Value.T().Set(1, math.NaN())
	ts := map[string]*tensor.Tensor{}
	for _, p := range m.Params() {
		ts[p.Name] = p.Value.T()
	}
	tensor.SaveSafetensors(path, ts, map[string]string{"model": small.String()})
	if _, _, _, err := LoadModel(path); err == nil || !strings.Contains(err.Error(), "element 1") {
		t.Errorf("a NaN parameter: %v", err)
	}
}
