package quality

import (
	"bytes"
	_ "embed"
	"fmt"
	"math"
	"strconv"
	"sync"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// ConfidenceLevel is the softmax probability at or above which a sample
// counts as confidently classified.
const ConfidenceLevel = 0.9

// batch is how many images one forward pass takes: it bounds the memory of
// the activations (about 20 KB an image) without costing speed.
const batch = 500

// Classifier is the trained LeNet and the Gaussian of its features on the
// MNIST test set.
type Classifier struct {
	Net  *LeNet
	Test Gaussian // features of the 10 000 test images
}

// Tensor names of the test set's statistics in a weights file.
const (
	keyTestMean = "test.features.mean"
	keyTestCov  = "test.features.cov"
)

//go:embed lenet.safetensors
var lenetFile []byte

var (
	defaultOnce sync.Once
	defaultNet  *Classifier
	defaultErr  error
)

// Default returns the classifier shipped in lenet.safetensors (made by
// `go run ./internal/quality/trainlenet`), decoded once.
func Default() (*Classifier, error) {
	defaultOnce.Do(func() {
		defaultNet, defaultErr = Decode(lenetFile)
		if defaultErr != nil {
			defaultErr = fmt.Errorf("quality: embedded lenet.safetensors: %w", defaultErr)
		}
	})
	return defaultNet, defaultErr
}

// Decode reads a classifier from the bytes of a weights file written by
// Encode.
func Decode(b []byte) (*Classifier, error) {
	ts, _, err := tensor.DecodeSafetensors(b)
	if err != nil {
		return nil, err
	}
	net, err := LeNetFromTensors(ts)
	if err != nil {
		return nil, err
	}
	mu, cov := ts[keyTestMean], ts[keyTestCov]
	if mu == nil || cov == nil {
		return nil, fmt.Errorf("no %q or %q tensor", keyTestMean, keyTestCov)
	}
	if !mu.SameShape(tensor.Zeros(tensor.Float64, FeatureDim)) || !cov.SameShape(tensor.Zeros(tensor.Float64, FeatureDim, FeatureDim)) {
		return nil, fmt.Errorf("test statistics %v and %v, want [%d] and [%d %d]", mu.Shape(), cov.Shape(), FeatureDim, FeatureDim, FeatureDim)
	}
	return &Classifier{Net: net, Test: Gaussian{Mean: mu.ToFloat64(), Cov: cov.ToFloat64()}}, nil
}

// Encode returns the bytes of a weights file holding c, with metadata md
// (say, how it was trained).
func (c *Classifier) Encode(md map[string]string) ([]byte, error) {
	ts := map[string]*tensor.Tensor{
		keyTestMean: tensor.FromFloat64(tensor.Float64, c.Test.Mean, FeatureDim),
		keyTestCov:  tensor.FromFloat64(tensor.Float64, c.Test.Cov, FeatureDim, FeatureDim),
	}
	for _, p := range c.Net.Params() {
		ts[p.Name] = p.Value.T()
	}
	var buf bytes.Buffer
	err := tensor.EncodeSafetensors(&buf, ts, md)
	return buf.Bytes(), err
}

// Outputs holds the classifier's view of a set of images.
type Outputs struct {
	Features []float64 // [N, FeatureDim]
	Probs    []float64 // [N, Classes], softmax probabilities
	N        int
}

// Run applies the network to images x [N, 784] in batches.
func (m *LeNet) Run(x *tensor.Tensor) Outputs {
	n := x.Dim(0)
	xs := x.AsType(tensor.Float32).Float32s()
	o := Outputs{Features: make([]float64, 0, n*FeatureDim), Probs: make([]float64, 0, n*Classes), N: n}
	for lo := 0; lo < n; lo += batch {
		hi := min(n, lo+batch)
		f, z := m.Forward(ad.Const(tensor.FromFloat32(xs[lo*Pixels:hi*Pixels], hi-lo, Pixels)))
		o.Features = append(o.Features, f.T().ToFloat64()...)
		zv := z.T().ToFloat64()
		for i := range hi - lo {
			o.Probs = append(o.Probs, softmax(zv[i*Classes:(i+1)*Classes])...)
		}
	}
	return o
}

// softmax returns exp(z)/Σexp(z), shifted by the maximum against overflow.
func softmax(z []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = max(m, v)
	}
	p := make([]float64, len(z))
	var s float64
	for i, v := range z {
		p[i] = math.Exp(v - m)
		s += p[i]
	}
	for i := range p {
		p[i] /= s
	}
	return p
}

// Predicted returns the most probable class of row i and its probability.
func (o Outputs) Predicted(i int) (class int, prob float64) {
	row := o.Probs[i*Classes : (i+1)*Classes]
	for k, p := range row {
		if p > prob {
			class, prob = k, p
		}
	}
	return class, prob
}

// Report is the quality of a set of samples.
type Report struct {
	FID           float64          `json:"fid"`            // Fréchet distance to the test set's features
	ConfidentFrac float64          `json:"confident_frac"` // share with top probability ≥ ConfidenceLevel
	MinClassFrac  float64          `json:"min_class_frac"` // share of the rarest predicted class
	N             int              `json:"n"`
	ClassFrac     [Classes]float64 `json:"class_frac"` // share of each predicted class
}

// String formats r on one line.
func (r Report) String() string {
	return "FID-MNIST " + strconv.FormatFloat(r.FID, 'g', 4, 64) +
		fmt.Sprintf(", confident (p ≥ %g) %.3f, smallest class share %.3f, n = %d", ConfidenceLevel, r.ConfidentFrac, r.MinClassFrac, r.N)
}

// Measure scores images x [N, 784] in [0, 1] (N ≥ 2, for a covariance).
func (c *Classifier) Measure(x *tensor.Tensor) Report {
	if x.Rank() != 2 || x.Dim(1) != Pixels || x.Dim(0) < 2 {
		panic(fmt.Sprintf("quality: Measure of images %v (want [N, %d] with N ≥ 2)", x.Shape(), Pixels))
	}
	o := c.Net.Run(x)
	r := Report{N: o.N}
	var counts [Classes]int
	for i := range o.N {
		k, p := o.Predicted(i)
		counts[k]++
		if p >= ConfidenceLevel {
			r.ConfidentFrac++
		}
	}
	r.ConfidentFrac /= float64(o.N)
	r.MinClassFrac = 1
	for k, n := range counts {
		r.ClassFrac[k] = float64(n) / float64(o.N)
		r.MinClassFrac = min(r.MinClassFrac, r.ClassFrac[k])
	}
	r.FID = FrechetDistance(FitGaussian(o.Features, o.N, FeatureDim), c.Test)
	return r
}
