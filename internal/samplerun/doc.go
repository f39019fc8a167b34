// Package samplerun draws and writes the samples of `fdsm sample`: the
// starting points, the sampler plan run on the model, the inverse of the
// data transform, and the PNG, .npy or CSV output with its caption.
//
// It is internal because it is shaped by the command (its files, captions
// and defaults); a program samples with sm.SamplerPlan.Run or sm.Langevin
// directly.
package samplerun
