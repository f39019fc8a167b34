package quality

import (
	"fmt"
	"math/rand/v2"

	"github.com/fdsm/fdsm/tensor"
)

// Corruptions of MNIST images, the calibration points of the metric: each
// takes images x [N, 784] in [0, 1] and returns new float32 images, x
// unchanged.

// Blur returns each image convolved r times with the 3×3 box filter, with
// the missing neighbours at the border left out of the average.
func Blur(x *tensor.Tensor, r int) *tensor.Tensor {
	n := checkImages("Blur", x)
	src := x.AsType(tensor.Float32).Clone().Float32s()
	dst := make([]float32, len(src))
	for range r {
		for k := range n {
			im, out := src[k*Pixels:(k+1)*Pixels], dst[k*Pixels:(k+1)*Pixels]
			for i := range Side {
				for j := range Side {
					var s float32
					var c int
					for di := -1; di <= 1; di++ {
						for dj := -1; dj <= 1; dj++ {
							if y, x := i+di, j+dj; y >= 0 && y < Side && x >= 0 && x < Side {
								s += im[y*Side+x]
								c++
							}
						}
					}
					out[i*Side+j] = s / float32(c)
				}
			}
		}
		src, dst = dst, src
	}
	return tensor.FromFloat32(src, n, Pixels)
}

// AddNoise returns the images plus Gaussian noise of standard deviation
// sigma, clipped to [0, 1].
func AddNoise(x *tensor.Tensor, sigma float64, rng *rand.Rand) *tensor.Tensor {
	n := checkImages("AddNoise", x)
	v := x.AsType(tensor.Float32).Clone().Float32s()
	for i := range v {
		v[i] = min(max(v[i]+float32(sigma*rng.NormFloat64()), 0), 1)
	}
	return tensor.FromFloat32(v, n, Pixels)
}

// ShufflePixels returns each image with its pixels in a random order of its
// own: the same gray levels, no strokes.
func ShufflePixels(x *tensor.Tensor, rng *rand.Rand) *tensor.Tensor {
	n := checkImages("ShufflePixels", x)
	v := x.AsType(tensor.Float32).Clone().Float32s()
	for k := range n {
		im := v[k*Pixels : (k+1)*Pixels]
		rng.Shuffle(Pixels, func(i, j int) { im[i], im[j] = im[j], im[i] })
	}
	return tensor.FromFloat32(v, n, Pixels)
}

// UniformNoise returns n images of independent uniform pixels on [0, 1].
func UniformNoise(n int, rng *rand.Rand) *tensor.Tensor {
	return tensor.RandU(tensor.Float32, rng, 0, 1, n, Pixels)
}

func checkImages(op string, x *tensor.Tensor) int {
	if x.Rank() != 2 || x.Dim(1) != Pixels {
		panic(fmt.Sprintf("quality: %s of images %v (want [N, %d])", op, x.Shape(), Pixels))
	}
	return x.Dim(0)
}
