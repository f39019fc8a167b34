package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// Prior is the base density of a flow's latent variable z = f(x).
type Prior string

// The priors NICE supports. Dinh et al. used the logistic prior for MNIST;
// the Gaussian is the common default.
const (
	// GaussianPrior is N(0, I): log p(z) = −½‖z‖² − (d/2)·log 2π.
	GaussianPrior Prior = "gaussian"
	// LogisticPrior is the standard logistic in each coordinate:
	// log p(z) = −Σ_i (softplus(z_i) + softplus(−z_i)).
	LogisticPrior Prior = "logistic"
)

// NICEConfig configures NewNICE. A nil *NICEConfig, or a zero field, means
// the default. The defaults of Couplings, Hidden and Depth are those of Dinh
// et al. (2014) for MNIST: 4 coupling layers whose shift networks have 5
// hidden layers of 1000 units.
type NICEConfig struct {
	// Couplings is the number of additive coupling layers (default 4).
	Couplings int
	// Hidden is the width of each hidden layer of a shift network (default
	// 1000).
	Hidden int
	// Depth is the number of hidden layers of a shift network (default 5).
	Depth int
	// Act is the shift networks' activation (default Softplus: score
	// matching differentiates the log-density twice, so it must be smooth).
	Act Activation
	// Prior is the latent density (default GaussianPrior).
	Prior Prior
}

func (c *NICEConfig) withDefaults() NICEConfig {
	out := NICEConfig{Couplings: 4, Hidden: 1000, Depth: 5, Act: Softplus, Prior: GaussianPrior}
	if c != nil {
		if c.Couplings != 0 {
			out.Couplings = c.Couplings
		}
		if c.Hidden != 0 {
			out.Hidden = c.Hidden
		}
		if c.Depth != 0 {
			out.Depth = c.Depth
		}
		if c.Act != "" {
			out.Act = c.Act
		}
		if c.Prior != "" {
			out.Prior = c.Prior
		}
	}
	return out
}

// NICE is the flow of Dinh et al. (2014), "NICE: Non-linear Independent
// Components Estimation": z = f(x) = exp(s) ⊙ (g_L ∘ … ∘ g_1)(x), where the
// coordinates are split into the even-indexed half x_e and the odd-indexed
// half x_o and coupling layer i shifts one half by a network of the other,
//
//	i even: x_o ← x_o + m_i(x_e),    i odd: x_e ← x_e + m_i(x_o).
//
// Each coupling has unit Jacobian determinant, so the log-likelihood is exact
// and cheap: log p(x) = log p_Z(f(x)) + Σ_j s_j. The model is normalised, and
// Energy = −log p makes it an energy model for package sm with log Z = 0.
//
// Parameters are named "couplings.<i>.layers.<j>.weight" / ".bias" for the
// j-th Linear layer of the i-th shift network and "scale" for s ([d]).
type NICE struct {
	// Couplings holds the shift network m_i of each coupling layer: for even
	// i it maps the even coordinates to the odd ones, for odd i the reverse.
	Couplings []*MLP
	// Scale is the log-scale vector s ([d], coordinates in input order).
	Scale *ad.Value
	// Prior is the latent density ("" means GaussianPrior).
	Prior Prior
}

// NewNICE returns a NICE flow on dim ≥ 2 coordinates with PyTorch-initialised
// shift networks and s = 0.
func NewNICE(dt tensor.DType, dim int, cfg *NICEConfig, rng *rand.Rand) *NICE {
	c := cfg.withDefaults()
	if dim < 2 {
		panic(fmt.Sprintf("nn: NewNICE needs dim ≥ 2 to split the coordinates, got %d", dim))
	}
	if c.Couplings < 0 || c.Hidden < 0 || c.Depth < 0 {
		panic(fmt.Sprintf("nn: NewNICE config %+v has a negative size", c))
	}
	if c.Prior != GaussianPrior && c.Prior != LogisticPrior {
		panic(fmt.Sprintf("nn: NewNICE unknown prior %q (want gaussian or logistic)", string(c.Prior)))
	}
	ne, no := (dim+1)/2, dim/2
	m := &NICE{Scale: ad.Var(tensor.Zeros(dt, dim)), Prior: c.Prior}
	for i := range c.Couplings {
		in, out := ne, no
		if i%2 == 1 {
			in, out = no, ne
		}
		sizes := []int{in}
		for range c.Depth {
			sizes = append(sizes, c.Hidden)
		}
		m.Couplings = append(m.Couplings, NewMLP(dt, append(sizes, out), c.Act, rng))
	}
	return m
}

// Dim returns the number of coordinates d.
func (m *NICE) Dim() int { return m.Scale.Dim(0) }

// Params implements Module.
func (m *NICE) Params() []Param {
	var ps []Param
	for i, c := range m.Couplings {
		for _, p := range c.Params() {
			ps = append(ps, Param{fmt.Sprintf("couplings.%d.%s", i, p.Name), p.Value})
		}
	}
	return append(ps, Param{"scale", m.Scale})
}

func (m *NICE) checkInput(name string, x *ad.Value) {
	if x.T().Rank() != 2 || x.Dim(1) != m.Dim() {
		panic(fmt.Sprintf("nn: NICE.%s input %v, want [N, %d]", name, x.Shape(), m.Dim()))
	}
}

// niceHalves returns the even and odd column indices of d coordinates.
func niceHalves(d int) (even, odd []int) {
	for j := range d {
		if j%2 == 0 {
			even = append(even, j)
		} else {
			odd = append(odd, j)
		}
	}
	return even, odd
}

// niceSplit returns the even and odd columns of x [N, d]. There are only
// row operations, so the columns are gathered as rows of xᵀ: exact copies,
// O(Nd), once per pass rather than once per coupling layer.
func niceSplit(x *ad.Value) (xe, xo *ad.Value) {
	even, odd := niceHalves(x.Dim(1))
	xt := ad.Transpose(x)
	return ad.Transpose(ad.GatherRows(xt, even)), ad.Transpose(ad.GatherRows(xt, odd))
}

// niceMerge undoes niceSplit.
func niceMerge(xe, xo *ad.Value) *ad.Value {
	d := xe.Dim(1) + xo.Dim(1)
	even, odd := niceHalves(d)
	inv := make([]int, d) // row of the stacked [x_eᵀ; x_oᵀ] holding column j
	for k, j := range append(even, odd...) {
		inv[j] = k
	}
	return ad.Transpose(ad.GatherRows(ad.ConcatRows(ad.Transpose(xe), ad.Transpose(xo)), inv))
}

// Forward returns z = f(x) for a batch [N, d].
func (m *NICE) Forward(x *ad.Value) *ad.Value {
	m.checkInput("Forward", x)
	xe, xo := niceSplit(x)
	for i, c := range m.Couplings {
		if i%2 == 0 {
			xo = ad.Add(xo, c.Forward(xe))
		} else {
			xe = ad.Add(xe, c.Forward(xo))
		}
	}
	return ad.Mul(niceMerge(xe, xo), ad.Exp(m.Scale))
}

// Inverse returns x = f⁻¹(z) for a batch [N, d]: the coupling layers undone
// in reverse order, each by subtracting the shift it added.
func (m *NICE) Inverse(z *ad.Value) *ad.Value {
	m.checkInput("Inverse", z)
	xe, xo := niceSplit(ad.Mul(z, ad.Exp(ad.Neg(m.Scale))))
	for i := len(m.Couplings) - 1; i >= 0; i-- {
		if i%2 == 0 {
			xo = ad.Sub(xo, m.Couplings[i].Forward(xe))
		} else {
			xe = ad.Sub(xe, m.Couplings[i].Forward(xo))
		}
	}
	return niceMerge(xe, xo)
}

// LogDet returns log |det ∂f/∂x| = Σ_j s_j, the same for every x (rank 0).
func (m *NICE) LogDet() *ad.Value { return ad.Sum(m.Scale) }

// LogProb returns the exact log-density log p(x) = log p_Z(f(x)) + Σ_j s_j,
// one value per row ([N]).
func (m *NICE) LogProb(x *ad.Value) *ad.Value {
	return ad.Add(m.priorLogProb(m.Forward(x)), m.LogDet())
}

// Energy returns −log p(x), one value per row: NICE as a normalised energy
// model.
func (m *NICE) Energy(x *ad.Value) *ad.Value { return ad.Neg(m.LogProb(x)) }

func (m *NICE) priorLogProb(z *ad.Value) *ad.Value {
	switch m.Prior {
	case GaussianPrior, "":
		d := float64(z.Dim(1))
		return ad.AddScalar(ad.Scale(ad.SumAxis(ad.Square(z), 1), -0.5), -0.5*d*math.Log(2*math.Pi))
	case LogisticPrior:
		return ad.Neg(ad.SumAxis(ad.Add(ad.Softplus(z), ad.Softplus(ad.Neg(z))), 1))
	}
	panic(fmt.Sprintf("nn: NICE unknown prior %q", string(m.Prior)))
}

// Sample draws n samples x = f⁻¹(z), z from the prior, as an [n, d] tensor.
func (m *NICE) Sample(n int, rng *rand.Rand) *tensor.Tensor {
	dt, d := m.Scale.DType(), m.Dim()
	var z *tensor.Tensor
	switch m.Prior {
	case LogisticPrior:
		// Inverse CDF: z = log u − log(1 − u), u uniform on (0, 1).
		z = tensor.Zeros(dt, n, d)
		for i := range z.Len() {
			u := rng.Float64()
			for u == 0 {
				u = rng.Float64()
			}
			z.Set(i, math.Log(u)-math.Log1p(-u))
		}
	default:
		z = tensor.RandN(dt, rng, n, d)
	}
	return m.Inverse(ad.Const(z)).T()
}

// LogitLambda is the λ of the logit transform under which the paper's NICE
// models MNIST: the value of Papamakarios et al. (MAF, 2017).
const LogitLambda = 1e-6

// logitMap applies f(p) elementwise to p = λ + (1 − 2λ)x in float64: in
// float32, 1 − p near x = 1 would keep one significant digit of λ.
func logitMap(name string, x *tensor.Tensor, lambda float64, f func(p float64) float64) []float64 {
	if !(lambda >= 0 && lambda < 0.5) {
		panic(fmt.Sprintf("nn: %s λ = %g, want 0 ≤ λ < ½", name, lambda))
	}
	xs := x.ToFloat64()
	for i, v := range xs {
		xs[i] = f(lambda + (1-2*lambda)*v)
	}
	return xs
}

// Logit maps pixels x ∈ [0, 1] to y = logit(λ + (1 − 2λ)x), the space in
// which NICE models MNIST; λ keeps y finite at x = 0 and 1. Computed in
// float64; y has x's dtype and shape.
func Logit(x *tensor.Tensor, lambda float64) *tensor.Tensor {
	ys := logitMap("Logit", x, lambda, func(p float64) float64 { return math.Log(p) - math.Log1p(-p) })
	return tensor.FromFloat64(x.DType(), ys, x.Shape()...)
}

// InvLogit maps y back to pixels, x = (σ(y) − λ)/(1 − 2λ): for samples.
func InvLogit(y *tensor.Tensor, lambda float64) *tensor.Tensor {
	if !(lambda >= 0 && lambda < 0.5) {
		panic(fmt.Sprintf("nn: InvLogit λ = %g, want 0 ≤ λ < ½", lambda))
	}
	xs := y.ToFloat64()
	for i, v := range xs {
		xs[i] = (1/(1+math.Exp(-v)) - lambda) / (1 - 2*lambda)
	}
	return tensor.FromFloat64(y.DType(), xs, y.Shape()...)
}

// LogitLogDet returns, per row of pixels x [N, d], log |det ∂y/∂x| of the
// logit transform: Σ_i [log(1 − 2λ) − log p_i − log(1 − p_i)] with
// p = λ + (1 − 2λ)x. Shape [N], x's dtype, summed in float64.
func LogitLogDet(x *tensor.Tensor, lambda float64) *tensor.Tensor {
	if x.Rank() != 2 {
		panic(fmt.Sprintf("nn: LogitLogDet input %v, want [N, d]", x.Shape()))
	}
	l12 := math.Log1p(-2 * lambda)
	per := logitMap("LogitLogDet", x, lambda, func(p float64) float64 { return l12 - math.Log(p) - math.Log1p(-p) })
	n, d := x.Dim(0), x.Dim(1)
	out := make([]float64, n)
	for r := range n {
		for _, v := range per[r*d : (r+1)*d] {
			out[r] += v
		}
	}
	return tensor.FromFloat64(x.DType(), out, n)
}

// PixelLogLikelihood converts log-likelihoods of logit-space points Logit(x)
// to the pixel space of x by the change of variables
// log p_X(x) = log p_Y(y) + log |det ∂y/∂x|. logpY and the result are [N].
func PixelLogLikelihood(logpY, x *tensor.Tensor, lambda float64) *tensor.Tensor {
	ld := LogitLogDet(x, lambda).ToFloat64()
	if logpY.Rank() != 1 || logpY.Dim(0) != len(ld) {
		panic(fmt.Sprintf("nn: PixelLogLikelihood log-likelihoods %v for pixels %v, want [%d]", logpY.Shape(), x.Shape(), len(ld)))
	}
	lp := logpY.ToFloat64()
	for i := range lp {
		lp[i] += ld[i]
	}
	return tensor.FromFloat64(logpY.DType(), lp, len(lp))
}

// BitsPerDim returns −logLik/(d·ln 2): a log-likelihood in nats per example
// of dimension d, as bits per dimension. For 8-bit data dequantised to
// [0, 1] (x = (k + u)/256), add 8 = log₂ 256 to state it per unit of the
// 0…255 scale, as papers usually do.
func BitsPerDim(logLik float64, d int) float64 {
	return -logLik / (float64(d) * math.Ln2)
}
