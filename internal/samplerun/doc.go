// Package samplerun draws and writes the samples of `fdsm sample`: the
// sampler flags and the plan they make with the settings a checkpoint
// records, the starting points, the plan run on the model, the inverse of
// the data transform, and the PNG, .npy or CSV output with its caption.
// FromCheckpoint is `fdsm sample -ckpt CKPT -n N -seed S -out FILE` as a
// function, which the ebm experiment draws its samples with.
//
// It is internal because it is shaped by the command (its files, captions
// and defaults); a program samples with sm.SamplerPlan.Run or sm.Langevin
// directly.
package samplerun
