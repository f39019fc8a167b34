package sm

import (
	"fmt"
	"math"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/fd"
	"github.com/fdsm/fdsm/tensor"
)

func sqrtDim(x *tensor.Tensor) float64 { return math.Sqrt(float64(x.Dim(1))) }

// FDSSM is finite-difference sliced score matching: with v on the sphere of
// radius ε (default DefaultEpsSSM) and g = log p, the mean of
// (d/ε²)·[½(D₁g)² + D₂g], where D₁g and D₂g are the stencil estimates of the
// first and second derivatives of t ↦ g(x + t·v) at 0. With the default
// stencils this is (d/ε²)·[⅛(g(x+v) − g(x−v))² + g(x+v) + g(x−v) − 2g(x)]:
// three evaluations in one batch of 3B rows, then one ordinary backward pass.
// It equals SSM with v' = (√d/ε)·v up to O(ε²).
//
// In float32 (Options.FDMode) the model is evaluated at x only and the exact
// central differences (g(x+v) − g(x−v))/2 and g(x+v) + g(x−v) − 2g(x) are
// propagated through it (autodiff.Central; see the package documentation):
// the second difference, multiplied by d/ε², then keeps its digits. The
// cost is that of the 3B-row batch.
func FDSSM(m Energy, x *tensor.Tensor, o *Options) *ad.Value {
	checkBatch("FDSSM", x)
	c := o.or()
	eps := c.eps(DefaultEpsSSM)
	v := c.sphereProjections(x, eps)
	xr := c.repeat(x)
	f := func(z *ad.Value) *ad.Value { return logp(m, z) }
	var d1, d2 *ad.Value
	if c.stableFD("FDSSM", x) {
		if cd, ok := evalCentral("FDSSM", f, xr, v, &c, c.First, c.Second); ok {
			d1, d2 = cd.Apply(c.First), cd.Apply(c.Second)
		} else {
			nd := evalDiffs("FDSSM", f, xr, v, &c, c.First, c.Second)
			d1, d2 = nd.Apply(c.First), nd.Apply(c.Second)
		}
	} else {
		g := fd.EvaluateNodes(f, ad.Const(xr), ad.Const(v), c.fdOptions(), c.First, c.Second)
		d1, d2 = g.Apply(c.First), g.Apply(c.Second)
	}
	per := ad.Add(ad.Scale(ad.Square(d1), 0.5), d2)
	return ad.Scale(ad.Mean(per), float64(x.Dim(1))/(eps*eps))
}

// FDDSM is finite-difference denoising score matching: with x̃ = x + σn and u
// on the sphere of radius ε√d (ε default DefaultEpsDSM), the mean of
// (σ²·D₁g + uᵀ(x̃ − x))²/(2ε²), D₁g ≈ uᵀs(x̃) from g(x̃ ± u): two evaluations in
// one batch. It converges to SlicedDSM as ε → 0, whose expectation is DSM.
// The stable evaluation (float32 default) evaluates g at x̃ − u and
// propagates the exact difference to x̃ + u.
func FDDSM(m Energy, x *tensor.Tensor, o *Options) *ad.Value {
	checkBatch("FDDSM", x)
	c := o.or()
	eps := c.eps(DefaultEpsDSM)
	noise := c.noise(x) // drawn before the projections (the documented order)
	u := c.sphereProjections(x, eps*sqrtDim(x))
	diff := c.repeat(c.own(tensor.Scale(noise, c.Sigma)))
	xt := c.own(tensor.Add(c.repeat(x), diff))
	d1 := firstDiff("FDDSM", func(z *ad.Value) *ad.Value { return logp(m, z) }, xt, u, &c, x)
	a := ad.Add(ad.Scale(d1, c.Sigma*c.Sigma), ad.Const(rowDotT(diff, u, &c)))
	return ad.Scale(ad.Mean(ad.Square(a)), dsmScale(&c)/(2*eps*eps))
}

// FDMDSM is finite-difference multiscale DSM: with σ_i, x̃ as in MDSM and v on
// the sphere of radius ε (default DefaultEpsMDSM), the mean of
// c·(d/ε²)·(D₁g + vᵀ(x̃ − x)/σ₀²)²/σ_i², D₁g ≈ vᵀs(x̃) from g(x̃ ± v).
func FDMDSM(m Energy, x *tensor.Tensor, o *Options) *ad.Value {
	checkBatch("FDMDSM", x)
	c := o.or()
	eps := c.eps(DefaultEpsMDSM)
	sig := c.own(mdsmSigmas(x.DType(), x.Dim(0)))
	noise := c.noise(x)
	v := c.sphereProjections(x, eps)
	diff := c.repeat(c.own(tensor.Mul(noise, sig)))
	sig = repeatRows(sig, c.M)
	xt := c.own(tensor.Add(c.repeat(x), diff))
	d1 := firstDiff("FDMDSM", func(z *ad.Value) *ad.Value { return logp(m, z) }, xt, v, &c, x)
	a := ad.Add(d1, ad.Const(c.own(tensor.Scale(rowDotT(diff, v, &c), 1/(MDSMSigma0*MDSMSigma0)))))
	w := ad.Const(mdsmWeights(sig, &c))
	d := float64(x.Dim(1))
	return ad.Scale(ad.Mean(ad.Mul(ad.Square(a), w)), MDSMCoefficient*d/(eps*eps))
}

// FDScoreSSMVR is finite-difference SSM-VR for a score network: with v on the
// sphere of radius ε (default DefaultEpsSSM), the mean of
// ½‖S₀s‖² + (d/ε²)·(D₁s)ᵀv, where S₀s ≈ s(x) interpolates the evaluations and
// D₁s ≈ J·v. With the default stencil this is
// ⅛‖s(x+v) + s(x−v)‖² + (d/(2ε²))·(s(x+v) − s(x−v))ᵀv: two evaluations.
func FDScoreSSMVR(m Score, x *tensor.Tensor, o *Options) *ad.Value {
	checkBatch("FDScoreSSMVR", x)
	c := o.or()
	eps := c.eps(DefaultEpsSSM)
	vt := c.sphereProjections(x, eps)
	v := ad.Const(vt)
	xr := c.repeat(x)
	interp, err := fd.New(c.First.Nodes(), 0)
	if err != nil {
		panic(fmt.Sprintf("sm: interpolation on %v: %v", c.First.Nodes(), err))
	}
	var s0, d1 *ad.Value
	if c.stableFD("FDScoreSSMVR", x) {
		nd := evalDiffs("FDScoreSSMVR", m.Score, xr, vt, &c, c.First)
		s0, d1 = nd.Apply(interp), nd.Apply(c.First)
	} else {
		s := fd.EvaluateNodes(m.Score, ad.Const(xr), v, c.fdOptions(), c.First)
		s0, d1 = s.Apply(interp), s.Apply(c.First)
	}
	per := ad.Add(ad.Scale(rowDot(s0, s0), 0.5), ad.Scale(rowDot(d1, v), float64(x.Dim(1))/(eps*eps)))
	return ad.Mean(per)
}

// firstDiff returns the first-derivative stencil c.First applied to f at
// x + γ·v, by the evaluation c selects.
func firstDiff(name string, f fd.Func, x, v *tensor.Tensor, c *Options, batch *tensor.Tensor) *ad.Value {
	if c.stableFD(name, batch) {
		return evalDiffs(name, f, x, v, c, c.First).Apply(c.First)
	}
	return fd.EvaluateNodes(f, ad.Const(x), ad.Const(v), c.fdOptions(), c.First).Apply(c.First)
}

// rowDotT returns Σ_j a_ij·b_ij per row as a tensor ([N]); the products
// go to c's arena.
func rowDotT(a, b *tensor.Tensor, c *Options) *tensor.Tensor {
	return c.own(tensor.SumAxis(c.own(tensor.Mul(a, b)), 1))
}
