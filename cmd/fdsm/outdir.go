package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// scratchRoot is where fdsm demo and fdsm experiment write when -out is not
// given: a directory of fdsm's own, so that a default run never writes over
// the repository's committed figures or a user's files.
const scratchRoot = "fdsm-out"

// outFlags are the -out and -force flags of demo and experiment NAME.
type outFlags struct {
	name  string // the default directory's name under scratchRoot
	dir   *string
	force *bool
}

// addOutFlags defines -out (default ./fdsm-out/name) and -force on fs; what
// names the files the command writes there.
func addOutFlags(fs *flag.FlagSet, name, what string) outFlags {
	def := filepath.Join(scratchRoot, name)
	return outFlags{
		name:  name,
		dir:   fs.String("out", "", fmt.Sprintf("directory for %s (empty: ./%s); refused if it holds files, unless -force", what, def)),
		force: fs.Bool("force", false, "write into -out even when it holds files (files of the same names are replaced)"),
	}
}

// prepare returns the output directory, created if need be. A directory that
// already holds anything is refused unless -force: the files there may be a
// user's or an earlier run's, and this run would replace some of them.
func (o outFlags) prepare() (string, error) {
	dir := *o.dir
	if dir == "" {
		dir = filepath.Join(scratchRoot, o.name)
	}
	if !*o.force {
		nonEmpty, err := holdsFiles(dir)
		if err != nil {
			return "", fmt.Errorf("%s: %v", dir, unwrapPathError(err))
		}
		if nonEmpty {
			return "", fmt.Errorf("%s: the output directory holds files already: give -force to write into it anyway, or another -out", dir)
		}
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", fmt.Errorf("%s: %v", dir, unwrapPathError(err))
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
