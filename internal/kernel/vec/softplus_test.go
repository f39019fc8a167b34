package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// spInputs returns σ(z), 1 − σ(z) for standard normal z, steps within the
// Taylor bound 1/16 (autodiff's float32 bound), and gradients.
func spInputs(rng *rand.Rand, n int) (s, e, d, g, gz []float32) {
	s, e, d, g, gz = make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range n {
		z := rng.NormFloat64() * 3
		sg := 1 / (1 + math.Exp(-z))
		s[i], e[i] = float32(sg), float32(1-sg)
		d[i] = float32((rng.Float64()*2 - 1) / 16)
		g[i], gz[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	return
}

func same(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// TestSoftplusKernels: the dispatching kernels (assembly when the build has
// it) equal the pure-Go twins bit for bit at lengths around the vector width,
// and the difference kernel agrees with softplus(z + δ) − softplus(z)
// computed in float64.
func TestSoftplusKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 7, 8, 9, 31, 64, 100} {
		s, e, d, g, gz := spInputs(rng, n)
		d1, d2 := clone(d), clone(d)
		SoftplusDeltaTaylor(d1, s, e)
		spDeltaGo(d2, s, e)
		if i := same(d1, d2); i >= 0 {
			t.Fatalf("n=%d: SoftplusDeltaTaylor[%d] = %v, spDeltaGo %v (useAVX=%v)", n, i, d1[i], d2[i], useAVX)
		}
		for i := range n {
			// The difference in float64 from z recovered from s; relative
			// 1e-5 covers the float32 rounding of s, e and δ (2^-24 each)
			// amplified by the cancellation-free series.
			z := math.Log(float64(s[i])) - math.Log(float64(e[i]))
			sp := func(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }
			want := sp(z+float64(d[i])) - sp(z)
			if math.Abs(float64(d1[i])-want) > 1e-5*math.Abs(want)+1e-12 {
				t.Fatalf("n=%d i=%d: δ %v at z %v: got %v, want %v", n, i, d[i], z, d1[i], want)
			}
		}
		gz1, gz2 := clone(gz), clone(gz)
		gd1, gd2 := make([]float32, n), make([]float32, n)
		SoftplusGradTaylor(gz1, gd1, g, d, s, e)
		spGradGo(gz2, gd2, g, d, s, e)
		if i := same(gz1, gz2); i >= 0 {
			t.Fatalf("n=%d: SoftplusGradTaylor gz[%d] = %v, spGradGo %v", n, i, gz1[i], gz2[i])
		}
		if i := same(gd1, gd2); i >= 0 {
			t.Fatalf("n=%d: SoftplusGradTaylor gd[%d] = %v, spGradGo %v", n, i, gd1[i], gd2[i])
		}
		for i := range n {
			// dy is a difference of softplus outputs, so φ′ at the moved
			// point is σ(z + δ) = 1 − e·exp(−Δy).
			want := float64(g[i]) * (1 - float64(e[i])*math.Exp(-float64(d[i])))
			if math.Abs(float64(gd1[i])-want) > 1e-5*math.Abs(want)+1e-7 {
				t.Fatalf("n=%d i=%d: gd = %v, want g·(1 − e·exp(−Δy)) = %v", n, i, gd1[i], want)
			}
		}
	}
}

func BenchmarkSoftplusKernels(b *testing.B) {
	const n = 128 * 512 // one mnist-mlp hidden layer
	s, e, d, g, gz := spInputs(rand.New(rand.NewPCG(1, 1)), n)
	gd := make([]float32, n)
	w := clone(d)
	b.Run("delta", func(b *testing.B) {
		for b.Loop() {
			copy(w, d)
			SoftplusDeltaTaylor(w, s, e)
		}
	})
	b.Run("delta-go", func(b *testing.B) {
		for b.Loop() {
			copy(w, d)
			spDeltaGo(w, s, e)
		}
	})
	b.Run("grad", func(b *testing.B) {
		for b.Loop() {
			SoftplusGradTaylor(gz, gd, g, d, s, e)
		}
	})
	b.Run("grad-go", func(b *testing.B) {
		for b.Loop() {
			spGradGo(gz, gd, g, d, s, e)
		}
	})
}

// TestAllWithin: the assembly and Go tests agree, at every position of a
// single offending element (outside, NaN, ±Inf) and on the bound itself.
func TestAllWithin(t *testing.T) {
	const bound = 1.0 / 16
	for _, n := range []int{1, 8, 9, 24, 33} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i%5-2) * bound / 2
		}
		x[n/2] = bound // on the bound: within
		if !AllWithin(x, bound) || !allWithinGo(x, bound) {
			t.Fatalf("n=%d: a block within the bound reported outside", n)
		}
		for i := range n {
			for _, bad := range []float32{-bound * 1.0001, bound * 1.0001, float32(math.NaN()), float32(math.Inf(-1))} {
				y := clone(x)
				y[i] = bad
				if AllWithin(y, bound) || allWithinGo(y, bound) {
					t.Fatalf("n=%d: %v at %d reported within", n, bad, i)
				}
			}
		}
	}
}
