package gemm

import "fmt"

// Implicit GEMM for convolutions: products with the patch matrix of a batch
// of NHWC images, packed straight from the images. The patch matrix is never
// built; the packing routines read each of its panels from the images, which
// costs what packing an ordinary operand costs, instead of writing and
// re-reading a matrix KH·KW times the size of the images.
//
// Column order (kh, kw, c): for each tap of the window, the C channels of one
// pixel, which are contiguous in NHWC. A panel of B (NR consecutive columns at
// one row) is then a few contiguous runs of the image, copied whole, and a
// panel of A (MR consecutive rows at one column range) is a block transpose
// of MR pixels' channel runs that lie at a constant stride in the image.

// Patches is the geometry of a patch matrix: images of H×W pixels with C
// channels, stored NHWC, and a KH×KW window moved Stride pixels at a time over
// the images padded with PadH rows and PadW columns of zeros on each side.
// Row (n, oh, ow) of the matrix (n·Ho·Wo + oh·Wo + ow) is the window at output
// pixel (oh, ow) of image n; column (kh·KW + kw)·C + c holds channel c of
// input pixel (oh·Stride − PadH + kh, ow·Stride − PadW + kw), or 0 where that
// falls in the padding.
type Patches struct {
	H, W, C        int
	KH, KW, Stride int
	PadH, PadW     int
}

// Out returns the output size (Ho, Wo): the number of window positions.
func (q Patches) Out() (ho, wo int) {
	return (q.H+2*q.PadH-q.KH)/q.Stride + 1, (q.W+2*q.PadW-q.KW)/q.Stride + 1
}

// Cols returns the number of columns of the patch matrix, KH·KW·C.
func (q Patches) Cols() int { return q.KH * q.KW * q.C }

// check panics unless q is a valid geometry and x holds whole images whose
// patch matrix has rows rows.
func (q Patches) check(x, rows int) {
	if q.H < 1 || q.W < 1 || q.C < 1 || q.KH < 1 || q.KW < 1 || q.Stride < 1 || q.PadH < 0 || q.PadW < 0 ||
		q.H+2*q.PadH < q.KH || q.W+2*q.PadW < q.KW {
		panic(fmt.Sprintf("gemm: invalid patch geometry %+v", q))
	}
	ho, wo := q.Out()
	img := q.H * q.W * q.C
	if rows%(ho*wo) != 0 || x < rows/(ho*wo)*img {
		panic(fmt.Sprintf("gemm: patch matrix of %d rows (%d per image) from %d elements (%d per image)", rows, ho*wo, x, img))
	}
}

// PatchesTimes computes C = P·op(B) + beta·C, where P [m×k] is the patch
// matrix of the images x (k = q.Cols(), m a multiple of Ho·Wo), op(B) is k×n
// (B stored k×n, or n×k when transB), and C m×n with leading dimension ldc.
// It is a convolution's forward pass. It runs on the caller's goroutine
// (callers split the images) and rounds exactly as Gemm does on the
// materialised P.
func PatchesTimes[T float32 | float64](q Patches, x []T, m int, transB bool, n int, b []T, ldb int, beta T, c []T, ldc int) {
	k := q.Cols()
	q.check(len(x), m)
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("B", transB, "ldb", br, bc, len(b), ldb)
	checkMatrix("C", false, "ldc", m, n, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	countFLOPs(m, n, k)
	p := getPlan[T]()
	p.init(kernelFor[T](), false, transB, m, n, k, 1, x, k, b, ldb, beta, c, ldc)
	p.serial, p.patchA = true, q
	p.run()
	p.patchA = Patches{}
	p.release()
}

// TimesPatches computes C = op(A)·P + beta·C, where op(A) is m×k (A stored
// m×k, or k×m when transA), P [k×n] is the patch matrix of the images x
// (n = q.Cols(), k a multiple of Ho·Wo) and C m×n with leading dimension ldc.
// It is a convolution's weight gradient (A the output's cotangent, transA).
// It runs on the caller's goroutine and rounds as Gemm does on the
// materialised P.
func TimesPatches[T float32 | float64](transA bool, m, k int, a []T, lda int, q Patches, x []T, beta T, c []T, ldc int) {
	n := q.Cols()
	q.check(len(x), k)
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	checkMatrix("A", transA, "lda", ar, ac, len(a), lda)
	checkMatrix("C", false, "ldc", m, n, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	countFLOPs(m, n, k)
	p := getPlan[T]()
	p.init(kernelFor[T](), transA, false, m, n, k, 1, a, lda, x, n, beta, c, ldc)
	p.serial, p.patchB = true, q
	p.run()
	p.patchB = Patches{}
	p.release()
}

// window returns, for a run of count window positions starting at start and
// moving stride pixels each, the range [lo, hi) of positions that fall
// inside [0, limit).
func window(start, stride, count, limit int) (lo, hi int) {
	if start < 0 {
		lo = (-start + stride - 1) / stride
	}
	if last := limit - 1 - start; last >= 0 {
		hi = last/stride + 1
	}
	hi = min(hi, count)
	return lo, max(lo, hi)
}

// packPatchesA packs an A panel from a patch matrix: dst[s·mr + r] =
// P[i0+r, pc+s] for r < rows, s < ks, zero for rows ≤ r < mr. Under each tap
// of the window, every row of the panel is one pixel's channel run (or
// zeros, in the padding or below the last row). pk.gather moves the runs of
// consecutive taps with the same number of channels in the slice in one call
// (the list of runs is kept in runs, which it returns for reuse); a loop
// does the rest.
func packPatchesA[T float32 | float64](pk packer[T], dst []T, mr int, q Patches, x []T, i0, rows, pc, ks int, runs [][]T) [][]T {
	if mr > maxMR {
		panic("gemm: micro-kernel taller than maxMR")
	}
	ho, wo := q.Out()
	hw, img, c := ho*wo, q.H*q.W*q.C, q.C
	dst = dst[:ks*mr]
	// Where each row's window starts: its image and top-left input pixel.
	var base, ih0, iw0 [maxMR]int
	for r := range rows {
		i := i0 + r
		base[r] = i / hw * img
		ih0[r] = i%hw/wo*q.Stride - q.PadH
		iw0[r] = i%wo*q.Stride - q.PadW
	}
	zeros := zeroRun[T]()
	// run returns row r's run of channels [c0, c0+nc) under tap t, or nil.
	run := func(r, t, c0, nc int) []T {
		ih, iw := ih0[r]+t/q.KW, iw0[r]+t%q.KW
		if r >= rows || ih < 0 || ih >= q.H || iw < 0 || iw >= q.W {
			return nil
		}
		return x[base[r]+(ih*q.W+iw)*c+c0:][:nc]
	}
	for t := pc / c; t*c < pc+ks; {
		c0 := max(pc, t*c) - t*c
		nc, s0 := min(pc+ks, (t+1)*c)-t*c-c0, t*c+c0-pc // channels of tap t in the slice, first step
		// The taps from t on whose channels all lie in the slice, like t's.
		t1 := t + 1
		if c0 == 0 {
			for t1*c < pc+ks && (t1+1)*c <= pc+ks && nc == c {
				t1++
			}
		}
		if pk.gather != nil && nc <= len(zeros) {
			runs = runs[:0]
			for tt := t; tt < t1; tt++ {
				for r := range mr {
					px := run(r, tt, c0, nc)
					if px == nil {
						px = zeros[:nc]
					}
					runs = append(runs, px)
				}
			}
			if pk.gather(dst[s0*mr:], mr, runs, nc) {
				t = t1
				continue
			}
		}
		for tt := t; tt < t1; tt++ {
			for r := range mr {
				col := dst[(s0+(tt-t)*nc)*mr+r:]
				px := run(r, tt, c0, nc)
				if px == nil {
					for s := range nc {
						col[s*mr] = 0
					}
					continue
				}
				for s, v := range px {
					col[s*mr] = v
				}
			}
		}
		t = t1
	}
	return runs
}

// maxMR bounds the micro-kernels' tile height (8 for the AVX-512 ones).
const maxMR = 16

// zeroRun returns a run of zeros at least as long as a KC slice of every
// kernel (the padding's channel runs for gather).
func zeroRun[T float32 | float64]() []T {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return any(zeros32[:]).([]T)
	}
	return any(zeros64[:]).([]T)
}

var (
	zeros32 [defaultKC]float32
	zeros64 [defaultKC]float64
)

// packPatchesB packs a B panel from a patch matrix: dst[s·nr + j] =
// P[pc+s, j0+j] for j < cols, s < ks, zero for cols ≤ j < nr. Each tap's
// columns of a row are one pixel's channel run; the runs of the pixels of one
// output row are at a constant stride, and go through pk.copyRows (or a
// loop).
func packPatchesB[T float32 | float64](pk packer[T], dst []T, nr int, q Patches, x []T, pc, ks, j0, cols int) {
	ho, wo := q.Out()
	hw, img, c := ho*wo, q.H*q.W*q.C, q.C
	var zero T
	dst = dst[:ks*nr]
	for t := j0 / c; t*c < j0+cols; t++ {
		kh, kw := t/q.KW, t%q.KW
		c0, c1 := max(j0, t*c)-t*c, min(j0+cols, (t+1)*c)-t*c
		nc, off := c1-c0, t*c+c0-j0
		for s := 0; s < ks; {
			i := pc + s
			n, oh, ow := i/hw, i%hw/wo, i%wo
			run := min(ks-s, wo-ow)
			ih := oh*q.Stride - q.PadH + kh
			iw0 := ow*q.Stride - q.PadW + kw
			lo, hi := 0, 0
			if ih >= 0 && ih < q.H {
				lo, hi = window(iw0, q.Stride, run, q.W)
			}
			d := dst[s*nr+off:]
			if hi > lo {
				src, step := x[n*img+(ih*q.W+iw0+lo*q.Stride)*c+c0:], q.Stride*c
				if pk.copyRows != nil && nc*int(sizeOf(zero))%32 == 0 {
					pk.copyRows(d[lo*nr:], nr, src, step, hi-lo, nc)
				} else {
					for j := lo; j < hi; j++ {
						copyPad(d[j*nr:j*nr+nc], src[(j-lo)*step:][:nc])
					}
				}
			}
			for j := range run {
				if j < lo || j >= hi {
					clear(d[j*nr : j*nr+nc])
				}
			}
			s += run
		}
	}
	if cols < nr {
		for s := range ks {
			clear(dst[s*nr+cols : s*nr+nr])
		}
	}
}
