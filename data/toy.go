package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/fdsm/fdsm/internal/numeric"
	"github.com/fdsm/fdsm/tensor"
)

// Toy is a distribution on the plane.
type Toy interface {
	// Sample draws n independent points as an [n, 2] tensor of dtype dt.
	// The same generator state gives the same points for either dtype (up
	// to rounding to float32).
	Sample(dt tensor.DType, r *rand.Rand, n int) *tensor.Tensor
}

// Density is a Toy whose log-density is known in closed form.
type Density interface {
	Toy
	// LogDensity returns log p(x) for each row of x ([N, 2]), computed in
	// float64; −Inf where p is zero.
	LogDensity(x *tensor.Tensor) []float64
}

var toys = []struct {
	name string
	make func() Toy
}{
	{"8gaussians", func() Toy { return EightGaussians() }},
	{"2gaussians", func() Toy { return TwoGaussians() }},
	{"rings", func() Toy { return NewRings() }},
	{"moons", func() Toy { return Moons{Noise: 0.1} }},
	{"spirals", func() Toy { return Spirals{Noise: 0.1} }},
	{"checkerboard", func() Toy { return Checkerboard{} }},
}

// ToyNames returns the names NewToy accepts.
func ToyNames() []string {
	names := make([]string, len(toys))
	for i, t := range toys {
		names[i] = t.name
	}
	return names
}

// NewToy returns the toy distribution of the given name, with the default
// parameters of its constructor.
func NewToy(name string) (Toy, error) {
	for _, t := range toys {
		if t.name == name {
			return t.make(), nil
		}
	}
	return nil, fmt.Errorf("data: unknown toy distribution %q (want one of %s)", name, strings.Join(ToyNames(), ", "))
}

// sample2D draws n points with draw and packs them into an [n, 2] tensor.
func sample2D(what string, dt tensor.DType, n int, draw func() (x, y float64)) *tensor.Tensor {
	if n < 0 {
		panic(fmt.Sprintf("data: %s.Sample of %d points", what, n))
	}
	buf := make([]float64, 2*n)
	for i := range n {
		buf[2*i], buf[2*i+1] = draw()
	}
	return tensor.FromFloat64(dt, buf, n, 2)
}

// rows2D returns the rows of an [N, 2] tensor, panicking on another shape.
func rows2D(what string, x *tensor.Tensor) []float64 {
	if x.Rank() != 2 || x.Dim(1) != 2 {
		panic(fmt.Sprintf("data: %s.LogDensity needs points of shape [N 2], got %v", what, x.Shape()))
	}
	return x.ToFloat64()
}

// GaussianMixture is a mixture of isotropic Gaussians with a common standard
// deviation.
type GaussianMixture struct {
	Means   [][2]float64 // component means μ_k
	Std     float64      // every component's standard deviation σ, per coordinate
	Weights []float64    // mixing weights w_k, summing to 1; nil means equal weights
}

// EightGaussians returns FFJORD's "8gaussians": eight equally weighted
// Gaussians with means on the circle of radius 2√2 at angles kπ/4 and
// standard deviation √2/4 (FFJORD places them at radius 4 with σ = 0.5 and
// divides by 1.414).
func EightGaussians() *GaussianMixture {
	g := &GaussianMixture{Std: math.Sqrt2 / 4}
	for k := range 8 {
		a := float64(k) * math.Pi / 4
		g.Means = append(g.Means, [2]float64{2 * math.Sqrt2 * math.Cos(a), 2 * math.Sqrt2 * math.Sin(a)})
	}
	return g
}

// TwoGaussians returns the two-mode mixture of Song and Ermon (NeurIPS 2019,
// §3.2): ⅕N((−5, −5), I) + ⅘N((5, 5), I). Its modes are far apart and
// unequally weighted, the case where score matching, which sees only ∇log p,
// struggles to learn the weights.
func TwoGaussians() *GaussianMixture {
	return &GaussianMixture{
		Means:   [][2]float64{{-5, -5}, {5, 5}},
		Std:     1,
		Weights: []float64{0.2, 0.8},
	}
}

func (g *GaussianMixture) weight(k int) float64 {
	if g.Weights == nil {
		return 1 / float64(len(g.Means))
	}
	return g.Weights[k]
}

// component draws a component index with probability Weights[k].
func (g *GaussianMixture) component(r *rand.Rand) int {
	if g.Weights == nil {
		return r.IntN(len(g.Means))
	}
	u := r.Float64()
	for k, w := range g.Weights {
		if u < w {
			return k
		}
		u -= w
	}
	return len(g.Weights) - 1 // rounding: the weights summed to just under 1
}

func (g *GaussianMixture) check() {
	if len(g.Means) == 0 || (g.Weights != nil && len(g.Weights) != len(g.Means)) || !(g.Std > 0) {
		panic(fmt.Sprintf("data: GaussianMixture with %d means, %d weights, std %g", len(g.Means), len(g.Weights), g.Std))
	}
}

// Sample implements Toy: per point, a component, then its two coordinates.
func (g *GaussianMixture) Sample(dt tensor.DType, r *rand.Rand, n int) *tensor.Tensor {
	g.check()
	return sample2D("GaussianMixture", dt, n, func() (float64, float64) {
		m := g.Means[g.component(r)]
		return m[0] + g.Std*r.NormFloat64(), m[1] + g.Std*r.NormFloat64()
	})
}

// LogDensity implements Density.
func (g *GaussianMixture) LogDensity(x *tensor.Tensor) []float64 {
	g.check()
	xs := rows2D("GaussianMixture", x)
	out := make([]float64, len(xs)/2)
	terms := make([]float64, len(g.Means))
	v := g.Std * g.Std
	for i := range out {
		for k, m := range g.Means {
			dx, dy := xs[2*i]-m[0], xs[2*i+1]-m[1]
			terms[k] = math.Log(g.weight(k)) - (dx*dx+dy*dy)/(2*v)
		}
		out[i] = numeric.LogSumExp(terms) - math.Log(2*math.Pi*v)
	}
	return out
}

// Rings is an equally weighted mixture of circles: a point is a uniformly
// chosen radius, a uniform angle, and N(0, Noise²I) noise.
type Rings struct {
	Radii []float64 // the circles' radii R
	Noise float64   // standard deviation σ of the noise, per coordinate
}

// NewRings returns FFJORD's "rings": radii 0.75, 1.5, 2.25 and 3, noise
// 0.08. (FFJORD puts n/4 points on each ring at evenly spaced angles; here
// ring and angle are drawn at random, so points are independent.)
func NewRings() Rings {
	return Rings{Radii: []float64{0.75, 1.5, 2.25, 3}, Noise: 0.08}
}

// Sample implements Toy.
func (g Rings) Sample(dt tensor.DType, r *rand.Rand, n int) *tensor.Tensor {
	if len(g.Radii) == 0 || !(g.Noise > 0) {
		panic(fmt.Sprintf("data: Rings with radii %v, noise %g", g.Radii, g.Noise))
	}
	return sample2D("Rings", dt, n, func() (float64, float64) {
		rad := g.Radii[r.IntN(len(g.Radii))]
		a := 2 * math.Pi * r.Float64()
		return rad*math.Cos(a) + g.Noise*r.NormFloat64(), rad*math.Sin(a) + g.Noise*r.NormFloat64()
	})
}

// LogDensity implements Density. Averaging N(x; R(cos φ, sin φ), σ²I) over
// a uniform angle φ gives exp(−(r² + R²)/2σ²)·I₀(rR/σ²)/(2πσ²).
func (g Rings) LogDensity(x *tensor.Tensor) []float64 {
	xs := rows2D("Rings", x)
	out := make([]float64, len(xs)/2)
	terms := make([]float64, len(g.Radii))
	v := g.Noise * g.Noise
	lw := -math.Log(float64(len(g.Radii)))
	for i := range out {
		r := math.Hypot(xs[2*i], xs[2*i+1])
		for k, rad := range g.Radii {
			// −(r² + R²)/2σ² + log I₀(z) = −(r − R)²/2σ² + log(e^{−z} I₀(z)), z = rR/σ²,
			// which stays finite where I₀ alone overflows.
			z := r * rad / v
			terms[k] = lw - (r-rad)*(r-rad)/(2*v) + logI0e(z)
		}
		out[i] = numeric.LogSumExp(terms) - math.Log(2*math.Pi*v)
	}
	return out
}

// logI0e returns log(e^{−z} I₀(z)) for z ≥ 0, I₀ the modified Bessel function
// of the first kind: by its power series Σ (z²/4)^k/(k!)² below 30 (positive
// terms, no cancellation) and by the asymptotic series
// e^z/√(2πz) · Σ ((2k−1)!!)²/(k! 8^k z^k) above (Abramowitz and Stegun
// 9.7.1; the first omitted term is below 1e-10 at z = 30).
func logI0e(z float64) float64 {
	if z < 30 {
		q := z * z / 4
		sum, term := 1.0, 1.0
		for k := 1; term > 1e-17*sum; k++ {
			term *= q / float64(k*k)
			sum += term
		}
		return math.Log(sum) - z
	}
	sum, term := 1.0, 1.0
	for k := 1; k <= 7; k++ {
		f := float64(2*k - 1)
		term *= f * f / (float64(k) * 8 * z)
		sum += term
	}
	return math.Log(sum) - 0.5*math.Log(2*math.Pi*z)
}

// Moons is FFJORD's "moons": scikit-learn's two interleaving half circles
// (make_moons) with N(0, Noise²I) noise, scaled by 2 and shifted by
// (−1, −0.2).
type Moons struct {
	Noise float64
}

// Sample implements Toy: per point, a moon, an angle t uniform on [0, π), the
// noise.
func (g Moons) Sample(dt tensor.DType, r *rand.Rand, n int) *tensor.Tensor {
	return sample2D("Moons", dt, n, func() (float64, float64) {
		t := math.Pi * r.Float64()
		x, y := math.Cos(t), math.Sin(t)
		if r.IntN(2) == 1 {
			x, y = 1-x, 0.5-y
		}
		x += g.Noise * r.NormFloat64()
		y += g.Noise * r.NormFloat64()
		return 2*x - 1, 2*y - 0.2
	})
}

// Spirals is FFJORD's "2spirals": two interleaved arms (one the other turned
// by π), the angle a = 3π√u so that points spread evenly along the arm,
// (−a·cos a, a·sin a) plus U[0, ½)² jitter, divided by 3, plus N(0, Noise²I).
type Spirals struct {
	Noise float64
}

// Sample implements Toy.
func (g Spirals) Sample(dt tensor.DType, r *rand.Rand, n int) *tensor.Tensor {
	return sample2D("Spirals", dt, n, func() (float64, float64) {
		// FFJORD: sqrt(u)·540·2π/360, three half turns.
		a := 3 * math.Pi * math.Sqrt(r.Float64())
		x := -a*math.Cos(a) + 0.5*r.Float64()
		y := a*math.Sin(a) + 0.5*r.Float64()
		if r.IntN(2) == 1 {
			x, y = -x, -y
		}
		return x/3 + g.Noise*r.NormFloat64(), y/3 + g.Noise*r.NormFloat64()
	})
}

// Checkerboard is FFJORD's "checkerboard": uniform on the 8 squares of side
// 2 in [−4, 4)² whose integer cell indices ⌊x/2⌋ + ⌊y/2⌋ are even.
type Checkerboard struct{}

// Sample implements Toy.
func (Checkerboard) Sample(dt tensor.DType, r *rand.Rand, n int) *tensor.Tensor {
	return sample2D("Checkerboard", dt, n, func() (float64, float64) {
		// FFJORD draws x₁ ~ U[−2, 2), x₂ in [0, 1) or [−2, −1), shifts x₂ up
		// by one on odd columns, and doubles both.
		x := 4*r.Float64() - 2
		y := r.Float64() - 2*float64(r.IntN(2))
		if int(math.Floor(x))&1 == 1 {
			y++
		}
		return 2 * x, 2 * y
	})
}

// LogDensity implements Density: −log 32 on the black squares (total area
// 8·4), −Inf elsewhere.
func (Checkerboard) LogDensity(x *tensor.Tensor) []float64 {
	xs := rows2D("Checkerboard", x)
	out := make([]float64, len(xs)/2)
	for i := range out {
		out[i] = math.Inf(-1)
		u, v := xs[2*i], xs[2*i+1]
		if u >= -4 && u < 4 && v >= -4 && v < 4 && (int(math.Floor(u/2))+int(math.Floor(v/2)))&1 == 0 {
			out[i] = -math.Log(32)
		}
	}
	return out
}
