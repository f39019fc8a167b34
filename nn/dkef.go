package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// DKEFConfig configures NewDKEF. A nil *DKEFConfig, or a zero field, means
// the default.
type DKEFConfig struct {
	// Inducing is the number M of inducing points z_j (default 100).
	Inducing int
	// Hidden lists the widths of the feature network φ after the input
	// (default [30, 30]: small, like the UCI data sets it is meant for).
	Hidden []int
	// Act is φ's activation (default Softplus; it is differentiated twice
	// by Fit and twice more by a score-matching loss, so it must be smooth).
	Act Activation
	// Kernels is the number R of Gaussian kernels in the mixture (default 3).
	Kernels int
	// RawInput adds the raw input to the features: the kernels then measure
	// ‖φ(x) − φ(z)‖² + ‖x − z‖².
	RawInput bool
	// Lambda is the initial ridge λ (default 1e-2, a library choice).
	Lambda float64
	// FixedLambda keeps λ constant: LogLambda is then not a parameter.
	FixedLambda bool
}

// DKEF is the deep kernel exponential family of Wenliang et al. (2019),
// "Learning deep kernels for exponential family densities", as the score
// matching paper uses it on UCI data:
//
//	log p̃(x) = Σ_j α_j k(x, z_j) + log q0(x),
//	k(x, z) = Σ_r w_r·exp(−‖φ(x) − φ(z)‖²/(2σ_r²)),
//
// with a feature network φ (an MLP activated after every layer), trainable
// inducing points z_j, log bandwidths log σ_r, log kernel weights log w_r,
// and a Gaussian base density q0 = N(μ0, diag σ0²).
//
// The coefficients α are not parameters: for the kernel exponential family
// the score-matching loss is quadratic in α, J(α) = ½αᵀGα + αᵀb + const, so
// Fit solves the ridge problem α = −(G + λI)⁻¹b on a fitting batch in closed
// form, through autodiff.Solve, and α stays a differentiable function of all
// the other parameters. Training alternates Fit on one batch and a
// score-matching loss of Energy on another, whose gradient then flows
// through α (the two-batch scheme of Wenliang et al.).
//
// Parameters are named "features.layers.<i>.weight" / ".bias",
// "inducing_points" [M, d], "log_bandwidths" [R], "log_kernel_weights" [R],
// "log_lambda" [1] (absent when λ is fixed), "base.mean" [d] and
// "base.log_std" [d].
type DKEF struct {
	// Features is φ. Nil (with RawInput) gives a plain Gaussian-kernel
	// exponential family on x.
	Features *MLP
	// RawInput adds ‖x − z‖² to the kernels' squared distance.
	RawInput bool
	// Inducing holds the inducing points z_j, [M, d].
	Inducing *ad.Value
	// LogBandwidths holds log σ_r, [R].
	LogBandwidths *ad.Value
	// LogKernelWeights holds log w_r, [R].
	LogKernelWeights *ad.Value
	// LogLambda holds log λ, [1]; a constant (not a parameter) when λ is
	// fixed.
	LogLambda *ad.Value
	// BaseMean and BaseLogStd hold μ0 and log σ0 of q0, [d] each.
	BaseMean, BaseLogStd *ad.Value
	// Alpha holds α, [M]: set by Fit, used by Energy.
	Alpha *ad.Value
}

// NewDKEF returns a DKEF on d inputs: φ initialised as PyTorch does, inducing
// points drawn from N(0, I) (the scale of standardised data; copying a batch
// of data into them is a better start), kernel weights 1/R, q0 = N(0, I),
// λ = cfg.Lambda, and bandwidths spread by factors of 2 around 1. The
// distances the kernels see depend on φ and the data (about 0.6 between the
// default features of standardised data at initialisation, √(2d) between raw
// inputs), so MedianBandwidths on a data batch is the better start.
func NewDKEF(dt tensor.DType, d int, cfg *DKEFConfig, rng *rand.Rand) *DKEF {
	c := DKEFConfig{Inducing: 100, Hidden: []int{30, 30}, Act: Softplus, Kernels: 3, Lambda: 1e-2}
	if cfg != nil {
		if cfg.Inducing != 0 {
			c.Inducing = cfg.Inducing
		}
		if len(cfg.Hidden) > 0 {
			c.Hidden = cfg.Hidden
		}
		if cfg.Act != "" {
			c.Act = cfg.Act
		}
		if cfg.Kernels != 0 {
			c.Kernels = cfg.Kernels
		}
		if cfg.Lambda != 0 {
			c.Lambda = cfg.Lambda
		}
		c.RawInput, c.FixedLambda = cfg.RawInput, cfg.FixedLambda
	}
	if d < 1 || c.Inducing < 1 || c.Kernels < 1 || !(c.Lambda > 0) {
		panic(fmt.Sprintf("nn: NewDKEF d = %d with config %+v: need d, Inducing, Kernels ≥ 1 and Lambda > 0", d, c))
	}
	m := &DKEF{
		Features:   NewMLP(dt, append([]int{d}, c.Hidden...), c.Act, rng),
		RawInput:   c.RawInput,
		Inducing:   ad.Var(tensor.RandN(dt, rng, c.Inducing, d)),
		BaseMean:   ad.Var(tensor.Zeros(dt, d)),
		BaseLogStd: ad.Var(tensor.Zeros(dt, d)),
	}
	m.LogBandwidths = ad.Var(dkefLogBandwidths(dt, c.Kernels, 1))
	m.LogKernelWeights = ad.Var(tensor.Full(dt, -math.Log(float64(c.Kernels)), c.Kernels))
	ll := tensor.Full(dt, math.Log(c.Lambda), 1)
	if c.FixedLambda {
		m.LogLambda = ad.Const(ll)
	} else {
		m.LogLambda = ad.Var(ll)
	}
	return m
}

// dkefLogBandwidths returns log σ_r for σ_r = scale·2^(r − (R−1)/2).
func dkefLogBandwidths(dt tensor.DType, r int, scale float64) *tensor.Tensor {
	bw := tensor.Zeros(dt, r)
	for i := range r {
		bw.Set(i, math.Log(scale)+(float64(i)-float64(r-1)/2)*math.Ln2)
	}
	return bw
}

// MedianBandwidths sets the bandwidths by the median heuristic: σ_r is the
// median distance between the kernel inputs of distinct rows of x (φ(x), with
// x appended when RawInput), times 2^(r − (R−1)/2), so that the kernels span
// scales around the data's. It writes into LogBandwidths' tensor, like an
// optimizer step, and costs O(N²p): a few hundred rows are plenty.
func (m *DKEF) MedianBandwidths(x *tensor.Tensor) {
	xv := ad.Const(x)
	m.checkInput("MedianBandwidths", xv)
	n := x.Dim(0)
	if n < 2 {
		panic(fmt.Sprintf("nn: DKEF.MedianBandwidths needs at least 2 rows, got %v", x.Shape()))
	}
	var dist *ad.Value
	if m.hasFeatures() {
		u := ad.Detach(m.features(xv))
		dist = dkefSqDist(u, u)
	}
	if m.RawInput {
		dist = dkefAddOrSet(dist, dkefSqDist(xv, xv))
	}
	sq := dist.T().ToFloat64()
	ds := make([]float64, 0, n*(n-1)/2)
	for i := range n {
		for j := i + 1; j < n; j++ {
			ds = append(ds, math.Sqrt(max(sq[i*n+j], 0)))
		}
	}
	slices.Sort(ds)
	med := ds[len(ds)/2]
	if !(med > 0) {
		panic("nn: DKEF.MedianBandwidths: the rows' kernel inputs coincide")
	}
	m.LogBandwidths.T().CopyFrom(dkefLogBandwidths(m.LogBandwidths.DType(), m.LogBandwidths.Dim(0), med))
}

// Params implements Module. "log_lambda" is listed only when it is a
// variable.
func (m *DKEF) Params() []Param {
	var ps []Param
	if m.Features != nil {
		for _, p := range m.Features.Params() {
			ps = append(ps, Param{"features." + p.Name, p.Value})
		}
	}
	ps = append(ps,
		Param{"inducing_points", m.Inducing},
		Param{"log_bandwidths", m.LogBandwidths},
		Param{"log_kernel_weights", m.LogKernelWeights})
	if m.LogLambda.RequiresGrad() {
		ps = append(ps, Param{"log_lambda", m.LogLambda})
	}
	return append(ps, Param{"base.mean", m.BaseMean}, Param{"base.log_std", m.BaseLogStd})
}

func (m *DKEF) hasFeatures() bool { return m.Features != nil && len(m.Features.Layers) > 0 }

func (m *DKEF) checkInput(name string, x *ad.Value) {
	if x.T().Rank() != 2 || x.Dim(1) != m.Inducing.Dim(1) || x.Dim(0) == 0 {
		panic(fmt.Sprintf("nn: DKEF.%s input %v, want [N, %d] with N > 0", name, x.Shape(), m.Inducing.Dim(1)))
	}
	if !m.hasFeatures() && !m.RawInput {
		panic("nn: DKEF has neither a feature network nor RawInput: its kernel sees nothing")
	}
}

// features returns φ(x), activated after every layer.
func (m *DKEF) features(x *ad.Value) *ad.Value {
	h := x
	act := m.Features.Act
	fused, ok := act.fused()
	for _, l := range m.Features.Layers {
		if ok {
			h = ad.Dense(h, l.W, l.B, fused)
		} else {
			h = act.Apply(ad.Dense(h, l.W, l.B, tensor.ActNone))
		}
	}
	return h
}

// dkefSqDist returns ‖u_n − v_j‖² as [N, M] for u [N, p] and v [M, p].
func dkefSqDist(u, v *ad.Value) *ad.Value {
	uu := ad.SumAxis(ad.Square(u), 1)
	vv := ad.SumAxis(ad.Square(v), 1)
	cross := ad.Scale(ad.MatMul(u, v, false, true), -2)
	return ad.Add(ad.Add(cross, ad.Reshape(uu, -1, 1)), vv)
}

// kernelTerms returns the per-kernel factors w_r·exp(−c_r D) for squared
// distances D of any shape S, as S + [R], and c_r = 1/(2σ_r²) as [R].
func (m *DKEF) kernelTerms(dist *ad.Value) (terms, c *ad.Value) {
	c = ad.Scale(ad.Exp(ad.Scale(m.LogBandwidths, -2)), 0.5)
	shape := append(dist.Shape(), 1)
	e := ad.Exp(ad.Mul(ad.Reshape(dist, shape...), ad.Neg(c)))
	return ad.Mul(e, ad.Exp(m.LogKernelWeights)), c
}

// Gram returns k(x_n, z_j) as [N, M] for a batch x [N, d].
func (m *DKEF) Gram(x *ad.Value) *ad.Value {
	m.checkInput("Gram", x)
	var dist *ad.Value
	if m.hasFeatures() {
		dist = dkefSqDist(m.features(x), m.features(m.Inducing))
	}
	if m.RawInput {
		dist = dkefAddOrSet(dist, dkefSqDist(x, m.Inducing))
	}
	terms, _ := m.kernelTerms(dist)
	return ad.SumAxis(terms, -1)
}

func dkefAddOrSet(a, b *ad.Value) *ad.Value {
	if a == nil {
		return b
	}
	return ad.Add(a, b)
}

// baseLogProb returns log q0(x), [N].
func (m *DKEF) baseLogProb(x *ad.Value) *ad.Value {
	std := ad.Exp(m.BaseLogStd)
	z := ad.Div(ad.Sub(x, m.BaseMean), std)
	d := float64(x.Dim(1))
	lp := ad.Scale(ad.SumAxis(ad.Square(z), 1), -0.5)
	return ad.Sub(ad.AddScalar(lp, -0.5*d*math.Log(2*math.Pi)), ad.Sum(m.BaseLogStd))
}

// Energy returns −log p̃(x) = −Σ_j α_j k(x, z_j) − log q0(x), one value per
// row ([N]), with the α of the last Fit (or whatever Alpha holds). It panics
// if Alpha is nil.
func (m *DKEF) Energy(x *ad.Value) *ad.Value {
	if m.Alpha == nil {
		panic("nn: DKEF.Energy before Fit: Alpha is nil")
	}
	mm := m.Inducing.Dim(0)
	if m.Alpha.T().Rank() != 1 || m.Alpha.Dim(0) != mm {
		panic(fmt.Sprintf("nn: DKEF Alpha shape %v, want [%d]", m.Alpha.Shape(), mm))
	}
	f := ad.Reshape(ad.MatMul(m.Gram(x), ad.Reshape(m.Alpha, mm, 1), false, false), -1)
	return ad.Neg(ad.Add(f, m.baseLogProb(x)))
}

// Fit sets Alpha to the α minimising the score-matching loss of the fitting
// batch x [N, d] plus (λ/2)‖α‖², α = −(G + λI)⁻¹b with
//
//	G_jl = (1/N) Σ_n Σ_i ∂_i k(x_n, z_j)·∂_i k(x_n, z_l),
//	b_j  = (1/N) Σ_n Σ_i [∂_i² k(x_n, z_j) + ∂_i k(x_n, z_j)·∂_i log q0(x_n)],
//
// and returns it. The derivatives in x are exact closed forms rather than
// M·(d + 1) recorded backward passes (one per inducing point for ∂k, d more
// each for the diagonal of ∂²k): the first and second derivatives of φ
// along each coordinate are carried forward through the layers next to the
// activations (y′ = σ′(a)a′, y″ = σ″(a)a′² + σ′(a)a″), and for
// D = ‖φ(x) − φ(z)‖², ∂_iD = 2(φ(x) − φ(z))·∂_iφ and
// ∂_i²D = 2‖∂_iφ‖² + 2(φ(x) − φ(z))·∂_i²φ, so ∂_i k_r = −c_r k_r ∂_iD and
// ∂_i² k_r = k_r(c_r²(∂_iD)² − c_r ∂_i²D) with c_r = 1/(2σ_r²). All of it is
// built from autodiff operations, so α is differentiable in every parameter.
// The cost is that of a forward pass on (2d + 1)N rows plus d·N·M·R
// elementwise work.
func (m *DKEF) Fit(x *tensor.Tensor) *ad.Value {
	xv := ad.Const(x)
	m.checkInput("Fit", xv)
	n, d := x.Dim(0), x.Dim(1)
	mm := m.Inducing.Dim(0)
	var dist, dD, d2D *ad.Value // [N, M], [d, N, M], [d, N, M]
	if m.hasFeatures() {
		u, j, h := m.featureJets(xv)
		p := u.Dim(1)
		v := m.features(m.Inducing)
		dist = dkefSqDist(u, v)
		jv := ad.Reshape(ad.MatMul(ad.Reshape(j, d*n, p), v, false, true), d, n, mm) // ∂_iφ(x_n)·φ(z_j)
		hv := ad.Reshape(ad.MatMul(ad.Reshape(h, d*n, p), v, false, true), d, n, mm) // ∂_i²φ(x_n)·φ(z_j)
		ju := ad.Reshape(ad.SumAxis(ad.Mul(j, u), 2), d, n, 1)                       // ∂_iφ(x_n)·φ(x_n)
		jj := ad.SumAxis(ad.Square(j), 2)
		hu := ad.SumAxis(ad.Mul(h, u), 2)
		dD = ad.Scale(ad.Sub(ju, jv), 2)
		d2D = ad.Scale(ad.Sub(ad.Reshape(ad.Add(jj, hu), d, n, 1), hv), 2)
	}
	if m.RawInput {
		// ∂_i‖x − z‖² = 2(x_i − z_i); ∂_i² of it is 2.
		diff := ad.Sub(ad.Reshape(ad.Transpose(xv), d, n, 1), ad.Reshape(ad.Transpose(m.Inducing), d, 1, mm))
		dist = dkefAddOrSet(dist, dkefSqDist(xv, m.Inducing))
		dD = dkefAddOrSet(dD, ad.Scale(diff, 2))
		if d2D == nil {
			d2D = ad.Const(tensor.Full(x.DType(), 2, d, n, mm))
		} else {
			d2D = ad.AddScalar(d2D, 2)
		}
	}
	terms, c := m.kernelTerms(ad.Reshape(dist, 1, n, mm)) // [1, N, M, R]
	a := ad.Reshape(dD, d, n, mm, 1)
	dK := ad.SumAxis(ad.Mul(terms, ad.Mul(a, ad.Neg(c))), 3) // [d, N, M]
	curv := ad.Sub(ad.Mul(ad.Square(a), ad.Square(c)), ad.Mul(ad.Reshape(d2D, d, n, mm, 1), c))
	d2K := ad.SumAxis(ad.Mul(terms, curv), 3) // [d, N, M]

	// ∂_i log q0(x_n) = −(x_ni − μ_i)/σ_i², laid out as [d, N, 1].
	std := ad.Exp(m.BaseLogStd)
	gq := ad.Neg(ad.Div(ad.Sub(xv, m.BaseMean), ad.Square(std)))
	gq = ad.Reshape(ad.Transpose(gq), d, n, 1)

	b := ad.Scale(ad.Reshape(ad.SumTo(ad.Add(d2K, ad.Mul(dK, gq)), 1, 1, mm), mm), 1/float64(n))
	dk2 := ad.Reshape(dK, d*n, mm)
	g := ad.Scale(ad.MatMul(dk2, dk2, true, false), 1/float64(n))
	eye := tensor.Zeros(x.DType(), mm, mm)
	for i := range mm {
		eye.Set(i*mm+i, 1)
	}
	sys := ad.Add(g, ad.Mul(ad.Const(eye), ad.Exp(m.LogLambda)))
	m.Alpha = ad.Neg(ad.Solve(sys, b))
	return m.Alpha
}

// featureJets returns u = φ(x) [N, p] and, for each input coordinate i, the
// derivatives ∂u/∂x_i and ∂²u/∂x_i² stacked as [d, N, p]: forward-mode
// propagation of one first- and one second-order stream per coordinate.
func (m *DKEF) featureJets(x *ad.Value) (u, j, h *ad.Value) {
	n, d := x.Dim(0), x.Dim(1)
	act := m.Features.Act
	u = x
	for _, l := range m.Features.Layers {
		in, out := l.W.Dim(1), l.W.Dim(0)
		pre := ad.Dense(u, l.W, l.B, tensor.ActNone)
		var ja, ha *ad.Value
		if j == nil {
			// ∂x/∂x_i = e_i, so the first layer's stream is column i of W.
			ja = ad.Reshape(ad.Transpose(l.W), d, 1, out)
		} else {
			ja = ad.Reshape(ad.MatMul(ad.Reshape(j, d*n, in), l.W, false, true), d, n, out)
		}
		if h != nil {
			ha = ad.Reshape(ad.MatMul(ad.Reshape(h, d*n, in), l.W, false, true), d, n, out)
		}
		y, d1, d2 := act.jet2(pre)
		j = ad.Mul(ja, d1)
		h = ad.Mul(ad.Square(ja), d2)
		if ha != nil {
			h = ad.Add(h, ad.Mul(ha, d1))
		}
		u = y
	}
	return u, j, h
}
