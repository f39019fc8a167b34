package quality

import (
	"math"
	"math/rand/v2"
	"testing"
)

// frechetTol is the tolerance of the closed-form checks: the Jacobi
// eigenvalues are within about ε‖Σ‖ (data.SymEigen), and a square root of an
// eigenvalue near 0 loses half the digits, so 1e-6 leaves a wide margin
// above rounding while any formula error shows at order 1.
const frechetTol = 1e-6

func diag(v ...float64) []float64 {
	d := len(v)
	m := make([]float64, d*d)
	for i, x := range v {
		m[i*d+i] = x
	}
	return m
}

// TestFrechetDiagonal: for diagonal covariances the distance is
// |μa − μb|² + Σ (√sa_i − √sb_i)² (the Gaussians factor into independent
// coordinates).
func TestFrechetDiagonal(t *testing.T) {
	sa := []float64{1, 4, 0.25, 9, 0}
	sb := []float64{4, 1, 1, 9, 2}
	ma := []float64{0, 1, 2, 3, 4}
	mb := []float64{1, 1, 0, 3, 4}
	var want float64
	for i := range sa {
		want += (ma[i]-mb[i])*(ma[i]-mb[i]) + (math.Sqrt(sa[i])-math.Sqrt(sb[i]))*(math.Sqrt(sa[i])-math.Sqrt(sb[i]))
	}
	got := FrechetDistance(Gaussian{ma, diag(sa...)}, Gaussian{mb, diag(sb...)})
	if math.Abs(got-want) > frechetTol {
		t.Errorf("FrechetDistance = %.10g, want %.10g", got, want)
	}
	if got := FrechetDistance(Gaussian{ma, diag(sa...)}, Gaussian{ma, diag(sa...)}); math.Abs(got) > frechetTol {
		t.Errorf("distance of a Gaussian to itself = %g, want 0", got)
	}
}

// TestFrechetRotated: Σb = R diag(t) Rᵀ does not commute with Σa = diag(s),
// so the square root cannot be taken entry by entry. For 2×2 matrices
// tr √M = √(tr M + 2√det M) (the eigenvalues' square roots summed:
// (√λ₁ + √λ₂)² = λ₁ + λ₂ + 2√(λ₁λ₂)), and M = ΣaΣb has real non-negative
// eigenvalues, so tr (ΣaΣb)^½ = √(tr(ΣaΣb) + 2√(det Σa det Σb)).
func TestFrechetRotated(t *testing.T) {
	for _, theta := range []float64{0.3, math.Pi / 4, 1.2} {
		c, s := math.Cos(theta), math.Sin(theta)
		t1, t2 := 3.0, 0.5
		// R diag(t1, t2) Rᵀ for R the rotation by theta.
		sb := []float64{c*c*t1 + s*s*t2, c * s * (t1 - t2), c * s * (t1 - t2), s*s*t1 + c*c*t2}
		sa := diag(2, 0.7)
		trProd := sa[0]*sb[0] + sa[3]*sb[3] // tr(ΣaΣb), Σa diagonal
		detA, detB := sa[0]*sa[3], t1*t2
		trSqrt := math.Sqrt(trProd + 2*math.Sqrt(detA*detB))
		ma, mb := []float64{1, -1}, []float64{0.5, 2}
		want := (ma[0]-mb[0])*(ma[0]-mb[0]) + (ma[1]-mb[1])*(ma[1]-mb[1]) + sa[0] + sa[3] + t1 + t2 - 2*trSqrt
		got := FrechetDistance(Gaussian{ma, sa}, Gaussian{mb, sb})
		if math.Abs(got-want) > frechetTol {
			t.Errorf("θ = %g: FrechetDistance = %.10g, want %.10g", theta, got, want)
		}
		// The distance is symmetric although Σa^½ Σb Σa^½ is not Σb^½ Σa Σb^½.
		if back := FrechetDistance(Gaussian{mb, sb}, Gaussian{ma, sa}); math.Abs(back-want) > frechetTol {
			t.Errorf("θ = %g: reversed FrechetDistance = %.10g, want %.10g", theta, back, want)
		}
	}
}

// TestFitGaussian checks the mean and the n − 1 covariance on points whose
// statistics are known by hand, and that a Gaussian fitted to a large sample
// of N(μ, Σ) is near (μ, Σ) in Fréchet distance.
func TestFitGaussian(t *testing.T) {
	// (0,0), (2,0), (0,2), (2,2): mean (1,1), variances 4/3, covariance 0.
	g := FitGaussian([]float64{0, 0, 2, 0, 0, 2, 2, 2}, 4, 2)
	want := Gaussian{[]float64{1, 1}, []float64{4.0 / 3, 0, 0, 4.0 / 3}}
	for i := range want.Cov {
		if math.Abs(g.Cov[i]-want.Cov[i]) > 1e-12 {
			t.Fatalf("FitGaussian cov = %v, want %v", g.Cov, want.Cov)
		}
	}
	for i := range want.Mean {
		if math.Abs(g.Mean[i]-want.Mean[i]) > 1e-12 {
			t.Fatalf("FitGaussian mean = %v, want %v", g.Mean, want.Mean)
		}
	}

	// x = μ + L z with L = [[1, 0], [0.5, 1]]: Σ = L Lᵀ = [[1, 0.5], [0.5, 1.25]].
	rng := rand.New(rand.NewPCG(7, 7))
	const n = 20000
	x := make([]float64, 2*n)
	for i := range n {
		z0, z1 := rng.NormFloat64(), rng.NormFloat64()
		x[2*i], x[2*i+1] = 3+z0, -1+0.5*z0+z1
	}
	truth := Gaussian{[]float64{3, -1}, []float64{1, 0.5, 0.5, 1.25}}
	// Sampling error of the fit: the mean's squared error is tr Σ/n ≈ 1e-4
	// and the covariance's adds a few times that, so 2e-3 is a loose bound.
	if d := FrechetDistance(FitGaussian(x, n, 2), truth); d > 2e-3 || d < -frechetTol {
		t.Errorf("distance of the fit of %d samples to the truth = %g, want in [0, 2e-3]", n, d)
	}
}
