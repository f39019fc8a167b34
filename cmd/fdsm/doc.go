// Command fdsm trains, samples, evaluates and benchmarks score-matching models.
//
// Usage:
//
//	fdsm <command> [flags]
//
// Run `fdsm help` for the commands and `fdsm <command> -h` for each one's
// flags.
package main
