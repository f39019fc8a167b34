// Package gemm is fdsm's matrix-multiply kernel: a packed, cache-blocked
// GEMM in the style of Goto and van de Geijn ("Anatomy of High-Performance
// Matrix Multiplication", 2008) and BLIS, generic over float32 and float64.
//
// Gemm computes, for row-major matrices,
//
//	C ← alpha·op(A)·op(B) + beta·C,   op(A) m×k, op(B) k×n, C m×n,
//
// where op(X) is X or Xᵀ. Transposes are never materialised: they only change
// how the operands are read while packing.
//
// # Blocking
//
// The loop nest, from the outside in, with the cache level each piece is
// sized for:
//
//	for jc in steps of NC over the n columns of C:           (B block in L3)
//	  for pc in steps of KC over the k terms of the sum:
//	    pack op(B)[pc:pc+KC, jc:jc+NC] into NR-wide panels   (KC×NC, "B̃")
//	    for ic in steps of MC over the m rows of C:
//	      pack op(A)[ic:ic+MC, pc:pc+KC] into MR-high panels (MC×KC in L2, "Ã")
//	      for each NR-wide panel of B̃:                       (KC×NR in L1)
//	        for each MR-high panel of Ã:
//	          micro-kernel: MR×NR tile = Ã panel · B̃ panel
//	          C tile ← alpha·tile + beta·C tile   (first pc)
//	          C tile ← C tile + alpha·tile        (later pc)
//
// A packed panel of A stores, for each step p of the sum, the MR elements
// op(A)[i..i+MR, p] next to each other; a panel of B stores the NR elements
// op(B)[p, j..j+NR]. The micro-kernel thus reads both operands with unit
// stride, whatever the transposes. Panels at the bottom and right edges are
// padded with zeros to a full MR or NR; the kernel computes a whole tile into
// a small buffer and only its valid rows and columns are added into C, so
// edge tiles cost no special code and C is never written outside its m×n
// part. k, m and n are each split into equal blocks of at most KC, MC and NC
// (rounded to MR and NR), so there is no thin last block.
//
// KC is the only block size that changes the result: each element of C is
// the sum over the KC-slices, in order, of the kernel's sums over each slice.
// MC, NC and the split of the work across goroutines only choose which tiles
// are computed when.
//
// # Parallelism
//
// B̃ is packed in parallel chunks of panels; each MC×NC block of C is then
// divided into tasks of at most about 64×64 elements (whole micro-tiles,
// shared out evenly), which internal/parallel hands to up to GOMAXPROCS
// goroutines. Task boundaries depend only on the sizes and each task writes
// its own tiles of C, so results are bitwise identical for any GOMAXPROCS.
// Products with m·n·k below 64Ki run on the caller's goroutine. Each task
// computes into its own tile buffer, on cache lines of its own (tiles sharing
// a line cost a third of the 2-core throughput). Packing buffers come from a
// sync.Pool, so steady-state calls allocate nothing for small products and
// only what parallel.For allocates (closures, goroutines) for large ones.
//
// # The micro-kernel seam
//
// The micro-kernel is a value of the unexported type kernel[T], one per
// element type, held in the package variables kernel32 and kernel64. It
// carries its tile shape (mr×nr, the MR×NR above), optionally its own KC, MC
// and NC, and a function
//
//	fn(kc int, a, b, c []T)   // c[i*nr+j] = Σ_{p<kc} a[p*mr+i]·b[p*nr+j]
//
// that overwrites the mr×nr tile c from one packed panel of A and one of B.
// The driver takes MR, NR and the blocking from the kernel value, so a kernel
// with another tile needs no other change. To add an assembly kernel (an AVX2
// 6×16 or an AVX-512 6×32 FMA kernel for amd64, say), put it in a file with
// the matching build tags next to its pure-Go twin and, in an init function,
// after checking CPUID/XGETBV, assign kernel32 or kernel64; callers of Gemm
// and tensor.MatMul are unaffected, and KernelName reports which kernel runs.
// The tests check every kernel directly (TestKernels) and run the full sweep
// with kernels of other shapes and tiny blocks swapped in
// (TestGemmOtherKernels); a new kernel should be added to both.
//
// The portable kernel is a 3×3 tile of scalar accumulators; see kernel3x3 for
// why that shape, and why it contains branches that are never taken. On one
// Zen 5 core it runs 2-2.5× faster than the obvious 4×4 loop, and a whole
// float32 GEMM of the MLP shapes (128×784×512 and the like) reaches 15-17
// GFLOP/s when the machine is quiet, about 9-10 under load.
package gemm
