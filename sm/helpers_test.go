package sm_test

import (
	"math"
	"math/rand/v2"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// Shared helpers for the sm tests. Every generator is a seeded PCG passed
// explicitly (STYLE.md practice 7).

const f64 = tensor.Float64

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// lossGrad returns the loss's value and its gradient with respect to params,
// flattened in the order of params (first-order Grad: what training does).
func lossGrad(loss *ad.Value, params []*ad.Value) (float64, []float64) {
	var flat []float64
	for _, g := range ad.Grad(loss, params) {
		flat = append(flat, g.T().ToFloat64()...)
	}
	return loss.Item(), flat
}

func dotF(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func normF(a []float64) float64 { return math.Sqrt(dotF(a, a)) }

// diffNorm returns ‖a − b‖.
func diffNorm(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(s)
}

func cosine(a, b []float64) float64 { return dotF(a, b) / (normF(a) * normF(b)) }

// relErr returns |got − want|/|want|.
func relErr(got, want float64) float64 { return math.Abs(got-want) / math.Abs(want) }

// logLogSlope is the least-squares slope of log y against log x.
func logLogSlope(x, y []float64) float64 {
	var mx, my float64
	for i := range x {
		mx += math.Log(x[i])
		my += math.Log(y[i])
	}
	n := float64(len(x))
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for i := range x {
		dx := math.Log(x[i]) - mx
		sxy += dx * (math.Log(y[i]) - my)
		sxx += dx * dx
	}
	return sxy / sxx
}

// unitRows returns n Gaussian rows normalised to length 1: directions
// uniform on the unit sphere.
func unitRows(r *rand.Rand, n, d int) *tensor.Tensor {
	v := tensor.RandN(f64, r, n, d)
	for i := range n {
		var ss float64
		for j := range d {
			ss += v.At(i*d+j) * v.At(i*d+j)
		}
		s := 1 / math.Sqrt(ss)
		for j := range d {
			v.Set(i*d+j, v.At(i*d+j)*s)
		}
	}
	return v
}

// rowDot returns Σ_j a_ij·b_ij per row.
func rowDot(a, b *ad.Value) *ad.Value { return ad.SumAxis(ad.Mul(a, b), 1) }

// mdsmSigmas returns MDSM's per-sample noise levels, as the package documents
// them: linear from sm.MDSMSigmaMin to sm.MDSMSigmaMax across the batch.
func mdsmSigmas(b int) []float64 {
	s := make([]float64, b)
	for i := range s {
		t := 0.0
		if b > 1 {
			t = float64(i) / float64(b-1)
		}
		s[i] = sm.MDSMSigmaMin + (sm.MDSMSigmaMax-sm.MDSMSigmaMin)*t
	}
	return s
}

// mlpFrom builds a softplus MLP whose layers use the given values as
// weight and bias, in nn.MLP.Params order (W0, b0, W1, b1, ...): a model that
// is a function of values adtest.Check passes in.
func mlpFrom(ps []*ad.Value) *nn.MLP {
	m := &nn.MLP{Act: nn.Softplus}
	for i := 0; i+1 < len(ps); i += 2 {
		m.Layers = append(m.Layers, &nn.Linear{W: ps[i], B: ps[i+1]})
	}
	return m
}

// paramTensors returns the tensors of a module's parameters, in order.
func paramTensors(m nn.Module) []*tensor.Tensor {
	var ts []*tensor.Tensor
	for _, v := range nn.Values(m) {
		ts = append(ts, v.T())
	}
	return ts
}

// gaussian is the energy E(x) = ½(x − μ)ᵀP(x − μ), built from autodiff ops
// with μ ([d]) and P ([d, d], symmetric positive definite) as variables, so
// that parameter gradients exist. Its score is s = −P(x − μ) and its Hessian
// of log p is −P, so every objective has a closed form.
type gaussian struct {
	mu, p *ad.Value
	// Plain copies for the closed forms.
	muF []float64
	pF  [][]float64
}

// newGaussian draws μ ~ N(0, I) and P = AAᵀ/d + ½I with A standard normal:
// symmetric, with eigenvalues ≥ ½ (any SPD matrix would do; the ½ keeps it
// well away from singular).
func newGaussian(r *rand.Rand, d int) *gaussian {
	mu := tensor.RandN(f64, r, d)
	a := tensor.RandN(f64, r, d, d)
	p := tensor.Scale(tensor.MatMul(a, a, false, true), 1/float64(d))
	for i := range d {
		p.Set(i*d+i, p.At(i*d+i)+0.5)
	}
	// Symmetrise exactly: the product can differ in the last bit across
	// the diagonal.
	for i := range d {
		for j := range i {
			m := 0.5 * (p.At(i*d+j) + p.At(j*d+i))
			p.Set(i*d+j, m)
			p.Set(j*d+i, m)
		}
	}
	g := &gaussian{mu: ad.Var(mu), p: ad.Var(p), muF: mu.ToFloat64()}
	for i := range d {
		g.pF = append(g.pF, p.ToFloat64()[i*d:(i+1)*d])
	}
	return g
}

// Energy implements sm.Energy: ½ Σ_j z_j (zP)_j per row, z = x − μ.
func (g *gaussian) Energy(x *ad.Value) *ad.Value {
	z := ad.Sub(x, g.mu)
	return ad.Scale(rowDot(z, ad.MatMul(z, g.p, false, false)), 0.5)
}

// matVec returns P·v.
func (g *gaussian) matVec(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, row := range g.pF {
		out[i] = dotF(row, v)
	}
	return out
}

// pz returns P(x_b − μ) for row b of x.
func (g *gaussian) pz(x *tensor.Tensor, b int) []float64 {
	d := len(g.muF)
	z := make([]float64, d)
	for j := range d {
		z[j] = x.At(b*d+j) - g.muF[j]
	}
	return g.matVec(z)
}

func (g *gaussian) trace() float64 {
	var t float64
	for i := range g.pF {
		t += g.pF[i][i]
	}
	return t
}

// quadForm returns vᵀPv.
func (g *gaussian) quadForm(v []float64) float64 { return dotF(v, g.matVec(v)) }

// rows returns the rows of a [N, d] tensor as slices (one copy of the data).
func rows(t *tensor.Tensor) [][]float64 {
	d, all := t.Dim(1), t.ToFloat64()
	out := make([][]float64, t.Dim(0))
	for i := range out {
		out[i] = all[i*d : (i+1)*d]
	}
	return out
}

// cltBound checks |got − want| ≤ 5·se and logs the z-score. Under normality
// of the estimator the two-sided probability of a false failure is
// P(|Z| > 5) = 5.7e-7.
func cltBound(t *testing.T, name string, got, want, se float64) {
	t.Helper()
	z := (got - want) / se
	t.Logf("%s: estimate %.6g, closed form %.6g, SE %.3g, z = %+.2f", name, got, want, se, z)
	if math.Abs(z) > cltZ {
		t.Errorf("%s: estimate %.10g differs from the closed form %.10g by %.2f standard errors (SE %.3g), more than %v",
			name, got, want, z, se, cltZ)
	}
}

// cltZ is the CLT bound in standard errors: P(|N(0,1)| > 5) = 5.7e-7.
const cltZ = 5

// stratifiedSE returns the standard error of the mean of losses laid out as
// K iid copies of each of B strata (row k·B + b belongs to stratum b): with
// s_b² the sample variance within stratum b, SE² = Σ_b s_b² / (K·B²).
func stratifiedSE(losses []float64, k, b int) float64 {
	var v float64
	for s := range b {
		var m float64
		for i := range k {
			m += losses[i*b+s]
		}
		m /= float64(k)
		var ss float64
		for i := range k {
			d := losses[i*b+s] - m
			ss += d * d
		}
		v += ss / float64(k-1)
	}
	return math.Sqrt(v / float64(k) / float64(b*b))
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// meanAbs returns the mean of |x|: the scale against which a relative
// tolerance on a mean of mixed-sign terms is set.
func meanAbs(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += math.Abs(x)
	}
	return s / float64(len(xs))
}
