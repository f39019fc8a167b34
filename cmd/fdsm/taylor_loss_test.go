package main

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// TestLossTaylorEqualsCounterpart checks what issue 21 asks `fdsm loss
// -dtype float64` to show: each Taylor-mode objective equals its
// gradient-based counterpart with the same directions (-v), loss and
// parameter gradient (-grad), to 1e-12 relative (the bound; both
// sides are exact, so they differ by float64 rounding only, about 1e-16
// times the network's condition number).
func TestLossTaylorEqualsCounterpart(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(21, 2))
	const d = 3
	energy := nn.NewMLP(tensor.Float64, []int{d, 8, 8, 1}, nn.Softplus, r)
	score := nn.NewMLP(tensor.Float64, []int{d, 8, d}, nn.Tanh, r)
	for name, m := range map[string]*nn.MLP{"energy.safetensors": energy, "score.safetensors": score} {
		if err := tensor.SaveSafetensors(filepath.Join(dir, name), nn.Tensors(m), nil); err != nil {
			t.Fatal(err)
		}
	}
	tensor.SaveNpy(filepath.Join(dir, "x.npy"), tensor.RandN(tensor.Float64, r, 5, d))
	tensor.SaveNpy(filepath.Join(dir, "v.npy"), tensor.RandN(tensor.Float64, r, 5, d))
	for _, c := range []struct{ model, act, exact, taylor string }{
		{"energy.safetensors", "softplus", "ssm", "taylor-ssm"},
		{"energy.safetensors", "softplus", "ssm-vr", "taylor-ssm-vr"},
		{"score.safetensors", "tanh", "ssm-vr", "taylor-ssm-vr"},
	} {
		loss := func(obj string) (float64, map[string]*tensor.Tensor) {
			t.Helper()
			g := filepath.Join(dir, obj+"-"+c.model)
			res := ok(t, dir, "loss", "-model", c.model, "-x", "x.npy", "-v", "v.npy", "-objective", obj, "-act", c.act,
				"-dtype", "float64", "-json", "-grad", g)
			var out struct{ Loss float64 }
			if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
				t.Fatalf("%s: %v in %q", obj, err, res.stdout)
			}
			ts, _, err := tensor.LoadSafetensors(g)
			if err != nil {
				t.Fatal(err)
			}
			return out.Loss, ts
		}
		le, ge := loss(c.exact)
		lt, gt := loss(c.taylor)
		if rel := math.Abs(lt-le) / math.Abs(le); !(rel <= 1e-12) {
			t.Errorf("%s %s: loss %.17g, %s %.17g (relative %.2g)", c.model, c.taylor, lt, c.exact, le, rel)
		}
		var diff, norm float64
		for name, a := range ge {
			b := gt[name]
			if b == nil || !a.SameShape(b) {
				t.Fatalf("%s %s: gradient %s missing or misshapen", c.model, c.taylor, name)
			}
			for i := range a.Len() {
				diff += (a.At(i) - b.At(i)) * (a.At(i) - b.At(i))
				norm += a.At(i) * a.At(i)
			}
		}
		if rel := math.Sqrt(diff / norm); !(rel <= 1e-12) {
			t.Errorf("%s %s: parameter gradient differs from %s's by %.2g relative", c.model, c.taylor, c.exact, rel)
		}
	}
}
