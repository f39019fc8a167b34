package sm

import (
	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// The Taylor-mode objectives: the sliced objectives with their directional
// derivatives computed exactly by autodiff.Jet1 and Jet2 (the ε → 0 limit
// of the FD objectives' difference propagation) instead of by nested
// backward passes. Each equals its gradient-based counterpart with the same
// directions, loss and parameter gradient, up to rounding; the model is
// evaluated once and its graph interpreted with the jet rules, so the cost
// is that of the FD objective's stacked evaluation, with no ε and no
// truncation bias.

// TaylorSSM is SSM computed in Taylor mode: the mean of ½(vᵀs)² + vᵀ(∇x² log p)v
// with v drawn as SSM draws it (o.Projection, or o.V), the two terms the
// first and second directional derivatives of log p along v (Jet2).
func TaylorSSM(m Energy, x *tensor.Tensor, o *Options) *ad.Value {
	checkBatch("TaylorSSM", x)
	c := o.or()
	v := ad.Const(c.projections(x, c.Projection))
	xr := c.repeat(x)
	_, d1, d2 := ad.Jet2(func(z *ad.Value) *ad.Value { return logp(m, z) }, ad.Const(xr), []*ad.Value{v})
	return ad.Mean(ad.Add(ad.Scale(ad.Square(d1[0]), 0.5), d2[0]))
}

// TaylorSlicedDSM is SlicedDSM (the sliced DSM that FDDSM approximates)
// computed in Taylor mode: with u drawn as SlicedDSM draws it, uᵀs(x̃) is
// the directional derivative of log p at x̃ along u (Jet1).
func TaylorSlicedDSM(m Energy, x *tensor.Tensor, o *Options) *ad.Value {
	checkBatch("TaylorSlicedDSM", x)
	c := o.or()
	eps := c.eps(DefaultEpsDSM)
	noise := c.noise(x) // drawn before the projections (the documented order)
	u := c.sphereProjections(x, eps*sqrtDim(x))
	diff := c.repeat(c.own(tensor.Scale(noise, c.Sigma)))
	xt := c.own(tensor.Add(c.repeat(x), diff))
	_, d1 := ad.Jet1(func(z *ad.Value) *ad.Value { return logp(m, z) }, ad.Const(xt), []*ad.Value{ad.Const(u)})
	a := ad.Add(ad.Scale(d1[0], c.Sigma*c.Sigma), ad.Const(rowDotT(diff, u, &c)))
	return ad.Scale(ad.Mean(ad.Square(a)), dsmScale(&c)/(2*eps*eps))
}

// TaylorScoreSSMVR is ScoreSSMVR computed in Taylor mode: the mean of
// ½‖s(x)‖² + vᵀ(∂s/∂x)v, the Jacobian-vector product by Jet1 along v.
func TaylorScoreSSMVR(m Score, x *tensor.Tensor, o *Options) *ad.Value {
	checkBatch("TaylorScoreSSMVR", x)
	c := o.or()
	v := ad.Const(c.projections(x, c.Projection))
	s, jv := ad.Jet1(m.Score, ad.Const(c.repeat(x)), []*ad.Value{v})
	return ad.Mean(ad.Add(ad.Scale(rowDot(s, s), 0.5), rowDot(jv[0], v)))
}

// TaylorSSMVR is SSMVR computed in Taylor mode: the mean of
// ½‖s‖² + vᵀ(∇x² log p)v, the Hessian-vector product (∇x² log p)v the
// Jacobian-vector product of the recorded score s along v (Jet1).
func TaylorSSMVR(m Energy, x *tensor.Tensor, o *Options) *ad.Value {
	checkBatch("TaylorSSMVR", x)
	c := o.or()
	v := ad.Const(c.projections(x, c.Projection))
	s, hv := ad.Jet1(func(z *ad.Value) *ad.Value { return scoreOf(m, z) }, ad.Const(c.repeat(x)), []*ad.Value{v})
	return ad.Mean(ad.Add(ad.Scale(rowDot(s, s), 0.5), rowDot(hv[0], v)))
}
