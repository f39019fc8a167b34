package main

import (
	"bytes"
	"encoding/json"
	"github.com/fdsm/fdsm/bench/experiment"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// runDemo runs `fdsm demo` in-process with the tests' small sizes (-quick,
// a few 2-D steps, two high-dimensional steps) and the extra args, and
// returns its standard output. The runs of a test share one -out (-force).
func runDemo(t *testing.T, dir string, extra ...string) string {
	t.Helper()
	args := append([]string{"demo", "-quick", "-steps", "2", "-width", "4", "-highdim-steps", "2", "-out", filepath.Join(dir, "pics"), "-force"}, extra...)
	var out, errw bytes.Buffer
	if code := run(args, &out, &errw); code != 0 {
		t.Fatalf("fdsm %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errw.String())
	}
	return out.String()
}

// positive parses a printed figure ("0.41×" or "12.30") and fails unless it
// is finite and positive.
func positive(t *testing.T, row, field string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.TrimSuffix(field, "×"), 64)
	if err != nil || !(v > 0) || math.IsInf(v, 0) {
		t.Errorf("row %q: %q is not a finite positive number", row, field)
	}
	return v
}

// TestDemoHighDim checks the demo's high-dimensional table: the four
// objectives at d = 784 with finite positive times and step peaks, the FD
// rows' ratios to their counterparts (consistent with the columns), the
// data source named, the same in -json, and -highdim=false leaving it out.
// Speed itself is for the benchmarks; no ratio is asserted below 1.
func TestDemoHighDim(t *testing.T) {
	dir := t.TempDir()
	out := runDemo(t, dir, "-mnist", filepath.Join(dir, "no-mnist-here"))
	if !strings.Contains(out, "At d = 2 FD-SSM takes ") {
		t.Errorf("no line under the 2-D table saying why FD is not faster there:\n%s", out)
	}
	_, table, found := strings.Cut(out, "At d = 784: MLP 784-512-512-1 softplus")
	if !found {
		t.Fatalf("no high-dimensional table:\n%s", out)
	}
	table, _, _ = strings.Cut(table, "\nms/step: ")
	if !strings.Contains(table, "synthetic data") || !strings.Contains(table, "no-mnist-here") {
		t.Errorf("the table does not say it ran on synthetic data, and why:\n%s", table)
	}
	ms := map[string]float64{}
	mb := map[string]float64{}
	for _, name := range []string{"SSM", "FD-SSM", "DSM", "FD-DSM"} {
		var row string
		for line := range strings.SplitSeq(table, "\n") {
			if strings.HasPrefix(line, name+" ") {
				row = line
				break
			}
		}
		f := strings.Fields(row)
		want := 3 // objective, ms/step, step peak MB
		if strings.HasPrefix(name, "FD-") {
			want = 7 // and "0.41× SSM" twice
		}
		if len(f) != want {
			t.Errorf("row %s: want %d fields, got %q", name, want, row)
			continue
		}
		ms[name], mb[name] = positive(t, row, f[1]), positive(t, row, f[2])
		if want == 7 {
			vs := strings.TrimPrefix(name, "FD-")
			if f[4] != vs || f[6] != vs {
				t.Errorf("row %s: ratios not against %s: %q", name, vs, row)
			}
			// The printed ratios are those of the printed columns, up to
			// their rounding (two decimals each).
			for _, c := range []struct {
				ratio string
				col   map[string]float64
			}{{f[3], ms}, {f[5], mb}} {
				got, want := positive(t, row, c.ratio), c.col[name]/c.col[vs]
				if math.Abs(got-want) > 0.006+0.01*want {
					t.Errorf("row %s: ratio %v, the columns give %.3f", name, got, want)
				}
			}
		}
	}

	// -json, on a (fake) MNIST: one "kind": "highdim" object per objective.
	fakeMNIST(t, dir)
	out = runDemo(t, dir, "-json", "-mnist", filepath.Join(dir, "mnist"))
	dec := json.NewDecoder(strings.NewReader(out))
	var hd []map[string]any
	for {
		var v map[string]any
		if err := dec.Decode(&v); err != nil {
			break
		}
		if v["kind"] == "highdim" {
			hd = append(hd, v)
		}
	}
	if len(hd) != len(experiment.DemoObjectives()) {
		t.Fatalf("want %d highdim objects, got %d:\n%s", len(experiment.DemoObjectives()), len(hd), out)
	}
	byName := map[string]map[string]any{}
	for i, v := range hd {
		byName[experiment.DemoObjectives()[i]] = v
		if v["objective"] != experiment.DemoObjectives()[i] || v["data"] != "mnist" || v["config"] != "mnist-mlp" || v["steps"] != 2.0 {
			t.Errorf("highdim object %d: %v", i, v)
		}
		for _, k := range []string{"ms_per_step", "step_peak_mb"} {
			if x, ok := v[k].(float64); !ok || !(x > 0) {
				t.Errorf("highdim object %d: %s = %v", i, k, v[k])
			}
		}
	}
	for fd, vs := range experiment.HighDimCounterpart() {
		v, c := byName[fd], byName[vs]
		if v["vs"] != vs {
			t.Errorf("%s: vs = %v, want %s", fd, v["vs"], vs)
		}
		for ratio, col := range map[string]string{"time_ratio": "ms_per_step", "step_peak_ratio": "step_peak_mb"} {
			got, _ := v[ratio].(float64)
			if want := v[col].(float64) / c[col].(float64); math.Abs(got-want) > 1e-12*want {
				t.Errorf("%s: %s = %v, want %v", fd, ratio, v[ratio], want)
			}
		}
	}

	out = runDemo(t, dir, "-highdim=false")
	if strings.Contains(out, "d = 784") {
		t.Errorf("-highdim=false still prints the high-dimensional part:\n%s", out)
	}
	var stdout, errw bytes.Buffer
	if code := run([]string{"demo", "-highdim-steps", "0", "-out", filepath.Join(dir, "pics")}, &stdout, &errw); code != 2 || !strings.Contains(errw.String(), "-highdim-steps 0") {
		t.Errorf("-highdim-steps 0: exit %d, stderr %q", code, errw.String())
	}
}
