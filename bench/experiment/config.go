package experiment

import (
	"flag"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fdsm/fdsm/internal/rundir"
)

// A ConfigError says which field of an experiment's config is out of its
// bounds. Every entry point validates its config before it reads data or
// writes a file, and returns a *ConfigError for the first field at fault.
type ConfigError struct {
	Field string // the field at fault, e.g. "ToysConfig.Steps"
	// Usage says what is wrong in the words of the field's flag, as
	// fdsm experiment prints it: "-steps 0: want at least 1".
	Usage string
}

// Error names the config, the field and what is wrong with it.
func (e *ConfigError) Error() string { return "experiment: " + e.Field + ": " + e.Usage }

// checker collects the first bound a config breaks. Each check names the
// field and its flag; the messages are the command's.
type checker struct {
	config string // the config's type name, e.g. "ToysConfig"
	err    *ConfigError
}

// fail records the first failure: field, and what is wrong (fmt.Sprintf).
func (k *checker) fail(field, format string, args ...any) {
	if k.err == nil {
		k.err = &ConfigError{Field: k.config + "." + field, Usage: fmt.Sprintf(format, args...)}
	}
}

// check fails field with the message unless ok.
func (k *checker) check(ok bool, field, format string, args ...any) {
	if !ok {
		k.fail(field, format, args...)
	}
}

// atLeast checks v ≥ lo for field, set by -flag.
func (k *checker) atLeast(field, flag string, v, lo int) {
	k.check(v >= lo, field, "-%s %d: want at least %d", flag, v, lo)
}

// within checks lo ≤ v ≤ hi for field, set by -flag.
func (k *checker) within(field, flag string, v, lo, hi int) {
	k.check(v >= lo && v <= hi, field, "-%s %d: want %d…%d", flag, v, lo, hi)
}

// learningRate checks the field LR (-lr): positive and finite.
func (k *checker) learningRate(v float64) {
	k.check(v > 0 && !math.IsInf(v, 0), "LR", "-lr %g: want a positive learning rate", v)
}

// noiseLevel checks the field Sigma (-sigma): positive and finite.
func (k *checker) noiseLevel(v float64) {
	k.check(v > 0 && !math.IsInf(v, 0), "Sigma", "-sigma %g: want a positive finite noise level", v)
}

// minutes checks the field Minutes (-minutes): finite, ≥ 0.
func (k *checker) minutes(v float64) {
	k.check(v >= 0 && !math.IsInf(v, 0), "Minutes", "-minutes %g: want a finite time ≥ 0", v)
}

// objectives checks the field Objectives (-objectives): at least one, each
// one of allowed, none twice.
func (k *checker) objectives(list, allowed []string) {
	if len(list) == 0 {
		k.fail("Objectives", "-objectives: none given (want some of %s)", strings.Join(allowed, ","))
	}
	for i, n := range list {
		if !slices.Contains(allowed, n) {
			k.fail("Objectives", "-objectives: unknown objective %q (want some of %s)", n, strings.Join(allowed, ","))
		}
		if slices.Contains(list[:i], n) {
			k.fail("Objectives", "-objectives: %q twice", n)
		}
	}
}

// result is the first failure, or nil (never a nil *ConfigError in an
// error).
func (k *checker) result() error {
	if k.err == nil {
		return nil
	}
	return k.err
}

// outFlags defines -out and -force, the figure directory of the experiment
// name (by default ./fdsm-out/name) and whether to write into one that holds
// files; what names the files written there.
func outFlags(fs *flag.FlagSet, dir *string, force *bool, name, what string) {
	def := filepath.Join(rundir.ScratchRoot, name)
	fs.StringVar(dir, "out", *dir, fmt.Sprintf("directory for %s (empty: ./%s); refused if it holds files, unless -force", what, def))
	fs.BoolVar(force, "force", *force, "write into -out even when it holds files (files of the same names are replaced)")
}

// evalRows checks the fields SMRows and CurveRows (-sm-rows, -curve-rows:
// positive) and Points (-points: at least 2, a curve's two ends), which the
// command reports in one message.
func (k *checker) evalRows(smRows, curveRows, points int) {
	field := ""
	switch {
	case smRows < 1:
		field = "SMRows"
	case curveRows < 1:
		field = "CurveRows"
	case points < 2:
		field = "Points"
	}
	k.check(field == "", field, "-sm-rows and -curve-rows must be positive, -points at least 2")
}
