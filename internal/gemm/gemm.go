package gemm

import (
	"fmt"
	"sync"

	"github.com/fdsm/fdsm/internal/parallel"
)

// Default blocking, used when the kernel leaves KC, MC or NC zero. They are
// sized for a core with a 32 KiB L1d and a 1 MiB L2 (AMD Zen 4/5):
//
//   - KC = 256: one packed panel of A (KC·MR) and one of B (KC·NR) stay in L1
//     during a micro-kernel call, for any MR, NR ≤ 8 and either element size.
//   - MC: the packed MC×KC block of A takes half the L2 (512 KiB): 512 rows
//     in float32, 256 in float64.
//   - NC: the packed KC×NC block of B takes 4 MiB (L3): 4096 columns in
//     float32, 2048 in float64.
const (
	defaultKC     = 256
	defaultABytes = 512 << 10
	defaultBBytes = 4 << 20
)

// Parallel work is split into tasks of about taskRows × taskCols elements of
// C (rounded to whole micro-tiles). The split depends only on the sizes, never
// on GOMAXPROCS.
const (
	taskRows = 64
	taskCols = 64
)

// cacheLine is the size of a cache line in bytes. The per-task tiles are
// spaced by their size rounded up to whole lines plus one line, so that no
// two share a line whatever the alignment of the buffer.
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
// packing buffers. Plans are pooled, so that a steady stream of calls of
// similar sizes allocates nothing but the closures of parallel.For.
type plan[T float32 | float64] struct {
	kern           kernel[T]
	transA, transB bool
	m, n, k        int
	alpha, beta    T
	a, b, c        []T
	lda, ldb, ldc  int

	kc, mc, nc int // block sizes (multiples of MR for mc, NR for nc)
	serial     bool

	// The current block: columns [jc, jc+nb) of C, steps [pc, pc+kb) of the
	// sum, rows [ic, ic+mb) of C.
	jc, nb, pc, kb, ic, mb int

	// Task layout: at most maxIr A-panels × maxJr B-panels per task; in the
	// current block, nIr × nJr tasks of irGrain × jrGrain panels (the last
	// ones smaller), the panels shared out as evenly as possible.
	maxIr, maxJr     int
	irGrain, jrGrain int
	nIr, nJr         int

	ap, bp, tiles []T // packed A block, packed B block, one tile per task
	tileStride    int // elements from one task's tile to the next
	buf           []T

	// Method values of packB and tasks, made once per plan so that calls
	// do not allocate them.
	packBFn, tasksFn func(lo, hi int)
}

var plans32, plans64 sync.Pool

func poolFor[T float32 | float64]() *sync.Pool {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return &plans32
	}
	return &plans64
}

func getPlan[T float32 | float64]() *plan[T] {
	if p, ok := poolFor[T]().Get().(*plan[T]); ok {
		return p
	}
	p := new(plan[T])
	p.packBFn, p.tasksFn = p.packB, p.tasks
	return p
}

// release drops the references to the caller's matrices and returns p to its
// pool.
func (p *plan[T]) release() {
	p.a, p.b, p.c = nil, nil, nil
	poolFor[T]().Put(p)
}

func (p *plan[T]) init(kern kernel[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	p.kern = kern
	p.transA, p.transB = transA, transB
	p.m, p.n, p.k = m, n, k
	p.alpha, p.beta = alpha, beta
	p.a, p.lda = a, lda
	p.b, p.ldb = b, ldb
	p.c, p.ldc = c, ldc

	mr, nr := kern.mr, kern.nr
	var size int
	if _, ok := any(alpha).(float32); ok {
		size = 4
	} else {
		size = 8
	}
	kc, mc, nc := kern.kc, kern.mc, kern.nc
	if kc <= 0 {
		kc = defaultKC
	}
	if mc <= 0 {
		mc = defaultABytes / (kc * size)
	}
	if nc <= 0 {
		nc = defaultBBytes / (kc * size)
	}
	p.kc = blocks(k, kc, 1)
	p.mc = blocks(m, mc, mr)
	p.nc = blocks(n, nc, nr)
	p.serial = m*n*k < serialWork

	p.maxIr = max(1, (taskRows+mr-1)/mr)
	p.maxJr = max(1, (taskCols+nr-1)/nr)
	maxTasks := ((p.mc/mr + p.maxIr - 1) / p.maxIr) * ((p.nc/nr + p.maxJr - 1) / p.maxJr)

	// Each task's tile has cache lines of its own: tasks running on different
	// cores write their tiles at every micro-kernel call, and a line shared by
	// two tiles would bounce between the cores (this cost a third of the
	// 2-core throughput).
	p.tileStride = ((mr*nr*size+cacheLine-1)/cacheLine*cacheLine + cacheLine) / size
	nt := maxTasks * p.tileStride
	na := p.mc * p.kc
	nb := p.kc * p.nc
	if cap(p.buf) < nt+na+nb {
		p.buf = make([]T, nt+na+nb)
	}
	p.tiles = p.buf[:nt]
	p.ap = p.buf[nt : nt+na]
	p.bp = p.buf[nt+na : nt+na+nb]
}

// run is the Goto/BLIS loop nest: column blocks of B (NC), then slices of the
// sum (KC), packing B; then row blocks of A (MC), packing A; then the
// macro-kernel over micro-tiles, split into tasks.
func (p *plan[T]) run() {
	mr, nr := p.kern.mr, p.kern.nr
	for p.jc = 0; p.jc < p.n; p.jc += p.nc {
		p.nb = min(p.nc, p.n-p.jc)
		jPanels := (p.nb + nr - 1) / nr
		p.nJr, p.jrGrain = split(jPanels, p.maxJr)
		for p.pc = 0; p.pc < p.k; p.pc += p.kc {
			p.kb = min(p.kc, p.k-p.pc)
			p.forChunks(jPanels, p.jrGrain, p.packBFn)
			for p.ic = 0; p.ic < p.m; p.ic += p.mc {
				p.mb = min(p.mc, p.m-p.ic)
				iPanels := (p.mb + mr - 1) / mr
				p.packA(0, iPanels)
				p.nIr, p.irGrain = split(iPanels, p.maxIr)
				p.forChunks(p.nIr*p.nJr, 1, p.tasksFn)
			}
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

// packA packs A panels [lo, hi) of the current block: panel q holds rows
// ic+q·MR … ic+q·MR+MR−1 of op(A), steps pc … pc+kb−1, as
// ap[q·kb·MR + s·MR + r] = op(A)[ic+q·MR+r, pc+s], zero beyond row m.
func (p *plan[T]) packA(lo, hi int) {
	mr, kb := p.kern.mr, p.kb
	for q := lo; q < hi; q++ {
		dst := p.ap[q*kb*mr : (q+1)*kb*mr]
		i0 := p.ic + q*mr
		rows := min(mr, p.ic+p.mb-i0)
		if p.transA {
			// op(A)[i, s] = a[s*lda+i]: MR consecutive elements per step.
			for s := range kb {
				src := p.a[(p.pc+s)*p.lda+i0:]
				copyPad(dst[s*mr:s*mr+mr], src[:rows])
			}
			continue
		}
		// op(A)[i, s] = a[i*lda+s]: one row of A per panel row, strided in dst.
		for r := range rows {
			src := p.a[(i0+r)*p.lda+p.pc:]
			src = src[:kb]
			for s, v := range src {
				dst[s*mr+r] = v
			}
		}
		for r := rows; r < mr; r++ {
			for s := range kb {
				dst[s*mr+r] = 0
			}
		}
	}
}

// packB packs B panels [lo, hi) of the current block: panel q holds columns
// jc+q·NR … jc+q·NR+NR−1 of op(B), steps pc … pc+kb−1, as
// bp[q·kb·NR + s·NR + j] = op(B)[pc+s, jc+q·NR+j], zero beyond column n.
func (p *plan[T]) packB(lo, hi int) {
	nr, kb := p.kern.nr, p.kb
	for q := lo; q < hi; q++ {
		dst := p.bp[q*kb*nr : (q+1)*kb*nr]
		j0 := p.jc + q*nr
		cols := min(nr, p.jc+p.nb-j0)
		if !p.transB {
			// op(B)[s, j] = b[s*ldb+j]: NR consecutive elements per step.
			for s := range kb {
				src := p.b[(p.pc+s)*p.ldb+j0:]
				copyPad(dst[s*nr:s*nr+nr], src[:cols])
			}
			continue
		}
		// op(B)[s, j] = b[j*ldb+s]: one row of B per panel column.
		for j := range cols {
			src := p.b[(j0+j)*p.ldb+p.pc:]
			src = src[:kb]
			for s, v := range src {
				dst[s*nr+j] = v
			}
		}
		for j := cols; j < nr; j++ {
			for s := range kb {
				dst[s*nr+j] = 0
			}
		}
	}
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

// tasks runs the macro-kernel for tasks [lo, hi) of the current block. Task t
// covers A panels of chunk t%nIr and B panels of chunk t/nIr; within a task
// the B panel is the outer loop, so it stays in L1 while the A panels stream
// from L2.
func (p *plan[T]) tasks(lo, hi int) {
	mr, nr, kb := p.kern.mr, p.kern.nr, p.kb
	iPanels := (p.mb + mr - 1) / mr
	jPanels := (p.nb + nr - 1) / nr
	f := p.kern.fn
	for t := lo; t < hi; t++ {
		tile := p.tiles[t*p.tileStride : t*p.tileStride+mr*nr]
		ir0 := (t % p.nIr) * p.irGrain
		jr0 := (t / p.nIr) * p.jrGrain
		ir1 := min(ir0+p.irGrain, iPanels)
		jr1 := min(jr0+p.jrGrain, jPanels)
		for jr := jr0; jr < jr1; jr++ {
			bq := p.bp[jr*kb*nr : (jr+1)*kb*nr]
			j0 := p.jc + jr*nr
			cols := min(nr, p.n-j0)
			for ir := ir0; ir < ir1; ir++ {
				f(kb, p.ap[ir*kb*mr:(ir+1)*kb*mr], bq, tile)
				i0 := p.ic + ir*mr
				p.update(tile, i0, j0, min(mr, p.m-i0), cols)
			}
		}
	}
}

// update adds the tile (rows×cols of it, stride NR) into C at (i0, j0):
// C = alpha·tile + beta·C for the first slice of the sum, C += alpha·tile for
// the others.
func (p *plan[T]) update(tile []T, i0, j0, rows, cols int) {
	nr := p.kern.nr
	alpha, beta := p.alpha, p.beta
	first := p.pc == 0
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
				c[j] = alpha*v + beta*c[j]
			}
		default: // beta is 1, or a later slice of the sum
			if alpha == 1 {
				for j, v := range t {
					c[j] += v
				}
			} else {
				for j, v := range t {
					c[j] += alpha * v
				}
			}
		}
	}
}
