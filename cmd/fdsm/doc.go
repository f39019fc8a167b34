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
// Output written with -json is one JSON object per line. JSON cannot hold
// NaN or an infinity, so such a value is written as null, and a warning on
// standard error names each field written so.
package main
