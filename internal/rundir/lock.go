package rundir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// LockName is the lock file a train run holds in its -out directory.
const LockName = "fdsm.lock"

// LockDir takes the lock of a run directory, so that two processes never
// write one run: it creates dir/fdsm.lock exclusively (O_EXCL) holding the
// process ID, and the returned function removes it. A lock whose process is
// no longer alive (a run killed without its deferred clean-up) is stale and
// taken over; one held by a live process is an error naming the file and the
// process. (Two processes taking over the same stale lock at the same instant
// could both succeed; that needs a crash and two starts in one moment.)
func LockDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, LockName)
	for range 3 { // create; at most one stale lock removed in between
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			_, werr := fmt.Fprintf(f, "%d\n", os.Getpid())
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				os.Remove(path)
				return nil, fmt.Errorf("%s: %v", path, UnwrapPathError(werr))
			}
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%s: %v", path, UnwrapPathError(err))
		}
		b, rerr := os.ReadFile(path)
		if errors.Is(rerr, fs.ErrNotExist) {
			continue // released meanwhile
		}
		pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
		switch {
		case rerr != nil:
			return nil, fmt.Errorf("%s: %v", path, UnwrapPathError(rerr))
		case perr != nil || pid <= 0:
			// Maybe a lock being written this instant: never taken over.
			return nil, fmt.Errorf("%s: the directory is locked, and the lock does not hold a process ID: remove it if no fdsm runs there", path)
		case pid != os.Getpid() && !processAlive(pid):
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%s: stale lock of process %d: %v", path, pid, UnwrapPathError(err))
			}
		default:
			return nil, fmt.Errorf("%s: another fdsm (process %d) is writing this directory; wait for it to end, or use another -out (remove the file if no such process runs)", path, pid)
		}
	}
	return nil, fmt.Errorf("%s: the lock keeps changing hands: another fdsm is starting in this directory", path)
}

// runFiles are the files of a train run in its -out directory.
var runFiles = []string{nn.CheckpointName, "metrics.csv", "metrics.jsonl"}

// OpenRunDir prepares dir for a train run: creates it if needed, takes its
// lock and, holding it, removes the temporary checkpoint files a killed run
// left (saying so on errw). The returned function releases the lock, and
// removes dir again if this call created it and it is still empty.
func OpenRunDir(dir string, errw io.Writer) (release func(), err error) {
	_, statErr := os.Stat(dir)
	created := errors.Is(statErr, fs.ErrNotExist)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, fmt.Errorf("%s: %v", dir, UnwrapPathError(err))
	}
	release = func() {}
	if created {
		release = func() { os.Remove(dir) } // fails, as it should, unless empty
	}
	unlock, err := LockDir(dir)
	if err != nil {
		release()
		return nil, err
	}
	prev := release
	release = func() { unlock(); prev() }
	for _, file := range runFiles { // the checkpoint, and a log cut back by -resume
		removed, err := tensor.RemoveOrphanTemps(filepath.Join(dir, file))
		for _, name := range removed {
			fmt.Fprintf(errw, "removed %s, a temporary file left by a killed run\n", name)
		}
		if err != nil {
			release()
			return nil, err
		}
	}
	return release, nil
}

// CheckNoRun refuses a directory that holds another run's files, unless
// force (the files are then removed by RemoveRun once the new run is
// ready to start).
func CheckNoRun(dir string, force bool) error {
	if dir == "" || force {
		return nil
	}
	for _, name := range runFiles {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("%s: holds another run (%s): give -resume to continue it, -force to replace it, or another -out", dir, name)
		}
	}
	return nil
}

// RemoveRun deletes the files of the run in dir, for -force.
func RemoveRun(dir string) error {
	for _, name := range runFiles {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %v", filepath.Join(dir, name), UnwrapPathError(err))
		}
	}
	return nil
}
