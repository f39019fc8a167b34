package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/fdsm/fdsm/internal/rundir"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

// command is one subcommand: run parses its flags from args and does the work.
type command struct {
	summary string
	run     func(args []string, out, errw io.Writer) error
}

var commands = map[string]command{}

func register(name, summary string, run func(args []string, out, errw io.Writer) error) {
	commands[name] = command{summary, run}
}

// usageError marks a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// flagError turns a rundir.FlagError, a flag mistake found by a package
// the command calls, into a usage error.
func flagError(err error) error {
	var fe rundir.FlagError
	if errors.As(err, &fe) {
		return usageError{fe.Msg}
	}
	return err
}

// helpText is a command's answer to -h: its usage, which run prints on
// standard output (exit status 0). It matches flag.ErrHelp.
type helpText string

func (h helpText) Error() string { return string(h) }

// Is makes errors.Is(h, flag.ErrHelp) hold.
func (h helpText) Is(target error) bool { return target == flag.ErrHelp }

func main() {
	os.Exit(runGuarded(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status: 0 on success
// (help, asked for with -h or help, goes to out), 2 for a usage mistake (the
// mistake and a pointer to -h, two lines), 1 for anything else (one line
// naming the file or value at fault).
func run(args []string, out, errw io.Writer) int {
	if len(args) == 0 {
		printUsage(errw)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if _, ok := commands[safeArg(args, 1)]; ok {
			return run([]string{args[1], "-h"}, out, errw) // fdsm help CMD
		}
		printUsage(out)
		return 0
	case "-version", "--version":
		args = []string{"version"}
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(errw, "fdsm: unknown command %q\n", args[0])
		fmt.Fprintln(errw, "Run 'fdsm -h' for usage.")
		return 2
	}
	err := cmd.run(args[1:], out, errw)
	// Messages name the command, with an experiment's name after
	// "experiment", so that the usage hint points at the right -h.
	name := args[0]
	if _, ok := experiments[safeArg(args, 1)]; ok && name == "experiment" {
		name += " " + args[1]
	}
	var help helpText
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &help):
		fmt.Fprint(out, string(help))
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(errw, "fdsm %s: %v\n", name, err)
		fmt.Fprintf(errw, "Run 'fdsm %s -h' for usage.\n", name)
		return 2
	default:
		fmt.Fprintf(errw, "fdsm %s: %v\n", name, err)
		return 1
	}
}

// safeArg returns args[i], or "" if there is none.
func safeArg(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `fdsm: finite-difference score matching.

Usage: fdsm <command> [flags]

Commands:
`)
	printIndex(w, commands, 10)
	fmt.Fprint(w, "\nRun 'fdsm <command> -h' for a command's flags.\n")
}

// printIndex lists the commands (or experiments) of cmds in name order, one
// a line: the name padded to width, then its summary.
func printIndex(w io.Writer, cmds map[string]command, width int) {
	for _, n := range slices.Sorted(maps.Keys(cmds)) {
		fmt.Fprintf(w, "  %-*s %s\n", width, n, cmds[n].summary)
	}
}

// newFlags returns a flag set that reports errors instead of exiting and
// writes nothing itself: parse turns -h into the usage text (synopsis, then
// the flags) for run to print on standard output, and a bad flag into a
// usageError, which run prints as one line and a pointer to -h. The last
// argument is ignored (it was the writer of the usage, which now goes
// through run); it stays so that the commands' calls need not change.
func newFlags(name, synopsis string, _ io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: fdsm %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags and refuses stray arguments (see parseFlags).
func parse(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	return nil
}

// parseFlags parses the flags at the start of args, leaving the arguments
// after them in fs.Args(). -h gives a helpText holding fs.Usage's output; a
// flag error gives a usageError.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		var b strings.Builder
		w := fs.Output()
		fs.SetOutput(&b)
		fs.Usage()
		fs.SetOutput(w)
		return helpText(b.String())
	default:
		return usageError{err.Error()}
	}
}
