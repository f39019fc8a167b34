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
// No command writes over files it did not create unless told to:
// `fdsm demo` and `fdsm experiment NAME` write their figures into -out DIR,
// by default ./fdsm-out/demo and ./fdsm-out/NAME, and refuse a DIR that
// already holds files (exit 1) unless -force; `fdsm train -out` refuses a
// directory holding another run unless -resume or -force.
//
// Output written with -json is one JSON object per line. JSON cannot hold
// NaN or an infinity, so such a value is written as null, and a warning on
// standard error names each field written so.
package main
