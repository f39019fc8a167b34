package sm

import (
	"fmt"
	"math"
	"math/rand/v2"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/internal/numeric"
	"github.com/fdsm/fdsm/tensor"
)

// evalRows is how many rows the evaluation helpers pass to a model at once:
// large enough to amortise a call, small enough that a grid or a sample of
// millions of points never sits in memory as one batch.
const evalRows = 4096

// evalEnergies returns E(x) for every row of x, evaluated in chunks of at most
// chunk rows, as float64.
func evalEnergies(what string, m Energy, x *tensor.Tensor, chunk int) []float64 {
	n := x.Dim(0)
	out := make([]float64, 0, n)
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		e := m.Energy(ad.Const(tensor.SliceRows(x, lo, hi))).T()
		if e.Len() != hi-lo {
			panic(fmt.Sprintf("sm: %s: the model returned energies of shape %v for %d rows", what, e.Shape(), hi-lo))
		}
		out = append(out, e.ToFloat64()...)
	}
	return out
}

// LogLikelihoodGrid2D returns the mean log-likelihood of data ([N, 2]) under
// the normalised model p = exp(−E)/Z of a 2-D energy model, and log Z.
//
// Z is computed by the midpoint rule on an n×n grid over the box
// [lo₀, hi₀] × [lo₁, hi₁]: Z ≈ h₀h₁ Σ exp(−E(cell centres)), h_i =
// (hi_i − lo_i)/n, summed with log-sum-exp in float64. Mass outside the box
// is ignored, so the box must hold essentially all of exp(−E): log Z is then
// low by −log(1 − outside mass), and mean high by as much. Inside, the
// rule's error is O(h²) in general (Σ_i h_i²/24 ∫∂²f/∂x_i² to leading
// order), and exponentially small in 1/h for a smooth density that has
// decayed at the box's edge, where the leading terms vanish (the grid then
// needs only a few points per length scale of the density). The grid is
// evaluated in data's dtype, in chunks: n² model evaluations.
func LogLikelihoodGrid2D(m Energy, lo, hi [2]float64, n int, data *tensor.Tensor) (mean float64, logZ float64) {
	if data == nil || data.Rank() != 2 || data.Dim(0) == 0 || data.Dim(1) != 2 {
		var shape []int
		if data != nil {
			shape = data.Shape()
		}
		panic(fmt.Sprintf("sm: LogLikelihoodGrid2D needs data of shape [N 2] with N > 0, got %v", shape))
	}
	if n <= 0 || !(hi[0] > lo[0]) || !(hi[1] > lo[1]) {
		panic(fmt.Sprintf("sm: LogLikelihoodGrid2D grid of %d×%d over [%g, %g]×[%g, %g]", n, n, lo[0], hi[0], lo[1], hi[1]))
	}
	h0, h1 := (hi[0]-lo[0])/float64(n), (hi[1]-lo[1])/float64(n)
	grid := make([]float64, 0, 2*n*n)
	for a := range n {
		x := lo[0] + (float64(a)+0.5)*h0
		for b := range n {
			grid = append(grid, x, lo[1]+(float64(b)+0.5)*h1)
		}
	}
	e := evalEnergies("LogLikelihoodGrid2D", m, tensor.FromFloat64(data.DType(), grid, n*n, 2), evalRows)
	for i := range e {
		e[i] = -e[i]
	}
	logZ = numeric.LogSumExp(e) + math.Log(h0*h1)
	return meanLogP(m, data, logZ, "LogLikelihoodGrid2D"), logZ
}

// meanLogP returns the mean of −E(x) − logZ over the rows of data.
func meanLogP(m Energy, data *tensor.Tensor, logZ float64, what string) float64 {
	var s float64
	e := evalEnergies(what, m, data, evalRows)
	for _, v := range e {
		s -= v
	}
	return s/float64(len(e)) - logZ
}

// DefaultProposalStd is the standard deviation of the importance-sampling
// proposal N(0, σ²I): σ = 2, the N(0, 4I) of the paper's reference code,
// broad enough to cover data that has been whitened to unit variance.
const DefaultProposalStd = 2

// ISOption configures LogZImportance and LogLikelihoodIS.
type ISOption func(*isConfig)

type isConfig struct {
	std float64
	dt  tensor.DType
	ess *float64
}

// ProposalStd sets the proposal's standard deviation σ (default
// DefaultProposalStd). The estimate has finite variance only if the proposal
// has heavier tails than the model: σ² above half the model's largest
// variance, for a Gaussian.
func ProposalStd(s float64) ISOption { return func(c *isConfig) { c.std = s } }

// SampleDType sets the dtype the proposal samples are given to the model in
// (default float64 for LogZImportance, the data's for LogLikelihoodIS); it
// must be the dtype of the model's parameters.
func SampleDType(dt tensor.DType) ISOption { return func(c *isConfig) { c.dt = dt } }

// ReportESS stores in *p the effective sample size of the importance
// weights (EffectiveSampleSize). Below MinESS the estimate rests on a handful
// of weights and its standard error cannot be trusted.
func ReportESS(p *float64) ISOption { return func(c *isConfig) { c.ess = p } }

// MinESS is the effective sample size below which an importance-sampled
// estimate should be flagged: the threshold of fdsm issue 17 ("warn when it
// is below, say, 100"). With fewer effective samples the delta-method
// standard error, computed from those same few weights, is itself unreliable
// (see LogZImportance).
const MinESS = 100

// EffectiveSampleSize returns Kish's effective sample size (Σw)²/Σw² of
// importance weights given by their logarithms logw: n for n equal weights,
// 1 when one weight dominates. It is computed in log space,
// exp(2·logΣw − logΣw²), so no weight need be representable; it is 0 if
// every weight is 0 and NaN if a log-weight is NaN or +Inf.
func EffectiveSampleSize(logw []float64) float64 {
	twice := make([]float64, len(logw))
	for i, v := range logw {
		twice[i] = 2 * v
	}
	ls, ls2 := numeric.LogSumExp(logw), numeric.LogSumExp(twice)
	if math.IsInf(ls, -1) && !math.IsNaN(ls2) {
		return 0
	}
	return math.Exp(2*ls - ls2)
}

// LogZImportance estimates log Z of an energy model on R^d by importance
// sampling: Z = E_q[exp(−E(x))/q(x)] with x ~ q = N(0, σ²I), averaged over
// samples draws, evaluated batch rows at a time. Weights are combined in
// float64 with log-sum-exp, so no exp(−E) need be representable.
//
// The standard error is the delta method's: with ŵ the weights' mean and s
// their standard deviation, Var(log Ẑ) ≈ s²/(samples·ŵ²). log Ẑ is biased
// low by about stderr²/2 (Jensen's inequality; the second-order delta term),
// and stderr itself is unreliable when a few weights dominate: a proposal
// much narrower than the model underestimates both. The effective sample
// size (ReportESS) tells when that is so.
//
// Each batch draws batch·d normals from rng in row-major order (the last
// batch fewer), so a seed fixes the estimate.
func LogZImportance(m Energy, d int, samples int, batch int, rng *rand.Rand, opts ...ISOption) (logZ, stderr float64) {
	c := isConfig{std: DefaultProposalStd, dt: tensor.Float64}
	for _, o := range opts {
		o(&c)
	}
	return logZImportance(m, d, samples, batch, rng, c)
}

func logZImportance(m Energy, d, samples, batch int, rng *rand.Rand, c isConfig) (logZ, stderr float64) {
	if d <= 0 || samples < 2 || batch <= 0 || !(c.std > 0) {
		panic(fmt.Sprintf("sm: LogZImportance with d = %d, %d samples, batch %d, proposal σ = %g (want d > 0, samples ≥ 2, batch > 0, σ > 0)", d, samples, batch, c.std))
	}
	v := c.std * c.std
	logNorm := -0.5 * float64(d) * math.Log(2*math.Pi*v)
	lw := make([]float64, 0, samples)
	for lo := 0; lo < samples; lo += batch {
		b := min(batch, samples-lo)
		z := make([]float64, b*d)
		for i := range z {
			z[i] = c.std * rng.NormFloat64()
		}
		x := tensor.FromFloat64(c.dt, z, b, d)
		// log q at the points the model sees, rounded to its dtype, so each
		// weight is exactly p̃(x)/q(x) for one x.
		xs := x.ToFloat64()
		e := evalEnergies("LogZImportance", m, x, b)
		for i := range b {
			var ss float64
			for _, u := range xs[i*d : (i+1)*d] {
				ss += u * u
			}
			lw = append(lw, -e[i]-(logNorm-ss/(2*v)))
		}
	}
	n := float64(samples)
	logZ = numeric.LogSumExp(lw) - math.Log(n)
	// Weights relative to the largest, in [0, 1]: their mean and variance
	// are exp(−max) times those of the weights, and the ratio stderr needs
	// does not depend on the scale.
	top := math.Inf(-1)
	for _, x := range lw {
		top = max(top, x)
	}
	var mean float64
	for _, x := range lw {
		mean += math.Exp(x - top)
	}
	mean /= n
	var ss float64
	for _, x := range lw {
		r := math.Exp(x-top) - mean
		ss += r * r
	}
	stderr = math.Sqrt(ss/(n-1)/n) / mean
	if c.ess != nil {
		*c.ess = EffectiveSampleSize(lw)
	}
	return logZ, stderr
}

// LogLikelihoodIS returns the mean log-likelihood of data ([N, d]) under the
// normalised model, −E(x) − log Z averaged over the rows, with log Z and its
// standard error from LogZImportance (the standard error of the mean is the
// same: the data term is exact). The samples are drawn in data's dtype.
func LogLikelihoodIS(m Energy, data *tensor.Tensor, samples, batch int, rng *rand.Rand, opts ...ISOption) (mean, logZ, stderr float64) {
	checkBatch("LogLikelihoodIS", data)
	c := isConfig{std: DefaultProposalStd, dt: data.DType()}
	for _, o := range opts {
		o(&c)
	}
	logZ, stderr = logZImportance(m, data.Dim(1), samples, batch, rng, c)
	return meanLogP(m, data, logZ, "LogLikelihoodIS"), logZ, stderr
}
