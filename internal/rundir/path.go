package rundir

import (
	"fmt"
	"github.com/fdsm/fdsm/nn"
	"os"
	"path/filepath"
)

// CheckpointPath resolves -ckpt: a file, or a directory holding
// nn.CheckpointName.
func CheckpointPath(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, UnwrapPathError(err))
	}
	if st.IsDir() {
		f := filepath.Join(p, nn.CheckpointName)
		if _, err := os.Stat(f); err != nil {
			return "", fmt.Errorf("%s: no checkpoint %s in this directory", p, nn.CheckpointName)
		}
		return f, nil
	}
	return p, nil
}

// UnwrapPathError drops the path and operation of an *os.PathError, which
// the caller names itself.
func UnwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// A FlagError is a mistake on the command line, in the words of the flag
// at fault: fdsm's exit status 2, with a pointer to -h.
type FlagError struct{ Msg string }

// Error is the message.
func (e FlagError) Error() string { return e.Msg }

// Flagf returns a FlagError whose message is fmt.Sprintf(format, args...).
func Flagf(format string, args ...any) error { return FlagError{Msg: fmt.Sprintf(format, args...)} }
