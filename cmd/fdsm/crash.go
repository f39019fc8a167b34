package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// exitBug is the exit status of a panic: a bug in fdsm, told apart from a
// usage mistake (2) and from bad input (1), which are the user's to fix.
const exitBug = 3

// stackEnv names the environment variable that, set to 1, adds the stack
// of a panic to its one-line report.
const stackEnv = "FDSM_STACK"

// runGuarded is run with panics turned into one line on errw saying that
// fdsm has a bug, and exit status exitBug. A panic in a goroutine other than
// the command's own still crashes the process with the runtime's report.
func runGuarded(args []string, out, errw io.Writer) (code int) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(errw, "fdsm: internal error, a bug in fdsm (please report it with the command line; %s=1 prints the stack): panic: %v\n", stackEnv, p)
			if os.Getenv(stackEnv) == "1" {
				errw.Write(debug.Stack())
			}
			code = exitBug
		}
	}()
	return run(args, out, errw)
}
