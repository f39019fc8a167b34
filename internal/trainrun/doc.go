// Package trainrun is the driver of `fdsm train`: given a validated run
// (data set, transform, model, objective, optimiser, run directory), it
// trains with nn.Train, keeps the metrics log, and writes into the final
// checkpoint what later commands read (DKEF's α, the mean training energy).
//
// It is internal because it is shaped by the command line (its metrics log
// formats, its resume and its checkpoint keys); a program trains with
// nn.Train and sm's objectives directly, as the examples of package nn do.
package trainrun
