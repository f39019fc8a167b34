package quality

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// CrossEntropy is the mean over the rows of logits z [N, K] of
// −log softmax(z)_y = logsumexp(z) − z_y, for labels y. The log-sum-exp is
// shifted by each row's maximum, a constant (its gradient terms cancel:
// ∂/∂m [log Σ e^(z−m) + m] = 0), so that no exponential overflows.
func CrossEntropy(z *ad.Value, labels []uint8) *ad.Value {
	n, k := z.Dim(0), z.Dim(1)
	if z.T().Rank() != 2 || len(labels) != n {
		panic(fmt.Sprintf("quality: CrossEntropy of logits %v with %d labels", z.Shape(), len(labels)))
	}
	zv := z.T().ToFloat64()
	m := make([]float64, n)
	onehot := make([]float64, n*k)
	for i := range n {
		m[i] = math.Inf(-1)
		for _, v := range zv[i*k : (i+1)*k] {
			m[i] = max(m[i], v)
		}
		if int(labels[i]) >= k {
			panic(fmt.Sprintf("quality: CrossEntropy label %d of row %d with %d classes", labels[i], i, k))
		}
		onehot[i*k+int(labels[i])] = 1
	}
	shift := ad.Const(tensor.FromFloat64(z.DType(), m, n, 1))
	lse := ad.Add(ad.Log(ad.SumAxis(ad.Exp(ad.Sub(z, shift)), 1)), ad.Reshape(shift, n))
	picked := ad.SumAxis(ad.Mul(z, ad.Const(tensor.FromFloat64(z.DType(), onehot, n, k))), 1)
	return ad.Mean(ad.Sub(lse, picked))
}

// UniformCrossEntropy is the mean over the rows of logits z [N, K] of the
// cross-entropy from the uniform distribution to softmax(z),
// logsumexp(z) − mean(z): the outlier-exposure loss of Hendrycks, Mazeika
// and Dietterich (ICLR 2019), least when the network is equally unsure of
// every class.
func UniformCrossEntropy(z *ad.Value) *ad.Value {
	n, k := z.Dim(0), z.Dim(1)
	zv := z.T().ToFloat64()
	m := make([]float64, n)
	for i := range n {
		m[i] = math.Inf(-1)
		for _, v := range zv[i*k : (i+1)*k] {
			m[i] = max(m[i], v)
		}
	}
	shift := ad.Const(tensor.FromFloat64(z.DType(), m, n, 1))
	lse := ad.Add(ad.Log(ad.SumAxis(ad.Exp(ad.Sub(z, shift)), 1)), ad.Reshape(shift, n))
	return ad.Mean(ad.Sub(lse, ad.MeanAxis(z, 1)))
}

// TrainConfig sets the classifier's training: Adam over shuffled
// mini-batches, with the learning rate decayed by a cosine over all steps.
type TrainConfig struct {
	Epochs    int
	BatchSize int
	LR        float64 // peak learning rate
	// Outliers is the number of non-digits added to each batch (half
	// uniform noise, half training images with shuffled pixels), whose
	// predictions UniformCrossEntropy pulls towards uniform, with weight
	// OutlierWeight (0.5 in Hendrycks et al.). Without them a classifier
	// calls most noise a digit with confidence ≥ 0.9.
	Outliers      int
	OutlierWeight float64
	Seed          uint64
	Log           io.Writer // progress lines, or nil
}

// Train fits a LeNet to images x [N, 784] in [0, 1] with labels y.
func Train(x *tensor.Tensor, y []uint8, cfg TrainConfig) *LeNet {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x1e5e7))
	m := NewLeNet(rng)
	params := m.Params()
	vals := nn.Values(m)
	opt := nn.NewAdam()
	n := x.Dim(0)
	steps := cfg.Epochs * (n / cfg.BatchSize)
	xs := x.Float32s()
	bx := make([]float32, cfg.BatchSize*Pixels)
	by := make([]uint8, cfg.BatchSize)
	grads := make([]*tensor.Tensor, len(vals))
	start := time.Now()
	step := 0
	for epoch := range cfg.Epochs {
		perm := rng.Perm(n)
		var sum float64
		for b := 0; b+cfg.BatchSize <= n; b += cfg.BatchSize {
			for i, j := range perm[b : b+cfg.BatchSize] {
				copy(bx[i*Pixels:(i+1)*Pixels], xs[j*Pixels:(j+1)*Pixels])
				by[i] = y[j]
			}
			var loss *ad.Value
			if cfg.Outliers > 0 {
				out := outliers(xs, cfg.Outliers, rng)
				_, logits := m.Forward(ad.Const(tensor.FromFloat32(append(bx[:len(bx):len(bx)], out...), cfg.BatchSize+cfg.Outliers, Pixels)))
				loss = ad.Add(CrossEntropy(ad.SliceRows(logits, 0, cfg.BatchSize), by),
					ad.Scale(UniformCrossEntropy(ad.SliceRows(logits, cfg.BatchSize, cfg.BatchSize+cfg.Outliers)), cfg.OutlierWeight))
			} else {
				_, logits := m.Forward(ad.Const(tensor.FromFloat32(bx, cfg.BatchSize, Pixels)))
				loss = CrossEntropy(logits, by)
			}
			sum += loss.Item()
			for i, g := range ad.Grad(loss, vals, ad.ReleaseGraph()) {
				grads[i] = g.T()
			}
			lr := cfg.LR * 0.5 * (1 + math.Cos(math.Pi*float64(step)/float64(steps)))
			opt.Step(params, grads, lr)
			step++
			if cfg.Log != nil && step%200 == 0 {
				fmt.Fprintf(cfg.Log, "step %d of %d: loss %.4f, %.0f s\n", step, steps, loss.Item(), time.Since(start).Seconds())
			}
		}
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, "epoch %d: mean loss %.4f, %d steps, %.0f s\n", epoch+1, sum/float64(n/cfg.BatchSize), step, time.Since(start).Seconds())
		}
	}
	return m
}

// outliers returns n non-digit images: the first half uniform noise, the
// rest random training images (of the rows xs) with their pixels shuffled.
func outliers(xs []float32, n int, rng *rand.Rand) []float32 {
	out := make([]float32, n*Pixels)
	for k := range n {
		im := out[k*Pixels : (k+1)*Pixels]
		if k < n/2 {
			for i := range im {
				im[i] = rng.Float32()
			}
			continue
		}
		j := rng.IntN(len(xs) / Pixels)
		copy(im, xs[j*Pixels:(j+1)*Pixels])
		rng.Shuffle(Pixels, func(a, b int) { im[a], im[b] = im[b], im[a] })
	}
	return out
}
