// Command fdsm trains, samples, evaluates and benchmarks score-matching models.
//
// Usage:
//
//	fdsm <command> [flags]
//
// Run `fdsm help` for the commands, `fdsm <command> -h` for each one's
// flags (help goes to standard output) and `fdsm version` for the build.
// A mistake on the command line exits with status 2 after one line saying
// what is wrong and a pointer to -h; any other failure exits with status 1;
// a panic (a bug in fdsm) exits with status 3.
//
// sample, eval and energy read the model of a checkpoint of train (-ckpt),
// or, with -model M.safetensors, an MLP from a PyTorch state_dict: an
// nn.Sequential of Linear layers (0.weight, 0.bias, 2.weight, …, under one
// prefix; -prefix picks one module of a larger state_dict), F32, F64, F16 or
// BF16, as loss reads it. The layer widths and the input dimension come from
// the tensors' shapes, a last layer of width 1 makes an energy and one of
// the input's width a score network, and -act and -dtype give the rest. A
// state_dict says nothing about the data, so the rows go in as they are
// unless -transform standardize (-mean, -std) or logit is given, and eval
// needs -data. Only MLPs are read this way, not ResNet energies.
//
// No command writes over files it did not create unless told to:
// `fdsm demo` and `fdsm experiment NAME` write their figures into -out DIR,
// by default ./fdsm-out/demo and ./fdsm-out/NAME, and refuse a DIR that
// already holds files (exit 1) unless -force; `fdsm train -out` refuses a
// directory holding another run unless -resume or -force.
//
// The command is flag parsing, validation and printing over the packages
// that do the work: the experiments and the demo are functions of a config
// in bench/experiment, which validates it and defines its flags
// (RegisterFlags); the data forms, transforms and held-out split are in
// data, the model wrapper and sampler plans in sm; what only the command
// line wants (run-directory locks and refusals, metrics logs, the model of
// -ckpt or -model, train's optimisation flags, the sampler flags, the
// drivers of train, eval and sample) is in internal/rundir,
// internal/trainrun, internal/evalrun and internal/samplerun.
//
// Output written with -json is one JSON object per line. JSON cannot hold
// NaN or an infinity, so such a value is written as null, and a warning on
// standard error names each field written so.
//
// # Sampling
//
// `fdsm sample` draws from a trained energy (or score network) with one of
// three samplers, all in the model's space (after train's -transform):
//
//   - langevin: x ← x + (α/2)·s(x) + √α·n for -steps steps of size α
//     (-step-size); with -temperature mdsm the temperature T of each step
//     falls as in the reference sampler of MDSM (Li, Chen & Sommer 2019,
//     code github.com/zengyi-li/MDSM): 500 steps at T = 100, 2000 falling
//     geometrically to 1, 200 falling linearly to 0, in those proportions
//     of -steps, each x ← x + (α/2)·s(x) + √(α·T)·n.
//   - annealed: annealed Langevin over the noise levels of -sigmas, step
//     size α·σ_i²/σ_L² (Song & Ermon 2019).
//   - walk-jump: Langevin on the σ-smoothed density, which a model trained
//     by DSM at σ fits, then the jump y + σ²·s(y) to E[x | y] (Saremi &
//     Hyvärinen 2019, "Neural Empirical Bayes").
//
// -denoise ends langevin or annealed with the same step x + σ²·s(x), which
// removes the noise of the last steps (Jolicoeur-Martineau et al. 2020). σ
// (-sigma) is the model's: train's -sigma for dsm and fd-dsm, σ₀ = 0.1 for
// mdsm and fd-mdsm (whose loss is least when the score at level σ_i is
// σ_i²/σ₀² times ∇log p_σi, so that the step at σ₀ gives E[x | y]).
//
// fdsm train records in the checkpoint, as metadata keys "sample.FLAG",
// the sampler settings that suit its objective: for dsm and fd-dsm
// walk-jump, 1000 steps of 0.5·σ² at train's σ; for mdsm and fd-mdsm the
// MDSM reference, 2700 steps of α = 0.02² under -temperature mdsm, then
// -denoise at σ₀; for the others langevin, 500 steps of 0.01. `fdsm sample
// -ckpt CKPT -n 1000 -out s.npy` with no other flag uses them; flags given
// override single settings, and -sampler (or -annealed, -exact) replaces the
// record. A recorded value that is not valid is an error naming the
// checkpoint and the key.
package main
