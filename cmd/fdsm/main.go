package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
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

func main() {
	os.Exit(runGuarded(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status: 0 on success,
// 2 for a usage mistake (after printing the usage), 1 for anything else (one
// line naming the file or value at fault).
func run(args []string, out, errw io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		printUsage(errw)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(errw, "fdsm: unknown command %q\n", args[0])
		printUsage(errw)
		return 2
	}
	err := cmd.run(args[1:], out, errw)
	// Messages name the command, with an experiment's name after
	// "experiment", so that the usage hint points at the right -h.
	name := args[0]
	if _, ok := experiments[safeArg(args, 1)]; ok && name == "experiment" {
		name += " " + args[1]
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
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
	fmt.Fprintln(w, "fdsm: finite-difference score matching.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: fdsm <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'fdsm <command> -h' for a command's flags.")
}

// newFlags returns a flag set that reports errors instead of exiting, with
// a usage text that starts with the command's synopsis.
func newFlags(name, synopsis string, errw io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(errw)
	fs.Usage = func() {
		fmt.Fprintf(errw, "Usage: fdsm %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags; a flag error becomes a usageError (the flag package
// has already printed the usage), and stray arguments are refused.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	return nil
}
