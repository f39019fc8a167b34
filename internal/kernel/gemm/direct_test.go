package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// useDirect makes k the active direct kernel and returns a function that
// restores the previous one.
func useDirect(k directKernel) (restore func()) {
	old := direct32
	direct32 = k
	return func() { direct32 = old }
}

// TestDirectKernel checks every direct kernel (the portable one and, where
// the CPU has AVX2, the assembly) on one table of calls against the float64
// sum of its definition, within reference's bound (k+2)·eps·Σ|a·b| for the k
// products of a sum; with add, the tile's previous value is one more term.
// Guards (the sentinel NaN) around and between the tile's rows must survive.
func TestDirectKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, kern := range availableDirect {
		for _, tc := range []struct{ entries, n0, a0, b0, ldc int }{
			{9, 32, 1, 16, 16},   // a 3×3 forward tile over 32 channels
			{1, 1, 1, 16, 20},    // one product
			{3, 7, 5, 17, 33},    // odd strides
			{32, 32, 32, 32, 16}, // a weight-gradient tile: 32 rows of 32 pixels
			{2, 0, 1, 16, 16},    // empty sums
			{0, 5, 1, 16, 16},
		} {
			for _, add := range []bool{false, true} {
				name := fmt.Sprintf("%s/%+v/add=%v", kern.name, tc, add)
				maxA, maxB := 50, 40
				tab := make([]int, 2*tc.entries)
				for e := range tc.entries {
					tab[2*e], tab[2*e+1] = rng.IntN(maxA), rng.IntN(maxB)
				}
				var rows [directMR]int
				for r := range rows {
					rows[r] = rng.IntN(30)
				}
				a := make([]float32, 30+maxA+max(tc.n0-1, 0)*tc.a0)
				b := make([]float32, maxB+max(tc.n0-1, 0)*tc.b0+directNR)
				for i := range a {
					a[i] = float32(2*rng.Float64() - 1)
				}
				for i := range b {
					b[i] = float32(2*rng.Float64() - 1)
				}
				c := matrix[float32](rng, directMR, directNR, tc.ldc, 3)
				c0 := append([]float32(nil), c...)
				kern.fn(a, &rows, newDirectTable(tab), tc.n0, tc.a0, b, tc.b0, c, tc.ldc, add)
				for r := range directMR {
					for j := range directNR {
						var s, abs float64
						for e := range tc.entries {
							for p := range tc.n0 {
								v := float64(a[rows[r]+tab[2*e]+p*tc.a0]) * float64(b[tab[2*e+1]+p*tc.b0+j])
								s += v
								abs += math.Abs(v)
							}
						}
						if add {
							s += float64(c0[r*tc.ldc+j])
							abs += math.Abs(float64(c0[r*tc.ldc+j]))
						}
						got := float64(c[r*tc.ldc+j])
						if tol := float64(tc.entries*tc.n0+2)*eps[float32]()*abs + 1e-30; math.Abs(got-s) > tol {
							t.Fatalf("%s: c[%d][%d] = %g, want %g ± %g", name, r, j, got, s, tol)
						}
					}
				}
				for i := range c {
					if r, j := i/tc.ldc, i%tc.ldc; (r >= directMR || j >= directNR) && bits(c[i]) != bits(c0[i]) {
						t.Fatalf("%s: guard %d overwritten", name, i)
					}
				}
			}
		}
	}
}

// TestDirectConv checks DirectForward and DirectWeightGrad, with every direct
// kernel, against Gemm on the materialised patch matrix (patchMatrix, from the
// definition), within reference's bound, on patchCases and the ResNet's
// strided and single-channel layers.
func TestDirectConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	cases := append(patchCases[:len(patchCases):len(patchCases)],
		struct {
			n int
			q Patches
		}{3, Patches{H: 6, W: 6, C: 7, KH: 1, KW: 1, Stride: 1}})
	for _, kern := range availableDirect {
		restore := useDirect(kern)
		for _, pc := range cases {
			q, n := pc.q, pc.n
			ho, wo := q.Out()
			m, k := n*ho*wo, q.Cols()
			x := matrix[float32](rng, 1, n*q.H*q.W*q.C, n*q.H*q.W*q.C, 0)
			p := patchMatrix(q, x, n)
			for _, o := range []int{1, 16, 20, 32} {
				name := fmt.Sprintf("%s/%+v/n=%d/o=%d", kern.name, q, n, o)
				w := matrix[float32](rng, o, k, k, 0)
				panels := make([]float32, DirectPanelsLen(o, k))
				DirectPanels(panels, w, o, k)
				got := matrix[float32](rng, m, o, o, 3) // the guards after out must survive
				guard := append([]float32(nil), got[m*o:]...)
				DirectForward(q, x, n, panels, o, got[:m*o])
				want, tol := reference(false, true, m, o, k, 1, p, k, w, k, 0, nil, o)
				within(t, name+"/forward", got[:m*o], want, tol)
				sameBits(t, name+"/forward guard", got[m*o:], guard)
				if o%directNR != 0 {
					continue
				}
				g := matrix[float32](rng, m, o, o, 0)
				dw := matrix[float32](rng, o, k, k, 0) // overwritten
				DirectWeightGrad(q, x, n, g, o, dw)
				want, tol = reference(true, false, o, k, m, 1, g, o, p, k, 0, nil, k)
				within(t, name+"/weightgrad", dw, want, tol)
			}
		}
		restore()
	}
}

// TestDirectWeightGradRows checks a weight gradient whose output rows span
// several kernel calls (more than directRows), summed in order.
func TestDirectWeightGradRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	q := Patches{H: 70, W: 3, C: 2, KH: 3, KW: 3, Stride: 1, PadH: 1, PadW: 1}
	n, o := 2, 16
	ho, wo := q.Out()
	m, k := n*ho*wo, q.Cols()
	x := matrix[float32](rng, 1, n*q.H*q.W*q.C, n*q.H*q.W*q.C, 0)
	g := matrix[float32](rng, m, o, o, 0)
	for _, kern := range availableDirect {
		restore := useDirect(kern)
		dw := make([]float32, o*k)
		DirectWeightGrad(q, x, n, g, o, dw)
		want, tol := reference(true, false, o, k, m, 1, g, o, patchMatrix(q, x, n), k, 0, nil, k)
		within(t, kern.name, dw, want, tol)
		restore()
	}
}

// within fails the test unless |got − want| ≤ tol elementwise.
func within(t *testing.T, name string, got []float32, want, tol []float64) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol[i]) {
			t.Fatalf("%s: element %d = %g, want %g ± %g", name, i, got[i], want[i], tol[i])
		}
	}
}

// TestDirectPanics checks that out-of-range calls are refused.
func TestDirectPanics(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	var rows [directMR]int
	a, b, c := make([]float32, 10), make([]float32, 32), make([]float32, 96)
	rows[5] = 9
	mustPanic("A past its end", func() { checkDirect(len(a), &rows, newDirectTable([]int{1, 0}), 1, 1, len(b), 16, len(c), 16) })
	rows[5] = 0
	mustPanic("B past its end", func() { checkDirect(len(a), &rows, newDirectTable([]int{0, 0}), 2, 1, len(b), 17, len(c), 16) })
	mustPanic("C too short", func() { checkDirect(len(a), &rows, newDirectTable([]int{0, 0}), 1, 1, len(b), 16, 95, 16) })
	mustPanic("negative offset", func() { newDirectTable([]int{-1, 0}) })
	mustPanic("odd table", func() { newDirectTable([]int{0, 0, 1}) })
	q := Patches{H: 4, W: 4, C: 2, KH: 3, KW: 3, Stride: 1, PadH: 1, PadW: 1}
	mustPanic("O not a multiple of 16", func() {
		DirectWeightGrad(q, make([]float32, 32), 1, make([]float32, 16*8), 8, make([]float32, 8*18))
	})
	mustPanic("short output", func() {
		DirectForward(q, make([]float32, 32), 1, make([]float32, DirectPanelsLen(16, 18)), 16, make([]float32, 16*16-1))
	})
}

// TestFLOPs checks the product counter: 2·m·n·k for each kind of product.
func TestFLOPs(t *testing.T) {
	q := Patches{H: 4, W: 5, C: 6, KH: 3, KW: 3, Stride: 1, PadH: 1, PadW: 1}
	n, o := 2, 16
	m, k := n*4*5, q.Cols()
	x := make([]float32, n*4*5*6)
	for _, c := range []struct {
		name string
		want uint64
		f    func()
	}{
		{"Gemm", 2 * 3 * 4 * 5, func() {
			Gemm(false, false, 3, 4, 5, 1, make([]float32, 15), 5, make([]float32, 20), 4, 0, make([]float32, 12), 4)
		}},
		{"PatchesTimes", uint64(2 * m * o * k), func() { PatchesTimes(q, x, m, true, o, make([]float32, o*k), k, 0, make([]float32, m*o), o) }},
		{"TimesPatches", uint64(2 * m * o * k), func() { TimesPatches(true, o, m, make([]float32, m*o), o, q, x, 0, make([]float32, o*k), k) }},
		{"DirectForward", uint64(2 * m * o * k), func() { DirectForward(q, x, n, make([]float32, DirectPanelsLen(o, k)), o, make([]float32, m*o)) }},
		{"DirectWeightGrad", uint64(2 * m * o * k), func() { DirectWeightGrad(q, x, n, make([]float32, m*o), o, make([]float32, o*k)) }},
	} {
		before := FLOPs()
		c.f()
		if got := FLOPs() - before; got != c.want {
			t.Errorf("%s counted %d FLOPs, want %d", c.name, got, c.want)
		}
	}
}
