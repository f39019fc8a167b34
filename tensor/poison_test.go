package tensor

import (
	"testing"

	"github.com/fdsm/fdsm/internal/kernel/bufpool/poisoned"
)

// TestMain runs the package's tests with the buffer pool poisoned (see
// package poisoned).
func TestMain(m *testing.M) { poisoned.Main(m) }
