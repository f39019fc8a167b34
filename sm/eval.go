package sm

import (
	"fmt"

	"github.com/fdsm/fdsm/tensor"
)

// ExactSMLoss returns the exact score matching loss of m over a data set
// [N, d], evaluated in batches of at most batch rows and averaged over all
// rows: the figure the paper reports for every model, whatever its training
// loss. It costs d backward passes per batch, none of them recorded, so its
// memory is that of one first-order graph.
func ExactSMLoss(m Energy, data *tensor.Tensor, batch int) float64 {
	checkBatch("ExactSMLoss", data)
	if batch <= 0 {
		panic(fmt.Sprintf("sm: ExactSMLoss batch size %d", batch))
	}
	n := data.Dim(0)
	var total float64
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		total += exactSM(m, tensor.SliceRows(data, lo, hi), false).Item() * float64(hi-lo)
	}
	return total / float64(n)
}
