// Package evalrun computes the figures of `fdsm eval`: the exact SM loss,
// the log-likelihood by the method the model allows, a toy's true
// log-likelihood and an OOD AUROC, into the Result the command prints.
//
// It is internal because it is shaped by the command (its warnings name
// its flags); a program evaluates a model with sm's ExactSMLoss,
// LogLikelihoodGrid2D, LogLikelihoodIS and AUROC directly.
package evalrun
