// Package poisoned runs a package's tests with the buffer pool poisoned
// (bufpool.SetPoison): storage read after it was handed back for reuse, or
// an element a kernel allocated without clearing and failed to write, reads
// NaN, which no test tolerates; a buffer handed back twice panics.
// Benchmarks run unpoisoned, since the NaN fills would slow them. Test
// binaries only import it:
//
//	func TestMain(m *testing.M) { poisoned.Main(m) }
package poisoned

import (
	"flag"
	"os"
	"testing"

	"github.com/fdsm/fdsm/internal/kernel/bufpool"
)

// Main poisons the pool unless benchmarks were asked for, runs the tests
// and exits with their status.
func Main(m *testing.M) {
	flag.Parse()
	if flag.Lookup("test.bench").Value.String() == "" {
		bufpool.SetPoison(true)
	}
	os.Exit(m.Run())
}
