package sm

import (
	"fmt"
	"math"
	"slices"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/fd"
	"github.com/fdsm/fdsm/tensor"
)

func sqrtDim(x *tensor.Tensor) float64 { return math.Sqrt(float64(x.Dim(1))) }

// evalNodes evaluates f at x + γ·v for every node of the given stencils (their
// union, in increasing order), with one call on the stacked batch unless
// NonBatched, and returns a lookup from node to evaluation.
func evalNodes(f fd.Func, x, v *ad.Value, nonBatched bool, stencils ...fd.Stencil) func(gamma float64) *ad.Value {
	var nodes []float64
	for _, s := range stencils {
		for _, g := range s.Nodes() {
			if !slices.Contains(nodes, g) {
				nodes = append(nodes, g)
			}
		}
	}
	slices.Sort(nodes)
	// An order-0 stencil on the union is just the node set for Evaluate.
	all, err := fd.New(nodes, 0)
	if err != nil {
		panic(fmt.Sprintf("sm: stencil nodes %v: %v", nodes, err))
	}
	var opts []fd.Option
	if nonBatched {
		opts = append(opts, fd.NonBatched())
	}
	ys := fd.Evaluate(all, f, x, v, opts...)
	return func(gamma float64) *ad.Value { return ys[slices.Index(nodes, gamma)] }
}

// apply combines evaluations with a stencil's weights: Σ w_i·y(γ_i).
func apply(s fd.Stencil, y func(float64) *ad.Value) *ad.Value {
	var out *ad.Value
	w := s.Weights()
	for i, g := range s.Nodes() {
		if w[i] == 0 {
			continue
		}
		t := ad.Scale(y(g), w[i])
		if out == nil {
			out = t
		} else {
			out = ad.Add(out, t)
		}
	}
	return out
}

// FDSSM is finite-difference sliced score matching: with v on the sphere of
// radius ε (default DefaultEpsSSM) and g = log p, the mean of
// (d/ε²)·[½(D₁g)² + D₂g], where D₁g and D₂g are the stencil estimates of the
// first and second derivatives of t ↦ g(x + t·v) at 0. With the default
// stencils this is (d/ε²)·[⅛(g(x+v) − g(x−v))² + g(x+v) + g(x−v) − 2g(x)]:
// three evaluations in one batch of 3B rows, then one ordinary backward pass.
// It equals SSM with v' = (√d/ε)·v up to O(ε²).
func FDSSM(m Energy, x *tensor.Tensor, o *Options) *ad.Value {
	checkBatch("FDSSM", x)
	c := o.or()
	eps := c.eps(DefaultEpsSSM)
	v := ad.Const(c.sphereProjections(x, eps))
	xr := ad.Const(repeatRows(x, c.M))
	g := evalNodes(func(z *ad.Value) *ad.Value { return logp(m, z) }, xr, v, c.NonBatched, c.First, c.Second)
	d1, d2 := apply(c.First, g), apply(c.Second, g)
	per := ad.Add(ad.Scale(ad.Square(d1), 0.5), d2)
	return ad.Scale(ad.Mean(per), float64(x.Dim(1))/(eps*eps))
}

// FDDSM is finite-difference denoising score matching: with x̃ = x + σn and u
// on the sphere of radius ε√d (ε default DefaultEpsDSM), the mean of
// (σ²·D₁g + uᵀ(x̃ − x))²/(2ε²), D₁g ≈ uᵀs(x̃) from g(x̃ ± u): two evaluations in
// one batch. It converges to SlicedDSM as ε → 0, whose expectation is DSM.
func FDDSM(m Energy, x *tensor.Tensor, o *Options) *ad.Value {
	checkBatch("FDDSM", x)
	c := o.or()
	eps := c.eps(DefaultEpsDSM)
	noise := c.noise(x) // drawn before the projections (the documented order)
	u := c.sphereProjections(x, eps*sqrtDim(x))
	diff := repeatRows(tensor.Scale(noise, c.Sigma), c.M)
	xt := ad.Const(tensor.Add(repeatRows(x, c.M), diff))
	g := evalNodes(func(z *ad.Value) *ad.Value { return logp(m, z) }, xt, ad.Const(u), c.NonBatched, c.First)
	a := ad.Add(ad.Scale(apply(c.First, g), c.Sigma*c.Sigma), ad.Const(rowDotT(diff, u)))
	return ad.Scale(ad.Mean(ad.Square(a)), dsmScale(&c)/(2*eps*eps))
}

// FDMDSM is finite-difference multiscale DSM: with σ_i, x̃ as in MDSM and v on
// the sphere of radius ε (default DefaultEpsMDSM), the mean of
// c·(d/ε²)·(D₁g + vᵀ(x̃ − x)/σ₀²)²/σ_i², D₁g ≈ vᵀs(x̃) from g(x̃ ± v).
func FDMDSM(m Energy, x *tensor.Tensor, o *Options) *ad.Value {
	checkBatch("FDMDSM", x)
	c := o.or()
	eps := c.eps(DefaultEpsMDSM)
	sig := mdsmSigmas(x.DType(), x.Dim(0))
	noise := c.noise(x)
	v := c.sphereProjections(x, eps)
	diff := repeatRows(tensor.Mul(noise, sig), c.M)
	sig = repeatRows(sig, c.M)
	xt := ad.Const(tensor.Add(repeatRows(x, c.M), diff))
	g := evalNodes(func(z *ad.Value) *ad.Value { return logp(m, z) }, xt, ad.Const(v), c.NonBatched, c.First)
	a := ad.Add(apply(c.First, g), ad.Const(tensor.Scale(rowDotT(diff, v), 1/(MDSMSigma0*MDSMSigma0))))
	w := ad.Const(tensor.Div(tensor.OnesLike(sig), tensor.Square(sig)).Reshape(-1))
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
	v := ad.Const(c.sphereProjections(x, eps))
	xr := ad.Const(repeatRows(x, c.M))
	interp, err := fd.New(c.First.Nodes(), 0)
	if err != nil {
		panic(fmt.Sprintf("sm: interpolation on %v: %v", c.First.Nodes(), err))
	}
	s := evalNodes(m.Score, xr, v, c.NonBatched, c.First)
	s0, d1 := apply(interp, s), apply(c.First, s)
	per := ad.Add(ad.Scale(rowDot(s0, s0), 0.5), ad.Scale(rowDot(d1, v), float64(x.Dim(1))/(eps*eps)))
	return ad.Mean(per)
}

// rowDotT returns Σ_j a_ij·b_ij per row as a tensor ([N]).
func rowDotT(a, b *tensor.Tensor) *tensor.Tensor { return tensor.SumAxis(tensor.Mul(a, b), 1) }
