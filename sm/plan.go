package sm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/fdsm/fdsm/tensor"
)

// Sampler settings a checkpoint records: under MetaSamplePrefix + a
// setting's name (one of SampleSettings), the value as fdsm sample's flag of
// that name takes it, e.g. "sample.steps" = "1000".
const MetaSamplePrefix = "sample."

// SampleSettings returns the names of the sampler settings a checkpoint can
// record, in the order fdsm sample applies them.
func SampleSettings() []string {
	return []string{"sampler", "steps", "step-size", "sigmas", "temperature", "denoise", "sigma"}
}

// ObjectiveSampling returns the sampler settings that suit a model trained
// by the objective obj (at DSM noise level sigma): setting name → value, as
// fdsm train records them (RecordSampling). For dsm and fd-dsm walk-jump,
// 1000 steps of 0.5·σ² at σ; for mdsm and fd-mdsm the MDSM reference
// sampler; for the others Langevin, 500 steps of 0.01.
func ObjectiveSampling(obj string, sigma float64) map[string]string {
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) } // 0.5·0.2² is 0.02, not 0.020000000000000004
	switch obj {
	case "dsm", "fd-dsm":
		// The recipe of issue 19's calibration: 1000 steps of 0.5·σ² on the
		// smoothed density drew MNIST digits from an MLP trained at σ = 0.3.
		return map[string]string{"sampler": "walk-jump", "steps": "1000", "step-size": g(0.5 * sigma * sigma), "sigma": g(sigma)}
	case "mdsm", "fd-mdsm":
		// The MDSM reference (github.com/zengyi-li/MDSM sample.py and
		// cfg.py): 2700 steps of ε = 0.02 under the 'exp' temperature
		// schedule, then the denoising step at σ₀.
		return map[string]string{"sampler": "langevin", "steps": "2700", "step-size": g(0.02 * 0.02), "temperature": "mdsm",
			"denoise": "true", "sigma": g(MDSMSigma0)}
	}
	return map[string]string{"sampler": "langevin", "steps": "500", "step-size": "0.01"}
}

// RecordSampling writes sampler settings (name → value) into checkpoint
// metadata, where fdsm sample takes its defaults from.
func RecordSampling(extra, settings map[string]string) {
	for k, v := range settings {
		extra[MetaSamplePrefix+k] = v
	}
}

// ParseTemperature reads a temperature setting: none (0, 0), mdsm (the
// MDSM reference's schedule from 100 to 1) or mdsm:TMAX,TMIN. The error
// starts with the value quoted, for a flag's name in front of it.
func ParseTemperature(t string) (tmax, tmin float64, err error) {
	switch {
	case t == "none":
		return 0, 0, nil
	case t == "mdsm":
		return 100, 1, nil // the reference's Tmax, Tmin (sample.py)
	case strings.HasPrefix(t, "mdsm:"):
		a, b, ok := strings.Cut(t[len("mdsm:"):], ",")
		hi, err1 := strconv.ParseFloat(a, 64)
		lo, err2 := strconv.ParseFloat(b, 64)
		if !ok || err1 != nil || err2 != nil || !(lo > 0) || !(hi >= lo) || math.IsInf(hi, 0) {
			return 0, 0, fmt.Errorf("%q: want mdsm:TMAX,TMIN with TMAX ≥ TMIN > 0", t)
		}
		return hi, lo, nil
	}
	return 0, 0, fmt.Errorf("%q: want none, mdsm or mdsm:TMAX,TMIN", t)
}

// SamplerPlan is a validated choice of sampler and its settings: what fdsm
// sample runs.
type SamplerPlan struct {
	Kind           string    // langevin, annealed, walk-jump or exact (a NICE's own sampler: Run does not draw it)
	Levels         []float64 // annealed: the noise levels
	TMax, TMin     float64   // MDSM temperature schedule's ends (0: none)
	Steps          int
	StepSize       float64
	Denoise        bool
	Sigma          float64 // σ of the denoising step or jump
	FromCheckpoint bool    // the settings came from a checkpoint (String says so)
}

// Run draws samples of model m (an Energy or a Score) from x0.
func (p SamplerPlan) Run(m any, x0 *tensor.Tensor, rng *rand.Rand) *tensor.Tensor {
	var y *tensor.Tensor
	switch {
	case p.Kind == "annealed":
		y = AnnealedLangevin(m, x0, p.Levels, max(1, p.Steps/len(p.Levels)), p.StepSize, rng)
	case p.TMax > 0:
		y = TemperedLangevin(m, x0, MDSMTemperatures(p.Steps, p.TMax, p.TMin), p.StepSize, rng)
	default:
		y = Langevin(m, x0, p.Steps, p.StepSize, rng)
	}
	if p.Kind == "walk-jump" || p.Denoise {
		y = Denoise(m, y, p.Sigma)
	}
	return y
}

// String says how the samples were drawn.
func (p SamplerPlan) String() string {
	var b strings.Builder
	switch p.Kind {
	case "exact":
		return "exactly, by inverting the flow"
	case "annealed":
		per := max(1, p.Steps/len(p.Levels))
		fmt.Fprintf(&b, "annealed Langevin, %d steps over %d levels σ = %.3g…%.3g, α = %g at the last level", per*len(p.Levels), len(p.Levels), p.Levels[0], p.Levels[len(p.Levels)-1], p.StepSize)
	case "walk-jump":
		fmt.Fprintf(&b, "walk-jump: %d Langevin steps of size %g on the σ = %g smoothed density", p.Steps, p.StepSize, p.Sigma)
	default:
		fmt.Fprintf(&b, "Langevin, %d steps of size %g", p.Steps, p.StepSize)
	}
	if p.TMax > 0 {
		fmt.Fprintf(&b, " at temperatures %g → %g → 0 (MDSM schedule)", p.TMax, p.TMin)
	}
	if p.Kind == "walk-jump" {
		b.WriteString(", then the jump y + σ²·s(y)")
	} else if p.Denoise {
		fmt.Fprintf(&b, ", then the denoising step x + σ²·s(x), σ = %g", p.Sigma)
	}
	if p.FromCheckpoint {
		b.WriteString("; settings from the checkpoint")
	}
	return b.String()
}
