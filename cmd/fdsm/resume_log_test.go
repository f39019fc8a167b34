package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestResumeCutsEveryLog checks that a resume whose -log differs from the
// killed run's (another format, or none) still cuts the killed run's log
// back to the checkpoint's step: only the log being written was cut, and
// metrics.csv kept the steps after the checkpoint that the resumed run
// redoes.
func TestResumeCutsEveryLog(t *testing.T) {
	dir := t.TempDir()
	whole := trainToy(t, dir, "whole", "-log", "csv", "-log-every", "1", "-steps", "12")
	want := metricsColumns(t, filepath.Join(whole, "metrics.csv"), "csv") // the header and steps 1…12
	for _, resumeLog := range []string{"jsonl", "none"} {
		parts := trainToy(t, dir, "parts-"+resumeLog, "-log", "csv", "-log-every", "1", "-steps", "12")
		// What a run killed at step 15 after its checkpoint of step 12
		// leaves: three more records and a torn one.
		logPath := filepath.Join(parts, "metrics.csv")
		f, _ := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
		for s := 13; s <= 15; s++ {
			fmt.Fprintf(f, "%d,1,1,0.01,0.5\n", s)
		}
		fmt.Fprint(f, "16,0.")
		f.Close()
		ok(t, dir, "train", "-out", filepath.Base(parts), "-resume", "-steps", "20", "-log", resumeLog)
		if got := metricsColumns(t, logPath, "csv"); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("resumed with -log %s: metrics.csv:\n%s\nwant it cut back to the checkpoint's step 12:\n%s", resumeLog, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
