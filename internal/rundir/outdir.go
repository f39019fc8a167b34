package rundir

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ScratchRoot is where fdsm demo and fdsm experiment write when -out is not
// given: a directory of fdsm's own, so that a default run never writes over
// the repository's committed figures or a user's files.
const ScratchRoot = "fdsm-out"

// PrepareOutDir returns the output directory of fdsm demo or fdsm
// experiment name: dir, or ScratchRoot/name if dir is empty, created if need
// be. A directory that already holds anything is refused unless force: the
// files there may be a user's or an earlier run's, and this run would
// replace some of them.
func PrepareOutDir(dir, name string, force bool) (string, error) {
	if dir == "" {
		dir = filepath.Join(ScratchRoot, name)
	}
	if !force {
		nonEmpty, err := holdsFiles(dir)
		if err != nil {
			return "", fmt.Errorf("%s: %v", dir, UnwrapPathError(err))
		}
		if nonEmpty {
			return "", fmt.Errorf("%s: the output directory holds files already: give -force to write into it anyway, or another -out", dir)
		}
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", fmt.Errorf("%s: %v", dir, UnwrapPathError(err))
	}
	return dir, nil
}

// holdsFiles reports whether dir exists and has at least one entry; a
// missing dir holds nothing. It reads one entry, not the whole listing.
func holdsFiles(dir string) (bool, error) {
	f, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	if !st.IsDir() {
		return false, errors.New("not a directory")
	}
	_, err = f.Readdirnames(1)
	if err == io.EOF {
		return false, nil
	}
	return err == nil, err
}
