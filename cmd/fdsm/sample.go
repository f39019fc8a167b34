package main

import (
	"flag"
	"fmt"
	"github.com/fdsm/fdsm/internal/samplerun"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
)

func init() {
	register("sample", "draw samples from a trained model by Langevin dynamics: plain, annealed or walk-jump", cmdSample)
}

const sampleSynopsis = `sample -ckpt DIR|FILE|-model M.safetensors [-n N] [-sampler langevin|annealed|walk-jump] [-steps N] [-step-size A] [-sigmas HI,LO,L] [-temperature T] [-denoise] [-sigma S] [-exact] [-out FILE]

Runs Langevin dynamics x ← x + (α/2)·s(x) + √α·n on the model of a checkpoint
written by fdsm train, in the space the model was trained in, and writes the
samples in the data's units: a PNG (a grid of 28×28 images when d = 784, a
scatter plot when d = 2, over the training data of a toy), a .npy array
[N, d] or a .csv table (headed by the training columns of a CSV, by x0,x1,…
otherwise); without -out, the CSV goes to standard output.

Samplers (-sampler):
  langevin   -steps steps of size α = -step-size. With -temperature mdsm the
             temperature T of step k falls as in the MDSM reference sampler
             (Li, Chen & Sommer 2019): x ← x + (α/2)·s(x) + √(α·T)·n, T from
             TMAX (100) to TMIN (1) and on to 0 over the steps.
  annealed   annealed Langevin over the noise levels σ_i of -sigmas with the
             step size α_i = α·σ_i²/σ_L² of Song & Ermon (2019).
  walk-jump  walk-jump sampling (Saremi & Hyvärinen 2019): Langevin on the
             σ-smoothed density (a model trained by DSM at σ is its energy),
             then the jump y + σ²·s(y) to the denoised point E[x | y].
-denoise ends langevin or annealed with that same step x + σ²·s(x), which
removes the noise the last steps leave (Jolicoeur-Martineau et al. 2020).
σ (-sigma) is the model's: train's -sigma for DSM and FD-DSM, σ₀ = 0.1 for
MDSM and FD-MDSM (whose score at level σ_i fits σ_i²/σ₀² times p_σi's).

Defaults: fdsm train records in the checkpoint the sampler that suits its
objective (DSM, FD-DSM: walk-jump, 1000 steps of 0.5·σ²; MDSM, FD-MDSM: the
MDSM reference, 2700 steps of α = 0.02² at -temperature mdsm, then -denoise;
the others: langevin, 500 steps of 0.01), and sample uses those settings
unless -sampler (or -annealed, -exact) is given; flags given override single
settings. A NICE model can also be sampled exactly (-exact).

` + weightHelp + `
With -model, -init auto starts from N(0, I): give -init uniform for pixels.

Flags:`

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

// sampleFlags are the sampler flags of fdsm sample.
type sampleFlags struct {
	sampler, sigmas, temperature *string
	annealed, denoise, exact     *bool
	steps                        *int
	stepSize, sigma              *float64
}

// plan validates the sampler flags; errors are usage errors.
func (f *sampleFlags) plan() (sm.SamplerPlan, error) {
	p := sm.SamplerPlan{Kind: *f.sampler, Steps: *f.steps, StepSize: *f.stepSize, Denoise: *f.denoise, Sigma: *f.sigma}
	if *f.annealed {
		if p.Kind != "langevin" && p.Kind != "annealed" {
			return p, usageError{fmt.Sprintf("-annealed is -sampler annealed, not -sampler %s: give one", p.Kind)}
		}
		p.Kind = "annealed"
	}
	switch p.Kind {
	case "langevin", "annealed", "walk-jump":
	default:
		return p, usageError{fmt.Sprintf("-sampler %q: want langevin, annealed or walk-jump", p.Kind)}
	}
	if *f.exact {
		if *f.annealed {
			return p, usageError{"-exact and -annealed are alternatives: give one"}
		}
		if p.Kind != "langevin" {
			return p, usageError{fmt.Sprintf("-exact and -sampler %s are alternatives: give one", p.Kind)}
		}
		p.Kind = "exact"
	}
	if p.Steps < 1 || !(p.StepSize > 0) || math.IsInf(p.StepSize, 0) {
		return p, usageError{"-steps must be at least 1 and -step-size positive"}
	}
	if !(p.Sigma >= 0) || math.IsInf(p.Sigma, 0) {
		return p, usageError{fmt.Sprintf("-sigma %g: want a finite noise level > 0 (0: the model's)", p.Sigma)}
	}
	if p.Kind == "annealed" {
		var err error
		if p.Levels, err = parseSigmas(*f.sigmas); err != nil {
			return p, usageError{err.Error()}
		}
	}
	var err error
	if p.TMax, p.TMin, err = sm.ParseTemperature(*f.temperature); err != nil {
		return p, usageError{"-temperature " + err.Error()}
	}
	if p.TMax > 0 && p.Kind != "langevin" && p.Kind != "walk-jump" {
		return p, usageError{fmt.Sprintf("-temperature is for -sampler langevin or walk-jump, not %s", p.Kind)}
	}
	return p, nil
}

func cmdSample(args []string, out, errw io.Writer) (err error) {
	fs := newFlags("sample", sampleSynopsis, errw)
	ckpt := fs.String("ckpt", "", "checkpoint: a file, or the -out directory of fdsm train (this or -model)")
	wf := addWeightFlags(fs, true)
	n := fs.Int("n", 0, "number of samples (0: 64 images when d = 784, 1000 otherwise)")
	sf := &sampleFlags{
		sampler:     fs.String("sampler", "langevin", "langevin, annealed or walk-jump; without it, the sampler the checkpoint records, if any"),
		steps:       fs.Int("steps", 500, "Langevin steps (annealed: in all, split evenly across the levels; walk-jump: of the walk)"),
		stepSize:    fs.Float64("step-size", 0.01, "step size α (annealed: the step size at the last, smallest level)"),
		annealed:    fs.Bool("annealed", false, "the older spelling of -sampler annealed"),
		sigmas:      fs.String("sigmas", "1,0.01,10", "annealed: HI,LO,L: L noise levels from HI down to LO, geometrically spaced"),
		temperature: fs.String("temperature", "none", "langevin, walk-jump: none (T = 1), mdsm (the MDSM reference schedule, T from 100 to 1, then to 0) or mdsm:TMAX,TMIN"),
		denoise:     fs.Bool("denoise", false, "langevin, annealed: end with the denoising step x + σ²·s(x)"),
		sigma:       fs.Float64("sigma", 0, "σ of the denoising step and of walk-jump's smoothed density (0: the model's: DSM's -sigma, MDSM's σ₀ = 0.1)"),
		exact:       fs.Bool("exact", false, "nice only: draw exact samples by inverting the flow, instead of Langevin dynamics"),
	}
	initName := fs.String("init", "auto", "starting points: gaussian (N(0, I) in the model's space), uniform (U[0, 1] per coordinate in the data's units: pixels) or auto (uniform for MNIST, gaussian otherwise)")
	seed := fs.Uint64("seed", 1, "seed of the starting points and the Langevin noise")
	outPath := fs.String("out", "", "output file: .png, .npy or .csv (empty: CSV on standard output)")
	if err := parse(fs, args); err != nil {
		return err
	}
	plan, err := sf.plan()
	if err != nil {
		return err
	}
	if *n < 0 || *n > 1<<22 {
		return usageError{"-n must be 0…4194304"}
	}
	switch *initName {
	case "auto", "gaussian", "uniform":
	default:
		return usageError{fmt.Sprintf("-init %q: want auto, gaussian or uniform", *initName)}
	}
	ext := outExt(*outPath)
	if ext != "" && ext != ".png" && ext != ".npy" && ext != ".csv" {
		return usageError{fmt.Sprintf("-out %s: want a .png, .npy or .csv file", *outPath)}
	}

	m, err := openModel(*ckpt, wf)
	if err != nil {
		return err
	}
	if plan, err = recordedPlan(fs, sf, plan, m); err != nil {
		return err
	}
	d := m.Spec.Dim
	if ext == ".png" && d != 2 && d != 784 {
		return fmt.Errorf("%s: a PNG needs 2-D data or 28×28 images, the model has d = %d: write .npy or .csv", *outPath, d)
	}
	count := *n
	if count == 0 {
		count = 1000
		if d == 784 {
			count = 64
		}
	}
	return samplerun.Run(samplerun.Config{
		Model: m.Model, Transform: m.tr, Path: m.path, Meta: m.meta, TrainData: m.trainData,
		Plan: plan, N: count, Init: *initName, Seed: *seed, Out: *outPath, Ext: ext, Progress: errw,
	}, out)
}

// recordedPlan completes the sampler flags with the settings the checkpoint
// records (when -sampler, -annealed and -exact are not given; flags given
// win) and σ with the model's, and validates the result; an error in a
// recorded setting names the checkpoint and its key.
func recordedPlan(fs *flag.FlagSet, sf *sampleFlags, plan sm.SamplerPlan, m *loaded) (sm.SamplerPlan, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["sampler"] && !set["annealed"] && !set["exact"] {
		for _, name := range sm.SampleSettings() {
			v, ok := m.meta.Extra[sm.MetaSamplePrefix+name]
			if !ok || set[name] {
				continue
			}
			// Validated one at a time, so that an error names the key.
			key := "extra." + sm.MetaSamplePrefix + name
			if err := fs.Set(name, v); err != nil {
				return plan, fmt.Errorf("%s: metadata %q: %v", m.path, key, err)
			}
			var err error
			if plan, err = sf.plan(); err != nil {
				return plan, fmt.Errorf("%s: metadata %q (a recorded sampler setting): %v", m.path, key, err)
			}
			plan.FromCheckpoint = true
		}
	}
	if plan.Sigma == 0 && (plan.Kind == "walk-jump" || plan.Denoise) {
		if plan.Sigma = modelSigma(m.meta); plan.Sigma == 0 {
			what := "-denoise"
			if plan.Kind == "walk-jump" {
				what = "-sampler walk-jump"
			}
			return plan, usageError{fmt.Sprintf("%s needs -sigma: the checkpoint %s (objective %s) records no noise level", what, m.path, m.meta.Objective)}
		}
	}
	return plan, nil
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

// outExt returns the lower-case extension of an output path ("" if none).
func outExt(p string) string {
	if p == "" {
		return ""
	}
	i := strings.LastIndexByte(p, '.')
	if i < 0 || strings.ContainsAny(p[i:], `/\`) {
		return "(none)"
	}
	return strings.ToLower(p[i:])
}
