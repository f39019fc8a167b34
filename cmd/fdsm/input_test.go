package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// TestPanicIsABug checks that a panic in a command becomes one line saying
// it is a bug in fdsm, with the panic's value, and exit status exitBug: not
// the 2 of a usage mistake nor the 1 of bad input.
func TestPanicIsABug(t *testing.T) {
	const name = "test-panic"
	register(name, "panics (test only)", func([]string, io.Writer, io.Writer) error { panic("the panic value") })
	defer delete(commands, name)
	t.Setenv(stackEnv, "")
	var out, errw bytes.Buffer
	if code := runGuarded([]string{name}, &out, &errw); code != exitBug || exitBug == 1 || exitBug == 2 {
		t.Errorf("exit %d, want %d", code, exitBug)
	}
	lines := strings.Split(strings.TrimRight(errw.String(), "\n"), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "a bug in fdsm") || !strings.Contains(lines[0], "the panic value") {
		t.Errorf("want one line naming the bug and the panic value, got:\n%s", errw.String())
	}
	errw.Reset()
	t.Setenv(stackEnv, "1")
	runGuarded([]string{name}, &out, &errw)
	if !strings.Contains(errw.String(), "goroutine ") {
		t.Errorf("%s=1: want the stack after the line, got:\n%s", stackEnv, errw.String())
	}
}
