package gemm

import (
	"fmt"

	"github.com/fdsm/fdsm/internal/kernel/bufpool"
)

// Direct convolution (float32): the convolution's products computed from
// the images in place, with no packed copy of the patch matrix at all.
//
// The implicit GEMM of patches.go still packs: every MR×KC panel of the patch
// matrix is gathered from the images into a buffer before the micro-kernel
// reads it. For a convolution the GEMM is narrow (n = O output channels, 32
// or 64), so each packed element of A feeds only O/8 FMAs, and packing cost
// about as much as the products (packPatchesA and its gather took a fifth
// of a conv-resnet training step, the micro-kernel a third).
//
// The direct kernel instead broadcasts A's elements straight from the images:
// it holds six row pointers, one per output pixel of the tile, into a copy of
// the images padded once with zeros (so that no window reaches outside), and
// for each tap of the window reads the C channels of each pixel at a fixed
// offset from its pointer. B, 16 columns wide, is read in place too: for the
// forward pass a once-packed panel of the weights, for the weight gradient the
// output cotangent's rows, which are contiguous. One table-driven loop serves
// both:
//
//	acc[r][j] = Σ_{e} Σ_{s<n0} a[rows[r] + tab[2e] + s·a0] · b[tab[2e+1] + s·b0 + j]
//
//   - forward (and the input gradient, a transposed convolution): the rows
//     are output pixels, each table entry a tap (kh, kw) at offset
//     (kh·Wp + kw)·C in the padded image and at the tap's C·16 block of the
//     weight panel; s runs over the C channels.
//   - weight gradient: the rows are six input channels under one tap, each
//     table entry an output row of an image (its pixels Stride·C apart in the
//     padded image, its cotangent rows O apart); s runs over the row's Wo
//     pixels, and the 16 columns are 16 output channels.
//
// The sums run in the table's order and then s, the same at every call, so
// results depend only on the sizes and on how the caller splits the images.

// directMR and directNR are the tile of the direct kernels.
const (
	directMR = 6
	directNR = 16
)

// directKernel is a direct-convolution micro-kernel: fn computes one 6×16
// tile as above and stores it to c[r·ldc + j] (adds it when add).
type directKernel struct {
	name string
	fn   func(a []float32, rows *[directMR]int, tab directTable, n0, a0 int, b []float32, b0 int, c []float32, ldc int, add bool)
}

// directTable is a direct kernel's table of (A offset, B offset) pairs and
// their largest values, which the bounds check of each call reads instead
// of scanning the table again: a forward pass calls the kernel thousands of
// times with one table (the scan cost 2–4% of a conv-resnet step).
type directTable struct {
	e          []int // the pairs, flattened
	maxA, maxB int
}

// newDirectTable returns the table of the pairs e; it panics if e has an
// odd length or a negative entry.
func newDirectTable(e []int) directTable {
	t := directTable{e: e}
	if len(e)%2 != 0 {
		panic(fmt.Sprintf("gemm: direct kernel table of odd length %d", len(e)))
	}
	for i := 0; i < len(e); i += 2 {
		if e[i] < 0 || e[i+1] < 0 {
			panic(fmt.Sprintf("gemm: direct kernel table entry %d is (%d, %d), want offsets ≥ 0", i/2, e[i], e[i+1]))
		}
		t.maxA, t.maxB = max(t.maxA, e[i]), max(t.maxB, e[i+1])
	}
	return t
}

// direct32 is the active direct kernel; availableDirect lists every one that
// runs on this CPU, the portable one first (the tests run each).
var (
	direct32        = directKernel{name: "go6x16", fn: directTileGo}
	availableDirect = []directKernel{direct32}
)

// directTileGo is the portable direct kernel.
func directTileGo(a []float32, rows *[directMR]int, tab directTable, n0, a0 int, b []float32, b0 int, c []float32, ldc int, add bool) {
	var acc [directMR][directNR]float32
	for e := 0; e+1 < len(tab.e); e += 2 {
		ao, bo := tab.e[e], tab.e[e+1]
		for s := range n0 {
			bb := (*[directNR]float32)(b[bo+s*b0:])
			for r := range directMR {
				av := a[rows[r]+ao+s*a0]
				row := &acc[r]
				for j, bv := range bb {
					row[j] += av * bv
				}
			}
		}
	}
	for r := range directMR {
		cr := (*[directNR]float32)(c[r*ldc:])
		if add {
			for j := range cr {
				cr[j] += acc[r][j]
			}
		} else {
			*cr = acc[r]
		}
	}
}

// checkDirect panics unless every element a direct kernel call reads or
// writes lies inside its slice: the assembly kernels do not check.
func checkDirect(na int, rows *[directMR]int, tab directTable, n0, a0, nb, b0, nc, ldc int) {
	bad := n0 < 0 || a0 < 0 || b0 < 0 || ldc < directNR || nc < (directMR-1)*ldc+directNR
	if n0 > 0 && len(tab.e) > 0 {
		for _, r := range rows {
			bad = bad || r < 0 || r+tab.maxA+(n0-1)*a0 >= na
		}
		bad = bad || tab.maxB+(n0-1)*b0+directNR > nb
	}
	if bad {
		panic(fmt.Sprintf("gemm: direct kernel arguments out of range (rows %v, %d table entries, n0 %d, a0 %d, b0 %d, ldc %d, lengths %d %d %d)",
			*rows, len(tab.e)/2, n0, a0, b0, ldc, na, nb, nc))
	}
}

// DirectPanelsLen returns the length of the packed weight panels of an o×k
// weight matrix (see DirectPanels).
func DirectPanelsLen(o, k int) int { return (o + directNR - 1) / directNR * k * directNR }

// DirectPanels packs the weight matrix w [o×k] (row-major, k = the patch
// matrix's columns) into the B panels of DirectForward: panel jp holds, for
// each p < k, the 16 elements w[jp·16 + j, p], zero past row o.
func DirectPanels(dst, w []float32, o, k int) {
	if len(w) < o*k || len(dst) < DirectPanelsLen(o, k) {
		panic(fmt.Sprintf("gemm: DirectPanels of a %d×%d weight from %d elements into %d", o, k, len(w), len(dst)))
	}
	for jp := 0; jp*directNR < o; jp++ {
		panel := dst[jp*k*directNR:][:k*directNR]
		for j := range directNR {
			oo := jp*directNR + j
			if oo >= o {
				for p := range k {
					panel[p*directNR+j] = 0
				}
				continue
			}
			for p, v := range w[oo*k : (oo+1)*k] {
				panel[p*directNR+j] = v
			}
		}
	}
}

// padImages copies the n NHWC images x of q's geometry into dst with q's zero
// padding made explicit: images of (H+2·PadH)×(W+2·PadW) pixels.
func padImages(dst, x []float32, n int, q Patches) {
	hp, wp, c := q.H+2*q.PadH, q.W+2*q.PadW, q.C
	row := q.W * c
	for img := range n {
		src := x[img*q.H*row:][:q.H*row]
		d := dst[img*hp*wp*c:][:hp*wp*c]
		clear(d[:q.PadH*wp*c])
		for ih := range q.H {
			dr := d[((q.PadH+ih)*wp)*c:][:wp*c]
			clear(dr[:q.PadW*c])
			copy(dr[q.PadW*c:], src[ih*row:(ih+1)*row])
			clear(dr[(q.PadW+q.W)*c:])
		}
		clear(d[(q.PadH+q.H)*wp*c:])
	}
}

// maxDirectTaps bounds the window of DirectForward (its table lives on the
// stack): 7×7 and smaller.
const maxDirectTaps = 49

// DirectForward sets out [m×o] (leading dimension o) to P·Wᵀ, P [m×k] the
// patch matrix of the n images x of q's geometry (m = n·Ho·Wo, k = q.Cols())
// and W [o×k] given as DirectPanels(W, o, k): a convolution's forward pass.
// It runs on the caller's goroutine (callers split the images).
func DirectForward(q Patches, x []float32, n int, panels []float32, o int, out []float32) {
	ho, wo := q.Out()
	m, k, c := n*ho*wo, q.Cols(), q.C
	q.check(len(x), m)
	if q.KH*q.KW > maxDirectTaps || len(panels) < DirectPanelsLen(o, k) || len(out) < m*o {
		panic(fmt.Sprintf("gemm: DirectForward of %d images %+v into %d×%d from %d panel elements and %d output elements",
			n, q, m, o, len(panels), len(out)))
	}
	if m == 0 || o == 0 {
		return
	}
	countFLOPs(m, o, k)
	hp, wp := q.H+2*q.PadH, q.W+2*q.PadW
	xp := bufpool.Float32sUninit(n * hp * wp * c)
	padImages(xp, x, n, q)
	var tab [2 * maxDirectTaps]int
	for t := range q.KH * q.KW {
		tab[2*t], tab[2*t+1] = (t/q.KW*wp+t%q.KW)*c, t*c*directNR
	}
	taps := newDirectTable(tab[:2*q.KH*q.KW])
	fn := direct32.fn
	var rows [directMR]int
	var tile [directMR * directNR]float32
	for o0 := 0; o0 < o; o0 += directNR {
		b := panels[o0*k:][:k*directNR]
		cols := min(directNR, o-o0)
		for i0 := 0; i0 < m; i0 += directMR {
			nr := min(directMR, m-i0)
			for r := range directMR {
				i := i0 + min(r, nr-1) // rows past m repeat the last one
				img, oh, ow := i/(ho*wo), i%(ho*wo)/wo, i%wo
				rows[r] = (img*hp*wp + oh*q.Stride*wp + ow*q.Stride) * c
			}
			if nr == directMR && cols == directNR {
				fn(xp, &rows, taps, c, 1, b, directNR, out[i0*o+o0:], o, false)
				continue
			}
			fn(xp, &rows, taps, c, 1, b, directNR, tile[:], directNR, false)
			for r := range nr {
				copy(out[(i0+r)*o+o0:][:cols], tile[r*directNR:])
			}
		}
	}
	bufpool.PutFloat32s(xp)
}

// directRows is the number of output rows (of all the images) one weight
// gradient kernel call sums over: its table lives on the stack.
const directRows = 128

// DirectWeightGrad sets dw [o×k] (k = q.Cols(), the patch matrix's column
// order) to gᵀ·P for the cotangent g [m×o] of the outputs of the n images x
// of q's geometry (m = n·Ho·Wo): a convolution's weight gradient. o must be a
// multiple of 16 (the kernel reads 16 output channels of g at a time). It
// runs on the caller's goroutine.
func DirectWeightGrad(q Patches, x []float32, n int, g []float32, o int, dw []float32) {
	ho, wo := q.Out()
	m, k, c := n*ho*wo, q.Cols(), q.C
	q.check(len(x), m)
	if o%directNR != 0 || len(g) < m*o || len(dw) < o*k {
		panic(fmt.Sprintf("gemm: DirectWeightGrad of %d images %+v with a %d×%d cotangent from %d elements into %d (O must be a multiple of %d)",
			n, q, m, o, len(g), len(dw), directNR))
	}
	if o == 0 {
		return
	}
	if m == 0 {
		clear(dw[:o*k])
		return
	}
	countFLOPs(o, k, m)
	hp, wp := q.H+2*q.PadH, q.W+2*q.PadW
	xp := bufpool.Float32sUninit(n * hp * wp * c)
	padImages(xp, x, n, q)
	fn := direct32.fn
	var tab [2 * directRows]int
	var rows [directMR]int
	var tile [directMR * directNR]float32
	// Stride 1: the cotangent is copied into rows of Wp pixels (zeros past
	// Wo), so that an image's output pixels and the windows' corners in the
	// padded image are both at one constant stride: one table entry and one
	// long sum per image, instead of one short sum per output row.
	var gv []float32
	steps, a0, entries := wo, q.Stride*c, n*ho
	if q.Stride == 1 {
		gv = bufpool.Float32s(n * ho * wp * o)
		for img := range n {
			for oh := range ho {
				copy(gv[((img*ho+oh)*wp)*o:], g[(img*ho+oh)*wo*o:][:wo*o])
			}
		}
		g, steps, entries = gv, (ho-1)*wp+wo, n
	}
	for r0 := 0; r0 < entries; r0 += directRows {
		nrow := min(directRows, entries-r0)
		for e := range nrow {
			if gv != nil {
				tab[2*e], tab[2*e+1] = (r0+e)*hp*wp*c, (r0+e)*ho*wp*o
				continue
			}
			img, oh := (r0+e)/ho, (r0+e)%ho
			tab[2*e], tab[2*e+1] = (img*hp*wp+oh*q.Stride*wp)*c, (img*ho*wo+oh*wo)*o
		}
		entries := newDirectTable(tab[:2*nrow])
		first := r0 == 0
		for t := range q.KH * q.KW {
			tapOff := (t/q.KW*wp + t%q.KW) * c
			for c0 := 0; c0 < c; c0 += directMR {
				nc := min(directMR, c-c0)
				for r := range directMR {
					rows[r] = tapOff + c0 + min(r, nc-1) // channels past C repeat the last one
				}
				for o0 := 0; o0 < o; o0 += directNR {
					fn(xp, &rows, entries, steps, a0, g[o0:], o, tile[:], directNR, false)
					for r := range nc {
						col := t*c + c0 + r
						for j := range directNR {
							if first {
								dw[(o0+j)*k+col] = tile[r*directNR+j]
							} else {
								dw[(o0+j)*k+col] += tile[r*directNR+j]
							}
						}
					}
				}
			}
		}
	}
	bufpool.PutFloat32s(xp)
	if gv != nil {
		bufpool.PutFloat32s(gv)
	}
}
