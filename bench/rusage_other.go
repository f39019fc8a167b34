//go:build !linux

package bench

// PeakRSS returns 0: the peak resident set size is only read on Linux.
func PeakRSS() int64 { return 0 }
