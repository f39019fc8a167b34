// Package rundir holds the plumbing of fdsm's run directories: the lock a
// training run holds on its -out directory (a second process is kept out, a
// lock left by a killed one taken over), the refusal to write into a
// directory that holds another run or a user's files, the clean-up of what a
// killed run left, the metrics log cut back to a checkpoint's step on
// -resume, the resolution of a checkpoint path, and the model sample, eval,
// energy and loss read: a checkpoint's with what its metadata says about
// the data (LoadModel), or an MLP of a PyTorch state_dict named by the
// weight flags (WeightFlags, OpenModel).
//
// It is internal because it is the command line's policy, not a library's:
// a program that trains with nn.Train chooses its own files.
package rundir
