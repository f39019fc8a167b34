package data

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/tensor"
)

// Every generator is a seeded PCG passed explicitly (STYLE.md practice 7).
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0xda7a)) }

func TestNewToy(t *testing.T) {
	want := []string{"8gaussians", "2gaussians", "rings", "moons", "spirals", "checkerboard"}
	if got := strings.Join(ToyNames(), ","); got != strings.Join(want, ",") {
		t.Fatalf("ToyNames() = %s, want %s", got, strings.Join(want, ","))
	}
	for _, name := range want {
		toy, err := NewToy(name)
		if err != nil {
			t.Fatalf("NewToy(%q): %v", name, err)
		}
		x := toy.Sample(tensor.Float64, newRand(1), 500)
		if x.DType() != tensor.Float64 || x.Rank() != 2 || x.Dim(0) != 500 || x.Dim(1) != 2 {
			t.Fatalf("%s: Sample gave %v %v, want float64 [500 2]", name, x.DType(), x.Shape())
		}
		if x.HasNaNOrInf() {
			t.Fatalf("%s: non-finite samples", name)
		}
		// The same seed gives the same points, in either dtype.
		again := toy.Sample(tensor.Float64, newRand(1), 500).ToFloat64()
		y := toy.Sample(tensor.Float32, newRand(1), 500)
		if y.DType() != tensor.Float32 {
			t.Fatalf("%s: Sample(Float32) gave %v", name, y.DType())
		}
		for i, v := range x.ToFloat64() {
			if again[i] != v || float64(float32(v)) != y.At(i) {
				t.Fatalf("%s: element %d: %v, again %v, float32 %v", name, i, v, again[i], y.At(i))
			}
		}
		if other := toy.Sample(tensor.Float64, newRand(2), 500); other.At(0) == x.At(0) {
			t.Errorf("%s: another seed gave the same first point", name)
		}
		if z := toy.Sample(tensor.Float64, newRand(1), 0); z.Dim(0) != 0 || z.Dim(1) != 2 {
			t.Errorf("%s: Sample of 0 points has shape %v", name, z.Shape())
		}
	}
	_, err := NewToy("swissroll")
	const msg = `data: unknown toy distribution "swissroll" (want one of 8gaussians, 2gaussians, rings, moons, spirals, checkerboard)`
	if err == nil || err.Error() != msg {
		t.Errorf("NewToy(swissroll) error %v, want %s", err, msg)
	}
}

func TestSampleNegativePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(r.(string), "data: ") {
			t.Errorf("Sample(-1) panic %v, want a data: message", r)
		}
	}()
	Moons{Noise: 0.1}.Sample(tensor.Float64, newRand(1), -1)
}

// meanCov returns the sample mean and the 2×2 covariance of an [N, 2] tensor.
func meanCov(x *tensor.Tensor) (m [2]float64, c [2][2]float64) {
	xs := x.ToFloat64()
	n := float64(x.Dim(0))
	for i := 0; i < len(xs); i += 2 {
		m[0] += xs[i] / n
		m[1] += xs[i+1] / n
	}
	for i := 0; i < len(xs); i += 2 {
		d := [2]float64{xs[i] - m[0], xs[i+1] - m[1]}
		for a := range 2 {
			for b := range 2 {
				c[a][b] += d[a] * d[b] / n
			}
		}
	}
	return m, c
}

// TestMixtureMoments compares the sample mean and covariance of the Gaussian
// mixtures with their closed forms: mean Σw_kμ_k, covariance σ²I + Σw_kμ_kμ_kᵀ
// − mean·meanᵀ. Tolerance: 5 standard errors of the mean, and 10% of the
// variance (its standard error here is under 3%).
func TestMixtureMoments(t *testing.T) {
	const n = 20000
	for _, g := range []*GaussianMixture{EightGaussians(), TwoGaussians()} {
		var mean [2]float64
		var second [2][2]float64
		for k, mu := range g.Means {
			w := g.weight(k)
			for a := range 2 {
				mean[a] += w * mu[a]
				for b := range 2 {
					second[a][b] += w * mu[a] * mu[b]
				}
			}
		}
		m, c := meanCov(g.Sample(tensor.Float64, newRand(3), n))
		for a := range 2 {
			for b := range 2 {
				want := second[a][b] - mean[a]*mean[b]
				if a == b {
					want += g.Std * g.Std
				}
				if math.Abs(c[a][b]-want) > 0.1*math.Max(math.Abs(want), 1) {
					t.Errorf("%v: covariance[%d][%d] = %.3f, want %.3f", g.Means[0], a, b, c[a][b], want)
				}
			}
			if se := math.Sqrt(c[a][a] / n); math.Abs(m[a]-mean[a]) > 5*se {
				t.Errorf("%v: mean[%d] = %.3f, want %.3f ± %.3f", g.Means[0], a, m[a], mean[a], 5*se)
			}
		}
	}
}

// gridMass integrates exp(log p) over [−lim, lim]² by the midpoint rule on
// an n×n grid.
func gridMass(d Density, lim float64, n int) float64 {
	h := 2 * lim / float64(n)
	pts := make([]float64, 0, 2*n*n)
	for a := range n {
		for b := range n {
			pts = append(pts, -lim+(float64(a)+0.5)*h, -lim+(float64(b)+0.5)*h)
		}
	}
	var s float64
	for _, lp := range d.LogDensity(tensor.FromFloat64(tensor.Float64, pts, n*n, 2)) {
		s += math.Exp(lp)
	}
	return s * h * h
}

// TestDensityIntegratesToOne: the midpoint rule is exact for the
// checkerboard on a grid aligned with its squares, and for the smooth
// densities its error is far below the tolerance (the Gaussians have
// decayed to e^{−100} at the box's edge; the rings' σ = 0.08 is 4 grid steps).
func TestDensityIntegratesToOne(t *testing.T) {
	for _, c := range []struct {
		name string
		d    Density
		lim  float64
		n    int
		tol  float64
	}{
		{"8gaussians", EightGaussians(), 8, 400, 1e-9},
		{"2gaussians", TwoGaussians(), 20, 400, 1e-9},
		{"rings", NewRings(), 4, 400, 1e-6},
		{"checkerboard", Checkerboard{}, 5, 100, 1e-12},
	} {
		if got := gridMass(c.d, c.lim, c.n); math.Abs(got-1) > c.tol {
			t.Errorf("%s: density integrates to %.12f, want 1 ± %g", c.name, got, c.tol)
		}
	}
}

// TestDensitySupportsSamples: every sample of the checkerboard lies on a
// black square, each of the 8 squares gets its share (within 5 binomial
// standard deviations), and the mixtures' samples have finite log-density.
func TestDensitySupportsSamples(t *testing.T) {
	const n = 8000
	x := Checkerboard{}.Sample(tensor.Float64, newRand(4), n)
	counts := map[[2]int]int{}
	for i, lp := range (Checkerboard{}).LogDensity(x) {
		if lp != -math.Log(32) {
			t.Fatalf("checkerboard sample %d (%v, %v) has log-density %v", i, x.At(2*i), x.At(2*i+1), lp)
		}
		counts[[2]int{int(math.Floor(x.At(2*i) / 2)), int(math.Floor(x.At(2*i+1) / 2))}]++
	}
	sd := math.Sqrt(n * (1.0 / 8) * (7.0 / 8))
	if len(counts) != 8 {
		t.Errorf("checkerboard samples fill %d squares, want 8", len(counts))
	}
	for sq, c := range counts {
		if math.Abs(float64(c)-n/8) > 5*sd {
			t.Errorf("checkerboard square %v has %d samples, want %d ± %.0f", sq, c, n/8, 5*sd)
		}
	}
	for _, d := range []Density{EightGaussians(), TwoGaussians(), NewRings()} {
		for i, lp := range d.LogDensity(d.Sample(tensor.Float64, newRand(5), 1000)) {
			if math.IsInf(lp, 0) || math.IsNaN(lp) {
				t.Fatalf("%T: sample %d has log-density %v", d, i, lp)
			}
		}
	}
	// Outside the board, and on white squares, the density is zero.
	out := (Checkerboard{}).LogDensity(tensor.FromFloat64(tensor.Float64, []float64{4, 0, -4.5, 0, 1, -1, 0, 0}, 4, 2))
	want := []float64{math.Inf(-1), math.Inf(-1), math.Inf(-1), -math.Log(32)}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("checkerboard log-density of point %d = %v, want %v", i, out[i], want[i])
		}
	}
}

// TestRingsDensity checks the closed form against a direct average of the
// Gaussian over the circle (midpoint rule in the angle, exact to rounding for
// a periodic analytic integrand with 4096 nodes).
func TestRingsDensity(t *testing.T) {
	g := NewRings()
	pts := []float64{0, 0, 0.75, 0, 1, 1, -2.2, 0.4, 3.05, -0.2, 0.1, 1.1}
	got := g.LogDensity(tensor.FromFloat64(tensor.Float64, pts, len(pts)/2, 2))
	v := g.Noise * g.Noise
	for i := range got {
		x, y := pts[2*i], pts[2*i+1]
		var p float64
		const m = 4096
		for _, rad := range g.Radii {
			for k := range m {
				a := 2 * math.Pi * (float64(k) + 0.5) / m
				dx, dy := x-rad*math.Cos(a), y-rad*math.Sin(a)
				p += math.Exp(-(dx*dx+dy*dy)/(2*v)) / (2 * math.Pi * v) / m
			}
		}
		want := math.Log(p / float64(len(g.Radii)))
		if p == 0 {
			continue // beyond float64 range: only the closed form can say
		}
		if math.Abs(got[i]-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("rings log-density at (%v, %v) = %.12g, want %.12g", x, y, got[i], want)
		}
	}
}

// TestLogI0e compares with I₀(1) = 1.266065877752008 and
// I₀(10) = 2815.716628466254 (as scipy.special.i0 gives them) and checks
// that the two series agree where they meet.
func TestLogI0e(t *testing.T) {
	for _, c := range []struct{ z, i0 float64 }{
		{0, 1},
		{1, 1.266065877752008},
		{10, 2815.716628466254},
	} {
		if got, want := logI0e(c.z), math.Log(c.i0)-c.z; math.Abs(got-want) > 1e-13 {
			t.Errorf("logI0e(%v) = %.15f, want %.15f", c.z, got, want)
		}
	}
	below, above := logI0e(math.Nextafter(30, 0)), logI0e(30)
	if math.Abs(below-above) > 1e-10 {
		t.Errorf("logI0e at 30: series %v, asymptotic %v", below, above)
	}
	// Large z: e^{−z}I₀(z) → 1/√(2πz).
	if got, want := logI0e(1e6), -0.5*math.Log(2*math.Pi*1e6); math.Abs(got-want) > 1e-6 {
		t.Errorf("logI0e(1e6) = %v, want %v", got, want)
	}
}
