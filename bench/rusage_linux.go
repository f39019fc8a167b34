//go:build linux

package bench

import "syscall"

// PeakRSS returns the process's peak resident set size in bytes (0 if
// unknown). It only grows, so within one process it bounds every objective
// run so far.
func PeakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return int64(ru.Maxrss) * 1024 // kilobytes on Linux
}
