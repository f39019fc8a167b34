package progress_test

import (
	"os"

	"github.com/fdsm/fdsm/internal/progress"
)

// A training loop reporting to standard error: a redrawn bar on a terminal,
// plain lines when redirected to a file.
func Example() {
	const steps = 1000
	bar := progress.New(os.Stderr, steps, progress.IsTerminal(os.Stderr))
	loss := 1.0
	for step := 1; step <= steps; step++ {
		loss *= 0.999 // one training step
		bar.Update(step, loss)
	}
	bar.Finish()
}
