package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/sm"
)

// The experiments at toy sizes: a few steps, tiny widths, one seed. Most
// checks are of the output's shape and files; the values checked are named
// where they are (the toys' log-likelihoods against the truth, UCI's ESS,
// and in experiment_ood_test.go and experiment_ebm_test.go).

// fakeMNIST writes a small MNIST of random images with labels cycling
// through 0…9 into dir/mnist.
func fakeMNIST(t *testing.T, dir string) {
	t.Helper()
	mn := filepath.Join(dir, "mnist")
	os.Mkdir(mn, 0o777)
	r := rand.New(rand.NewPCG(3, 3))
	for _, set := range []struct {
		prefix string
		n      int
	}{{"train", 60}, {"t10k", 40}} {
		img := make([]byte, set.n*784)
		for i := range img {
			img[i] = byte(r.IntN(256))
		}
		lbl := make([]byte, set.n)
		for i := range lbl {
			lbl[i] = byte(i % 10)
		}
		writeIDX(t, filepath.Join(mn, set.prefix+"-images-idx3-ubyte"), []int{set.n, 28, 28}, img)
		writeIDX(t, filepath.Join(mn, set.prefix+"-labels-idx1-ubyte"), []int{set.n}, lbl)
	}
}

// fakeWine writes winequality-red.csv: 11 correlated features and quality.
func fakeWine(t *testing.T, dir string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("f1,f2,f3,f4,f5,f6,f7,f8,f9,f10,f11,quality\n")
	r := rand.New(rand.NewPCG(4, 4))
	for range 200 {
		z := r.NormFloat64()
		for j := range 11 {
			fmt.Fprintf(&b, "%.2f,", float64(j)+z+0.5*r.NormFloat64())
		}
		fmt.Fprintf(&b, "%d\n", 3+r.IntN(6))
	}
	if err := os.WriteFile(filepath.Join(dir, "winequality-red.csv"), []byte(b.String()), 0o666); err != nil {
		t.Fatal(err)
	}
}

// tableRows returns the data rows of the markdown tables in s, each split
// into its cells.
func tableRows(s string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "| --") || strings.HasPrefix(line, "| objective") || strings.HasPrefix(line, "| OOD set") {
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		rows = append(rows, cells)
	}
	return rows
}

// checkRows checks that the table rows have the given first cells and
// width, and that no cell is NaN.
func checkRows(t *testing.T, r result, first []string, width int) {
	t.Helper()
	rows := tableRows(r.stdout)
	if len(rows) < len(first) {
		t.Fatalf("%d table rows, want at least %d:\n%v", len(rows), len(first), r)
	}
	for i, want := range first {
		if rows[i][0] != want || len(rows[i]) != width {
			t.Errorf("row %d = %q, want %d cells starting %q:\n%v", i, rows[i], width, want, r)
		}
		for _, c := range rows[i] {
			if strings.Contains(c, "NaN") {
				t.Errorf("row %d has a NaN: %q", i, rows[i])
			}
		}
	}
}

func TestExperimentUsage(t *testing.T) {
	dir := t.TempDir()
	r := ok(t, dir, "experiment", "-h")
	for _, n := range []string{"uci", "nice", "ood", "toys"} {
		if !strings.Contains(r.stdout, "  "+n+" ") {
			t.Errorf("experiment -h does not list %s:\n%v", n, r)
		}
		r := ok(t, dir, "experiment", n, "-h")
		if !strings.Contains(r.stdout, "Usage: fdsm experiment "+n) {
			t.Errorf("experiment %s -h: no usage line:\n%v", n, r)
		}
		for _, line := range strings.Split(r.stdout, "\n") {
			if strings.HasPrefix(line, "  -") && !strings.Contains(r.stdout, line+"\n    \t") {
				t.Errorf("experiment %s -h: flag without an explanation: %q", n, line)
			}
		}
		usage(t, dir, "flag provided but not defined: -bogus", "experiment", n, "-bogus")
	}
	for _, c := range []struct {
		want string
		args []string
	}{
		{"which experiment", []string{"experiment"}},
		{`unknown experiment "cifar"`, []string{"experiment", "cifar"}},
		{`-data "pink"`, []string{"experiment", "uci", "-data", "pink"}},
		{`-objectives: unknown objective "dsn"`, []string{"experiment", "uci", "-objectives", "ssm,dsn"}},
		{`-objectives: "ssm" twice`, []string{"experiment", "uci", "-objectives", "ssm,ssm"}},
		{`-seeds 0`, []string{"experiment", "uci", "-seeds", "0"}},
		{`-dtype "float16"`, []string{"experiment", "uci", "-dtype", "float16"}},
		{`-steps 0`, []string{"experiment", "nice", "-steps", "0"}},
		{`-minutes -1`, []string{"experiment", "nice", "-minutes", "-1"}},
		{`-objectives: unknown objective "fd-ssm-vr"`, []string{"experiment", "nice", "-objectives", "fd-ssm-vr"}},
		{`-in "3,3"`, []string{"experiment", "ood", "-in", "3,3"}},
		{`-in "12"`, []string{"experiment", "ood", "-in", "12"}},
		{`-lr 0`, []string{"experiment", "ood", "-lr", "0"}},
		{`-toys: "moons"`, []string{"experiment", "toys", "-toys", "moons"}},
		{`-objectives: unknown objective "mle"`, []string{"experiment", "toys", "-objectives", "mle"}},
	} {
		usage(t, dir, c.want, c.args...)
	}
	if r := fdsm(t, dir, "experiment", "uci", "-data", "pink"); !strings.Contains(r.stderr, "fdsm experiment uci: -data") || !strings.Contains(r.stderr, "Run 'fdsm experiment uci -h'") {
		t.Errorf("the usage hint does not name the experiment:\n%v", r)
	}
	fails(t, dir, []string{"nowhere", "winequality-red.csv"}, "experiment", "uci", "-data", "red", "-dir", "nowhere")
	// A missing MNIST directory: TestMNISTFetchedWhenMissing.
}

func TestExperimentUCI(t *testing.T) {
	dir := t.TempDir()
	fakeWine(t, dir)
	args := []string{"experiment", "uci", "-data", "red", "-dir", ".", "-seeds", "2", "-steps", "3", "-batch", "16",
		"-inducing", "8", "-width", "4", "-is-samples", "200"}
	r := ok(t, dir, args...)
	checkRows(t, r, []string{"SSM", "SSM-VR", "FD-SSM"}, 6)
	if !strings.Contains(r.stdout, " ± ") {
		t.Errorf("two seeds but no ± in the table:\n%v", r)
	}
	r = ok(t, dir, append(args, "-seeds", "1", "-objectives", "fd-ssm", "-json")...)
	var res struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || len(res.Rows) != 1 || res.Rows[0]["objective"] != "fd-ssm" || res.Rows[0]["test_loglik"] == nil {
		t.Errorf("-json: %v\n%v", err, r)
		return
	}
	// Kish's effective sample size lies in [1, n] for n = 200 importance
	// samples, and below sm.MinESS the run warns on stderr.
	ess, _ := res.Rows[0]["loglik_ess"].(float64)
	if !(ess >= 1 && ess <= 200) {
		t.Errorf("loglik_ess %v, want a number in [1, 200]\n%v", res.Rows[0]["loglik_ess"], r)
	}
	if warned := strings.Contains(r.stderr, "effective sample size"); warned != (ess < sm.MinESS) {
		t.Errorf("ESS %g, warned %v: want a warning exactly when below %d\n%v", ess, warned, sm.MinESS, r)
	}
}

func TestExperimentNICE(t *testing.T) {
	dir := t.TempDir()
	fakeMNIST(t, dir)
	r := ok(t, dir, "experiment", "nice", "-mnist", "mnist", "-steps", "4", "-width", "8", "-depth", "1", "-couplings", "2",
		"-batch", "8", "-sm-rows", "2", "-curve-rows", "10", "-points", "2", "-out", "out")
	checkRows(t, r, []string{"SSM", "SSM-VR", "DSM", "FD-SSM", "MLE"}, 7)
	if st, err := os.Stat(filepath.Join(dir, "out", "learning-curve.svg")); err != nil || st.Size() == 0 {
		t.Errorf("no learning curve: %v", err)
	}
	// Training does something: MLE, which ascends the exact log-likelihood,
	// raises that of the curve's test images over 20 steps.
	r = ok(t, dir, "experiment", "nice", "-mnist", "mnist", "-steps", "20", "-width", "8", "-depth", "1", "-couplings", "2",
		"-batch", "8", "-sm-rows", "2", "-curve-rows", "10", "-points", "2", "-objectives", "mle", "-out", "out", "-force", "-json")
	var res struct {
		Rows []struct {
			Curve []float64 `json:"curve_loglik_nats"`
		} `json:"rows"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || len(res.Rows) != 1 {
		t.Fatalf("-json: %v\n%v", err, r)
	}
	if c := res.Rows[0].Curve; len(c) < 2 || !(c[len(c)-1] > c[0]) {
		t.Errorf("MLE's test log-likelihood along training %v: want the last above the first", c)
	}
}

func TestExperimentOOD(t *testing.T) {
	dir := t.TempDir()
	fakeMNIST(t, dir)
	r := ok(t, dir, "experiment", "ood", "-mnist", "mnist", "-steps", "3", "-width", "8", "-batch", "8", "-rows", "10", "-out", "out")
	rows := tableRows(r.stdout)
	// 3 steps, fewer than -points: the curve has a row per step and one
	// before training, under its header row (which tableRows keeps).
	if len(rows) != 7+2+1+4 || !strings.HasPrefix(rows[0][0], "held-out digits 5,6,7,8,9") || len(rows[0]) != 3 {
		t.Errorf("want 7 OOD sets × DSM, FD-DSM, 2 timing rows and 4 curve rows:\n%v", r)
	}
	if st, err := os.Stat(filepath.Join(dir, "out", "ood-sets.png")); err != nil || st.Size() == 0 {
		t.Errorf("no ood-sets.png: %v", err)
	}
	r = ok(t, dir, "experiment", "ood", "-mnist", "mnist", "-steps", "2", "-width", "8", "-batch", "8", "-rows", "10", "-out", "out", "-force",
		"-in", "7", "-objectives", "sliced-dsm")
	if rows := tableRows(r.stdout); len(rows) != 7+1+1+3 || !strings.HasPrefix(rows[0][0], "held-out digits 0,1,2,3,4,5,6,8,9") || len(rows[0]) != 2 {
		t.Errorf("-in 7 -objectives sliced-dsm: want 7 OOD sets × 1 objective, 1 timing row and 3 curve rows:\n%v", r)
	}
}

func TestExperimentToys(t *testing.T) {
	dir := t.TempDir()
	r := ok(t, dir, "experiment", "toys", "-steps", "3", "-width", "4", "-panel", "8", "-grid", "20", "-out", "out")
	checkRows(t, r, []string{"SM", "SSM", "SSM-VR", "DSM", "MDSM", "FD-SSM", "FD-DSM", "FD-MDSM", "true density"}, 7)
	// No model beats the true density on the held-out samples by more than
	// their sampling noise (2000 samples: the mean log-likelihood's standard
	// error is about std/√2000 ≈ 0.03 for these toys): a log Z off by the
	// quadrature's cell area, or a density not normalised, would. And a
	// short run learns: 300 SSM-VR steps take 8 Gaussians from −5.44 (3
	// steps, near uniform on the box) to −3.25, within 1 of the truth
	// (−2.78); run of 2026-12-07, seed 1.
	rows := tableRows(r.stdout)
	r3 := ok(t, dir, "experiment", "toys", "-toys", "8gaussians", "-objectives", "ssm-vr", "-steps", "300", "-width", "32",
		"-panel", "8", "-grid", "60", "-out", "out300")
	if rs := tableRows(r3.stdout); len(rs) != 2 {
		t.Errorf("want an SSM-VR row and the truth's:\n%v", r3)
	} else if ll, err := strconv.ParseFloat(rs[0][1], 64); err != nil || !(ll > -2.778-1 && ll <= -2.778+0.1) {
		t.Errorf("300 steps of SSM-VR on 8gaussians: log-likelihood %q, want within (−3.778, −2.678]: the truth's −2.778 less 1, plus the noise", rs[0][1])
	}
	truth := rows[len(rows)-1]
	for _, row := range rows[:len(rows)-1] {
		for col := 1; col < len(row); col += 2 { // the LL columns, then ms/step
			ll, err1 := strconv.ParseFloat(row[col], 64)
			top, err2 := strconv.ParseFloat(truth[col], 64)
			if err1 != nil || err2 != nil || math.IsNaN(ll) || ll > top+0.1 {
				t.Errorf("%s, column %d: log-likelihood %q against the true density's %q", row[0], col, row[col], truth[col])
			}
		}
	}
	for _, toy := range []string{"8gaussians", "rings", "checkerboard"} {
		if st, err := os.Stat(filepath.Join(dir, "out", "density-"+toy+".png")); err != nil || st.Size() == 0 {
			t.Errorf("no density picture of %s: %v", toy, err)
		}
	}
}
