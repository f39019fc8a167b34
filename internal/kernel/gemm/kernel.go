package gemm

// kernel is a micro-kernel together with the blocking it wants: the seam
// where an assembly kernel plugs in (see the package documentation).
//
// fn computes one mr×nr block of op(A)·op(B) from packed panels:
//
//	c[i*nr+j] = Σ_{p<kc} a[p*mr+i] · b[p*nr+j]   for i < mr, j < nr,
//
// overwriting c (it never reads c). a holds kc·mr elements (one mr-high panel
// of A, column after column), b holds kc·nr elements (one nr-wide panel of B,
// row after row), c holds at least mr·nr elements; kc ≥ 1. The sum over p
// must be accumulated in increasing p, the same way at every call, so that a
// result never depends on where its tile sits in C (edge tiles use the same
// kernel as interior ones) nor on how the work was split across goroutines.
//
// fnC, when not nil, is the same product applied to C in place, which spares
// the driver the tile buffer and its update loop on full tiles:
//
//	C[i*ldc+j] = alpha·s_ij + beta·C[i*ldc+j],   s_ij = Σ_{p<kc} a[p*mr+i]·b[p*nr+j],
//
// for the whole mr×nr tile at the start of c. It must sum s_ij exactly as fn
// does, round alpha·s_ij and beta·C separately before adding them (no fused
// multiply-add), and not read C when beta is ±0, so that it gives bit for bit
// what fn followed by the driver's update gives. The driver uses it only for
// tiles that lie wholly inside C; edge tiles go through fn.
//
// kc, mc and nc are the blocking of the driver; zero means the package
// default. kc is the depth of one call (the KC slices of the sum), mc the
// rows of a packed block of A, nc the columns of C of one parallel task; mc
// and nc are rounded up to multiples of mr and nr.
type kernel[T float32 | float64] struct {
	name       string
	mr, nr     int
	kc, mc, nc int
	fn         func(kc int, a, b, c []T)
	fnC        func(kc int, a, b, c []T, ldc int, alpha, beta T)
}

// The active micro-kernels. An architecture-specific file may replace them in
// an init function (for example with an assembly AVX2 or AVX-512 kernel
// chosen from CPUID at start-up); nothing else in the package changes. Gemm
// reads the variable once per call.
var (
	kernel32 = kernel[float32]{name: "go3x3", mr: 3, nr: 3, fn: kernel3x3[float32]}
	kernel64 = kernel[float64]{name: "go3x3", mr: 3, nr: 3, fn: kernel3x3[float64]}
)

// available32 and available64 list every kernel that can run on this CPU,
// the portable one first and the one chosen at start-up last. The tests run
// their whole suite once with each; architecture files append to them in
// the init function that chooses kernel32 and kernel64.
var (
	available32 = []kernel[float32]{kernel32}
	available64 = []kernel[float64]{kernel64}
)

// KernelName returns the name and the MR×NR tile of the micro-kernel Gemm
// uses for element type T, for benchmark reports.
func KernelName[T float32 | float64]() (name string, mr, nr int) {
	k := kernelFor[T]()
	return k.name, k.mr, k.nr
}

// kernelFor returns the active kernel for T.
func kernelFor[T float32 | float64]() kernel[T] {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return any(kernel32).(kernel[T])
	}
	return any(kernel64).(kernel[T])
}

// barrier holds values that a loop counter never equals. The compiler cannot
// know that (they are variables), so each `if i == sN` test in kernel3x3 ends
// a basic block; each test compares with a different element, so that the
// prove pass cannot drop the later tests once the first has failed.
var barrier = [8]int{-1, -1, -1, -1, -1, -1, -1, -1}

// kernel3x3 is the portable micro-kernel: a 3×3 tile of C held in nine scalar
// accumulators, three steps of p per loop iteration.
//
// Why 3×3, and the never-taken branches. Without AVX, amd64 code has 15
// floating-point registers (the Go ABI reserves X15): nine accumulators, the
// three B values of a step, one A value and a couple of products fit. But the
// Go scheduler orders each basic block so that values used inside the block
// come first, which puts all the multiplications of a block before the
// additions that consume them (the additions feed only the next iteration);
// a block of nine multiply-adds then needs nine products alive at once and
// spills. A cheap, never-taken, unprovable branch after each row of three
// multiply-adds ends the block, so at most three products are alive and the
// loop runs without spilling accumulators.
//
// Measured on one core of a shared 2-vCPU Zen 5 VM, plain Go (GOAMD64=v1),
// kc=252, panels in L1, all variants in the same run: this kernel ≈ 10.5-11.5
// GFLOP/s in float32 and float64. The same loop without the branches: 4×4
// ≈ 4, 3×4 and 4×3 ≈ 4.5, 5×2 ≈ 5.7, 3×3 ≈ 5.4. With the branches: 4×3 and
// 3×4 ≈ 7-9 (twelve accumulators still spill), 4×2, 2×4, 5×2 and 2×5
// ≈ 9.5-11. (Absolute numbers on that VM swing between about 6 and 17 with
// the host's load; the ranking held.) The scalar peak is two multiplies and
// two adds per cycle.
func kernel3x3[T float32 | float64](kc int, a, b, c []T) {
	var c00, c01, c02, c10, c11, c12, c20, c21, c22 T
	s0, s1, s2, s3 := barrier[0], barrier[1], barrier[2], barrier[3]
	s4, s5, s6, s7 := barrier[4], barrier[5], barrier[6], barrier[7]
	a = a[:3*kc]
	b = b[:len(a)]
	i := 0
	for ; i+9 <= len(a); i += 9 {
		aa := (*[9]T)(a[i : i+9])
		bb := (*[9]T)(b[i : i+9])

		b0, b1, b2 := bb[0], bb[1], bb[2]
		a0 := aa[0]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		if i == s0 {
			panic("gemm: unreachable")
		}
		a1 := aa[1]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		if i == s1 {
			panic("gemm: unreachable")
		}
		a2 := aa[2]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		if i == s2 {
			panic("gemm: unreachable")
		}

		b0, b1, b2 = bb[3], bb[4], bb[5]
		a0 = aa[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		if i == s3 {
			panic("gemm: unreachable")
		}
		a1 = aa[4]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		if i == s4 {
			panic("gemm: unreachable")
		}
		a2 = aa[5]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		if i == s5 {
			panic("gemm: unreachable")
		}

		b0, b1, b2 = bb[6], bb[7], bb[8]
		a0 = aa[6]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		if i == s6 {
			panic("gemm: unreachable")
		}
		a1 = aa[7]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		if i == s7 {
			panic("gemm: unreachable")
		}
		a2 = aa[8]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
	}
	for ; i+3 <= len(a); i += 3 { // kc not a multiple of 3: one or two more steps
		b0, b1, b2 := b[i], b[i+1], b[i+2]
		a0, a1, a2 := a[i], a[i+1], a[i+2]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
	}
	c = c[:9]
	c[0], c[1], c[2] = c00, c01, c02
	c[3], c[4], c[5] = c10, c11, c12
	c[6], c[7], c[8] = c20, c21, c22
}
