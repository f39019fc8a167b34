package tensor

import (
	"flag"
	"os"
	"testing"

	"github.com/fdsm/fdsm/internal/bufpool"
)

// TestMain poisons the buffer pool for the package's tests (not for
// benchmarks): storage a kernel allocates without clearing (allocUninit)
// comes filled with NaN, so an element it fails to write shows in every
// exact comparison, and storage read after release reads NaN.
func TestMain(m *testing.M) {
	flag.Parse()
	if flag.Lookup("test.bench").Value.String() == "" {
		bufpool.SetPoison(true)
	}
	os.Exit(m.Run())
}
