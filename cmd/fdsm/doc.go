// Command fdsm trains, samples, evaluates and benchmarks score-matching models.
//
// Usage:
//
//	fdsm <command> [flags]
//
// Run `fdsm help` for the commands, `fdsm <command> -h` for each one's
// flags (help goes to standard output) and `fdsm version` for the build.
// A mistake on the command line exits with status 2 after one line saying
// what is wrong and a pointer to -h; any other failure exits with status 1.
package main
