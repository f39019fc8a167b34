package samplerun

import (
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/fdsm/fdsm/internal/rundir"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
)

// Settings are the sampler flags of fdsm sample, which a checkpoint can
// record under the same names (sm.SampleSettings): each field is the flag
// of its name (StepSize: -step-size).
type Settings struct {
	Sampler, Sigmas, Temperature string
	Annealed, Denoise, Exact     bool
	Steps                        int
	StepSize, Sigma              float64
}

// DefaultSettings returns the sampler flags' defaults.
func DefaultSettings() Settings {
	return Settings{Sampler: "langevin", Steps: 500, StepSize: 0.01, Sigmas: "1,0.01,10", Temperature: "none"}
}

// RegisterFlags defines the sampler flags on fs, bound to s, with s's
// values as their defaults.
func (s *Settings) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&s.Sampler, "sampler", s.Sampler, "langevin, annealed or walk-jump; without it, the sampler the checkpoint records, if any")
	fs.IntVar(&s.Steps, "steps", s.Steps, "Langevin steps (annealed: in all, split evenly across the levels; walk-jump: of the walk)")
	fs.Float64Var(&s.StepSize, "step-size", s.StepSize, "step size α (annealed: the step size at the last, smallest level)")
	fs.BoolVar(&s.Annealed, "annealed", s.Annealed, "the older spelling of -sampler annealed")
	fs.StringVar(&s.Sigmas, "sigmas", s.Sigmas, "annealed: HI,LO,L: L noise levels from HI down to LO, geometrically spaced")
	fs.StringVar(&s.Temperature, "temperature", s.Temperature, "langevin, walk-jump: none (T = 1), mdsm (the MDSM reference schedule, T from 100 to 1, then to 0) or mdsm:TMAX,TMIN")
	fs.BoolVar(&s.Denoise, "denoise", s.Denoise, "langevin, annealed: end with the denoising step x + σ²·s(x)")
	fs.Float64Var(&s.Sigma, "sigma", s.Sigma, "σ of the denoising step and of walk-jump's smoothed density (0: the model's: DSM's -sigma, MDSM's σ₀ = 0.1)")
	fs.BoolVar(&s.Exact, "exact", s.Exact, "nice only: draw exact samples by inverting the flow, instead of Langevin dynamics")
}

// Plan validates the settings; errors are rundir.FlagErrors.
func (s Settings) Plan() (sm.SamplerPlan, error) {
	p := sm.SamplerPlan{Kind: s.Sampler, Steps: s.Steps, StepSize: s.StepSize, Denoise: s.Denoise, Sigma: s.Sigma}
	if s.Annealed {
		if p.Kind != "langevin" && p.Kind != "annealed" {
			return p, rundir.Flagf("-annealed is -sampler annealed, not -sampler %s: give one", p.Kind)
		}
		p.Kind = "annealed"
	}
	switch p.Kind {
	case "langevin", "annealed", "walk-jump":
	default:
		return p, rundir.Flagf("-sampler %q: want langevin, annealed or walk-jump", p.Kind)
	}
	if s.Exact {
		if s.Annealed {
			return p, rundir.Flagf("-exact and -annealed are alternatives: give one")
		}
		if p.Kind != "langevin" {
			return p, rundir.Flagf("-exact and -sampler %s are alternatives: give one", p.Kind)
		}
		p.Kind = "exact"
	}
	if p.Steps < 1 || !(p.StepSize > 0) || math.IsInf(p.StepSize, 0) {
		return p, rundir.Flagf("-steps must be at least 1 and -step-size positive")
	}
	if !(p.Sigma >= 0) || math.IsInf(p.Sigma, 0) {
		return p, rundir.Flagf("-sigma %g: want a finite noise level > 0 (0: the model's)", p.Sigma)
	}
	if p.Kind == "annealed" {
		var err error
		if p.Levels, err = parseSigmas(s.Sigmas); err != nil {
			return p, rundir.FlagError{Msg: err.Error()}
		}
	}
	var err error
	if p.TMax, p.TMin, err = sm.ParseTemperature(s.Temperature); err != nil {
		return p, rundir.FlagError{Msg: "-temperature " + err.Error()}
	}
	if p.TMax > 0 && p.Kind != "langevin" && p.Kind != "walk-jump" {
		return p, rundir.Flagf("-temperature is for -sampler langevin or walk-jump, not %s", p.Kind)
	}
	return p, nil
}

// ResolvePlan completes the settings s, bound to the flags of fs (those
// given on the command line are set), with what the checkpoint of m
// records, when -sampler, -annealed and -exact are not given (flags given
// win), and σ with the model's; it validates the result. An error in a
// recorded setting names the checkpoint and its key; a mistake in the flags
// is a rundir.FlagError.
func ResolvePlan(fs *flag.FlagSet, s *Settings, m *rundir.Model) (sm.SamplerPlan, error) {
	plan, err := s.Plan()
	if err != nil {
		return plan, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["sampler"] && !set["annealed"] && !set["exact"] {
		for _, name := range sm.SampleSettings() {
			v, ok := m.Meta.Extra[sm.MetaSamplePrefix+name]
			if !ok || set[name] {
				continue
			}
			// Validated one at a time, so that an error names the key.
			key := "extra." + sm.MetaSamplePrefix + name
			if err := fs.Set(name, v); err != nil {
				return plan, fmt.Errorf("%s: metadata %q: %v", m.Path, key, err)
			}
			if plan, err = s.Plan(); err != nil {
				return plan, fmt.Errorf("%s: metadata %q (a recorded sampler setting): %v", m.Path, key, err)
			}
			plan.FromCheckpoint = true
		}
	}
	if plan.Sigma == 0 && (plan.Kind == "walk-jump" || plan.Denoise) {
		if plan.Sigma = modelSigma(m.Meta); plan.Sigma == 0 {
			what := "-denoise"
			if plan.Kind == "walk-jump" {
				what = "-sampler walk-jump"
			}
			return plan, rundir.Flagf("%s needs -sigma: the checkpoint %s (objective %s) records no noise level", what, m.Path, m.Meta.Objective)
		}
	}
	return plan, nil
}

// FromCheckpoint draws n samples of the checkpoint ckpt into file (.npy,
// .png or .csv) as 'fdsm sample -ckpt CKPT -n N -seed S -out FILE' does:
// by the sampler the checkpoint records, from the default starting points.
// It returns the plan it ran; progress takes its warnings.
func FromCheckpoint(ckpt string, n int, seed uint64, file string, progress io.Writer) (sm.SamplerPlan, error) {
	m, err := rundir.LoadModel(ckpt)
	if err != nil {
		return sm.SamplerPlan{}, err
	}
	s := DefaultSettings()
	fs := flag.NewFlagSet("sample", flag.ContinueOnError)
	s.RegisterFlags(fs)
	plan, err := ResolvePlan(fs, &s, m)
	if err != nil {
		return plan, err
	}
	return plan, Run(Config{Model: m.Model, Transform: m.Transform, Path: m.Path, Meta: m.Meta, TrainData: m.TrainData,
		Plan: plan, N: n, Init: "auto", Seed: seed, Out: file, Ext: Ext(file), Progress: progress}, io.Discard)
}

// modelSigma returns the noise level σ of a checkpoint's model, for the
// denoising step when neither -sigma nor the recorded settings give it: the
// objective's (train's -sigma for DSM, σ₀ for MDSM); 0 if it has none.
func modelSigma(meta nn.Metadata) float64 {
	key := ""
	switch meta.Objective {
	case "dsm", "fd-dsm":
		key = nn.ExtraFlagPrefix + "sigma"
	case "mdsm", "fd-mdsm":
		return sm.MDSMSigma0
	}
	if v, err := strconv.ParseFloat(meta.Extra[key], 64); err == nil && v > 0 && !math.IsInf(v, 0) {
		return v
	}
	return 0
}

// parseSigmas parses HI,LO,L into L geometrically spaced levels.
func parseSigmas(s string) ([]float64, error) {
	p := strings.Split(s, ",")
	if len(p) != 3 {
		return nil, fmt.Errorf("-sigmas %q: want HI,LO,L", s)
	}
	hi, err1 := strconv.ParseFloat(p[0], 64)
	lo, err2 := strconv.ParseFloat(p[1], 64)
	l, err3 := strconv.Atoi(p[2])
	if err1 != nil || err2 != nil || err3 != nil || !(lo > 0) || !(hi >= lo) || math.IsInf(hi, 0) || l < 1 || l > 10000 {
		return nil, fmt.Errorf("-sigmas %q: want HI ≥ LO > 0 and 1 ≤ L ≤ 10000", s)
	}
	return sm.GeometricSchedule(hi, lo, l), nil
}

// Ext returns the lower-case extension of an output path: "" if the path
// is empty, "(none)" if it has no extension.
func Ext(p string) string {
	if p == "" {
		return ""
	}
	i := strings.LastIndexByte(p, '.')
	if i < 0 || strings.ContainsAny(p[i:], `/\`) {
		return "(none)"
	}
	return strings.ToLower(p[i:])
}
