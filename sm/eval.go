package sm

import (
	"fmt"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// ExactSMLoss returns the exact score matching loss of m over a data set
// [N, d], evaluated in batches of at most batch rows and averaged over all
// rows: the figure the paper reports for every model, whatever its training
// loss. A model the forward-Laplacian rules cover is evaluated as ExactSM
// evaluates it, in chunks of rows whose Jacobian stacks fit exactEvalBytes
// (autodiff.LaplacianBytes); any other costs d backward passes per batch,
// none of them recorded, so its memory is that of one first-order graph.
func ExactSMLoss(m Energy, data *tensor.Tensor, batch int) float64 {
	checkBatch("ExactSMLoss", data)
	if batch <= 0 {
		panic(fmt.Sprintf("sm: ExactSMLoss batch size %d", batch))
	}
	n := data.Dim(0)
	f := func(z *ad.Value) *ad.Value { return logp(m, z) }
	rowBytes, err := ad.LaplacianBytes(f, ad.Const(tensor.SliceRows(data, 0, 1)))
	if err == nil {
		batch = int(max(1, min(int64(batch), exactEvalBytes/max(rowBytes, 1))))
	}
	var total float64
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		xb := tensor.SliceRows(data, lo, hi)
		var l *ad.Value
		if err == nil {
			l = exactSMLaplacian(m, xb)
		}
		if l == nil {
			l = exactSM(m, xb, false)
		}
		total += l.Item() * float64(hi-lo)
	}
	return total / float64(n)
}

// exactEvalBytes bounds the Jacobian stacks of one forward-Laplacian
// evaluation in ExactSMLoss as LaplacianBytes counts them (one stack per
// value; the rules' temporaries take about as much again, so that the
// evaluation stays within the 1 GB issue 21 sets for a training step).
const exactEvalBytes = 512 << 20
