package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/fdsm/fdsm/tensor"
)

// cols2D returns the shape of an [N, d] tensor, panicking on another rank.
func cols2D(what string, x *tensor.Tensor) (n, d int) {
	if x.Rank() != 2 {
		panic(fmt.Sprintf("data: %s needs a table of shape [N d], got %v", what, x.Shape()))
	}
	return x.Dim(0), x.Dim(1)
}

// MedianGaps returns, for each column of x ([N, d]), the median of the gaps
// between its sorted distinct values (the mean of the middle two for an even
// count, as numpy.median), or 0 for a column with fewer than two distinct
// values. It is the quantisation step that Dequantize undoes.
func MedianGaps(x *tensor.Tensor) []float64 {
	n, d := cols2D("MedianGaps", x)
	xs := x.ToFloat64()
	gaps := make([]float64, d)
	col := make([]float64, n)
	for j := range d {
		for i := range n {
			col[i] = xs[i*d+j]
		}
		slices.Sort(col)
		u := slices.Compact(slices.Clone(col))
		if len(u) < 2 {
			continue
		}
		diff := make([]float64, len(u)-1)
		for i := range diff {
			diff[i] = u[i+1] - u[i]
		}
		slices.Sort(diff)
		if m := len(diff); m%2 == 1 {
			gaps[j] = diff[m/2]
		} else {
			gaps[j] = (diff[m/2-1] + diff[m/2]) / 2
		}
	}
	return gaps
}

// Dequantize returns x ([N, d], any dtype) with independent uniform noise on
// (−δ_j, δ_j) added to column j, δ_j = MedianGaps(x)[j]: recorded values are
// rounded to a grid, and a continuous density fitted to grid points could
// grow without bound on them. The interval ±δ_j is that of the DKEF code
// (Wenliang et al., 2019, Datasets.py: (rand·2 − 1)·diff), whose wine
// benchmarks the paper reuses. Noise is drawn row by row; x is not modified.
func Dequantize(x *tensor.Tensor, r *rand.Rand) *tensor.Tensor {
	n, d := cols2D("Dequantize", x)
	gaps := MedianGaps(x)
	xs := x.ToFloat64()
	for i := range n {
		for j := range d {
			xs[i*d+j] += (2*r.Float64() - 1) * gaps[j]
		}
	}
	return tensor.FromFloat64(x.DType(), xs, n, d)
}

// DequantizePixels maps pixels x in [0, 1] (k/255 for k = 0…255, as
// ReadIDXImages returns them) to (k + u)/256 with u ~ U[0, 1): the uniform
// dequantisation of image models (Theis et al., ICLR 2016): for a density p
// on [0, 1)^D, E_u[log p(y)] − D·log 256 is a lower bound on the discrete
// pixels' log-probability (Jensen's inequality over each pixel's cell of
// width 1/256). Noise is drawn in row-major order; x is not modified.
func DequantizePixels(x *tensor.Tensor, r *rand.Rand) *tensor.Tensor {
	xs := x.ToFloat64()
	for i, v := range xs {
		k := math.Round(math.Min(math.Max(v, 0), 1) * 255)
		xs[i] = (k + r.Float64()) / 256
	}
	return tensor.FromFloat64(x.DType(), xs, x.Shape()...)
}

// LogitLambda is the λ of the logit transform for MNIST: the value of
// Papamakarios et al. (MAF, NeurIPS 2017), used with RealNVP's form
// logit(λ + (1 − 2λ)x) (Dinh et al., ICLR 2017), which keeps 0 and 1 finite.
const LogitLambda = 1e-6

// Logit returns y = logit(p), p = λ + (1 − 2λ)x, elementwise for x ([N, d],
// values in [0, 1]), and per row the log-determinant of the Jacobian,
//
//	log|det ∂y/∂x| = Σ_j [log(1 − 2λ) − log p_j − log(1 − p_j)],
//
// so that a density q fitted to y gives log p(x) = log q(y) + logDet.
// Computed in float64; y has x's dtype; x is not modified.
func Logit(x *tensor.Tensor, lambda float64) (y *tensor.Tensor, logDet []float64) {
	n, d := cols2D("Logit", x)
	if !(lambda >= 0 && lambda < 0.5) {
		panic(fmt.Sprintf("data: Logit λ = %g, want 0 ≤ λ < ½", lambda))
	}
	xs := x.ToFloat64()
	logDet = make([]float64, n)
	l12 := math.Log1p(-2 * lambda)
	for i := range n {
		var s float64
		for j := range d {
			p := lambda + (1-2*lambda)*xs[i*d+j]
			lp, lq := math.Log(p), math.Log1p(-p)
			xs[i*d+j] = lp - lq
			s += l12 - lp - lq
		}
		logDet[i] = s
	}
	return tensor.FromFloat64(x.DType(), xs, n, d), logDet
}

// InvLogit inverts Logit: x = (σ(y) − λ)/(1 − 2λ), σ the logistic function,
// for turning samples drawn in logit space back into pixels.
func InvLogit(y *tensor.Tensor, lambda float64) *tensor.Tensor {
	ys := y.ToFloat64()
	for i, v := range ys {
		ys[i] = (1/(1+math.Exp(-v)) - lambda) / (1 - 2*lambda)
	}
	return tensor.FromFloat64(y.DType(), ys, y.Shape()...)
}

// PCA is a whitening transform fitted to data: y = (x − Mean)·V·Λ^{−½}, with
// V·Λ·Vᵀ the eigen-decomposition of the data's covariance, so that the
// fitted data has mean 0 and covariance I.
type PCA struct {
	Mean    []float64 // per feature
	Values  []float64 // covariance eigenvalues Λ, decreasing
	Vectors []float64 // d×d row-major V, eigenvector k in column k
}

// FitPCA fits a whitening transform to x ([N, d], N ≥ 2): the mean, and the
// covariance with divisor N (the maximum-likelihood estimate; DKEF's whitening
// by SVD of the centred data times √N is the same transform), decomposed by
// SymEigen. It fails if the covariance is singular to working precision
// (a constant feature, or one a linear combination of others), since
// whitening would divide by zero.
func FitPCA(x *tensor.Tensor) (*PCA, error) {
	n, d := cols2D("FitPCA", x)
	if n < 2 {
		return nil, fmt.Errorf("data: FitPCA needs at least 2 rows, got %d", n)
	}
	x64 := x.AsType(tensor.Float64)
	mean := tensor.Scale(tensor.SumAxis(x64, 0), 1/float64(n))
	xc := tensor.Sub(x64, mean)
	cov := tensor.Scale(tensor.MatMul(xc, xc, true, false), 1/float64(n)).ToFloat64()
	vals, vecs := SymEigen(cov, d)
	// Eigenvalues below d·ε·λ_max are indistinguishable from 0 after
	// rounding in the covariance (Golub and Van Loan, §8.1: perturbation of
	// symmetric eigenvalues is bounded by the perturbation's norm).
	if d > 0 && !(vals[d-1] > float64(d)*0x1p-52*vals[0]) {
		return nil, fmt.Errorf("data: FitPCA: the covariance is singular (eigenvalues from %g down to %g): a constant feature, or one that is a linear combination of others?", vals[0], vals[d-1])
	}
	return &PCA{Mean: mean.ToFloat64(), Values: vals, Vectors: vecs}, nil
}

// matrix returns V·Λ^{power} as a d×d tensor of dtype dt, transposed if
// asked.
func (p *PCA) matrix(dt tensor.DType, power float64, transpose bool) *tensor.Tensor {
	d := len(p.Mean)
	w := make([]float64, d*d)
	for i := range d {
		for k := range d {
			v := p.Vectors[i*d+k] * math.Pow(p.Values[k], power)
			if transpose {
				w[k*d+i] = v
			} else {
				w[i*d+k] = v
			}
		}
	}
	return tensor.FromFloat64(dt, w, d, d)
}

func (p *PCA) check(what string, x *tensor.Tensor) {
	if _, d := cols2D(what, x); d != len(p.Mean) {
		panic(fmt.Sprintf("data: PCA.%s of shape %v, fitted to %d features", what, x.Shape(), len(p.Mean)))
	}
}

// Whiten returns (x − Mean)·V·Λ^{−½} in x's dtype.
func (p *PCA) Whiten(x *tensor.Tensor) *tensor.Tensor {
	p.check("Whiten", x)
	mean := tensor.FromFloat64(x.DType(), p.Mean)
	return tensor.MatMul(tensor.Sub(x, mean), p.matrix(x.DType(), -0.5, false), false, false)
}

// Unwhiten inverts Whiten: y·Λ^{½}·Vᵀ + Mean, e.g. to map samples back to
// the data's units.
func (p *PCA) Unwhiten(y *tensor.Tensor) *tensor.Tensor {
	p.check("Unwhiten", y)
	mean := tensor.FromFloat64(y.DType(), p.Mean)
	return tensor.Add(tensor.MatMul(y, p.matrix(y.DType(), 0.5, true), false, false), mean)
}

// LogDet returns log|det ∂y/∂x| = −½ Σ_k log λ_k of Whiten: add it to a
// log-density of whitened data to get the log-density in the data's units.
func (p *PCA) LogDet() float64 {
	var s float64
	for _, v := range p.Values {
		s += math.Log(v)
	}
	return -0.5 * s
}

// UCISplitSizes returns the split of n rows used for the UCI benchmarks by
// the paper (after DKEF): test = min(1000, n/10), validation =
// min(1000, (n − test)/10), and the rest for training (integer division).
func UCISplitSizes(n int) (train, val, test int) {
	test = min(1000, n/10)
	val = min(1000, (n-test)/10)
	return n - test - val, val, test
}

// SplitIndices shuffles the row indices 0…n−1 with r and cuts them, in that
// order, into training, validation and test sets of UCISplitSizes(n).
func SplitIndices(n int, r *rand.Rand) (train, val, test []int) {
	if n < 0 {
		panic(fmt.Sprintf("data: SplitIndices of %d rows", n))
	}
	perm := r.Perm(n)
	nt, nv, _ := UCISplitSizes(n)
	return perm[:nt:nt], perm[nt : nt+nv : nt+nv], perm[nt+nv:]
}

// Splits holds a data set prepared for training and evaluation.
type Splits struct {
	Train, Val, Test *tensor.Tensor
	Columns          []string // feature names, before whitening
	// PCA is the whitening fitted to the (dequantised) training rows; its
	// LogDet converts whitened log-densities back to the data's units.
	PCA *PCA
}

// PrepareUCI applies the paper's UCI preprocessing to a table: dequantise
// every column (Dequantize, over all rows), split with SplitIndices, fit a
// PCA on the training rows and whiten all three sets with it, and convert
// them to dtype dt. Randomness is drawn from r in that order (noise, then
// the shuffle), so a seed fixes the result.
func PrepareUCI(t *Table, r *rand.Rand, dt tensor.DType) (*Splits, error) {
	x := Dequantize(t.Data.AsType(tensor.Float64), r)
	trainIdx, valIdx, testIdx := SplitIndices(x.Dim(0), r)
	train := tensor.GatherRows(x, trainIdx)
	pca, err := FitPCA(train)
	if err != nil {
		return nil, err
	}
	s := &Splits{Columns: slices.Clone(t.Columns), PCA: pca}
	s.Train = pca.Whiten(train).AsType(dt)
	s.Val = pca.Whiten(tensor.GatherRows(x, valIdx)).AsType(dt)
	s.Test = pca.Whiten(tensor.GatherRows(x, testIdx)).AsType(dt)
	return s, nil
}

// LoadUCI reads one of the UCI wine tables (winequality-red.csv or
// winequality-white.csv), drops its "quality" column (the paper models the
// 11 physico-chemical features), and prepares it with PrepareUCI.
func LoadUCI(path string, r *rand.Rand, dt tensor.DType) (*Splits, error) {
	t, err := LoadCSV(path, &CSVOptions{Drop: []string{"quality"}})
	if err != nil {
		return nil, err
	}
	s, err := PrepareUCI(t, r, dt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// PadImages zero-pads each row of x, an h×w single-channel image stored row
// by row ([N, h·w]), by p pixels on every side: [N, (h+2p)·(w+2p)]. MNIST
// padded by 2 gives the 32×32 input of the paper's convolutional energy.
func PadImages(x *tensor.Tensor, h, w, p int) *tensor.Tensor {
	n, d := cols2D("PadImages", x)
	if d != h*w || p < 0 {
		panic(fmt.Sprintf("data: PadImages of shape %v as %d×%d images with padding %d", x.Shape(), h, w, p))
	}
	src := x.ToFloat64()
	H, W := h+2*p, w+2*p
	dst := make([]float64, n*H*W)
	for i := range n {
		for r := range h {
			copy(dst[i*H*W+(r+p)*W+p:][:w], src[i*d+r*w:][:w])
		}
	}
	return tensor.FromFloat64(x.DType(), dst, n, H*W)
}
