package quality

import (
	"fmt"
	"math"

	"github.com/fdsm/fdsm/data"
)

// Gaussian is a mean and covariance fitted to d-dimensional points.
type Gaussian struct {
	Mean []float64 // [d]
	Cov  []float64 // [d, d], row-major, symmetric
}

// Dim is the dimension d.
func (g Gaussian) Dim() int { return len(g.Mean) }

// FitGaussian returns the mean and the unbiased covariance (divided by
// n − 1, as numpy.cov and dfaroughy/FID-MNIST do) of the n rows of x, each
// of d values. It panics unless n ≥ 2 and len(x) = n·d.
func FitGaussian(x []float64, n, d int) Gaussian {
	if n < 2 || d < 1 || len(x) != n*d {
		panic(fmt.Sprintf("quality: FitGaussian of %d values as %d rows of %d (want at least 2 rows)", len(x), n, d))
	}
	mu := make([]float64, d)
	for i := range n {
		for j, v := range x[i*d : (i+1)*d] {
			mu[j] += v
		}
	}
	for j := range mu {
		mu[j] /= float64(n)
	}
	cov := make([]float64, d*d)
	c := make([]float64, d)
	for i := range n {
		for j, v := range x[i*d : (i+1)*d] {
			c[j] = v - mu[j]
		}
		for a := range d {
			row := cov[a*d:]
			for b := a; b < d; b++ {
				row[b] += c[a] * c[b]
			}
		}
	}
	for a := range d {
		for b := a; b < d; b++ {
			cov[a*d+b] /= float64(n - 1)
			cov[b*d+a] = cov[a*d+b]
		}
	}
	return Gaussian{Mean: mu, Cov: cov}
}

// FrechetDistance returns the squared Fréchet (2-Wasserstein) distance
// between the Gaussians a and b,
//
//	|μa − μb|² + tr Σa + tr Σb − 2 tr (Σa Σb)^½,
//
// with tr (Σa Σb)^½ = Σ √λᵢ(Σa^½ Σb Σa^½): the product is similar to the
// symmetric positive semi-definite Σa^½ Σb Σa^½, so its square root's
// eigenvalues are the square roots of that matrix's. Eigenvalues that
// rounding made slightly negative count as 0. It panics if the dimensions
// differ.
func FrechetDistance(a, b Gaussian) float64 {
	d := a.Dim()
	if b.Dim() != d || len(a.Cov) != d*d || len(b.Cov) != d*d {
		panic(fmt.Sprintf("quality: FrechetDistance of Gaussians in %d and %d dimensions", d, b.Dim()))
	}
	var dist float64
	for j := range d {
		dist += (a.Mean[j]-b.Mean[j])*(a.Mean[j]-b.Mean[j]) + a.Cov[j*d+j] + b.Cov[j*d+j]
	}
	ra := symSqrt(a.Cov, d)
	m := mulMat(mulMat(ra, b.Cov, d), ra, d)
	for i := range d { // symmetrise what rounding left uneven: SymEigen reads one triangle
		for j := i + 1; j < d; j++ {
			s := (m[i*d+j] + m[j*d+i]) / 2
			m[i*d+j], m[j*d+i] = s, s
		}
	}
	vals, _ := data.SymEigen(m, d)
	for _, v := range vals {
		dist -= 2 * math.Sqrt(max(v, 0))
	}
	return dist
}

// symSqrt returns the symmetric square root V diag(√λ) Vᵀ of the symmetric
// positive semi-definite d×d matrix s, negative rounding eigenvalues as 0.
func symSqrt(s []float64, d int) []float64 {
	vals, vecs := data.SymEigen(s, d)
	r := make([]float64, d*d)
	for k, v := range vals {
		sv := math.Sqrt(max(v, 0))
		for i := range d {
			f := sv * vecs[i*d+k]
			for j := range d {
				r[i*d+j] += f * vecs[j*d+k]
			}
		}
	}
	return r
}

// mulMat returns the product of the d×d row-major matrices a and b.
func mulMat(a, b []float64, d int) []float64 {
	c := make([]float64, d*d)
	for i := range d {
		for k := range d {
			f := a[i*d+k]
			for j := range d {
				c[i*d+j] += f * b[k*d+j]
			}
		}
	}
	return c
}
