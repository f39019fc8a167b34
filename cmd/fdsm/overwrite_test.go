package main

import (
	"bytes"
	"fmt"
	"github.com/fdsm/fdsm/internal/rundir"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// The tests of what train, energy, sample, demo and the experiments may
// write over, and of the divergence guard as the CLI shows it.

// The run: Adam at -lr 1e38 makes the parameters non-finite at the
// first update; nothing is checkpointed, and the error names step 1.
func TestTrainDivergedWritesNoCheckpoint(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ optim, lr, want string }{
		{"adam", "1e38", `step 1: the update made parameter "layers.0.weight" NaN or infinite`},
		// 1e30: the figure for RMSProp, which leaves |w| ≈ 1e30, finite.
		{"rmsprop", "1e30", "step 1: the update took the parameters' norm to"},
	} {
		fails(t, dir, []string{c.want, "not checkpointed"}, "train", "-data", "toy:8gaussians", "-width", "32", "-steps", "100",
			"-every", "1", "-lr", c.lr, "-optim", c.optim, "-out", c.optim, "-log", "none")
		if _, err := os.Stat(filepath.Join(dir, c.optim, nn.CheckpointName)); err == nil {
			t.Errorf("%s at -lr %s: a checkpoint was written", c.optim, c.lr)
		}
	}
}

// An update that explodes the weights of a run resumed at step 5 leaves the
// checkpoint of step 5 untouched, even with one due every step; the error
// names the checkpoint and -max-param-norm, and a negative bound lets it go.
func TestTrainDivergedKeepsLastCheckpoint(t *testing.T) {
	dir := t.TempDir()
	run := trainToy(t, dir, "run", "-steps", "5", "-every", "1")
	path := filepath.Join(run, nn.CheckpointName)
	before, _ := os.ReadFile(path)
	r := fdsm(t, dir, "train", "-out", "run", "-resume", "-steps", "10", "-lr", "1e30", "-log", "none")
	if r.code != 1 || !strings.Contains(r.stderr, "step 6: the update took the parameters' norm") ||
		!strings.Contains(r.stderr, "is of step 5") || !strings.Contains(r.stderr, "-max-param-norm") {
		t.Errorf("want exit 1 naming step 6, the checkpoint of step 5 and -max-param-norm:\n%v", r)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Errorf("the checkpoint of step 5 was replaced")
	}
	// 1e3: the weights of 1e30 pass any bound of that size.
	fails(t, dir, []string{"past the bound 1e+03"}, "train", "-out", "run", "-resume", "-steps", "10", "-lr", "1e30", "-log", "none", "-max-param-norm", "1e3")
	r = fdsm(t, dir, "train", "-out", "run", "-resume", "-steps", "6", "-lr", "1e30", "-log", "none", "-max-param-norm", "-1")
	if r.code != 0 {
		t.Errorf("-max-param-norm -1: want the exploded step to be checkpointed:\n%v", r)
	}
}

// train -out over a directory holding a run refuses unless -resume or
// -force; -force starts a new log.
func TestTrainRefusesExistingRun(t *testing.T) {
	dir := t.TempDir()
	run := trainToy(t, dir, "run", "-steps", "10", "-log-every", "1")
	path := filepath.Join(run, nn.CheckpointName)
	before, _ := os.ReadFile(path)
	args := []string{"train", "-data", "toy:8gaussians", "-width", "8", "-steps", "3", "-batch", "32", "-out", "run", "-log-every", "1"}
	fails(t, dir, []string{"run: holds another run", "-resume", "-force"}, args...)
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Errorf("the refused run replaced the checkpoint")
	}
	usage(t, dir, "give one", append(args, "-force", "-resume")...)
	// -force without -out has no run to replace (it once removed
	// ./ckpt.safetensors and ./metrics.csv).
	os.WriteFile(filepath.Join(dir, "metrics.csv"), []byte("mine\n"), 0o666)
	usage(t, dir, "-force needs -out", "train", "-data", "toy:8gaussians", "-steps", "1", "-force")
	if _, err := os.Stat(filepath.Join(dir, "metrics.csv")); err != nil {
		t.Errorf("-force without -out removed ./metrics.csv: %v", err)
	}
	// Any one file of a run is enough.
	os.Mkdir(filepath.Join(dir, "logonly"), 0o777)
	os.WriteFile(filepath.Join(dir, "logonly", "metrics.jsonl"), []byte("{}\n"), 0o666)
	fails(t, dir, []string{"logonly: holds another run (metrics.jsonl)"}, "train", "-data", "toy:8gaussians", "-steps", "1", "-out", "logonly")

	ok(t, dir, append(args, "-force")...)
	log, _ := os.ReadFile(filepath.Join(run, "metrics.csv"))
	if lines := strings.Split(strings.TrimSpace(string(log)), "\n"); len(lines) != 1+3 || lines[0] != "step,loss,grad_norm,lr,seconds" {
		t.Errorf("metrics.csv after -force: want a header and the 3 new records:\n%s", log)
	}
	ck, err := nn.ReadCheckpoint(path)
	if err != nil || ck.Meta.Step != 3 {
		t.Errorf("checkpoint after -force: %v, step %d; want the new run's 3", err, ck.Meta.Step)
	}
	if _, ok := ck.Meta.Extra[nn.ExtraFlagPrefix+"force"]; ok {
		t.Errorf("-force is stored in the checkpoint")
	}
	// Without -out nothing is written, and the usage error of a new
	// directory leaves no empty directory behind.
	usage(t, dir, "-steps 0", "train", "-data", "toy:8gaussians", "-steps", "0", "-out", "fresh")
	if _, err := os.Stat(filepath.Join(dir, "fresh")); err == nil {
		t.Errorf("a failed train left the new directory fresh")
	}
}

// A lock held by a live process keeps a second train out; a lock whose
// process is gone is taken over; the lock is removed at the end.
func TestTrainLock(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "run"), 0o777)
	lock := filepath.Join("run", rundir.LockName) // as the messages name it; the test's files are under dir
	args := []string{"train", "-data", "toy:8gaussians", "-width", "8", "-steps", "3", "-batch", "16", "-out", "run"}

	// This test's own process is alive and is not the binary.
	os.WriteFile(filepath.Join(dir, lock), fmt.Appendf(nil, "%d\n", os.Getpid()), 0o666)
	fails(t, dir, []string{lock, fmt.Sprintf("another fdsm (process %d) is writing this directory", os.Getpid())}, args...)
	if _, err := os.Stat(filepath.Join(dir, lock)); err != nil {
		t.Errorf("the refused run removed the other's lock: %v", err)
	}
	os.WriteFile(filepath.Join(dir, lock), []byte("garbage"), 0o666)
	fails(t, dir, []string{lock, "does not hold a process ID"}, args...)

	// A process that has exited: its ID is free (reused only after the
	// kernel cycles through the ID space).
	cmd := exec.Command(fdsmBin, "help")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, lock), fmt.Appendf(nil, "%d\n", cmd.Process.Pid), 0o666)
	ok(t, dir, args...)
	if _, err := os.Stat(filepath.Join(dir, lock)); err == nil {
		t.Errorf("the lock is left after the run")
	}

	// Two real processes: the second is refused while the first trains.
	long := exec.Command(fdsmBin, "train", "-data", "toy:8gaussians", "-width", "8", "-steps", "1000000", "-batch", "16", "-out", "busy", "-log", "none")
	long.Dir = dir
	if err := long.Start(); err != nil {
		t.Fatal(err)
	}
	defer long.Wait()
	defer long.Process.Kill()
	busy := filepath.Join("busy", rundir.LockName)
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(dir, busy)); err == nil {
			break
		}
		if i == 500 { // 500 × 10 ms: the binary has started well before
			t.Fatal("the first run never took its lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	fails(t, dir, []string{busy, fmt.Sprintf("process %d", long.Process.Pid)}, "train", "-out", "busy", "-data", "toy:8gaussians", "-steps", "1", "-force")
}

// A temporary checkpoint file that a killed run left is removed at the next
// start in its directory; files of other names are not.
func TestTrainRemovesOrphanTemp(t *testing.T) {
	dir := t.TempDir()
	run := trainToy(t, dir, "run", "-steps", "4")
	orphan := filepath.Join("run", "."+nn.CheckpointName+".tmp3141592")
	logOrphan := filepath.Join("run", ".metrics.csv.tmp0") // left by a log being cut back
	// Names createTempBeside never writes: not a uint32 in plain decimal.
	others := []string{"." + nn.CheckpointName + ".tmpx1", "notes.tmp123", "." + nn.CheckpointName + ".tmp",
		"." + nn.CheckpointName + ".tmp0123", "." + nn.CheckpointName + ".tmp+12", "." + nn.CheckpointName + ".tmp4294967296"}
	for _, name := range append(others, filepath.Base(orphan), filepath.Base(logOrphan)) {
		os.WriteFile(filepath.Join(run, name), []byte("partial"), 0o666)
	}
	r := ok(t, dir, "train", "-out", "run", "-resume", "-steps", "6")
	for _, o := range []string{orphan, logOrphan} {
		if _, err := os.Stat(filepath.Join(dir, o)); err == nil || !strings.Contains(r.stderr, "removed "+o) {
			t.Errorf("the orphan %s is still there, or not reported:\n%v", o, r)
		}
	}
	for _, name := range others {
		if _, err := os.Stat(filepath.Join(run, name)); err != nil {
			t.Errorf("%s was removed: %v", name, err)
		}
	}
}

// After a kill that lost the steps after the checkpoint, resume cuts the
// metrics log back to the checkpoint's step, so that it ends as the log of
// the uninterrupted run (no step twice, and no torn record).
func TestResumeTruncatesMetrics(t *testing.T) {
	dir := t.TempDir()
	for _, format := range []string{"csv", "jsonl"} {
		whole := trainToy(t, dir, "whole-"+format, "-log", format, "-log-every", "1")
		parts := trainToy(t, dir, "parts-"+format, "-log", format, "-log-every", "1", "-steps", "12")
		// What a run killed at step 15 after its checkpoint of step 12
		// leaves: three more records and a torn one.
		logPath := filepath.Join(parts, "metrics."+format)
		f, _ := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
		for s := 13; s <= 15; s++ {
			if format == "csv" {
				fmt.Fprintf(f, "%d,1,1,0.01,0.5\n", s)
			} else {
				fmt.Fprintf(f, `{"step":%d,"loss":1}`+"\n", s)
			}
		}
		fmt.Fprint(f, "16,0.")
		f.Close()
		ok(t, dir, "train", "-out", filepath.Base(parts), "-resume", "-steps", "20")
		want := metricsColumns(t, filepath.Join(whole, "metrics."+format), format)
		got := metricsColumns(t, logPath, format)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: log after kill and resume:\n%s\nwant that of the uninterrupted run:\n%s", format, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// metricsColumns returns each record of a metrics log without its time.
func metricsColumns(t *testing.T, path, format string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if format == "csv" {
			out = append(out, line[:strings.LastIndex(line, ",")])
		} else {
			out = append(out, line[:strings.LastIndex(line, `,"seconds"`)])
		}
	}
	return out
}

// Resume checks what it reads back from the checkpoint with the flags'
// bounds and names the checkpoint and key; a data set read from a file must
// be given again; a step that disagrees with the optimizer's is refused.
func TestResumeValidatesMetadata(t *testing.T) {
	dir := t.TempDir()
	trainToy(t, dir, "run", "-steps", "4")
	path := filepath.Join("run", nn.CheckpointName) // as the messages name it
	good, _ := os.ReadFile(filepath.Join(dir, path))
	mutate := func(key, val string) {
		t.Helper()
		full := filepath.Join(dir, path)
		os.WriteFile(full, good, 0o666)
		ts, md, err := tensor.LoadSafetensors(full)
		if err != nil {
			t.Fatal(err)
		}
		md[key] = val
		if err := tensor.SaveSafetensors(full, ts, md); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ key, val, want string }{
		// 1<<20 + 1: one past -batch's bound.
		{"extra.flag.batch", "1048577", "-batch 1048577: want"},
		{"extra.flag.batch", "0", "-batch 0: want"},
		{"extra.flag.lr", "-1", "-lr -1: want"},
		{"extra.flag.every", "-3", "-every -3: want"},
		{"extra.flag.optim", "nope", `-optim "nope"`},
		{"extra.flag.width", "0", "-width 0"},
		{"extra.flag.data", "toy:nope", "unknown toy"},
	} {
		mutate(c.key, c.val)
		fails(t, dir, []string{path, fmt.Sprintf("metadata %q", c.key), c.want}, "train", "-out", "run", "-resume", "-steps", "8")
	}
	// A bad value given on the command line is still a usage error.
	os.WriteFile(filepath.Join(dir, path), good, 0o666)
	usage(t, dir, "-batch 0", "train", "-out", "run", "-resume", "-steps", "8", "-batch", "0")

	// The data=csv:/etc/passwd is not opened.
	mutate("extra.flag.data", "csv:/etc/passwd")
	fails(t, dir, []string{path, `"extra.flag.data"`, `"csv:/etc/passwd", which reads files: give -data again`}, "train", "-out", "run", "-resume", "-steps", "8")

	// The step 0 with the optimizer at step 200; and step 4 with 3.
	for _, c := range [][2]string{{"0", "200"}, {"4", "3"}} {
		mutate("optim.step", c[1])
		ts, md, _ := tensor.LoadSafetensors(filepath.Join(dir, path))
		md["step"] = c[0]
		tensor.SaveSafetensors(filepath.Join(dir, path), ts, md)
		fails(t, dir, []string{path, fmt.Sprintf(`metadata "step" is %s but the optimizer state "optim.step" is %s`, c[0], c[1])}, "train", "-out", "run", "-resume", "-steps", "8")
	}
	os.WriteFile(filepath.Join(dir, path), good, 0o666)
	ok(t, dir, "train", "-out", "run", "-resume", "-steps", "8")
}

// A run on a CSV resumes only with -data given again.
func TestResumeFileDataNeedsFlag(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("a,b\n")
	for i := range 40 {
		fmt.Fprintf(&b, "%d,%d\n", i%7, i%5)
	}
	os.WriteFile(filepath.Join(dir, "t.csv"), []byte(b.String()), 0o666)
	ok(t, dir, "train", "-data", "csv:t.csv", "-width", "4", "-steps", "3", "-batch", "8", "-out", "run")
	fails(t, dir, []string{`t.csv", which reads files` /* the path is recorded absolute */}, "train", "-out", "run", "-resume", "-steps", "5")
	ok(t, dir, "train", "-out", "run", "-resume", "-steps", "5", "-data", "csv:t.csv")
}
