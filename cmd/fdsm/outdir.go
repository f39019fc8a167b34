package main

import (
	"flag"
	"fmt"
	"github.com/fdsm/fdsm/internal/rundir"
	"path/filepath"
)

// outFlags are the -out and -force flags of demo and experiment NAME.
type outFlags struct {
	name  string // the default directory's name under rundir.ScratchRoot
	dir   *string
	force *bool
}

// addOutFlags defines -out (default ./fdsm-out/name) and -force on fs; what
// names the files the command writes there.
func addOutFlags(fs *flag.FlagSet, name, what string) outFlags {
	def := filepath.Join(rundir.ScratchRoot, name)
	return outFlags{
		name:  name,
		dir:   fs.String("out", "", fmt.Sprintf("directory for %s (empty: ./%s); refused if it holds files, unless -force", what, def)),
		force: fs.Bool("force", false, "write into -out even when it holds files (files of the same names are replaced)"),
	}
}

// prepare returns the output directory, created if need be (see
// rundir.PrepareOutDir).
func (o outFlags) prepare() (string, error) { return rundir.PrepareOutDir(*o.dir, o.name, *o.force) }
