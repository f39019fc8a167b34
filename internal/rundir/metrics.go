package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/fdsm/fdsm/internal/jsonout"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// MetricsLog appends one record per logged step to a CSV or JSON-lines file.
type MetricsLog struct {
	f      *os.File
	path   string
	format string
}

// MetricsFormats returns the formats of -log that write a file.
func MetricsFormats() []string { return []string{"csv", "jsonl"} }

// MetricsPath is the metrics log of format in the run directory dir.
func MetricsPath(dir, format string) string { return filepath.Join(dir, "metrics."+format) }

// OpenMetricsLog opens path for appending, writing the CSV header if the file
// is new. The records of steps after keep are removed first (keep = 0: all of
// them), so that a run resumed from the checkpoint of step keep continues the
// log without repeating the steps a killed run logged after it.
func OpenMetricsLog(path, format string, keep int) (*MetricsLog, error) {
	if err := TruncateMetricsLog(path, format, keep); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o666)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, UnwrapPathError(err))
	}
	l := &MetricsLog{f: f, path: path, format: format}
	if st, err := f.Stat(); err == nil && st.Size() == 0 && format == "csv" {
		if _, err := fmt.Fprintln(f, "step,loss,grad_norm,lr,seconds"); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %v", path, err)
		}
	}
	return l, nil
}

// Write appends the record of the step info, elapsed into the run.
func (l *MetricsLog) Write(info nn.StepInfo, elapsed time.Duration) error {
	var err error
	if l.format == "csv" {
		_, err = fmt.Fprintf(l.f, "%d,%.9g,%.9g,%.9g,%.3f\n", info.Step+1, info.Loss, info.GradNorm, info.LR, elapsed.Seconds())
	} else {
		_, err = jsonout.Write(l.f, map[string]any{"step": info.Step + 1, "loss": info.Loss, "grad_norm": info.GradNorm, "lr": info.LR, "seconds": elapsed.Seconds()})
	}
	if err != nil {
		return fmt.Errorf("%s: %v", l.path, err)
	}
	return nil
}

// Close closes the log (closing it twice is not an error).
func (l *MetricsLog) Close() error {
	if err := l.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("%s: %v", l.path, err)
	}
	return nil
}

// TruncateMetricsLog removes from the log at path the records of steps after
// keep, and a last record cut short by a crash (no final newline); a file
// that does not exist is left so.
func TruncateMetricsLog(path, format string, keep int) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %v", path, UnwrapPathError(err))
	}
	lines := strings.SplitAfter(string(b), "\n")
	var kept strings.Builder
	for i, line := range lines {
		if !strings.HasSuffix(line, "\n") {
			continue // the torn end of the file (or the empty piece after the last newline)
		}
		var step int
		var err error
		if format == "csv" {
			if i == 0 && strings.HasPrefix(line, "step,") {
				kept.WriteString(line) // the header
				continue
			}
			first, _, _ := strings.Cut(line, ",")
			step, err = strconv.Atoi(first)
		} else {
			var rec struct{ Step *int }
			if err = json.Unmarshal([]byte(line), &rec); err == nil && rec.Step == nil {
				err = errors.New("no step")
			}
			if err == nil {
				step = *rec.Step
			}
		}
		if err == nil && step <= keep {
			kept.WriteString(line)
		}
	}
	if kept.Len() == len(b) {
		return nil
	}
	return tensor.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := io.WriteString(w, kept.String())
		return err
	})
}
