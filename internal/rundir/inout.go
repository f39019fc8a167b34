package rundir

import (
	"fmt"
	"os"
)

// RefuseInputAsOutput returns an error if out names the same file as one of
// inputs (by os.SameFile, so other spellings of a path count), which writing
// out would destroy. Inputs that do not exist are skipped.
func RefuseInputAsOutput(out string, inputs ...string) error {
	if out == "" {
		return nil
	}
	o, err := os.Stat(out)
	if err != nil {
		return nil // out does not exist yet (or cannot be read): it is no input
	}
	for _, in := range inputs {
		if i, err := os.Stat(in); err == nil && os.SameFile(o, i) {
			return fmt.Errorf("-out %s is the input %s: refusing to write over it", out, in)
		}
	}
	return nil
}
