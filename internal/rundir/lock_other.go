//go:build !unix

package rundir

import "os"

// processAlive reports whether process pid may exist. Without signal 0, it
// trusts os.FindProcess, which fails for a missing process on Windows and
// succeeds everywhere else: there a stale lock is never taken over, and the
// error tells the user to remove it.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
