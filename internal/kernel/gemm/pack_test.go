package gemm

import (
	"math/rand/v2"
	"testing"
)

// TestPack checks packRows and packCols, with the architecture's packer (if
// any) and with the portable loops, against the definition, on panels of
// every width the kernels use and odd depths, with guards after the panel.
func TestPack(t *testing.T) {
	testPack(t, packer32)
	testPack(t, packer[float32]{})
	testPack(t, packer64)
	testPack(t, packer[float64]{})
}

func testPack[T float32 | float64](t *testing.T, pk packer[T]) {
	rng := rand.New(rand.NewPCG(11, 12))
	const guard = 7
	for _, w := range []int{3, 4, 6, 8, 16, 32} {
		for _, kb := range []int{1, 3, 4, 8, 9, 17, 64} {
			for _, n := range []int{1, w - 1, w} { // rows (or columns) of the source actually present
				if n < 1 {
					continue
				}
				for _, transposed := range []bool{false, true} {
					// packRows reads kb rows of n; packCols reads n rows of kb.
					rows, cols := kb, n
					if transposed {
						rows, cols = n, kb
					}
					ld := cols + rng.IntN(3)
					src := matrix[T](rng, rows, cols, ld, 0)
					src0 := append([]T(nil), src...)
					dst := make([]T, kb*w+guard)
					for i := range dst {
						dst[i] = sentinel[T]()
					}
					if transposed {
						packCols(pk, dst[:kb*w], w, src, ld, n, kb)
					} else {
						packRows(pk, dst[:kb*w], w, src, ld, kb, n)
					}
					for s := range kb {
						for j := range w {
							var want T
							if j < n {
								if transposed {
									want = src[j*ld+s]
								} else {
									want = src[s*ld+j]
								}
							}
							if got := dst[s*w+j]; bits(got) != bits(want) {
								t.Fatalf("w=%d kb=%d n=%d transposed=%v asm=%v: dst[%d,%d] = %v, want %v",
									w, kb, n, transposed, pk.transpose != nil, s, j, got, want)
							}
						}
					}
					for i := kb * w; i < len(dst); i++ {
						if bits(dst[i]) != bits(sentinel[T]()) {
							t.Fatalf("w=%d kb=%d n=%d transposed=%v: wrote past the panel", w, kb, n, transposed)
						}
					}
					for i := range src {
						if bits(src[i]) != bits(src0[i]) {
							t.Fatalf("source modified")
						}
					}
				}
			}
		}
	}
}
