package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// sentinel is a NaN with a recognisable payload, written around and between
// the rows of C and into the padding of A and B. Gemm must leave the guards
// of C untouched (compared bit for bit) and must not read the padding of A
// and B (a NaN read there would poison the result).
const (
	sentinel32 = 0x7fc0_dead
	sentinel64 = 0x7ff8_0000_dead_beef
)

func sentinel[T float32 | float64]() T {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return T(math.Float32frombits(sentinel32))
	}
	return T(math.Float64frombits(sentinel64))
}

func bits[T float32 | float64](v T) uint64 {
	switch v := any(v).(type) {
	case float32:
		return uint64(math.Float32bits(v))
	case float64:
		return math.Float64bits(v)
	}
	panic("unreachable")
}

// eps is the machine epsilon of T (twice the unit roundoff).
func eps[T float32 | float64]() float64 {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return 0x1p-23
	}
	return 0x1p-52
}

// matrix returns a rows×cols matrix with leading dimension ld, entries
// uniform in [-1, 1) and the sentinel in the ld−cols padding of each row and
// in tail extra elements after the last row.
func matrix[T float32 | float64](rng *rand.Rand, rows, cols, ld, tail int) []T {
	n := tail
	if rows > 0 {
		n += (rows-1)*ld + cols
	}
	s := make([]T, n)
	for i := range s {
		s[i] = sentinel[T]()
	}
	for i := range rows {
		for j := range cols {
			s[i*ld+j] = T(2*rng.Float64() - 1)
		}
	}
	return s
}

// reference computes alpha·op(A)·op(B) + beta·C in float64 and, for each
// element, the error bound
//
//	tol = (k+2)·eps·(|alpha|·Σ_p |op(A)_ip|·|op(B)_pj| + |beta·C_ij|) + tiny
//
// Where it comes from: a sum of k products computed in any order in precision
// eps/2 is within γ_k·Σ|a||b| of the exact sum, γ_k = k(eps/2)/(1−k·eps/2)
// < k·eps for our sizes; scaling by alpha and adding beta·C costs two more
// roundings (the +2). For float64 the float64 reference has an error of the
// same order, so the bound is doubled; tiny (a few subnormals' worth) covers
// sums that cancel to zero. beta == 0 does not read C.
func reference[T float32 | float64](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) (want, tol []float64) {
	want = make([]float64, m*n)
	tol = make([]float64, m*n)
	e := float64(k+2) * eps[T]()
	if _, ok := any(alpha).(float64); ok {
		e *= 2
	}
	for i := range m {
		for j := range n {
			var s, abs float64
			for p := range k {
				var av, bv float64
				if transA {
					av = float64(a[p*lda+i])
				} else {
					av = float64(a[i*lda+p])
				}
				if transB {
					bv = float64(b[j*ldb+p])
				} else {
					bv = float64(b[p*ldb+j])
				}
				s += av * bv
				abs += math.Abs(av * bv)
			}
			v := float64(alpha) * s
			bound := math.Abs(float64(alpha)) * abs
			if beta != 0 {
				cv := float64(beta) * float64(c[i*ldc+j])
				v += cv
				bound += math.Abs(cv)
			}
			want[i*n+j] = v
			tol[i*n+j] = e*bound + 1e-30
		}
	}
	return want, tol
}

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float64
	padA, padB     int // extra leading-dimension padding
	padC, tailC    int // padding of C's rows, guard elements after C
}

func (tc gemmCase) String() string {
	return fmt.Sprintf("tA=%v,tB=%v,%dx%dx%d,alpha=%g,beta=%g,pad=%d/%d/%d",
		tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.padA, tc.padB, tc.padC)
}

// check runs one case with Gemm once per kernel of kernels and compares each
// result with the reference: values within tolerance, C's guards untouched bit
// for bit, A and B unmodified. The inputs and the reference are made once per
// case, so that checking several kernels costs little more than one.
func check[T float32 | float64](t *testing.T, rng *rand.Rand, tc gemmCase, kernels []kernel[T]) {
	t.Helper()
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = tc.k, tc.m
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = tc.n, tc.k
	}
	lda, ldb, ldc := ac+tc.padA, bc+tc.padB, tc.n+tc.padC
	a := matrix[T](rng, ar, ac, lda, 3)
	b := matrix[T](rng, br, bc, ldb, 3)
	c0 := matrix[T](rng, tc.m, tc.n, ldc, tc.tailC)
	if tc.beta == 0 {
		// Gemm must not read C: make every element NaN.
		for i := range tc.m {
			for j := range tc.n {
				c0[i*ldc+j] = T(math.NaN())
			}
		}
	}
	a0 := append([]T(nil), a...)
	b0 := append([]T(nil), b...)
	c := make([]T, len(c0))
	alpha, beta := T(tc.alpha), T(tc.beta)
	want, tol := reference(tc.transA, tc.transB, tc.m, tc.n, tc.k, alpha, a, lda, b, ldb, beta, c0, ldc)

	for _, kern := range kernels {
		copy(c, c0)
		// Pass C without its tail, so that the guards sit in its capacity.
		cLen := len(c) - tc.tailC
		restore := useKernel(kern)
		Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, alpha, a, lda, b, ldb, beta, c[:cLen], ldc)
		restore()

		bad := 0
		for i := range tc.m {
			for j := range tc.n {
				got := float64(c[i*ldc+j])
				w, e := want[i*tc.n+j], tol[i*tc.n+j]
				if !(math.Abs(got-w) <= e) {
					if bad++; bad <= 3 {
						t.Errorf("%s %v: C[%d,%d] = %v, want %v ± %.3g", kern.name, tc, i, j, got, w, e)
					}
				}
			}
		}
		inC := func(x int) bool { return x < cLen && x%ldc < tc.n }
		for x := range c {
			if !inC(x) && bits(c[x]) != bits(c0[x]) {
				if bad++; bad <= 6 {
					t.Errorf("%s %v: guard c[%d] (row %d, col %d) changed to %v", kern.name, tc, x, x/ldc, x%ldc, c[x])
				}
			}
		}
		for x := range a {
			if bits(a[x]) != bits(a0[x]) {
				t.Fatalf("%s %v: a[%d] modified", kern.name, tc, x)
			}
		}
		for x := range b {
			if bits(b[x]) != bits(b0[x]) {
				t.Fatalf("%s %v: b[%d] modified", kern.name, tc, x)
			}
		}
		if bad > 0 {
			t.FailNow()
		}
	}
}

// availableFor returns the kernels of T that run on this CPU (available32 or
// available64): the portable one and, on amd64 without the purego tag, the
// assembly kernels the CPU supports.
func availableFor[T float32 | float64]() []kernel[T] {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return any(available32).([]kernel[T])
	}
	return any(available64).([]kernel[T])
}

// useKernel makes k the active kernel of its element type and returns a
// function that restores the previous one.
func useKernel[T float32 | float64](k kernel[T]) (restore func()) {
	switch k := any(k).(type) {
	case kernel[float32]:
		old := kernel32
		kernel32 = k
		return func() { kernel32 = old }
	case kernel[float64]:
		old := kernel64
		kernel64 = k
		return func() { kernel64 = old }
	}
	panic("unreachable")
}

// TestAvailable checks that the kernel chosen at start-up is the last one
// available (the fastest the CPU supports) and logs the list.
func TestAvailable(t *testing.T) {
	var names []string
	for _, k := range available32 {
		names = append(names, k.name)
	}
	for _, k := range available64 {
		names = append(names, k.name)
	}
	t.Logf("available kernels: %v; active: %s, %s", names, kernel32.name, kernel64.name)
	if kernel32.name != available32[len(available32)-1].name || kernel64.name != available64[len(available64)-1].name {
		t.Errorf("active kernels %s, %s are not the last available", kernel32.name, kernel64.name)
	}
	if available32[0].name != "go3x3" || available64[0].name != "go3x3" {
		t.Errorf("the portable kernel is not first")
	}
}

var (
	testSizes   = []int{1, 2, 3, 7, 17, 33, 64, 129, 257}
	testScalars = [][2]float64{{1, 0}, {0.5, 1}, {-2, 0.5}, {1, -2}, {0.5, 0}, {-2, 1}, {1, 1}, {0, 0.5}}
)

// sweep checks every (m, n, k) combination of sizes for all four transpose
// combinations, with each of kernels; the alpha/beta pair and the paddings
// rotate with the case number so that each value meets each size and layout
// somewhere.
func sweep[T float32 | float64](t *testing.T, sizes []int, kernels []kernel[T]) {
	rng := rand.New(rand.NewPCG(1, 2))
	var idx int
	for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
		for _, m := range sizes {
			for _, n := range sizes {
				for _, k := range sizes {
					s := testScalars[idx%len(testScalars)]
					tc := gemmCase{
						transA: tr[0], transB: tr[1], m: m, n: n, k: k,
						alpha: s[0], beta: s[1],
						padA: idx % 3, padB: (idx / 3) % 3 * 2, padC: (idx / 2) % 3,
						tailC: 5,
					}
					check(t, rng, tc, kernels)
					idx++
				}
			}
		}
	}
}

// sweepSizes returns testSizes, or a subset under -short and the race
// detector (which still covers edge tiles and the parallel path; several
// KC slices are covered by TestGemmOtherKernels and TestDeterministic).
func sweepSizes() []int {
	if testing.Short() || raceEnabled {
		return []int{1, 3, 17, 64, 129}
	}
	return testSizes
}

// TestGemmFloat32 and TestGemmFloat64 run the sweep with every kernel this
// CPU can run: the portable one and each assembly kernel it supports.
func TestGemmFloat32(t *testing.T) { sweep(t, sweepSizes(), available32) }
func TestGemmFloat64(t *testing.T) { sweep(t, sweepSizes(), available64) }

// naiveKernel returns a kernel with the given tile and blocking written as
// a plain triple loop. The driver must give the same answers (up to rounding)
// with any MR, NR and blocking; small blocks exercise every loop of the
// driver (several column, depth and row blocks) on small matrices.
func naiveKernel[T float32 | float64](mr, nr, kc, mc, nc int) kernel[T] {
	return kernel[T]{
		name: fmt.Sprintf("naive%dx%d", mr, nr),
		mr:   mr, nr: nr, kc: kc, mc: mc, nc: nc,
		fn: func(kc int, a, b, c []T) {
			for i := range mr {
				for j := range nr {
					var s T
					for p := range kc {
						s += a[p*mr+i] * b[p*nr+j]
					}
					c[i*nr+j] = s
				}
			}
		},
	}
}

func TestGemmOtherKernels(t *testing.T) {
	sizes := []int{1, 2, 7, 17, 33}
	for _, shape := range [][5]int{
		{1, 1, 0, 0, 0},
		{2, 5, 7, 8, 10},
		{4, 8, 5, 12, 16},
		{3, 3, 16, 9, 9},
		{6, 4, 3, 1, 1}, // mc, nc smaller than mr, nr: rounded up
	} {
		k32 := naiveKernel[float32](shape[0], shape[1], shape[2], shape[3], shape[4])
		k64 := naiveKernel[float64](shape[0], shape[1], shape[2], shape[3], shape[4])
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			sweep(t, sizes, []kernel[float32]{k32})
			sweep(t, sizes, []kernel[float64]{k64})
		})
	}
	// Every available kernel with small blocks: several column, depth and row
	// blocks, and edge tiles mixed with full ones in each.
	t.Run("small-blocks", func(t *testing.T) {
		sweep(t, sizes, smallBlocks(available32, 5, 7, 8))
		sweep(t, sizes, smallBlocks(available64, 6, 8, 7))
	})
}

// smallBlocks returns copies of kernels with the given blocking.
func smallBlocks[T float32 | float64](kernels []kernel[T], kc, mc, nc int) []kernel[T] {
	var ks []kernel[T]
	for _, k := range kernels {
		k.kc, k.mc, k.nc = kc, mc, nc
		ks = append(ks, k)
	}
	return ks
}

// TestKernels checks each micro-kernel directly against a float64 sum over
// a range of depths, including odd ones and the default KC.
func TestKernels(t *testing.T) {
	for _, k := range available32 {
		testKernel(t, k)
	}
	for _, k := range available64 {
		testKernel(t, k)
	}
}

func testKernel[T float32 | float64](t *testing.T, kern kernel[T]) {
	rng := rand.New(rand.NewPCG(3, 4))
	mr, nr := kern.mr, kern.nr
	for _, kc := range []int{1, 2, 3, 4, 5, 31, 64, 255, 256} {
		a := matrix[T](rng, kc, mr, mr, 0)
		b := matrix[T](rng, kc, nr, nr, 0)
		c := make([]T, mr*nr+4)
		for i := range c {
			c[i] = sentinel[T]()
		}
		kern.fn(kc, a, b, c)
		tol := float64(kc+1) * eps[T]()
		for i := range mr {
			for j := range nr {
				var s, abs float64
				for p := range kc {
					s += float64(a[p*mr+i]) * float64(b[p*nr+j])
					abs += math.Abs(float64(a[p*mr+i]) * float64(b[p*nr+j]))
				}
				if got := float64(c[i*nr+j]); !(math.Abs(got-s) <= tol*abs) {
					t.Errorf("%s kc=%d: c[%d,%d] = %v, want %v", kern.name, kc, i, j, got, s)
				}
			}
		}
		for x := mr * nr; x < len(c); x++ {
			if bits(c[x]) != bits(sentinel[T]()) {
				t.Errorf("%s kc=%d: wrote past the tile at %d", kern.name, kc, x)
			}
		}
		if kern.fnC != nil {
			testKernelC(t, kern, rng, kc, a, b, c[:mr*nr])
		}
	}
}

// testKernelC checks a kernel's fnC on one pair of panels against its fn,
// whose tile is given: C = alpha·tile + beta·C must hold bit for bit, as the
// driver's update computes it, on a tile of C with a row stride larger than
// NR and guards around it, and C must not be read when beta is ±0.
func testKernelC[T float32 | float64](t *testing.T, kern kernel[T], rng *rand.Rand, kc int, a, b, tile []T) {
	mr, nr := kern.mr, kern.nr
	ldc := nr + 3
	for _, s := range [][2]float64{{1, 0}, {0.5, math.Copysign(0, -1)}, {-2, 0.5}, {1, 1}, {0.5, -2}} {
		alpha, beta := T(s[0]), T(s[1])
		c := matrix[T](rng, mr, nr, ldc, 5)
		if beta == 0 {
			for i := range mr {
				for j := range nr {
					c[i*ldc+j] = T(math.NaN())
				}
			}
		}
		c0 := append([]T(nil), c...)
		kern.fnC(kc, a, b, c[:len(c)-5], ldc, alpha, beta)
		for x := range c {
			i, j := x/ldc, x%ldc
			want := c0[x]
			if i < mr && j < nr {
				// Rounded separately, as update does; the conversions
				// forbid the compiler to fuse them.
				want = T(alpha * tile[i*nr+j])
				if beta != 0 {
					want += T(beta * c0[x])
				}
			}
			if bits(c[x]) != bits(want) {
				t.Errorf("%s kc=%d alpha=%v beta=%v: C[%d,%d] = %v, want %v (fn, then update)",
					kern.name, kc, alpha, beta, i, j, c[x], want)
				return
			}
		}
	}
}

// TestDeterministic checks that results are bitwise identical for
// GOMAXPROCS = 1, 2 and 8, on sizes large enough to run in parallel and with
// edge tiles in both directions.
func TestDeterministic(t *testing.T) {
	for _, k := range available32 {
		testDeterministic(t, k)
	}
	for _, k := range available64 {
		testDeterministic(t, k)
	}
}

func testDeterministic[T float32 | float64](t *testing.T, kern kernel[T]) {
	defer useKernel(kern)()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rng := rand.New(rand.NewPCG(5, 6))
	shapes := [][3]int{{128, 512, 784}, {257, 129, 300}, {70, 1000, 65}, {1000, 5, 80}}
	if testing.Short() || raceEnabled {
		shapes = shapes[1:]
	}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			a := matrix[T](rng, m, k, k, 0) // m×k or, transposed, k×m: same length
			b := matrix[T](rng, k, n, n, 0)
			lda, ldb := k, n
			if tr[0] {
				lda = m
			}
			if tr[1] {
				ldb = k
			}
			var first []T
			for _, procs := range []int{1, 2, 8} {
				runtime.GOMAXPROCS(procs)
				c := make([]T, m*n)
				for i := range c {
					c[i] = T(i%13) - 6
				}
				Gemm(tr[0], tr[1], m, n, k, 0.5, a, lda, b, ldb, -1.5, c, n)
				if first == nil {
					first = c
					continue
				}
				for i := range c {
					if bits(c[i]) != bits(first[i]) {
						t.Fatalf("%s %T %v %dx%dx%d: GOMAXPROCS=%d differs from 1 at %d: %v vs %v",
							kern.name, c[0], tr, m, n, k, procs, i, c[i], first[i])
					}
				}
			}
		}
	}
}

// TestEmpty covers m, n or k equal to zero.
func TestEmpty(t *testing.T) {
	nan := float32(math.NaN())
	// k = 0: C = beta·C, without reading C when beta is 0.
	c := []float32{nan, nan, 7, 1, 2, 7}
	Gemm(false, false, 2, 2, 0, 1, nil, 0, nil, 2, 0, c, 3)
	if want := []float32{0, 0, 7, 0, 0, 7}; fmt.Sprint(c) != fmt.Sprint(want) {
		t.Errorf("k=0, beta=0: got %v, want %v", c, want)
	}
	c = []float32{1, 2, 7, 3, 4, 7}
	Gemm(true, true, 2, 2, 0, 1, nil, 2, nil, 0, 0.5, c, 3)
	if want := []float32{0.5, 1, 7, 1.5, 2, 7}; fmt.Sprint(c) != fmt.Sprint(want) {
		t.Errorf("k=0, beta=0.5: got %v, want %v", c, want)
	}
	// alpha = 0: A and B are not read.
	a := []float32{nan, nan}
	c = []float32{1, 2}
	Gemm(false, false, 1, 2, 1, 0, a, 1, a, 2, 2, c, 2)
	if want := []float32{2, 4}; fmt.Sprint(c) != fmt.Sprint(want) {
		t.Errorf("alpha=0: got %v, want %v", c, want)
	}
	// m = 0 or n = 0: nothing happens, even with nil slices.
	Gemm[float64](false, false, 0, 5, 3, 1, nil, 3, make([]float64, 15), 5, 0, nil, 5)
	Gemm[float64](false, false, 5, 0, 3, 1, make([]float64, 15), 3, nil, 0, 0, nil, 0)
}

func TestPanics(t *testing.T) {
	a := make([]float64, 12)
	for _, tc := range []struct {
		name string
		f    func()
		want string
	}{
		{"negative", func() { Gemm(false, false, -1, 2, 2, 1, a, 2, a, 2, 0, a, 2) }, "negative size"},
		{"lda", func() { Gemm(false, false, 3, 4, 4, 1, a, 3, a, 4, 0, a, 4) }, "lda = 3 < 4"},
		{"lda-trans", func() { Gemm(true, false, 4, 3, 3, 1, a, 3, a, 3, 0, a, 3) }, "lda = 3 < 4"},
		{"ldb", func() { Gemm(false, true, 2, 2, 3, 1, a, 3, a, 2, 0, a, 2) }, "ldb = 2 < 3"},
		{"ldc", func() { Gemm(false, false, 2, 3, 2, 1, a, 2, a, 3, 0, a, 2) }, "ldc = 2 < 3"},
		{"short-a", func() { Gemm(false, false, 4, 2, 4, 1, a, 4, a, 2, 0, a, 2) }, "A is 4×4"},
		{"short-b", func() { Gemm(false, true, 2, 5, 3, 1, a, 3, a, 3, 0, a, 5) }, "B is 5×3"},
		{"short-c", func() { Gemm(false, false, 3, 4, 1, 1, a, 1, a, 4, 0, a, 5) }, "C is 3×4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.HasPrefix(msg, "gemm: ") || !strings.Contains(msg, tc.want) {
					t.Errorf("panic %q, want a message starting with \"gemm: \" containing %q", r, tc.want)
				}
			}()
			tc.f()
		})
	}
}

// TestAllocs checks that a small product (run on the caller's goroutine)
// allocates nothing once the plan free list is warm, even across garbage
// collections (which empty a sync.Pool, not the free lists).
func TestAllocs(t *testing.T) {
	a := make([]float32, 20*30)
	b := make([]float32, 30*40)
	c := make([]float32, 20*40)
	allocs := testing.AllocsPerRun(20, func() {
		Gemm(false, true, 20, 40, 30, 1, a, 30, b, 30, 0, c, 40)
		runtime.GC()
	})
	if allocs != 0 {
		t.Errorf("small Gemm allocates %v times per call", allocs)
	}
}

// benchShapes are the products of a training step of a 784-512-512-1 MLP at
// batch 128 (the shapes of tensor's BenchmarkMatMul), m×k×n and op(A)op(B).
var benchShapes = []struct {
	m, k, n        int
	transA, transB bool
}{
	{128, 784, 512, false, true},  // layer 1 forward
	{128, 512, 784, false, false}, // layer 1 dX
	{512, 128, 784, true, false},  // layer 1 dW
	{128, 512, 512, false, true},  // layer 2 forward
	{128, 512, 512, false, false}, // layer 2 dX
	{512, 128, 512, true, false},  // layer 2 dW
	{64, 64, 64, false, false},
}

// BenchmarkGemm measures every available kernel: whole products of the
// training shapes (kernel/f32/m×k×n/op) and the micro-kernel alone with its
// panels in L1 (kernel/f32/micro).
func BenchmarkGemm(b *testing.B) {
	for _, k := range available32 {
		benchKernels(b, k)
	}
	for _, k := range available64 {
		benchKernels(b, k)
	}
}

func benchKernels[T float32 | float64](b *testing.B, kern kernel[T]) {
	dt := "f32"
	if _, ok := any(T(0)).(float64); ok {
		dt = "f64"
	}
	op := map[bool]string{false: "N", true: "T"}
	for _, s := range benchShapes {
		b.Run(fmt.Sprintf("%s/%s/%dx%dx%d/%s%s", kern.name, dt, s.m, s.k, s.n, op[s.transA], op[s.transB]), func(b *testing.B) {
			defer useKernel(kern)()
			benchGemm[T](b, s.transA, s.transB, s.m, s.n, s.k)
		})
	}
	b.Run(fmt.Sprintf("%s/%s/micro", kern.name, dt), func(b *testing.B) { benchKernel(b, kern) })
}

func benchGemm[T float32 | float64](b *testing.B, transA, transB bool, m, n, k int) {
	rng := rand.New(rand.NewPCG(7, 8))
	x := matrix[T](rng, m, k, k, 0) // m×k or, transposed, k×m: same length
	y := matrix[T](rng, k, n, n, 0)
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	z := make([]T, m*n)
	for b.Loop() {
		Gemm(transA, transB, m, n, k, 1, x, lda, y, ldb, 0, z, n)
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// benchKernel measures the micro-kernel alone with its panels in L1.
func benchKernel[T float32 | float64](b *testing.B, kern kernel[T]) {
	kc := kern.kc
	if kc == 0 {
		kc = defaultKC
	}
	rng := rand.New(rand.NewPCG(9, 10))
	x := matrix[T](rng, kc, kern.mr, kern.mr, 0)
	y := matrix[T](rng, kc, kern.nr, kern.nr, 0)
	z := make([]T, kern.mr*kern.nr)
	for b.Loop() {
		kern.fn(kc, x, y, z)
	}
	b.ReportMetric(2*float64(kern.mr*kern.nr*kc)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
