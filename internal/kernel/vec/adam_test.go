package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// adamRef is the update in float64 with one rounding at the end, the
// reference the float32 kernels must approach.
func adamRef(p, g, m, v float64, c Adam32) (float64, float64, float64) {
	gi := g + float64(c.L2)*p
	mi := float64(c.B1)*m + float64(c.OB1)*gi
	vi := float64(c.B2)*v + float64(c.OB2)*gi*gi
	return p*float64(c.Shrink) - float64(c.Step)*mi/(math.Sqrt(vi)*float64(c.Inv)+float64(c.Eps)), mi, vi
}

func testCoef() Adam32 {
	// PyTorch's defaults (β₁ 0.9, β₂ 0.999, ε 1e-8) at step 3, lr 1e-3, with
	// L2 decay 1e-2 and a decoupled shrink, so every term is exercised.
	b1, b2, t := 0.9, 0.999, 3.0
	return Adam32{L2: 1e-2, B1: float32(b1), OB1: float32(1 - b1), B2: float32(b2), OB2: float32(1 - b2),
		Inv: float32(1 / math.Sqrt(1-math.Pow(b2, t))), Eps: 1e-8, Shrink: 1 - 1e-5, Step: float32(1e-3 / (1 - math.Pow(b1, t)))}
}

func fill(rng *rand.Rand, n int) (p, g, m, v []float32) {
	p, g, m, v = make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range n {
		p[i] = float32(rng.NormFloat64())
		g[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(9)-6)))
		m[i] = float32(rng.NormFloat64() * 0.1)
		v[i] = float32(rng.Float64() * 0.01)
	}
	v[0] = 0 // √0: the ε branch
	return
}

// TestAdamKernels runs every kernel on the same table: the assembly (when
// this build has it) must equal the pure-Go twin bit for bit, for lengths
// around the vector width, and both must be within a few float32 ulps of the
// float64 reference.
func TestAdamKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := testCoef()
	for _, n := range []int{1, 7, 8, 9, 17, 64, 129, 1000} {
		p, g, m, v := fill(rng, n)
		p2, g2, m2, v2 := clone(p), clone(g), clone(m), clone(v)
		Adam(p, g, m, v, c)
		adamGo(p2, g2, m2, v2, c)
		for i := range n {
			if math.Float32bits(p[i]) != math.Float32bits(p2[i]) || m[i] != m2[i] || v[i] != v2[i] {
				t.Fatalf("n=%d i=%d (useAVX=%v): Adam gives p,m,v = %v,%v,%v, adamGo %v,%v,%v", n, i, useAVX, p[i], m[i], v[i], p2[i], m2[i], v2[i])
			}
		}
		p3, _, m3, v3 := fill(rand.New(rand.NewPCG(uint64(n), 9)), n)
		p4, g4, _, _ := fill(rand.New(rand.NewPCG(uint64(n), 9)), n)
		m4, v4 := clone(m3), clone(v3)
		_ = p4
		for i := range n {
			wp, wm, wv := adamRef(float64(p3[i]), float64(g4[i]), float64(m4[i]), float64(v4[i]), c)
			q, gq, mq, vq := []float32{p3[i]}, []float32{g4[i]}, []float32{m3[i]}, []float32{v3[i]}
			Adam(q, gq, mq, vq, c)
			// Relative 1e-5 ≈ 2^-16.6: a handful of float32 roundings (each
			// ≤ 2^-24) through the division and √, with room to spare.
			if !near(float64(q[0]), wp, 1e-5) || !near(float64(mq[0]), wm, 1e-5) || !near(float64(vq[0]), wv, 1e-5) {
				t.Fatalf("n=%d i=%d: got %v,%v,%v want %v,%v,%v", n, i, q[0], mq[0], vq[0], wp, wm, wv)
			}
		}
	}
}

func near(a, b, rel float64) bool { return math.Abs(a-b) <= rel*math.Max(math.Abs(b), 1e-30) }

func clone(x []float32) []float32 { return append([]float32(nil), x...) }

func TestAdamLengthPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Adam with slices of different lengths did not panic")
		}
	}()
	Adam(make([]float32, 8), make([]float32, 7), make([]float32, 8), make([]float32, 8), testCoef())
}

func BenchmarkAdam(b *testing.B) {
	// The parameter count of the 784-512-512-1 MLP.
	const n = 784*512 + 512 + 512*512 + 512 + 512 + 1
	p, g, m, v := fill(rand.New(rand.NewPCG(1, 1)), n)
	c := testCoef()
	b.Run("dispatch", func(b *testing.B) {
		b.SetBytes(16 * n)
		for b.Loop() {
			Adam(p, g, m, v, c)
		}
	})
	b.Run("go", func(b *testing.B) {
		b.SetBytes(16 * n)
		for b.Loop() {
			adamGo(p, g, m, v, c)
		}
	})
}
