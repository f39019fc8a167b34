package infile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"unicode/utf8"
)

// Open opens the regular file at path and returns it with its size. Errors
// start with path: "p: open: no such file or directory", "p: not a regular
// file (a character device): …".
func Open(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, pathError(path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, pathError(path, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%s: not a regular file (%s): refusing to read it, as its size is unknown", path, kind(st.Mode()))
	}
	return f, st.Size(), nil
}

// pathError formats err as "path: op: reason" (an *fs.PathError puts the
// operation first).
func pathError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %s: %w", path, pe.Op, pe.Err)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// kind names the type of a file that is not regular.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "mode " + m.String()
}

// CutLimit is how many bytes of input Cut keeps: enough to recognise a
// value, too few for a corrupt file to flood a terminal.
const CutLimit = 40

// Cut returns s, or its first CutLimit bytes (backed off to a whole UTF-8
// character) followed by "...".
func Cut(s string) string {
	if len(s) <= CutLimit {
		return s
	}
	n := CutLimit
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	if n == 0 {
		n = CutLimit // not UTF-8: cut anywhere
	}
	return s[:n] + "..."
}
