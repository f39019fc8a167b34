package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// patchCases cover the convolutions of the ResNet (3×3, padding 1, 32
// channels: the transpose and row-copy paths), one channel (the first
// layer), channel counts that are not a multiple of the transpose block,
// strides 2 and 3, no padding and padding larger than the window's reach,
// a non-square window with unequal padding (the transposed convolution of a
// 3×2 kernel), batch 1 and odd image sizes.
var patchCases = []struct {
	n int
	q Patches
}{
	{2, Patches{H: 8, W: 8, C: 32, KH: 3, KW: 3, Stride: 1, PadH: 1, PadW: 1}},
	{1, Patches{H: 5, W: 7, C: 1, KH: 3, KW: 3, Stride: 1, PadH: 1, PadW: 1}},
	{3, Patches{H: 5, W: 5, C: 3, KH: 3, KW: 3, Stride: 1, PadH: 0, PadW: 0}},
	{2, Patches{H: 7, W: 9, C: 16, KH: 3, KW: 3, Stride: 2, PadH: 1, PadW: 1}},
	{1, Patches{H: 11, W: 10, C: 8, KH: 3, KW: 2, Stride: 1, PadH: 2, PadW: 1}},
	{2, Patches{H: 9, W: 9, C: 12, KH: 2, KW: 2, Stride: 3, PadH: 0, PadW: 2}},
	{1, Patches{H: 3, W: 3, C: 5, KH: 3, KW: 3, Stride: 1, PadH: 2, PadW: 2}},
}

// patchMatrix builds the patch matrix of images x from its definition (see
// Patches).
func patchMatrix[T float32 | float64](q Patches, x []T, n int) []T {
	ho, wo := q.Out()
	k := q.Cols()
	p := make([]T, n*ho*wo*k)
	for b := range n {
		for oh := range ho {
			for ow := range wo {
				row := p[((b*ho+oh)*wo+ow)*k:]
				for kh := range q.KH {
					for kw := range q.KW {
						ih, iw := oh*q.Stride-q.PadH+kh, ow*q.Stride-q.PadW+kw
						if ih < 0 || ih >= q.H || iw < 0 || iw >= q.W {
							continue
						}
						for c := range q.C {
							row[(kh*q.KW+kw)*q.C+c] = x[((b*q.H+ih)*q.W+iw)*q.C+c]
						}
					}
				}
			}
		}
	}
	return p
}

// usePacker makes pk the packer of its element type and returns a function
// that restores the previous one.
func usePacker[T float32 | float64](pk packer[T]) (restore func()) {
	switch pk := any(pk).(type) {
	case packer[float32]:
		old := packer32
		packer32 = pk
		return func() { packer32 = old }
	case packer[float64]:
		old := packer64
		packer64 = pk
		return func() { packer64 = old }
	}
	panic("unreachable")
}

// TestPatches checks PatchesTimes and TimesPatches bit for bit against Gemm
// on the materialised patch matrix (the packed panels must hold the same
// numbers, so the same kernel gives the same bits), for every kernel and
// with the architecture's packing routines and the portable loops (the
// purego build runs the loops alone), with guards around C.
func TestPatches(t *testing.T) {
	testPatches[float32](t)
	testPatches[float64](t)
}

func testPatches[T float32 | float64](t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	packers := []packer[T]{packerFor[T](), {}}
	// Besides the CPU's kernels, tiles of 6 and 8 rows (the AVX2 and AVX-512
	// heights, each with its own gather routine) with a small KC that
	// splits taps across slices.
	kernels := append(availableFor[T](), naiveKernel[T](6, 16, 0, 0, 0), naiveKernel[T](8, 32, 20, 0, 0))
	for _, pc := range patchCases {
		q, n := pc.q, pc.n
		ho, wo := q.Out()
		rows, k := n*ho*wo, q.Cols()
		x := matrix[T](rng, 1, n*q.H*q.W*q.C, n*q.H*q.W*q.C, 0)
		p := patchMatrix(q, x, n)
		for _, cols := range []int{1, 5, 32, 33} {
			for _, beta := range []T{0, 1} {
				// Forward: C [rows × cols] = P · Bᵀ, B [cols × k].
				b := matrix[T](rng, cols, k, k, 0)
				c0 := matrix[T](rng, rows, cols, cols+2, 3)
				// Weight gradient: C [cols × k] = Aᵀ · P, A [rows × cols].
				a := matrix[T](rng, rows, cols, cols, 0)
				d0 := matrix[T](rng, cols, k, k+1, 3)
				for _, kern := range kernels {
					restore := useKernel(kern)
					want := append([]T(nil), c0...)
					Gemm(false, true, rows, cols, k, 1, p, k, b, k, beta, want[:len(want)-3], cols+2)
					wantD := append([]T(nil), d0...)
					Gemm(true, false, cols, k, rows, 1, a, cols, p, k, beta, wantD[:len(wantD)-3], k+1)
					for pi, pk := range packers {
						name := fmt.Sprintf("%T/%+v/n=%d/cols=%d/beta=%v/%s/packer%d", x[0], q, n, cols, beta, kern.name, pi)
						restoreP := usePacker(pk)
						got := append([]T(nil), c0...)
						PatchesTimes(q, x, rows, true, cols, b, k, beta, got[:len(got)-3], cols+2)
						gotD := append([]T(nil), d0...)
						TimesPatches(true, cols, rows, a, cols, q, x, beta, gotD[:len(gotD)-3], k+1)
						restoreP()
						sameBits(t, name+"/PatchesTimes", got, want)
						sameBits(t, name+"/TimesPatches", gotD, wantD)
					}
					restore()
				}
			}
		}
	}
}

// sameBits fails the test unless got and want are equal bit for bit.
func sameBits[T float32 | float64](t *testing.T, name string, got, want []T) {
	t.Helper()
	for i := range want {
		if bits(got[i]) != bits(want[i]) {
			t.Fatalf("%s: element %d = %v, want %v", name, i, got[i], want[i])
		}
	}
}

// TestPatchesPanics checks the argument checks.
func TestPatchesPanics(t *testing.T) {
	q := Patches{H: 4, W: 4, C: 2, KH: 3, KW: 3, Stride: 1, PadH: 1, PadW: 1}
	x := make([]float32, 2*4*4*2)
	c := make([]float32, 32*3)
	b := make([]float32, 3*18)
	for name, f := range map[string]func(){
		"rows not whole images": func() { PatchesTimes(q, x, 31, true, 3, b, 18, 0, c, 3) },
		"too few images":        func() { PatchesTimes(q, x[:40], 32, true, 3, b, 18, 0, c, 3) },
		"bad window":            func() { PatchesTimes(Patches{H: 1, W: 1, C: 1, KH: 3, KW: 3, Stride: 1}, x, 1, true, 3, b, 9, 0, c, 3) },
		"short C":               func() { PatchesTimes(q, x, 32, true, 3, b, 18, 0, c[:90], 3) },
		"short B":               func() { TimesPatches(true, 3, 32, b[:10], 3, q, x, 0, c, 18) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
