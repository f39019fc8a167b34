package tensor

import (
	"math/rand/v2"
	"testing"
)

// TestNormFillIsNormFloat64: RandN's inline ziggurat gives math/rand/v2's
// NormFloat64 draws bit for bit, in order, over enough draws (2²¹) to take
// the slow paths (the wedges and the tail beyond 3.44, about 1% of draws)
// thousands of times, and leaves the generator in the same state.
func TestNormFillIsNormFloat64(t *testing.T) {
	const n = 1 << 21
	a, b := rand.New(rand.NewPCG(7, 11)), rand.New(rand.NewPCG(7, 11))
	got := make([]float64, n)
	normFill(got, a)
	tail := 0
	for i, g := range got {
		w := b.NormFloat64()
		if g != w {
			t.Fatalf("draw %d: %v, NormFloat64 gives %v", i, g, w)
		}
		if g > normRn || g < -normRn {
			tail++
		}
	}
	if tail == 0 {
		t.Fatal("no draw in the tail: the slow path was not exercised")
	}
	if a.Uint64() != b.Uint64() {
		t.Fatal("the generators diverged")
	}
	f := make([]float32, 1000)
	normFill(f, rand.New(rand.NewPCG(3, 4)))
	c := rand.New(rand.NewPCG(3, 4))
	for i, v := range f {
		if w := float32(c.NormFloat64()); v != w {
			t.Fatalf("float32 draw %d: %v, want %v", i, v, w)
		}
	}
}

func BenchmarkRandN(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	b.ReportAllocs()
	for range b.N {
		RandN(Float32, r, 128, 784).recycle()
	}
}
