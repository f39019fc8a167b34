package nn

import (
	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// Update is the backward pass and optimizer update of one training step: it
// differentiates loss with respect to the parameters, tearing the graph down
// as it goes (autodiff.ReleaseGraph), and updates the parameters with lr.
//
// When opt is a ParamStepper (SGD, Adam and RMSProp are), each parameter is
// updated as soon as its gradient is final and the gradient is dropped, so a
// step never holds a full set of gradients: for an MLP the peak memory of the
// step falls by up to the size of the model (autodiff.Consume). The numbers
// are the same as with Step after the whole backward pass. What this gives
// up is a look at all gradients before any update: global-norm clipping and
// the non-finite gradient check of Train need Step.
//
// Extra options (autodiff.TrackStats, say) are passed to autodiff.Grad.
func Update(loss *ad.Value, params []Param, opt Optimizer, lr float64, opts ...ad.Option) {
	vals := make([]*ad.Value, len(params))
	for i, p := range params {
		vals[i] = p.Value
	}
	opts = append(opts, ad.ReleaseGraph())
	ps, fused := opt.(ParamStepper)
	if !fused {
		gs := ad.Grad(loss, vals, opts...)
		grads := make([]*tensor.Tensor, len(gs))
		for i, g := range gs {
			grads[i] = g.T()
		}
		opt.Step(params, grads, lr)
		return
	}
	ps.BeginStep(lr)
	ad.Grad(loss, vals, append(opts, ad.Consume(func(i int, g *ad.Value) {
		ps.StepParam(params[i], g.T())
	}))...)
}
