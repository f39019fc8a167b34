package quality

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/tensor"
)

// testImages returns the first 500 MNIST test images and labels, kept in
// testdata so that the tests need no download.
func testImages(t *testing.T) (*tensor.Tensor, []uint8) {
	t.Helper()
	x, _, _, err := data.LoadIDXImages(filepath.Join("testdata", "t10k-images-first500-idx3-ubyte.gz"), tensor.Float32)
	if err != nil {
		t.Fatal(err)
	}
	y, err := data.LoadIDXLabels(filepath.Join("testdata", "t10k-labels-first500-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	return x, y
}

func classifier(t *testing.T) *Classifier {
	t.Helper()
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAccuracy: the shipped LeNet classifies the 500 test images with at
// least 98% accuracy. Its accuracy on all 10 000 is in the file's metadata
// (0.9915; ≥ 0.99 is the bar of issue 19, checked here); on 500 images the binomial standard
// error at 99% is √(0.99·0.01/500) ≈ 0.45%, so 98% is two errors' worth
// below; an untrained or mis-loaded network scores about 10%.
func TestAccuracy(t *testing.T) {
	x, y := testImages(t)
	o := classifier(t).Net.Run(x)
	correct := 0
	for i := range o.N {
		if k, _ := o.Predicted(i); k == int(y[i]) {
			correct++
		}
	}
	if acc := float64(correct) / float64(o.N); acc < 0.98 {
		t.Errorf("accuracy on %d test images = %.4f, want ≥ 0.98", o.N, acc)
	}
	_, md, err := tensor.DecodeSafetensors(lenetFile)
	if err != nil {
		t.Fatal(err)
	}
	if acc, err := strconv.ParseFloat(md["test_accuracy"], 64); err != nil || acc < 0.99 {
		t.Errorf("embedded metadata test_accuracy = %q (%v)", md["test_accuracy"], err)
	}
}

// TestSelfDistance: the Fréchet distance of a set's feature Gaussian to
// itself is 0 up to rounding (relative to the total variance, tr Σ, the
// scale of the distance).
func TestSelfDistance(t *testing.T) {
	x, _ := testImages(t)
	o := classifier(t).Net.Run(x)
	g := FitGaussian(o.Features, o.N, FeatureDim)
	var tr float64
	for i := range FeatureDim {
		tr += g.Cov[i*FeatureDim+i]
	}
	// Eigenvalues of Σ^½ΣΣ^½ = Σ² near 0 lose digits in their square roots:
	// an error δ in λ costs √δ, so 1e-6·tr Σ sits far above rounding (1e-13)
	// and far below the distance of any corruption in TestRanking.
	if d := FrechetDistance(g, g); math.Abs(d) > 1e-6*tr {
		t.Errorf("FrechetDistance(g, g) = %g, want |·| ≤ %g", d, 1e-6*tr)
	}
}

// TestRanking: held-out test images score better than every corruption:
// lower FID and no lower confident fraction; uniform noise and shuffled
// pixels are hardly ever confidently classified.
func TestRanking(t *testing.T) {
	x, _ := testImages(t)
	c := classifier(t)
	rng := rand.New(rand.NewPCG(19, 1))
	clean := c.Measure(x)
	t.Logf("test images: %v", clean)
	// The smallest class share of 500 test images is that of MNIST's own
	// label counts (8.9%–11.4% in the full test set), minus sampling noise.
	if clean.ConfidentFrac < 0.9 || clean.MinClassFrac < 0.06 {
		t.Errorf("test images: %v, want confident ≥ 0.9 and every class ≥ 0.06", clean)
	}
	for _, cs := range []struct {
		name string
		x    *tensor.Tensor
		// maxConfident bounds the confident fraction where a corruption
		// destroys the digit: 0.2, far below the test images' 0.97 and
		// above the 0.000 measured at n = 1000 (EXPERIMENTS.md). Noise and
		// shuffled pixels are the kinds of outlier the classifier was taught
		// to be unsure of (TrainConfig.Outliers); blur and additive noise
		// were never shown to it.
		maxConfident float64
	}{
		{"blurred ×2", Blur(x, 2), 1},
		{"noised σ = 0.5", AddNoise(x, 0.5, rng), 1},
		{"shuffled pixels", ShufflePixels(x, rng), 0.2},
		{"uniform noise", UniformNoise(x.Dim(0), rng), 0.2},
	} {
		r := c.Measure(cs.x)
		t.Logf("%s: %v", cs.name, r)
		if !(r.FID > clean.FID) {
			t.Errorf("%s: FID %g, want above the test images' %g", cs.name, r.FID, clean.FID)
		}
		if r.ConfidentFrac > clean.ConfidentFrac || r.ConfidentFrac > cs.maxConfident {
			t.Errorf("%s: confident fraction %g, want ≤ %g and ≤ the test images' %g", cs.name, r.ConfidentFrac, cs.maxConfident, clean.ConfidentFrac)
		}
	}
}

// TestMeasureDeterministic: the same images give the same bits with one
// thread as with several.
func TestMeasureDeterministic(t *testing.T) {
	x, _ := testImages(t)
	c := classifier(t)
	a := c.Measure(x)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if b := c.Measure(x); a != b {
		t.Errorf("GOMAXPROCS 1: %+v, more threads: %+v", b, a)
	}
}

// TestEmbeddedTestStatistics recomputes the test set's feature Gaussian
// from the full MNIST test set, when it has been fetched (`fdsm data mnist`),
// and compares it with the one shipped.
func TestEmbeddedTestStatistics(t *testing.T) {
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Skip("no cache directory")
	}
	x, _, err := data.LoadMNIST(filepath.Join(cache, "fdsm", "mnist"), false, tensor.Float32)
	if err != nil {
		t.Skipf("no MNIST test set: %v", err)
	}
	c := classifier(t)
	o := c.Net.Run(x)
	g := FitGaussian(o.Features, o.N, FeatureDim)
	// The same computation as trainlenet's: equal up to the order of float32
	// rounding in the network, far below the FID of anything.
	if d := FrechetDistance(g, c.Test); math.Abs(d) > 1e-3 {
		t.Errorf("distance between the recomputed and the shipped test statistics = %g", d)
	}
}
