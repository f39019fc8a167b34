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
//	for pb in blocks of up to 4·KC steps of the k terms of the sum:
//	  for ic in steps of MC over the m rows of C:
//	    pack op(A)[ic:ic+MC, pb] into MR-high panels, KC slice by KC slice
//	                                                      (Ã, ≤ half the L2)
//	    for each task (NC columns of C, all MC rows; rows split too when C
//	    is narrow), in parallel:
//	      for each NR-wide column panel of the task:
//	        for each KC slice pc of pb, in order:
//	          pack op(B)[pc:pc+KC, panel] into one KC×NR panel  (B̃, in L1)
//	          for each MR-high panel of Ã in the task's rows:
//	            micro-kernel: MR×NR tile = Ã panel · B̃ panel
//	            C tile ← alpha·tile + beta·C tile   (first pc)
//	            C tile ← C tile + alpha·tile        (later pc)
//
// A packed panel of A stores, for each step p of the sum, the MR elements
// op(A)[i..i+MR, p] next to each other; a panel of B stores the NR elements
// op(B)[p, j..j+NR]. The micro-kernel thus reads both operands with unit
// stride, whatever the transposes. Panels at the bottom and right edges are
// padded with zeros to a full MR or NR; an edge tile is computed whole into a
// small buffer and only its valid rows and columns are added into C, so edge
// tiles cost no special code and C is never written outside its m×n part. k
// and m are each split into equal blocks of at most KC and MC (rounded to
// MR), so there is no thin last block.
//
// Packing moves each element once per block, and for the MLP shapes
// (128×784×512 and the like) it was a third of the time of a fast kernel when
// written as Go loops; on amd64 it uses small AVX routines (kernel_amd64.s):
// a row copy for panels whose rows are contiguous in the source, and 8×8
// (float32) or 4×4 (float64) register transposes for the others.
//
// KC is the only block size that changes the result: each element of C is
// the sum over the KC-slices, in order, of the kernel's sums over each slice.
// MC, NC, the k blocks and the split of the work across goroutines only
// choose which tiles are computed when.
//
// # Parallelism
//
// Each A block is packed by the calling goroutine; the tasks of the block,
// which each pack the B panels they use, are then handed by internal/kernel/parallel
// to up to GOMAXPROCS goroutines. That is one parallel region per A block,
// usually one per call: on this machine's VM a parked worker takes 10-100 µs
// to wake, so a region per KC slice (with B packed in a region of its own, as
// an earlier version did) left the second core mostly idle. Task boundaries
// depend only on the sizes and each task writes its own tiles of C, so results
// are bitwise identical for any GOMAXPROCS. Products with m·n·k below 64Ki
// run on the caller's goroutine. Each running task takes its B panel and edge
// tile from a free list, on cache lines of its own (tiles sharing a line cost
// a third of the 2-core throughput); the packed A block belongs to the plan,
// also kept on a free list (not a sync.Pool, which the garbage collector
// empties), so steady-state calls allocate nothing for small products and
// only what parallel.For allocates for large ones.
//
// The two vCPUs of the development machine are SMT siblings of one Zen 5
// core: two AVX-512 kernels running at once each get half of the FMA
// throughput, so two threads add at most the part of one core's peak that a
// single thread leaves unused (packing, C updates, stalls).
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
// that overwrites the mr×nr tile c from one packed panel of A and one of B,
// and optionally
//
//	fnC(kc int, a, b, c []T, ldc int, alpha, beta T)
//	                          // C[i*ldc+j] = alpha·Σ_p a[p*mr+i]·b[p*nr+j] + beta·C[i*ldc+j]
//
// which applies the same tile to C in place (rounding exactly as fn followed
// by the driver's update, and not reading C when beta is 0); the driver uses
// it for every tile that lies wholly inside C, which spares the tile buffer
// and the Go update loop. The driver takes MR, NR and the blocking from the
// kernel value, so a kernel with another tile needs no other change.
//
// On amd64 (without the purego build tag) kernel_amd64.go chooses, in an init
// function, from internal/kernel/cpu's CPUID/XGETBV: an AVX-512 kernel (8×32 in
// float32, 8×16 in float64) if the CPU and the OS support AVX-512F, else an
// AVX2+FMA kernel (6×16 and 6×8), else the portable one. The assembly is
// generated by asmgen.go (go generate). Every kernel the CPU can run is
// listed in available32 and available64, and the tests run their whole sweep
// once per listed kernel, so the portable kernel is tested on every machine
// and the assembly ones wherever the CPU has them; go test -tags purego runs
// the portable kernel alone. KernelName reports which kernel Gemm uses.
//
// The portable kernel is a 3×3 tile of scalar accumulators; see kernel3x3 for
// why that shape, and why it contains branches that are never taken. On one
// Zen 5 core it runs 2-2.5× faster than the obvious 4×4 loop, and a whole
// float32 GEMM of the MLP shapes (128×784×512 and the like) reaches 15-17
// GFLOP/s when the machine is quiet, about 9-10 under load. The AVX-512
// kernels bring the same products to about 150-200 GFLOP/s in float32 and
// 75-100 in float64 on one core (see BenchmarkGemm, which measures every
// available kernel).
package gemm
