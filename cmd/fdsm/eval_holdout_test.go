package main

import (
	"encoding/json"
	"fmt"
	"github.com/fdsm/fdsm/internal/evalrun"
	"github.com/fdsm/fdsm/internal/rundir"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
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

// writeIDCSV writes n rows of an id column (the row's index) and two noise
// columns to dir/name, so that a model's rows can be told apart.
func writeIDCSV(t *testing.T, dir, name string, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,a,b\n")
	r := rand.New(rand.NewPCG(4, 4))
	for i := range n {
		fmt.Fprintf(&b, "%d,%g,%g\n", i, r.NormFloat64(), r.NormFloat64())
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o666); err != nil {
		t.Fatal(err)
	}
}

// evalIDs returns the ids (first column, in the data's units) of the rows
// eval takes from the model's training file with -split name.
func evalIDs(t *testing.T, run, name string) []int {
	t.Helper()
	m, err := rundir.LoadModel(run)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := parseDataSpec(m.Meta.Extra[nn.ExtraData])
	if err != nil {
		t.Fatal(err)
	}
	c, _, _, err := evalrun.Choose(m, ds, name, true)
	if err != nil {
		t.Fatal(err)
	}
	x, _, err := evalrun.Rows(m, ds, m.Meta.DType, 0, rand.New(rand.NewPCG(1, 1)), c, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	v := m.Transform.Invert(x).ToFloat64()
	var ids []int
	for i := 0; i < len(v); i += x.Dim(1) {
		ids = append(ids, int(math.Round(v[i])))
	}
	return ids
}

// TestHoldout: train holds out round(0.1·50) = 5 rows of a CSV file by
// default and records the file's absolute path; eval takes those 5 rows by
// default (from any directory), the other 45 with -split train, all 50 with
// -split all, and says which. The held-out and training rows are disjoint and
// make up the file, and training saw only the training rows: the
// standardisation train fitted to its rows has the training ids' mean, not
// the file's. The same seed holds out the same rows whatever GOMAXPROCS.
func TestHoldout(t *testing.T) {
	dir := t.TempDir()
	writeIDCSV(t, dir, "id.csv", 50)
	ok(t, dir, "train", "-data", "csv:id.csv", "-width", "4", "-steps", "3", "-batch", "8", "-out", "run")
	run := filepath.Join(dir, "run")
	ck, err := nn.ReadCheckpoint(filepath.Join(run, nn.CheckpointName))
	if err != nil {
		t.Fatal(err)
	}
	abs := "csv:" + filepath.Join(dir, "id.csv")
	if ck.Meta.Extra[nn.ExtraData] != abs || ck.Meta.Extra[nn.ExtraFlagPrefix+"data"] != abs {
		t.Errorf("recorded data %q, flag %q, want %q", ck.Meta.Extra[nn.ExtraData], ck.Meta.Extra[nn.ExtraFlagPrefix+"data"], abs)
	}
	if ck.Meta.Extra[data.MetaHoldout] != "0.1" || ck.Meta.Extra[data.MetaRows] != "50" || ck.Meta.Extra[data.MetaHoldoutSeed] != "1" {
		t.Errorf("recorded split %v", ck.Meta.Extra)
	}

	held, train := evalIDs(t, run, evalrun.SplitHeldOut), evalIDs(t, run, evalrun.SplitTrain)
	seen := map[int]int{}
	for _, id := range append(slices.Clone(held), train...) {
		seen[id]++
	}
	if len(held) != 5 || len(train) != 45 || len(seen) != 50 {
		t.Errorf("held-out ids %v, training ids %v: want 5 and 45 distinct of 0…49", held, train)
	}
	for id, k := range seen {
		if k != 1 || id < 0 || id >= 50 {
			t.Errorf("id %d taken %d times", id, k)
		}
	}
	means, err := data.ParseFloats(ck.Meta.Extra[data.MetaMean])
	if err != nil {
		t.Fatal(err)
	}
	var s float64
	for _, id := range train {
		s += float64(id)
	}
	if want := s / 45; math.Abs(means[0]-want) > 1e-9 || math.Abs(means[0]-24.5) < 1e-9 {
		t.Errorf("standardisation mean of the id column %g, want the training rows' %g (the file's is 24.5)", means[0], want)
	}

	other := t.TempDir()
	for _, c := range []struct {
		args  []string
		split string
		rows  float64
	}{
		{nil, evalrun.SplitHeldOut, 5},
		{[]string{"-split", "train"}, evalrun.SplitTrain, 45},
		{[]string{"-split", "all"}, evalrun.SplitAll, 50},
		{[]string{"-data", "csv:" + filepath.Join(dir, "id.csv")}, evalrun.SplitHeldOut, 5},
	} {
		ev, r := evalJSON(t, other, append([]string{"-ckpt", run, "-is-samples", "100"}, c.args...)...)
		if ev["split"] != c.split || ev["rows"] != c.rows {
			t.Errorf("%v: split %v, %v rows; want %s, %g:\n%v", c.args, ev["split"], ev["rows"], c.split, c.rows, r)
		}
	}
	if r := ok(t, other, "eval", "-ckpt", run, "-is-samples", "100"); !strings.Contains(r.stdout, "5 rows (held-out)") {
		t.Errorf("the text output does not say the rows are held out:\n%v", r)
	}

	// GOMAXPROCS 1 and 2: the same training rows, so the same fitted means.
	for _, procs := range []string{"1", "2"} {
		cmd := exec.Command(fdsmBin, "train", "-data", "csv:id.csv", "-width", "4", "-steps", "3", "-batch", "8", "-out", "p"+procs)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "GOMAXPROCS="+procs)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("GOMAXPROCS=%s: %v\n%s", procs, err, out)
		}
		ckp, err := nn.ReadCheckpoint(filepath.Join(dir, "p"+procs, nn.CheckpointName))
		if err != nil {
			t.Fatal(err)
		}
		if ckp.Meta.Extra[data.MetaMean] != ck.Meta.Extra[data.MetaMean] {
			t.Errorf("GOMAXPROCS=%s: means %s, want %s", procs, ckp.Meta.Extra[data.MetaMean], ck.Meta.Extra[data.MetaMean])
		}
	}
}

// TestHoldoutResume: -resume keeps the recorded split (from any directory;
// none for a checkpoint from before -holdout), refuses a different -holdout,
// and train and eval refuse a file whose rows have changed since.
func TestHoldoutResume(t *testing.T) {
	dir := t.TempDir()
	writeIDCSV(t, dir, "id.csv", 40)
	ok(t, dir, "train", "-data", "csv:id.csv", "-holdout", "0.25", "-width", "4", "-steps", "3", "-batch", "8", "-out", "run")
	run := filepath.Join(dir, "run")
	before := evalIDs(t, run, evalrun.SplitHeldOut)
	// -data must be given again on resume (a checkpoint does not choose the
	// files fdsm opens); from another directory, by its absolute path.
	ok(t, t.TempDir(), "train", "-out", run, "-resume", "-data", "csv:"+filepath.Join(dir, "id.csv"), "-steps", "5")
	ck, err := nn.ReadCheckpoint(filepath.Join(run, nn.CheckpointName))
	if err != nil || ck.Meta.Step != 5 || ck.Meta.Extra[data.MetaHoldout] != "0.25" {
		t.Fatalf("resumed checkpoint: %v, step %d, holdout %q", err, ck.Meta.Step, ck.Meta.Extra[data.MetaHoldout])
	}
	if after := evalIDs(t, run, evalrun.SplitHeldOut); !slices.Equal(before, after) || len(after) != 10 {
		t.Errorf("held-out ids %v before -resume, %v after; want the same 10", before, after)
	}
	fails(t, dir, []string{"-holdout 0.5", "0.25"}, "train", "-out", "run", "-resume", "-data", "csv:id.csv", "-steps", "7", "-holdout", "0.5")

	// A checkpoint from before -holdout (no split recorded, no -holdout
	// flag) trained on every row: resuming keeps it so, though -holdout's
	// default is 0.1.
	ok(t, dir, "train", "-data", "csv:id.csv", "-holdout", "0", "-width", "4", "-steps", "3", "-batch", "8", "-out", "old")
	oldCk := filepath.Join(dir, "old", nn.CheckpointName)
	tensors, meta, err := tensor.LoadSafetensors(oldCk)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{data.MetaHoldout, data.MetaHoldoutSeed, data.MetaRows, nn.ExtraFlagPrefix + "holdout"} {
		if _, found := meta["extra."+k]; !found {
			t.Fatalf("checkpoint metadata has no %q", "extra."+k)
		}
		delete(meta, "extra."+k)
	}
	if err := tensor.SaveSafetensors(oldCk, tensors, meta); err != nil {
		t.Fatal(err)
	}
	ok(t, dir, "train", "-out", "old", "-resume", "-data", "csv:id.csv", "-steps", "5")
	if ck, err := nn.ReadCheckpoint(oldCk); err != nil || ck.Meta.Extra[data.MetaHoldout] != "0" {
		t.Errorf("resumed a checkpoint from before -holdout: %v, holdout %q, want 0 (all rows trained on)", err, ck.Meta.Extra[data.MetaHoldout])
	}
	fails(t, dir, []string{"-holdout 0.1", "held out 0"}, "train", "-out", "old", "-resume", "-data", "csv:id.csv", "-steps", "7", "-holdout", "0.1")

	writeIDCSV(t, dir, "id.csv", 41)
	fails(t, dir, []string{"id.csv", "40 rows", "41"}, "train", "-out", "run", "-resume", "-data", "csv:id.csv", "-steps", "7")
	fails(t, dir, []string{"id.csv", "40 rows", "41"}, "eval", "-ckpt", "run")
}

// TestHoldoutErrors: bad -holdout and -split values are usage errors; a run
// without held-out rows is evaluated on its training rows, and eval says so.
func TestHoldoutErrors(t *testing.T) {
	dir := t.TempDir()
	writeIDCSV(t, dir, "id.csv", 20)
	usage(t, dir, "-holdout 1", "train", "-data", "csv:id.csv", "-holdout", "1")
	usage(t, dir, "-holdout -0.1", "train", "-data", "csv:id.csv", "-holdout", "-0.1")
	usage(t, dir, "-holdout is for csv", "train", "-data", "toy:moons", "-holdout", "0.2")
	fails(t, dir, []string{"id.csv", "-holdout 0.99"}, "train", "-data", "csv:id.csv", "-holdout", "0.99")

	ok(t, dir, "train", "-data", "csv:id.csv", "-holdout", "0", "-width", "4", "-steps", "2", "-batch", "8", "-out", "all")
	ev, r := evalJSON(t, dir, "-ckpt", "all", "-is-samples", "100")
	warns, _ := ev["warnings"].([]any)
	if ev["split"] != evalrun.SplitTrain || ev["rows"] != 20.0 || !strings.Contains(fmt.Sprint(warns), "rows it was trained on") ||
		!strings.Contains(r.stderr, "warning: ") {
		t.Errorf("-holdout 0: want the 20 training rows and a warning:\n%v", r)
	}
	fails(t, dir, []string{"no held-out rows"}, "eval", "-ckpt", "all", "-split", "held-out")
	usage(t, dir, "-split \"test\"", "eval", "-ckpt", "all", "-split", "test")

	writeIDCSV(t, dir, "other.csv", 20)
	usage(t, dir, "not the file the model was trained on", "eval", "-ckpt", "all", "-data", "csv:other.csv", "-split", "train")
	ev, _ = evalJSON(t, dir, "-ckpt", "all", "-data", "csv:other.csv", "-is-samples", "100")
	if ev["split"] != evalrun.SplitAll || ev["rows"] != 20.0 {
		t.Errorf("another file: split %v, %v rows; want all 20", ev["split"], ev["rows"])
	}
	ok(t, dir, "train", "-data", "toy:moons", "-width", "4", "-steps", "2", "-batch", "8", "-out", "toy")
	usage(t, dir, "-split is for csv", "eval", "-ckpt", "toy", "-split", "train")
}
