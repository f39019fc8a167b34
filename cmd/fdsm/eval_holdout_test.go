package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/sm"
)

// writeGaussCSV writes n rows of 3 correlated normal columns to dir/name.
func writeGaussCSV(t *testing.T, dir, name string, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("a,b,c\n")
	r := rand.New(rand.NewPCG(3, 3))
	for range n {
		x := r.NormFloat64()
		fmt.Fprintf(&b, "%g,%g,%g\n", x, 0.5*x+r.NormFloat64(), r.NormFloat64())
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o666); err != nil {
		t.Fatal(err)
	}
}

// evalJSON runs eval -json with args and decodes its output.
func evalJSON(t *testing.T, dir string, args ...string) (map[string]any, result) {
	t.Helper()
	r := ok(t, dir, append([]string{"eval", "-json"}, args...)...)
	var ev map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil {
		t.Fatalf("eval -json: %v\n%v", err, r)
	}
	return ev, r
}

// TestEvalESS: eval reports the effective sample size of importance
// sampling. For a quadratic energy fitted to standardized Gaussian data the
// default N(0, 4I) proposal covers the model (ESS in the hundreds of 2000:
// no warning); one far narrower (σ = 0.01 against unit variances) leaves a
// few dominant weights, and eval then warns on stderr and in the JSON
// warnings list. Whether a run warns must agree with its ESS and sm.MinESS.
func TestEvalESS(t *testing.T) {
	dir := t.TempDir()
	writeGaussCSV(t, dir, "g.csv", 200)
	ok(t, dir, "train", "-data", "csv:g.csv", "-model", "quadratic", "-steps", "200", "-batch", "64", "-lr", "0.01", "-out", "run")
	for _, std := range []string{"0.01", "2"} {
		ev, r := evalJSON(t, dir, "-ckpt", "run", "-is-samples", "2000", "-proposal-std", std)
		ess, isNum := ev["loglik_ess"].(float64)
		if !isNum || !(ess >= 1 && ess <= 2000) {
			t.Fatalf("-proposal-std %s: loglik_ess %v, want a number in 1…2000:\n%v", std, ev["loglik_ess"], r)
		}
		warns, _ := ev["warnings"].([]any)
		low := ess < sm.MinESS
		if low != (std == "0.01") {
			t.Errorf("-proposal-std %s: ESS %g, want it below %d only for σ = 0.01", std, ess, sm.MinESS)
		}
		if got := len(warns) == 1 && strings.Contains(fmt.Sprint(warns[0]), "effective sample size"); got != low {
			t.Errorf("-proposal-std %s: ESS %g, warnings %v", std, ess, warns)
		}
		if got := strings.Contains(r.stderr, "warning: the importance weights have an effective sample size"); got != low {
			t.Errorf("-proposal-std %s: ESS %g, stderr warning %v:\n%v", std, ess, got, r)
		}
		t.Logf("-proposal-std %s: ESS %.4g", std, ess)
	}
	r := ok(t, dir, "eval", "-ckpt", "run", "-is-samples", "2000", "-proposal-std", "0.01")
	if !strings.Contains(r.stdout, "effective n ") || !strings.Contains(r.stderr, "warning:") {
		t.Errorf("text output: no effective sample size or no warning:\n%v", r)
	}
}
