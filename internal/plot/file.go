package plot

import (
	"io"

	"github.com/fdsm/fdsm/tensor"
)

// WriteFile writes the picture that render produces to path atomically: the
// bytes go to a temporary file in the same directory, which is synced and
// renamed over path, so a reader sees the old picture or the new one, never
// a partial one. If render fails, path is left as it was. It is
// tensor.WriteFileAtomic; see there for the details. For example
//
//	err := plot.WriteFile("loss.svg", func(w io.Writer) error {
//		return plot.LineChart(w, series, plot.ChartOptions{LogY: true})
//	})
func WriteFile(path string, render func(io.Writer) error) error {
	return tensor.WriteFileAtomic(path, render)
}
