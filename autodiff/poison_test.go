package autodiff_test

import (
	"flag"
	"os"
	"testing"

	"github.com/fdsm/fdsm/internal/bufpool"
)

// TestMain poisons the buffer pool for the tests of the package (not for
// benchmarks, which it would slow): storage read after it was handed back
// for reuse reads NaNs, which no test tolerates, and a buffer handed back
// twice panics.
func TestMain(m *testing.M) {
	flag.Parse()
	if flag.Lookup("test.bench").Value.String() == "" {
		bufpool.SetPoison(true)
	}
	os.Exit(m.Run())
}
