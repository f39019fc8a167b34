//go:build !linux

package sm_test

import "time"

// cpuTime returns 0: the process's CPU time is only read on Linux.
func cpuTime() time.Duration { return 0 }
