package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

func init() {
	register("version", "print the module version, the source revision and the Go version of this binary", cmdVersion)
}

const versionSynopsis = `version

Prints what the go command recorded in the binary when it was built: the
module path and version ("(devel)" or a pseudo-version when built from a
clone), the VCS revision and commit time with "modified" if the work tree
had uncommitted changes (when built inside a clone), and the Go version.

Flags:`

func cmdVersion(args []string, out, errw io.Writer) error {
	fs := newFlags("version", versionSynopsis, errw)
	if err := parse(fs, args); err != nil {
		return err
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		// Only a binary built without module support lacks it.
		fmt.Fprintf(out, "fdsm (no build information)\n%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return nil
	}
	fmt.Fprint(out, versionText(bi))
	return nil
}

// versionText formats build information as cmdVersion prints it: the module,
// the VCS stamp if there is one, then the Go version.
func versionText(bi *debug.BuildInfo) string {
	s := fmt.Sprintf("fdsm %s %s\n", bi.Main.Path, bi.Main.Version)
	vcs := map[string]string{}
	for _, kv := range bi.Settings {
		vcs[kv.Key] = kv.Value
	}
	if rev := vcs["vcs.revision"]; rev != "" {
		s += "revision " + rev
		if t := vcs["vcs.time"]; t != "" {
			s += " " + t
		}
		if vcs["vcs.modified"] == "true" {
			s += " (modified)"
		}
		s += "\n"
	}
	goVersion := bi.GoVersion
	if goVersion == "" {
		goVersion = runtime.Version()
	}
	return s + fmt.Sprintf("%s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
}
