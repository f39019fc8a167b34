package sm

import (
	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// MLE is the maximum-likelihood loss, the batch mean of E(x). For a
// normalised model (log Z = 0 for every parameter value, as nn.NICE, whose
// Energy is −log p) it is the negative mean log-likelihood, the reference
// the paper trains NICE with. For an unnormalised energy it is not a valid
// objective: without the log Z term its minimum pushes E down everywhere,
// so it is deliberately left out of Objectives and Lookup. o is unused; it
// is there so that MLE has the signature of Objective.Energy.
func MLE(m Energy, x *tensor.Tensor, _ *Options) *ad.Value {
	checkBatch("MLE", x)
	return ad.Mean(m.Energy(ad.Const(x)))
}
