package gemm

import (
	"fmt"
	"github.com/fdsm/fdsm/internal/kernel/freelist"
	"unsafe"

	"github.com/fdsm/fdsm/internal/kernel/parallel"
)

// Default blocking, used when the kernel leaves KC, MC or NC zero. They are
// sized for a core with a 32 KiB L1d and a 1 MiB L2 (AMD Zen 4/5):
//
//   - KC = 256: the depth of one micro-kernel call. A packed panel of B
//     (KC·NR) stays in L1 while the panels of A stream past it: 32 KiB for
//     the AVX-512 float32 kernel's NR = 32, less for the others.
//   - The packed A block, MC rows by up to kBlocks·KC steps, takes at most
//     half the L2 (512 KiB); every task reads all of it.
//   - NC = 64: the columns of C of one parallel task (rounded to NR).
const (
	defaultKC     = 256
	defaultABytes = 512 << 10
	defaultNC     = 64
	kBlocks       = 4
)

// Parallel work is split into tasks of NC columns of an A block's rows;
// when that gives fewer than minTasks tasks, the rows are split too, in
// chunks of at least taskRows. The split depends only on the sizes, never on
// GOMAXPROCS.
const (
	minTasks = 8
	taskRows = 64
)

// cacheLine is the size of a cache line in bytes. Per-task buffers are
// aligned to it and padded with it, so that tasks running on different cores
// never write to one line.
const cacheLine = 64

// serialWork is the m·n·k below which Gemm never starts goroutines: about 13 µs
// of work at 10 GFLOP/s, comparable to the cost of waking a second worker.
const serialWork = 1 << 16

// Gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, where
// op(A) is m×k and op(B) is k×n, and C is m×n with leading dimension ldc
// (element (i, j) of C is c[i*ldc+j]).
//
// When transA is false A is stored m×k (op(A) = A, element (i, p) at
// a[i*lda+p]); when it is true A is stored k×m and op(A) = Aᵀ (element (i, p)
// of op(A) at a[p*lda+i]). Likewise B is stored k×n, or n×k when transB is set.
//
// When beta is 0, C is overwritten and never read, so NaN or Inf garbage in C
// is ignored. When alpha is 0 or k is 0, A and B are not read and C becomes
// beta·C. Elements of c outside the m×n submatrix (the ldc−n tail of each row,
// anything past the last row) are never touched. C must not overlap A or B.
//
// The result does not depend on GOMAXPROCS: every element of C is computed
// with the same operations in the same order whatever the number of workers.
//
// Gemm panics with a message prefixed "gemm: " if a size is negative, a
// leading dimension is smaller than its row width, or a slice is too short for
// the sizes.
func Gemm[T float32 | float64](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k // stored shape of A
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("A", transA, "lda", ar, ac, len(a), lda)
	checkMatrix("B", transB, "ldb", br, bc, len(b), ldb)
	checkMatrix("C", false, "ldc", m, n, len(c), ldc)

	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scale(m, n, beta, c, ldc)
		return
	}

	countFLOPs(m, n, k)
	p := getPlan[T]()
	p.init(kernelFor[T](), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	p.run()
	p.release()
}

// checkMatrix panics unless a slice of length size can hold a rows×cols
// matrix with leading dimension ld.
func checkMatrix(name string, trans bool, ldName string, rows, cols, size, ld int) {
	if ld < cols || ld < 0 {
		panic(fmt.Sprintf("gemm: %s is %d×%d (stored, trans=%v) but %s = %d < %d",
			name, rows, cols, trans, ldName, ld, cols))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; size < need {
		panic(fmt.Sprintf("gemm: %s is %d×%d (stored, trans=%v) with %s = %d, needs %d elements, len = %d",
			name, rows, cols, trans, ldName, ld, need, size))
	}
}

// scale sets C = beta·C without reading C when beta is 0.
func scale[T float32 | float64](m, n int, beta T, c []T, ldc int) {
	switch beta {
	case 1:
		return
	case 0:
		for i := range m {
			clear(c[i*ldc : i*ldc+n])
		}
	default:
		for i := range m {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// blocks splits n into the fewest blocks of at most max elements, of equal
// size rounded up to a multiple of unit, and returns that size.
func blocks(n, max, unit int) int {
	max = (max + unit - 1) / unit * unit
	nb := (n + max - 1) / max
	size := (n + nb - 1) / nb
	return (size + unit - 1) / unit * unit
}

// plan is the state of one Gemm call: the operands, the blocking, and the
// packed A block. Plans are pooled, so that a steady stream of calls of
// similar sizes allocates nothing but what parallel.For allocates.
type plan[T float32 | float64] struct {
	kern           kernel[T]
	pk             packer[T]
	transA, transB bool
	m, n, k        int
	alpha, beta    T
	a, b, c        []T
	lda, ldb, ldc  int

	// Blocking: kc steps per micro-kernel call (the KC slices of the sum);
	// A blocks of up to mc rows (a multiple of MR) by kblock steps (a
	// multiple of kc); tasks of up to maxJr B panels.
	kc, kblock, mc int
	maxJr          int
	serial         bool

	// The current A block: rows [ic, ic+mb) of op(A), steps [pc0, pc0+kb)
	// of the sum, packed slice after slice into ap. Its tasks: nIr row
	// chunks × nJr column chunks of irGrain A panels × jrGrain B panels (the
	// last ones smaller).
	ic, mb, pc0, kb int
	nIr, irGrain    int
	nJr, jrGrain    int
	ap              []T
	tasksFn         func(lo, hi int) // p.tasks, made once per plan

	// patchA and patchB, when their C is not 0, make op(A) or op(B) the
	// patch matrix of the images in a or b (see Patches), packed straight
	// from them; runs is packPatchesA's list of channel runs.
	patchA, patchB Patches
	runs           [][]T
}

// Plans (with their packed-A buffers) and scratch panels sit on free lists,
// not in a sync.Pool, which the garbage collector empties.
var (
	plans32   freelist.List[*plan[float32]]
	plans64   freelist.List[*plan[float64]]
	scratch32 freelist.List[*scratch[float32]]
	scratch64 freelist.List[*scratch[float64]]
)

// plansFor and scratchFor return T's free lists.
func plansFor[T float32 | float64]() *freelist.List[*plan[T]] {
	if l, ok := any(&plans32).(*freelist.List[*plan[T]]); ok {
		return l
	}
	return any(&plans64).(*freelist.List[*plan[T]])
}

func scratchFor[T float32 | float64]() *freelist.List[*scratch[T]] {
	if l, ok := any(&scratch32).(*freelist.List[*scratch[T]]); ok {
		return l
	}
	return any(&scratch64).(*freelist.List[*scratch[T]])
}

func getPlan[T float32 | float64]() *plan[T] {
	p, ok := plansFor[T]().Get()
	if !ok {
		p = new(plan[T])
		p.tasksFn = p.tasks
	}
	return p
}

// release drops the references to the caller's matrices and returns p to its
// pool.
func (p *plan[T]) release() {
	p.a, p.b, p.c = nil, nil, nil
	clear(p.runs[:cap(p.runs)]) // runs into the caller's images
	plansFor[T]().Put(p)
}

func (p *plan[T]) init(kern kernel[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	p.kern = kern
	p.pk = packerFor[T]()
	p.transA, p.transB = transA, transB
	p.m, p.n, p.k = m, n, k
	p.alpha, p.beta = alpha, beta
	p.a, p.lda = a, lda
	p.b, p.ldb = b, ldb
	p.c, p.ldc = c, ldc

	mr, nr := kern.mr, kern.nr
	size := int(sizeOf(alpha))
	kc, mc, nc := kern.kc, kern.mc, kern.nc
	if kc <= 0 {
		kc = defaultKC
	}
	if nc <= 0 {
		nc = defaultNC
	}
	p.kc = blocks(k, kc, 1)
	p.kblock = blocks(k, kBlocks*p.kc, p.kc)
	if mc <= 0 {
		mc = max(mr, defaultABytes/(p.kblock*size)/mr*mr)
	}
	p.mc = blocks(m, mc, mr)
	p.maxJr = max(1, (nc+nr-1)/nr)
	p.serial = m*n*k < serialWork

	na := p.mc * p.kblock
	if cap(p.ap) < na {
		p.ap = make([]T, na)
	}
	p.ap = p.ap[:na]
}

// run is the loop nest: blocks of the sum (kBlocks slices of KC steps), then
// blocks of MC rows of A, packed once; then tasks, each of which packs the B
// panels of its columns and runs the micro-kernel over all A panels of its
// rows.
func (p *plan[T]) run() {
	mr, nr := p.kern.mr, p.kern.nr
	jPanels := (p.n + nr - 1) / nr
	for p.pc0 = 0; p.pc0 < p.k; p.pc0 += p.kblock {
		p.kb = min(p.kblock, p.k-p.pc0)
		for p.ic = 0; p.ic < p.m; p.ic += p.mc {
			p.mb = min(p.mc, p.m-p.ic)
			iPanels := (p.mb + mr - 1) / mr
			p.packA(iPanels)
			p.nJr, p.jrGrain = split(jPanels, p.maxJr)
			p.nIr, p.irGrain = 1, iPanels
			if p.nJr < minTasks {
				// A narrow C: split the rows too.
				want := (minTasks + p.nJr - 1) / p.nJr
				p.nIr, p.irGrain = split(iPanels, max((iPanels+want-1)/want, (taskRows+mr-1)/mr))
			}
			p.forChunks(p.nIr*p.nJr, 1, p.tasksFn)
		}
	}
}

// split divides n items into the fewest chunks of at most max items and
// returns the number of chunks and the size of all but the last.
func split(n, max int) (chunks, size int) {
	chunks = (n + max - 1) / max
	size = (n + chunks - 1) / chunks
	return chunks, size
}

// forChunks calls fn over [0, n) in chunks of grain, in parallel unless the
// whole product is small.
func (p *plan[T]) forChunks(n, grain int, fn func(lo, hi int)) {
	if p.serial {
		for lo := 0; lo < n; lo += grain {
			fn(lo, min(lo+grain, n))
		}
		return
	}
	parallel.For(n, grain, fn)
}

// packA packs the current A block: for each KC slice s of its steps (steps
// pc0+s·kc … of depth ks), panel q holds rows ic+q·MR … ic+q·MR+MR−1 of
// op(A), as ap[s·kc·MB' + q·ks·MR + t·MR + r] = op(A)[ic+q·MR+r, pc0+s·kc+t],
// zero beyond row m (MB' is mb rounded up to MR).
func (p *plan[T]) packA(iPanels int) {
	mr := p.kern.mr
	for s, pc := 0, p.pc0; pc < p.pc0+p.kb; s, pc = s+1, pc+p.kc {
		ks := min(p.kc, p.pc0+p.kb-pc)
		ap := p.ap[s*p.kc*iPanels*mr:]
		for q := range iPanels {
			dst := ap[q*ks*mr : (q+1)*ks*mr]
			i0 := p.ic + q*mr
			rows := min(mr, p.ic+p.mb-i0)
			if p.patchA.C != 0 {
				p.runs = packPatchesA(p.pk, dst, mr, p.patchA, p.a, i0, rows, pc, ks, p.runs)
				continue
			}
			if p.transA {
				// op(A)[i, t] = a[t*lda+i]: MR consecutive elements per step.
				packRows(p.pk, dst, mr, p.a[pc*p.lda+i0:], p.lda, ks, rows)
			} else {
				// op(A)[i, t] = a[i*lda+t]: one row of A per panel row.
				packCols(p.pk, dst, mr, p.a[i0*p.lda+pc:], p.lda, rows, ks)
			}
		}
	}
}

// packB packs steps [pc, pc+ks) of the B panel of columns j0 … j0+NR−1 of
// op(B) into dst: dst[t·NR + j] = op(B)[pc+t, j0+j], zero beyond column n.
func (p *plan[T]) packB(dst []T, pc, ks, j0 int) {
	nr := p.kern.nr
	cols := min(nr, p.n-j0)
	if p.patchB.C != 0 {
		packPatchesB(p.pk, dst, nr, p.patchB, p.b, pc, ks, j0, cols)
		return
	}
	if !p.transB {
		// op(B)[t, j] = b[t*ldb+j]: NR consecutive elements per step.
		packRows(p.pk, dst, nr, p.b[pc*p.ldb+j0:], p.ldb, ks, cols)
	} else {
		// op(B)[t, j] = b[j*ldb+t]: one row of B per panel column.
		packCols(p.pk, dst, nr, p.b[j0*p.ldb+pc:], p.ldb, cols, ks)
	}
}

// scratch is the private memory of a running task: one packed B panel and
// one tile for edge tiles, each on cache lines of its own.
type scratch[T float32 | float64] struct {
	b, tile []T
	mem     []T
}

func getScratch[T float32 | float64](nb, nt int) *scratch[T] {
	var zero T
	sc, ok := scratchFor[T]().Get()
	if !ok {
		sc = new(scratch[T])
	}
	if len(sc.b) < nb || len(sc.tile) < nt {
		line := cacheLine / int(sizeOf(zero))
		nb = (nb + line - 1) / line * line
		sc.mem = make([]T, nb+nt+3*line)
		// Align b to a cache line, and keep a line between b and tile and
		// after tile.
		off := int(uintptr(unsafe.Pointer(&sc.mem[0]))%cacheLine) / int(sizeOf(zero))
		if off != 0 {
			off = line - off
		}
		sc.b = sc.mem[off : off+nb]
		sc.tile = sc.mem[off+nb+line : off+nb+line+nt]
	}
	return sc
}

func putScratch[T float32 | float64](sc *scratch[T]) { scratchFor[T]().Put(sc) }

// tasks runs tasks [lo, hi) of the current A block. Task t covers the A
// panels of row chunk t%nIr and the B panels of column chunk t/nIr. For each
// of its B panels, and each KC slice of the block in order, it packs the
// slice of the panel and runs the micro-kernel on it against every A panel of
// its rows: the B panel stays in L1 while the A panels stream from L2.
func (p *plan[T]) tasks(lo, hi int) {
	mr, nr := p.kern.mr, p.kern.nr
	iPanels := (p.mb + mr - 1) / mr
	jPanels := (p.n + nr - 1) / nr
	f, fc := p.kern.fn, p.kern.fnC
	sc := getScratch[T](p.kc*nr, mr*nr)
	tile := sc.tile[:mr*nr]
	for t := lo; t < hi; t++ {
		ir0 := (t % p.nIr) * p.irGrain
		jr0 := (t / p.nIr) * p.jrGrain
		ir1 := min(ir0+p.irGrain, iPanels)
		jr1 := min(jr0+p.jrGrain, jPanels)
		for jr := jr0; jr < jr1; jr++ {
			j0 := jr * nr
			cols := min(nr, p.n-j0)
			for s, pc := 0, p.pc0; pc < p.pc0+p.kb; s, pc = s+1, pc+p.kc {
				ks := min(p.kc, p.pc0+p.kb-pc)
				bq := sc.b[:ks*nr]
				p.packB(bq, pc, ks, j0)
				first := pc == 0
				beta := p.beta // the beta of fnC: C's own for the first slice of the sum
				if !first {
					beta = 1
				}
				ap := p.ap[s*p.kc*iPanels*mr:]
				for ir := ir0; ir < ir1; ir++ {
					aq := ap[ir*ks*mr : (ir+1)*ks*mr]
					i0 := p.ic + ir*mr
					rows := min(mr, p.m-i0)
					if fc != nil && rows == mr && cols == nr {
						fc(ks, aq, bq, p.c[i0*p.ldc+j0:], p.ldc, p.alpha, beta)
						continue
					}
					f(ks, aq, bq, tile)
					p.update(tile, i0, j0, rows, cols, first)
				}
			}
		}
	}
	putScratch(sc)
}

// packer holds optional fast routines for packing, installed by an
// architecture file; nil fields fall back to the loops of packRows and
// packCols. Both must check their arguments.
type packer[T float32 | float64] struct {
	// copyRows sets dst[r*dstStride+j] = src[r*srcStride+j] for r < rows,
	// j < width, where width·sizeof(T) is a multiple of 32 bytes.
	copyRows func(dst []T, dstStride int, src []T, srcStride, rows, width int)
	// transpose sets dst[s*dstStride+r] = src[r*srcStride+s] for r < block
	// and s < n, n a multiple of block.
	transpose func(dst []T, dstStride int, src []T, srcStride, n int)
	block     int
	// gather, when it can (it reports whether it did), sets
	// dst[(t*n+s)*mr+r] = runs[t*mr+r][s] for r < mr, s < n and every group
	// t of mr runs: A panel steps from runs anywhere in memory (the implicit
	// GEMM's pixels under the taps of a window, see packPatchesA).
	gather func(dst []T, mr int, runs [][]T, n int) bool
}

var (
	packer32 packer[float32]
	packer64 packer[float64]
)

func packerFor[T float32 | float64]() packer[T] {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return any(packer32).(packer[T])
	}
	return any(packer64).(packer[T])
}

// packRows packs a panel whose rows are contiguous in the source:
// dst[s*w+j] = src[s*ld+j] for s < kb, j < cols, and zero for cols ≤ j < w.
func packRows[T float32 | float64](pk packer[T], dst []T, w int, src []T, ld, kb, cols int) {
	var zero T
	if cols == w && pk.copyRows != nil && w*int(sizeOf(zero))%32 == 0 {
		pk.copyRows(dst, w, src, ld, kb, w)
		return
	}
	for s := range kb {
		copyPad(dst[s*w:s*w+w], src[s*ld:s*ld+cols])
	}
}

// packCols packs a panel whose columns are contiguous rows of the source:
// dst[s*w+r] = src[r*ld+s] for r < rows, s < kb, and zero for rows ≤ r < w.
// Whole blocks of rows and steps go through pk.transpose when there is one.
func packCols[T float32 | float64](pk packer[T], dst []T, w int, src []T, ld, rows, kb int) {
	r, nb := 0, 0
	if pk.transpose != nil {
		nb = kb - kb%pk.block
		if nb > 0 {
			for ; r+pk.block <= rows; r += pk.block {
				pk.transpose(dst[r:], w, src[r*ld:], ld, nb)
			}
		}
	}
	for x := range rows {
		s0 := 0
		if x < r {
			s0 = nb // the transpose did steps [0, nb) of this row
		}
		row := src[x*ld : x*ld+kb]
		for s := s0; s < kb; s++ {
			dst[s*w+x] = row[s]
		}
	}
	for x := rows; x < w; x++ {
		for s := range kb {
			dst[s*w+x] = 0
		}
	}
}

// sizeOf is the size of T in bytes.
func sizeOf[T float32 | float64](T) uintptr {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return 4
	}
	return 8
}

// copyPad copies src to the start of dst and zeroes the rest of dst. It is a
// loop because for the few elements of a panel row the call of copy's memmove
// costs more than the copy (5% of a 128×784×512 product).
func copyPad[T float32 | float64](dst, src []T) {
	d := dst[:len(src)]
	for i, v := range src {
		d[i] = v
	}
	for i := len(src); i < len(dst); i++ {
		dst[i] = 0
	}
}

// update adds the tile (rows×cols of it, stride NR) into C at (i0, j0):
// C = alpha·tile + beta·C for the first slice of the sum, C += alpha·tile for
// the others.
func (p *plan[T]) update(tile []T, i0, j0, rows, cols int, first bool) {
	nr := p.kern.nr
	alpha, beta := p.alpha, p.beta
	for r := range rows {
		t := tile[r*nr : r*nr+cols]
		c := p.c[(i0+r)*p.ldc+j0:]
		c = c[:len(t)]
		switch {
		case first && beta == 0:
			if alpha == 1 {
				for j, v := range t { // a loop: copy's memmove call costs more for 3-8 elements
					c[j] = v
				}
			} else {
				for j, v := range t {
					c[j] = alpha * v
				}
			}
		case first && beta != 1:
			for j, v := range t {
				c[j] = T(alpha*v) + T(beta*c[j]) // rounded separately, as fnC does
			}
		default: // beta is 1, or a later slice of the sum
			if alpha == 1 {
				for j, v := range t {
					c[j] += v
				}
			} else {
				for j, v := range t {
					c[j] += T(alpha * v) // no fused multiply-add, as in fnC
				}
			}
		}
	}
}
