package sm

import (
	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// rowDot returns Σ_j a_ij·b_ij, one value per row.
func rowDot(a, b *ad.Value) *ad.Value { return ad.SumAxis(ad.Mul(a, b), 1) }

// dsmScale is 1 (the authors' scale) or 1/σ².
func dsmScale(o *Options) float64 {
	if o.SigmaSquaredScale {
		return 1 / (o.Sigma * o.Sigma)
	}
	return 1
}

// ExactSM is Hyvärinen's score matching loss, mean over the batch of
// ½‖s(x)‖² + tr ∇x² log p(x). For a model the forward-Laplacian rules
// cover (MLP energies: Dense layers, elementwise activations, linear maps),
// s and the trace come from one forward sweep carrying each value's
// Jacobian and Laplacian (autodiff.Laplacian), differentiated to the
// parameters by one ordinary backward pass; otherwise (convolutions, say)
// the trace costs one recorded backward pass per input coordinate (d in
// all, ExactSMDPass), which is for evaluation and reference, not for
// training at large d.
func ExactSM(m Energy, x *tensor.Tensor) *ad.Value {
	checkBatch("ExactSM", x)
	if l := exactSMLaplacian(m, x); l != nil {
		return l
	}
	return exactSM(m, x, true)
}

// ExactSMDPass is ExactSM by d recorded backward passes whatever the model:
// the path ExactSM falls back to, and its reference.
func ExactSMDPass(m Energy, x *tensor.Tensor) *ad.Value {
	checkBatch("ExactSMDPass", x)
	return exactSM(m, x, true)
}

// exactSMLaplacian is ExactSM by the forward Laplacian, nil when the
// model uses a primitive without a forward-Laplacian rule (found on its
// recorded graph before any rule runs).
func exactSMLaplacian(m Energy, x *tensor.Tensor) *ad.Value {
	_, s, lap, err := ad.TryLaplacian(func(z *ad.Value) *ad.Value { return logp(m, z) }, ad.Const(x))
	if err != nil {
		return nil
	}
	return ad.Mean(ad.Add(ad.Scale(rowDot(s, s), 0.5), lap))
}

// exactSM builds exact SM by d backward passes; with record false they
// record nothing, so the loss can be evaluated (not differentiated) in the
// memory of one first-order graph.
func exactSM(m Energy, x *tensor.Tensor, record bool) *ad.Value {
	xv := ad.Var(x)
	s := scoreOf(m, xv)
	var opts []ad.Option
	if record {
		opts = append(opts, ad.CreateGraph())
	}
	tr := ad.SumAxis(ad.RowJacobianDiag(s, xv, opts...), 1)
	return ad.Mean(ad.Add(ad.Scale(rowDot(s, s), 0.5), tr))
}

// SSM is sliced score matching (Song et al. 2019): mean over samples and M
// projections of ½(vᵀs)² + vᵀ(∇x² log p)v, with v drawn from o.Projection
// (Rademacher by default) or given in o.V. The Hessian-vector product is a
// recorded second backward pass.
func SSM(m Energy, x *tensor.Tensor, o *Options) *ad.Value {
	return ssm("SSM", m, x, o, false)
}

// SSMVR is sliced score matching with variance reduction: mean of
// ½‖s‖² + vᵀ(∇x² log p)v.
func SSMVR(m Energy, x *tensor.Tensor, o *Options) *ad.Value {
	return ssm("SSMVR", m, x, o, true)
}

func ssm(name string, m Energy, x *tensor.Tensor, o *Options, vr bool) *ad.Value {
	checkBatch(name, x)
	c := o.or()
	v := ad.Const(c.projections(x, c.Projection))
	xv := ad.Var(c.repeat(x))
	s := scoreOf(m, xv)
	// (∇²log p)·v per row: the vector-Jacobian product of s with v, which
	// is the gradient of Σ vᵀs without building vᵀs (SSM-VR has no other use
	// for it).
	hv := ad.Grad(s, []*ad.Value{xv}, ad.WithSeed(v), ad.CreateGraph())[0]
	var first *ad.Value
	if vr {
		first = ad.Scale(rowDot(s, s), 0.5)
	} else {
		first = ad.Scale(ad.Square(rowDot(s, v)), 0.5)
	}
	return ad.Mean(ad.Add(first, rowDot(hv, v)))
}

// DSM is denoising score matching (Vincent 2011) in the authors' scale: with
// x̃ = x + σn, n ~ N(0, I), the mean of ½‖σ²s(x̃) + (x̃ − x)‖². Its minimiser
// matches the score of the data convolved with N(0, σ²I); o.SigmaSquaredScale
// divides by σ².
func DSM(m Energy, x *tensor.Tensor, o *Options) *ad.Value {
	checkBatch("DSM", x)
	c := o.or()
	diff := c.own(tensor.Scale(c.noise(x), c.Sigma)) // x̃ − x = σn
	xt := ad.Var(c.own(tensor.Add(x, diff)))
	s := scoreOf(m, xt)
	r := ad.Add(ad.Scale(s, c.Sigma*c.Sigma), ad.Const(diff))
	return ad.Scale(ad.Mean(rowDot(r, r)), 0.5*dsmScale(&c))
}

// SlicedDSM is the gradient-based counterpart of FDDSM with the same
// directions: with u on the sphere of radius ε√d, the mean of
// (σ²uᵀs(x̃) + uᵀ(x̃ − x))²/(2ε²). Its expectation over u is DSM; FD-DSM
// converges to it as ε → 0 for fixed u.
func SlicedDSM(m Energy, x *tensor.Tensor, o *Options) *ad.Value {
	checkBatch("SlicedDSM", x)
	c := o.or()
	eps := c.eps(DefaultEpsDSM)
	noise := c.noise(x) // drawn before the projections (the documented order)
	u := ad.Const(c.sphereProjections(x, eps*sqrtDim(x)))
	// M projections per sample share the sample's noise: repeat x and x̃ − x.
	diff := c.repeat(c.own(tensor.Scale(noise, c.Sigma)))
	xt := ad.Var(c.own(tensor.Add(c.repeat(x), diff)))
	s := scoreOf(m, xt)
	a := ad.Add(ad.Scale(rowDot(s, u), c.Sigma*c.Sigma), rowDot(ad.Const(diff), u))
	return ad.Scale(ad.Mean(ad.Square(a)), dsmScale(&c)/(2*eps*eps))
}

// mdsmSigmas returns the per-sample noise levels of MDSM: spaced linearly from
// MDSMSigmaMin to MDSMSigmaMax across the batch, as a [B, 1] column.
func mdsmSigmas(dt tensor.DType, b int) *tensor.Tensor {
	s := tensor.Zeros(dt, b, 1)
	for i := range b {
		t := 0.0
		if b > 1 {
			t = float64(i) / float64(b-1)
		}
		s.Set(i, MDSMSigmaMin+(MDSMSigmaMax-MDSMSigmaMin)*t)
	}
	return s
}

// mdsmWeights returns 1/σ_i² as a [B] vector, its temporaries and result
// in c's arena.
func mdsmWeights(sig *tensor.Tensor, c *Options) *tensor.Tensor {
	return c.own(tensor.Div(c.own(tensor.OnesLike(sig)), c.own(tensor.Square(sig)))).Reshape(-1)
}

// MDSM is multiscale denoising score matching (used for deep EBMs): per
// sample σ_i (MDSMSigmaMin…MDSMSigmaMax across the batch), x̃ = x + σ_i·n, and
// the mean of c·‖(x − x̃)/σ₀² + ∇x E(x̃)‖²/σ_i², σ₀ = MDSMSigma0,
// c = MDSMCoefficient.
func MDSM(m Energy, x *tensor.Tensor, o *Options) *ad.Value {
	checkBatch("MDSM", x)
	c := o.or()
	sig := c.own(mdsmSigmas(x.DType(), x.Dim(0)))
	diff := c.own(tensor.Mul(c.noise(x), sig)) // x̃ − x
	xt := ad.Var(c.own(tensor.Add(x, diff)))
	s := scoreOf(m, xt) // −∇E(x̃)
	// (x − x̃)/σ₀² + ∇E = −((x̃ − x)/σ₀² + s).
	r := ad.Add(s, ad.Const(c.own(tensor.Scale(diff, 1/(MDSMSigma0*MDSMSigma0)))))
	w := ad.Const(mdsmWeights(sig, &c))
	return ad.Scale(ad.Mean(ad.Mul(rowDot(r, r), w)), MDSMCoefficient)
}

// ScoreSSMVR is sliced score matching with variance reduction for a score
// network: the mean of ½‖s(x)‖² + vᵀ∇x(vᵀs(x)), one recorded backward pass.
func ScoreSSMVR(m Score, x *tensor.Tensor, o *Options) *ad.Value {
	checkBatch("ScoreSSMVR", x)
	c := o.or()
	v := ad.Const(c.projections(x, c.Projection))
	xv := ad.Var(c.repeat(x))
	s := m.Score(xv)
	jv := ad.Grad(s, []*ad.Value{xv}, ad.WithSeed(v), ad.CreateGraph())[0] // per row ∇x(vᵀs) = vᵀ∂s/∂x
	return ad.Mean(ad.Add(ad.Scale(rowDot(s, s), 0.5), rowDot(jv, v)))
}

// ExactScoreSM is exact score matching for a score network: the mean of
// ½‖s(x)‖² + tr ∇x s(x), the trace by one recorded backward pass per input
// coordinate. Like ExactSM it is for evaluation and reference.
func ExactScoreSM(m Score, x *tensor.Tensor) *ad.Value {
	checkBatch("ExactScoreSM", x)
	return exactScoreSM(m, x, true)
}

func exactScoreSM(m Score, x *tensor.Tensor, record bool) *ad.Value {
	xv := ad.Var(x)
	s := m.Score(xv)
	var opts []ad.Option
	if record {
		opts = append(opts, ad.CreateGraph())
	}
	tr := ad.SumAxis(ad.RowJacobianDiag(s, xv, opts...), 1)
	return ad.Mean(ad.Add(ad.Scale(rowDot(s, s), 0.5), tr))
}

// ExactScoreSMLoss is ExactScoreSM over a data set in batches, averaged over
// all rows.
func ExactScoreSMLoss(m Score, data *tensor.Tensor, batch int) float64 {
	checkBatch("ExactScoreSMLoss", data)
	if batch <= 0 {
		panic("sm: ExactScoreSMLoss batch size must be positive")
	}
	n := data.Dim(0)
	var total float64
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		total += exactScoreSM(m, tensor.SliceRows(data, lo, hi), false).Item() * float64(hi-lo)
	}
	return total / float64(n)
}
