// Command calibrate prints the figures of package quality for reference
// sets of MNIST images: held-out test images, training images, and test
// images blurred, noised and with shuffled pixels, and uniform noise, n
// images each (the test statistics themselves are of all 10 000 test
// images, so the test rows measure the sampling error at n):
//
//	nice go run ./internal/quality/calibrate -n 1000
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/quality"
	"github.com/fdsm/fdsm/tensor"
)

func main() {
	home, _ := os.UserHomeDir()
	dir := flag.String("mnist", home+"/.cache/fdsm/mnist", "MNIST directory (`fdsm data mnist` fetches it)")
	n := flag.Int("n", 1000, "images per set")
	seed := flag.Uint64("seed", 1, "seed of the subsets and the corruptions")
	flag.Parse()
	if err := run(*dir, *n, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "calibrate:", err)
		os.Exit(1)
	}
}

// subset returns n rows of x drawn without replacement.
func subset(x *tensor.Tensor, n int, rng *rand.Rand) *tensor.Tensor {
	v := x.Float32s()
	out := make([]float32, 0, n*quality.Pixels)
	for _, i := range rng.Perm(x.Dim(0))[:n] {
		out = append(out, v[i*quality.Pixels:(i+1)*quality.Pixels]...)
	}
	return tensor.FromFloat32(out, n, quality.Pixels)
}

func run(dir string, n int, seed uint64) error {
	xTrain, _, err := data.LoadMNIST(dir, true, tensor.Float32)
	if err != nil {
		return err
	}
	xTest, _, err := data.LoadMNIST(dir, false, tensor.Float32)
	if err != nil {
		return err
	}
	if n < 2 || n > xTest.Dim(0) {
		return fmt.Errorf("-n %d: want 2 to %d", n, xTest.Dim(0))
	}
	c, err := quality.Default()
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 0xca1))
	test := subset(xTest, n, rng)
	sets := []struct {
		name string
		x    *tensor.Tensor
	}{
		{"test images", test},
		{"training images", subset(xTrain, n, rng)},
		{"test, blurred (3×3 box, once)", quality.Blur(test, 1)},
		{"test, blurred (3×3 box, 3 times)", quality.Blur(test, 3)},
		{"test, noised (σ = 0.1, clipped)", quality.AddNoise(test, 0.1, rng)},
		{"test, noised (σ = 0.3, clipped)", quality.AddNoise(test, 0.3, rng)},
		{"test, shuffled pixels", quality.ShufflePixels(test, rng)},
		{"uniform noise", quality.UniformNoise(n, rng)},
	}
	fmt.Printf("| set (n = %d) | FID-MNIST | confident ≥ 0.9 | smallest class share |\n|---|---|---|---|\n", n)
	for _, s := range sets {
		r := c.Measure(s.x)
		fmt.Printf("| %s | %.3g | %.3f | %.3f |\n", s.name, r.FID, r.ConfidentFrac, r.MinClassFrac)
	}
	return nil
}
