// Package experiment holds the experiments of Pang et al., "Efficient
// Learning of Generative Models via Finite-Difference Score Matching"
// (NeurIPS 2020), at a size a CPU finishes in minutes, and fdsm's demo:
// each trains the same model from the same initialisation on the same
// minibatches by score matching and by its finite-difference form, and
// reports the comparison as a markdown table (or one JSON object) with its
// figures.
//
//   - Toys: every energy objective on 2-D distributions with a known
//     density: density images and log-likelihoods.
//   - UCI: DKEF on the UCI wine data by SSM, SSM-VR and FD-SSM.
//   - NICE: NICE on MNIST by SSM, SSM-VR, DSM, FD-SSM and MLE.
//   - OOD: an MNIST energy by DSM and FD-DSM, scored by AUROC against
//     out-of-distribution sets made from MNIST.
//   - EBM: an MNIST energy by MDSM, DSM, SSM and their FD versions for equal
//     wall-clock time, its samples scored by FID-MNIST.
//   - Demo: SSM, FD-SSM, DSM and FD-DSM on one 2-D toy, then timed at d = 784.
//
// Each takes a config struct, whose Default…Config function gives the
// defaults of `fdsm experiment NAME` (`fdsm demo` for Demo) and whose
// RegisterFlags method defines that command's flags on a flag.FlagSet, and
// writes its report to an io.Writer:
//
//	c := experiment.DefaultToysConfig()
//	c.Toys, c.Objectives, c.Steps, c.Out = []string{"rings"}, []string{"ssm", "fd-ssm"}, 200, dir
//	err := experiment.Toys(c, os.Stdout)
//
// Each validates its config first (the Validate methods) and returns a
// *ConfigError naming the first field out of bounds, and the flag that
// sets it, before it reads data or writes a file; the command relies on
// these checks for its flags. EXPERIMENTS.md records the commands, sizes
// and results.
//
// The experiments live under bench because bench is where fdsm compares SM
// with FD-SM; they are a package rather than part of cmd/fdsm so that a
// researcher can run one from Go with a config instead of flags, and so
// that the command stays flag parsing and printing. A figure directory
// (Out) that already holds files is refused unless Force, as the command
// does.
package experiment
