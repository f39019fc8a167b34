package main

import (
	"fmt"
	"github.com/fdsm/fdsm/internal/rundir"
	"io"

	"github.com/fdsm/fdsm/internal/samplerun"
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

` + rundir.WeightHelp + `
With -model, -init auto starts from N(0, I): give -init uniform for pixels.

Flags:`

func cmdSample(args []string, out, errw io.Writer) error {
	fs := newFlags("sample", sampleSynopsis, errw)
	ckpt := fs.String("ckpt", "", "checkpoint: a file, or the -out directory of fdsm train (this or -model)")
	wf := rundir.AddWeightFlags(fs, true)
	n := fs.Int("n", 0, "number of samples (0: 64 images when d = 784, 1000 otherwise)")
	st := samplerun.DefaultSettings()
	st.RegisterFlags(fs)
	initName := fs.String("init", "auto", "starting points: gaussian (N(0, I) in the model's space), uniform (U[0, 1] per coordinate in the data's units: pixels) or auto (uniform for MNIST, gaussian otherwise)")
	seed := fs.Uint64("seed", 1, "seed of the starting points and the Langevin noise")
	outPath := fs.String("out", "", "output file: .png, .npy or .csv (empty: CSV on standard output)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if _, err := st.Plan(); err != nil {
		return flagError(err)
	}
	if *n < 0 || *n > 1<<22 {
		return usageError{"-n must be 0…4194304"}
	}
	switch *initName {
	case "auto", "gaussian", "uniform":
	default:
		return usageError{fmt.Sprintf("-init %q: want auto, gaussian or uniform", *initName)}
	}
	ext := samplerun.Ext(*outPath)
	if ext != "" && ext != ".png" && ext != ".npy" && ext != ".csv" {
		return usageError{fmt.Sprintf("-out %s: want a .png, .npy or .csv file", *outPath)}
	}

	m, err := rundir.OpenModel(*ckpt, wf)
	if err != nil {
		return flagError(err)
	}
	plan, err := samplerun.ResolvePlan(fs, &st, m)
	if err != nil {
		return flagError(err)
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
		Model: m.Model, Transform: m.Transform, Path: m.Path, Meta: m.Meta, TrainData: m.TrainData,
		Plan: plan, N: count, Init: *initName, Seed: *seed, Out: *outPath, Ext: ext, Progress: errw,
	}, out)
}
