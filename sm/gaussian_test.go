package sm_test

import (
	"fmt"
	"math"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// For the Gaussian energy E(x) = ½(x − μ)ᵀP(x − μ) every objective has a
// closed form (s = −P(x − μ), ∇²log p = −P). These tests check the objectives
// against them: ExactSM exactly, the stochastic ones in expectation.

// closedFormTol is the relative tolerance for a closed form evaluated in
// float64 along another path: a few hundred roundings of relative size
// 1.1e-16 each, so 1e-10 leaves three orders of margin while still catching
// any wrong term or factor.
const closedFormTol = 1e-10

// Projections and noise draws per sample for the expectation tests: with
// 2000 draws the standard error is ~2% of the per-draw spread, small enough
// for the 5·SE bound to catch a wrong factor, and the CLT is accurate for
// the quadratic forms involved.
const (
	gaussB     = 8
	gaussDraws = 2000
)

// exactSMClosed returns mean_b[½‖P(x_b − μ)‖² − tr P].
func exactSMClosed(g *gaussian, x *tensor.Tensor) float64 {
	var s float64
	for b := range x.Dim(0) {
		pz := g.pz(x, b)
		s += 0.5*dotF(pz, pz) - g.trace()
	}
	return s / float64(x.Dim(0))
}

// ExactSM equals its closed form in value and in parameter gradient.
// Gradients (P enters E as the general matrix in zᵀPz, so the score is
// −½(P + Pᵀ)z; at a symmetric P):
//
//	∂L/∂μ = −mean_b P·P(x_b − μ)
//	∂L/∂P = mean_b ½(Pz_b z_bᵀ + z_b (Pz_b)ᵀ) − I,  z_b = x_b − μ.
func TestGaussianExactSMClosedForm(t *testing.T) {
	for d := 3; d <= 5; d++ {
		t.Run(fmt.Sprintf("d=%d", d), func(t *testing.T) {
			r := newRand(uint64(d))
			g := newGaussian(r, d)
			x := tensor.RandN(f64, r, 16, d)
			loss := sm.ExactSM(g, x)
			got, grad := lossGrad(loss, []*ad.Value{g.mu, g.p})
			want := exactSMClosed(g, x)
			if e := relErr(got, want); e > closedFormTol {
				t.Errorf("ExactSM = %.15g, closed form %.15g (relative error %.2g > %g)", got, want, e, closedFormTol)
			}

			n := float64(x.Dim(0))
			gMu := make([]float64, d)
			gP := make([]float64, d*d)
			for b := range x.Dim(0) {
				pz := g.pz(x, b)
				ppz := g.matVec(pz)
				for i := range d {
					gMu[i] -= ppz[i] / n
					for j := range d {
						zj := x.At(b*d+j) - g.muF[j]
						zi := x.At(b*d+i) - g.muF[i]
						gP[i*d+j] += 0.5 * (pz[i]*zj + zi*pz[j]) / n
					}
				}
			}
			for i := range d {
				gP[i*d+i]--
			}
			want2 := append(gMu, gP...)
			if e := diffNorm(grad, want2) / normF(want2); e > closedFormTol {
				t.Errorf("ExactSM gradient: relative error %.2g > %g\n got  %v\n want %v", e, closedFormTol, grad, want2)
			}
		})
	}
}

// SSM and SSM-VR with Rademacher, Gaussian or sphere(√d) projections (all with
// E[vvᵀ] = I) are unbiased for exact SM: E_v[½(vᵀs)² + vᵀHv] =
// ½‖s‖² + tr H. Per projection the Gaussian model's loss is known exactly,
//
//	SSM:    ½(vᵀs_b)² − vᵀPv      SSM-VR: ½‖s_b‖² − vᵀPv,   s_b = −P(x_b − μ),
//
// so the test checks (a) the library's mean equals the mean of these to
// closedFormTol (the implementation) and (b) that mean is within 5 standard
// errors of exact SM (the estimator's unbiasedness).
func TestGaussianSSMExpectation(t *testing.T) {
	for d := 3; d <= 5; d++ {
		r := newRand(uint64(10 + d))
		g := newGaussian(r, d)
		x := tensor.RandN(f64, r, gaussB, d)
		exact := exactSMClosed(g, x)
		for _, proj := range []sm.Projection{sm.Rademacher, sm.Gaussian, sm.Sphere} {
			var v *tensor.Tensor
			switch proj {
			case sm.Rademacher:
				v = tensor.Rademacher(f64, r, gaussDraws*gaussB, d)
			case sm.Gaussian:
				v = tensor.RandN(f64, r, gaussDraws*gaussB, d)
			default:
				v = tensor.Scale(unitRows(r, gaussDraws*gaussB, d), math.Sqrt(float64(d)))
			}
			vRows := rows(v)
			for _, vr := range []bool{false, true} {
				name, obj := "SSM", sm.SSM
				if vr {
					name, obj = "SSMVR", sm.SSMVR
				}
				name = fmt.Sprintf("%s/%v/d=%d", name, proj, d)
				got := obj(g, x, &sm.Options{V: v, M: gaussDraws}).Item()
				losses := make([]float64, gaussDraws*gaussB)
				for i, vi := range vRows {
					s := g.pz(x, i%gaussB) // −s; only its square enters
					first := 0.5 * dotF(vi, s) * dotF(vi, s)
					if vr {
						first = 0.5 * dotF(s, s)
					}
					losses[i] = first - g.quadForm(vi)
				}
				if e := math.Abs(got-mean(losses)) / meanAbs(losses); e > closedFormTol {
					t.Errorf("%s: library %.15g, per-projection closed form %.15g (relative error %.2g > %g)",
						name, got, mean(losses), e, closedFormTol)
				}
				cltBound(t, name, got, exact, stratifiedSE(losses, gaussDraws, gaussB))
			}
		}
	}
}

// DSM in expectation over the noise. With z = x − μ and x̃ = x + σn,
// σ²s(x̃) + (x̃ − x) = −σ²Pz + σ(I − σ²P)n, so, since E[n] = 0 and
// E[nnᵀ] = I,
//
//	E_n ½‖σ²s(x̃) + σn‖² = ½(σ⁴‖Pz‖² + σ²‖I − σ²P‖_F²),
//
// divided by σ² under SigmaSquaredScale. The batch is gaussDraws copies of
// gaussB samples, each copy with its own noise.
func TestGaussianDSMExpectation(t *testing.T) {
	for d := 3; d <= 5; d++ {
		r := newRand(uint64(20 + d))
		g := newGaussian(r, d)
		x := tensor.RandN(f64, r, gaussB, d)
		xs := make([]*tensor.Tensor, gaussDraws)
		for i := range xs {
			xs[i] = x
		}
		xRep := tensor.ConcatRows(xs...)
		noise := tensor.RandN(f64, r, gaussDraws*gaussB, d)
		nRows := rows(noise)
		// σ = 0.5 makes σ²P comparable to I, so the −σ²P term matters.
		for _, sigma := range []float64{sm.DefaultSigma, 0.5} {
			for _, scaled := range []bool{false, true} {
				name := fmt.Sprintf("DSM/d=%d/sigma=%v/sigmaSquaredScale=%v", d, sigma, scaled)
				scale := 1.0
				if scaled {
					scale = 1 / (sigma * sigma)
				}
				got := sm.DSM(g, xRep, &sm.Options{Noise: noise, Sigma: sigma, SigmaSquaredScale: scaled}).Item()
				// ‖I − σ²P‖_F².
				var frob float64
				for i := range d {
					for j := range d {
						e := -sigma * sigma * g.pF[i][j]
						if i == j {
							e++
						}
						frob += e * e
					}
				}
				var exact float64
				for b := range gaussB {
					pz := g.pz(x, b)
					exact += 0.5 * scale * (math.Pow(sigma, 4)*dotF(pz, pz) + sigma*sigma*frob)
				}
				exact /= gaussB
				losses := make([]float64, gaussDraws*gaussB)
				for i := range losses {
					pz := g.pz(x, i%gaussB)
					n := nRows[i]
					pn := g.matVec(n)
					var ss float64
					for j := range d {
						e := -sigma*sigma*pz[j] - sigma*sigma*sigma*pn[j] + sigma*n[j]
						ss += e * e
					}
					losses[i] = 0.5 * scale * ss
				}
				if e := relErr(got, mean(losses)); e > closedFormTol {
					t.Errorf("%s: library %.15g, per-draw closed form %.15g (relative error %.2g > %g)",
						name, got, mean(losses), e, closedFormTol)
				}
				cltBound(t, name, got, exact, stratifiedSE(losses, gaussDraws, gaussB))
			}
		}
	}
}

// MDSM in expectation over the noise. Row r has its own σ_r (linear across
// the whole batch), and with C = I/σ₀² − P the residual divided by σ_r is
// a_r + Cn, a_r = −Pz/σ_r, so the per-row loss c‖a_r + Cn‖² has
//
//	mean     c(‖Pz‖²/σ_r² + ‖C‖_F²)
//	variance c²(4‖Ca_r‖² + 2‖C²‖_F²)
//
// (Gaussian quadratic form: the linear and quadratic parts are uncorrelated,
// Var(nᵀAn) = 2‖A‖_F² for symmetric A). The rows are independent but not
// identically distributed, so the SE is √(Σ_r var_r)/N from the exact
// variances.
func TestGaussianMDSMExpectation(t *testing.T) {
	const c, s0 = sm.MDSMCoefficient, sm.MDSMSigma0
	for d := 3; d <= 5; d++ {
		r := newRand(uint64(30 + d))
		g := newGaussian(r, d)
		x := tensor.RandN(f64, r, gaussB, d)
		xs := make([]*tensor.Tensor, gaussDraws)
		for i := range xs {
			xs[i] = x
		}
		xRep := tensor.ConcatRows(xs...)
		nRows := gaussDraws * gaussB
		noise := tensor.RandN(f64, r, nRows, d)
		noiseRows := rows(noise)
		got := sm.MDSM(g, xRep, &sm.Options{Noise: noise}).Item()

		cm := make([][]float64, d) // C = I/σ₀² − P
		for i := range d {
			cm[i] = make([]float64, d)
			for j := range d {
				cm[i][j] = -g.pF[i][j]
				if i == j {
					cm[i][j] += 1 / (s0 * s0)
				}
			}
		}
		mulC := func(v []float64) []float64 {
			out := make([]float64, d)
			for i := range d {
				out[i] = dotF(cm[i], v)
			}
			return out
		}
		var frobC, frobC2 float64
		for i := range d {
			for j := range d {
				frobC += cm[i][j] * cm[i][j]
				var c2 float64 // (C²)_ij
				for k := range d {
					c2 += cm[i][k] * cm[k][j]
				}
				frobC2 += c2 * c2
			}
		}
		sig := mdsmSigmas(nRows)
		losses := make([]float64, nRows)
		var exact, variance float64
		for i := range nRows {
			pz := g.pz(x, i%gaussB)
			a := make([]float64, d)
			for j := range d {
				a[j] = -pz[j] / sig[i]
			}
			cn := mulC(noiseRows[i])
			var ss float64
			for j := range d {
				ss += (a[j] + cn[j]) * (a[j] + cn[j])
			}
			losses[i] = c * ss
			exact += c * (dotF(a, a) + frobC)
			ca := mulC(a)
			variance += c * c * (4*dotF(ca, ca) + 2*frobC2)
		}
		exact /= float64(nRows)
		name := fmt.Sprintf("MDSM/d=%d", d)
		if e := relErr(got, mean(losses)); e > closedFormTol {
			t.Errorf("%s: library %.15g, per-draw closed form %.15g (relative error %.2g > %g)",
				name, got, mean(losses), e, closedFormTol)
		}
		cltBound(t, name, got, exact, math.Sqrt(variance)/float64(nRows))
	}
}
