package sm

import (
	"fmt"

	"github.com/fdsm/fdsm/tensor"
)

// ExactSMLoss returns the exact score matching loss of m over a data set
// [N, d], evaluated in batches of at most batch rows and averaged over all
// rows: the figure the paper reports for every model, whatever its training
// loss. A model the forward-Laplacian rules cover is evaluated as ExactSM
// evaluates it, in chunks of at most exactEvalRows rows (its Jacobians
// take r·rows·width numbers per layer); any other costs d backward passes
// per batch, none of them recorded, so its memory is that of one
// first-order graph.
func ExactSMLoss(m Energy, data *tensor.Tensor, batch int) float64 {
	checkBatch("ExactSMLoss", data)
	if batch <= 0 {
		panic(fmt.Sprintf("sm: ExactSMLoss batch size %d", batch))
	}
	n := data.Dim(0)
	var total float64
	for lo := 0; lo < n; {
		hi := min(lo+batch, n)
		if l := exactSMLaplacian(m, tensor.SliceRows(data, lo, min(hi, lo+exactEvalRows))); l != nil {
			hi = min(hi, lo+exactEvalRows)
			total += l.Item() * float64(hi-lo)
		} else {
			total += exactSM(m, tensor.SliceRows(data, lo, hi), false).Item() * float64(hi-lo)
		}
		lo = hi
	}
	return total / float64(n)
}

// exactEvalRows bounds the rows of one forward-Laplacian evaluation in
// ExactSMLoss: the batch of mnist-mlp's step-memory target (issue 21: ≤ 1 GB
// at 128 rows of 784-512-512-1).
const exactEvalRows = 128
