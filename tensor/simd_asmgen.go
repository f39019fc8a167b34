//go:build ignore

// simd_asmgen writes simd_amd64.s, the vector float32 kernels of package
// tensor:
//
//	go run simd_asmgen.go
//
// (go generate runs it; see simd_amd64.go). Every kernel has the Go signature
//
//	func nameISA(dst, src, bias *float32, n int)         (ELU adds alpha float32)
//
// and sets dst[i] = f(src[i] + bias[i]) for i < n, n a positive multiple of
// the vector width (8 lanes for AVX2, 16 for AVX-512); a nil bias means none
// (−0 is added instead, which changes no value, −0 included). dst may be src.
//
// The kernels are the scalar ones of math32.go with the same range reductions,
// polynomials and order of operations, except that each Horner step and the
// reduction r = x − n·ln2Lo are fused multiply-adds; branches of the scalar
// code become blends of both sides. A kernel is written once, as a sequence
// of instructions on named virtual registers (a "body" below); the generator
// maps it to YMM registers and AVX2 blends, or to ZMM and opmask registers for
// AVX-512, and interleaves several independent copies ("streams") of it
// instruction by instruction, since each element is one long dependency chain
// (about 100 cycles for softplus) and out-of-order execution alone does not
// overlap enough of them.
package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strings"
)

// isa is a target instruction set.
type isa struct {
	name    string // suffix of the Go function names
	zmm     bool   // AVX-512 (ZMM data, K masks) rather than AVX2 (YMM for both)
	streams int    // vectors interleaved per loop iteration
}

func (a isa) vbytes() int {
	if a.zmm {
		return 64
	}
	return 32
}
func (a isa) lanes() int { return a.vbytes() / 4 }

// A body is a list of instructions whose operands are literals, constants
// ("c:name", see consts) or virtual registers ("%name"; "%m" is the mask).
type body struct {
	ins [][]string // mnemonic, operands in Go order (sources first, destination last)
}

func (b *body) i(op string, args ...string) { b.ins = append(b.ins, append([]string{op}, args...)) }

// Abstract instructions whose encoding differs between AVX2 and AVX-512.

// cmp sets mask m to (src1 pred src2), pred a VCMPPS predicate.
func (b *body) cmp(pred, src2, src1, m string) { b.i("CMP", pred, src2, src1, m) }

// blend sets dst = m ? a : b (a may be a constant, b must be a register).
func (b *body) blend(m, a, bb, dst string) { b.i("BLEND", m, a, bb, dst) }

// andm sets dst = m ? src : 0.
func (b *body) andm(m, src, dst string) { b.i("ANDM", m, src, dst) }

// VCMPPS predicates.
const (
	eqOQ  = "$0"
	ltOS  = "$1"
	nltUS = "$5"
	gtOQ  = "$0x1e"
)

// Constants, each 64 bytes of one 32-bit pattern (AVX2 reads the first 32).
var consts = []struct {
	name string
	bits uint32
	note string
}{
	{"log2e", f32(1.44269504088896341), "log₂e"},
	{"half", f32(0.5), ""},
	{"mhalf", f32(-0.5), ""},
	{"one", f32(1), ""},
	{"two", f32(2), ""},
	{"mtwo", f32(-2), ""},
	{"zero", 0, ""},
	{"ln2hi", f32(0.693359375), "ln2Hi32"},
	{"ln2lo", f32(-2.12194440e-4), "ln2Lo32"},
	{"expmax", f32(88.72283905206835), "expMax32"},
	{"expmin", f32(-87.33654475), "expMin32"},
	{"ep0", f32(1.9875691500e-4), "expf polynomial"},
	{"ep1", f32(1.3981999507e-3), ""},
	{"ep2", f32(8.3334519073e-3), ""},
	{"ep3", f32(4.1665795894e-2), ""},
	{"ep4", f32(1.6666665459e-1), ""},
	{"ep5", f32(5.0000001201e-1), ""},
	{"lp0", f32(7.0376836292e-2), "logf polynomial"},
	{"lp1", f32(-1.1514610310e-1), ""},
	{"lp2", f32(1.1676998740e-1), ""},
	{"lp3", f32(-1.2420140846e-1), ""},
	{"lp4", f32(1.4249322787e-1), ""},
	{"lp5", f32(-1.6668057665e-1), ""},
	{"lp6", f32(2.0000714765e-1), ""},
	{"lp7", f32(-2.4999993993e-1), ""},
	{"lp8", f32(3.3333331174e-1), ""},
	{"sqrt2m1", f32(0.41421356), "log1pUnit32's switch"},
	{"sqrthalf", f32(0.707106781186547524), "sqrtHalf"},
	{"t3", f32(1.0 / 6), "expm1_32's Taylor coefficients 1/k!"},
	{"t4", f32(1.0 / 24), ""},
	{"t5", f32(1.0 / 120), ""},
	{"t6", f32(1.0 / 720), ""},
	{"t7", f32(1.0 / 5040), ""},
	{"t8", f32(1.0 / 40320), ""},
	{"t9", f32(1.0 / 362880), ""},
	{"inf", f32(math.Inf(1)), ""},
	{"minf", f32(math.Inf(-1)), ""},
	{"nan", f32(math.NaN()), ""},
	{"tiny", f32(0x1p-126), "smallest normal"},
	{"two23", f32(0x1p23), ""},
	{"signbit", 0x80000000, "sign bit; also −0"},
	{"absmask", 0x7fffffff, ""},
	{"mantmask", 0x807fffff, "all but the exponent"},
	{"i23", 23, ""},
	{"i126", 126, ""},
	{"i127", 127, ""},
	{"i255", 255, ""},
}

func f32(v float64) uint32 { return math.Float32bits(float32(v)) }

// expPoly sets p = 1 + r + r²·P(r) (Cephes expf) and z = r².
func expPoly(b *body, r, z, p string) {
	b.i("VMULPS", r, r, z)
	b.i("VMOVUPS", "c:ep0", p)
	for _, c := range []string{"ep1", "ep2", "ep3", "ep4", "ep5"} {
		b.i("VFMADD213PS", "c:"+c, r, p) // p = p·r + c
	}
	b.i("VFMADD213PS", r, z, p) // p = p·z + r
	b.i("VADDPS", "c:one", p, p)
}

// expReduce: given n = x·log₂e ± ½, k = int32(n) (truncated: exp32 rounds half
// away from zero), n = float(k) and r = x − n·ln2Hi − n·ln2Lo (the first
// product is exact).
func expReduce(b *body, x, k, n, r string) {
	b.i("VCVTTPS2DQ", n, k)
	b.i("VCVTDQ2PS", k, n)
	b.i("VMOVAPS", x, r)
	b.i("VFNMADD231PS", "c:ln2hi", n, r)
	b.i("VFNMADD231PS", "c:ln2lo", n, r)
}

// expNeg sets p = eˣ for x ≤ 0 or NaN (k ≤ 0, so 2ᵏ is a normal number
// built from its exponent), 0 for x < expMin32. Clobbers k, r, z, m.
func expNeg(b *body, x, p, k, r, z, m string) {
	b.i("VMULPS", "c:log2e", x, z)
	b.i("VSUBPS", "c:half", z, z)
	expReduce(b, x, k, z, r)
	expPoly(b, r, z, p)
	b.i("VPADDD", "c:i127", k, k)
	b.i("VPSLLD", "$23", k, k)
	b.i("VMULPS", k, p, p)
	b.cmp(nltUS, "c:expmin", x, m)
	b.andm(m, p, p)
}

// expFull sets p = eˣ for any x as exp32 does: 0 below expMin32, +Inf above
// expMax32, and for k = 128 p·2·2¹²⁷ (p·2 by adding 1 to p's exponent).
// Clobbers k, r, z, t, m.
func expFull(b *body, x, p, k, r, z, t, m string) {
	b.i("VMULPS", "c:log2e", x, z)
	b.i("VANDPS", "c:signbit", z, t)
	b.i("VORPS", "c:half", t, t)
	b.i("VADDPS", t, z, z)
	expReduce(b, x, k, z, r)
	expPoly(b, r, z, p)
	b.i("VPMINSD", "c:i127", k, t)
	b.i("VPSUBD", t, k, k)
	b.i("VPSLLD", "$23", k, k)
	b.i("VPADDD", k, p, p)
	b.i("VPADDD", "c:i127", t, t)
	b.i("VPSLLD", "$23", t, t)
	b.i("VMULPS", t, p, p)
	b.cmp(nltUS, "c:expmin", x, m)
	b.andm(m, p, p)
	b.cmp(gtOQ, "c:expmax", x, m)
	b.blend(m, "c:inf", p, p)
}

// logPoly sets y = m·z·Q(m) (Cephes logf), z = m².
func logPoly(b *body, mm, z, y string) {
	b.i("VMOVUPS", "c:lp0", y)
	for _, c := range []string{"lp1", "lp2", "lp3", "lp4", "lp5", "lp6", "lp7", "lp8"} {
		b.i("VFMADD213PS", "c:"+c, mm, y)
	}
	b.i("VMULPS", mm, y, y)
	b.i("VMULPS", z, y, y)
}

// logFinish sets y = m + (y + ln2Lo·ef − z/2) + ln2Hi·ef.
func logFinish(b *body, mm, z, ef, y string) {
	b.i("VFMADD231PS", "c:ln2lo", ef, y)
	b.i("VFNMADD231PS", "c:half", z, y)
	b.i("VADDPS", mm, y, y)
	b.i("VFMADD231PS", "c:ln2hi", ef, y)
}

// log1pUnit sets y = log(1 + t) for t in [0, 1] (log1pUnit32). Clobbers mm,
// ef, z, m.
func log1pUnit(b *body, t, y, mm, ef, z, m string) {
	b.cmp(gtOQ, "c:sqrt2m1", t, m)
	b.i("VMOVUPS", "c:mhalf", mm)
	b.i("VFMADD231PS", "c:half", t, mm) // (t − 1)/2: t/2 is exact, so one rounding as in the scalar code
	b.blend(m, mm, t, mm)
	b.andm(m, "c:one", ef)
	b.i("VMULPS", mm, mm, z)
	logPoly(b, mm, z, y)
	logFinish(b, mm, z, ef, y)
}

// logf sets y = ln x (log32) with its special values. Clobbers t, e, mm, ef,
// z, m; e may be y.
func logf(b *body, x, y, t, e, mm, ef, z, m string) {
	b.cmp(ltOS, "c:tiny", x, m) // subnormal (or ≤ 0): scale by 2²³
	b.i("VMULPS", "c:two23", x, t)
	b.blend(m, t, x, t)
	b.andm(m, "c:i23", e)
	b.i("VPSRLD", "$23", t, mm)
	b.i("VPAND", "c:i255", mm, mm)
	b.i("VPSUBD", e, mm, mm)
	b.i("VPSUBD", "c:i126", mm, mm)
	b.i("VCVTDQ2PS", mm, ef) // ef = e − 126
	b.i("VANDPS", "c:mantmask", t, mm)
	b.i("VORPS", "c:half", mm, mm) // m in [½, 1)
	b.cmp(ltOS, "c:sqrthalf", mm, m)
	b.andm(m, "c:one", t)
	b.i("VSUBPS", t, ef, ef)
	b.i("VADDPS", mm, mm, t)
	b.blend(m, t, mm, mm)
	b.i("VSUBPS", "c:one", mm, mm)
	b.i("VMULPS", mm, mm, z)
	logPoly(b, mm, z, y)
	logFinish(b, mm, z, ef, y)
	b.cmp(nltUS, "c:inf", x, m) // +Inf or NaN: x
	b.blend(m, x, y, y)
	b.cmp(ltOS, "c:zero", x, m) // x < 0: NaN
	b.blend(m, "c:nan", y, y)
	b.cmp(eqOQ, "c:zero", x, m) // ±0: −Inf
	b.blend(m, "c:minf", y, y)
}

// taylor sets q = x(1 + x(1/2 + x(1/6 + … + x/9!))), expm1_32 for |x| < ½.
func taylor(b *body, x, q string) {
	b.i("VMOVUPS", "c:t9", q)
	for _, c := range []string{"t8", "t7", "t6", "t5", "t4", "t3", "half", "one"} {
		b.i("VFMADD213PS", "c:"+c, x, q)
	}
	b.i("VMULPS", x, q, q)
}

// expm1 sets y = eˣ − 1 (expm1_32): the Taylor polynomial for |x| < ½.
func expm1(b *body, x, y, k, r, z, t, m string) {
	expFull(b, x, y, k, r, z, t, m)
	b.i("VSUBPS", "c:one", y, y)
	taylor(b, x, t)
	b.i("VANDPS", "c:absmask", x, z)
	b.cmp(ltOS, "c:half", z, m)
	b.blend(m, t, y, y)
}

// The kernels: x in, y out. Virtual registers are listed by first use.
type kernel struct {
	name  string
	alpha bool // takes α (ELU), in %alpha
	body  func(b *body)
}

var kernels = []kernel{
	{"exp", false, func(b *body) {
		expFull(b, "%x", "%y", "%k", "%r", "%z", "%t", "%m")
	}},
	{"expm1", false, func(b *body) {
		expm1(b, "%x", "%y", "%k", "%r", "%z", "%t", "%m")
	}},
	{"negExpm1Neg", false, func(b *body) { // −expm1(−x)
		b.i("VXORPS", "c:signbit", "%x", "%x")
		expm1(b, "%x", "%y", "%k", "%r", "%z", "%t", "%m")
		b.i("VXORPS", "c:signbit", "%y", "%y")
	}},
	{"log", false, func(b *body) {
		logf(b, "%x", "%y", "%t", "%y", "%f", "%ef", "%z", "%m")
	}},
	{"log1p", false, func(b *body) { // log(u)·x/(u − 1), u = 1 + x
		b.i("VADDPS", "c:one", "%x", "%u")
		logf(b, "%u", "%y", "%t", "%y", "%f", "%ef", "%z", "%m")
		b.i("VMULPS", "%x", "%y", "%y")
		b.i("VSUBPS", "c:one", "%u", "%t")
		b.i("VDIVPS", "%t", "%y", "%y")
		b.cmp(eqOQ, "c:one", "%u", "%m") // u = 1: x
		b.blend("%m", "%x", "%y", "%y")
		b.cmp(eqOQ, "c:inf", "%u", "%m") // u = +Inf: +Inf
		b.blend("%m", "c:inf", "%y", "%y")
	}},
	{"softplus", false, func(b *body) { // max(x, 0) + log1p(e^−|x|)
		b.i("VORPS", "c:signbit", "%x", "%y") // −|x|
		expNeg(b, "%y", "%p", "%k", "%r", "%z", "%m")
		log1pUnit(b, "%p", "%y", "%k", "%r", "%z", "%m")
		b.i("VMAXPS", "c:zero", "%x", "%k") // NaN x gives 0 here, NaN in y
		b.i("VADDPS", "%k", "%y", "%y")
	}},
	{"sigmoid", false, func(b *body) { // (x < 0 ? t : 1)/(1 + t), t = e^−|x|
		b.i("VORPS", "c:signbit", "%x", "%y")
		expNeg(b, "%y", "%p", "%k", "%r", "%z", "%m")
		b.i("VADDPS", "c:one", "%p", "%k")
		b.cmp(ltOS, "c:zero", "%x", "%m")
		b.i("VMOVUPS", "c:one", "%y")
		b.blend("%m", "%p", "%y", "%y")
		b.i("VDIVPS", "%k", "%y", "%y")
	}},
	{"tanh", false, func(b *body) { // −e/(2 + e), e = expm1(−2|x|), with x's sign
		b.i("VANDPS", "c:absmask", "%x", "%y")
		b.i("VMULPS", "c:mtwo", "%y", "%y")
		expNeg(b, "%y", "%p", "%k", "%r", "%z", "%m")
		b.i("VSUBPS", "c:one", "%p", "%p")
		taylor(b, "%y", "%k")
		b.cmp(gtOQ, "c:mhalf", "%y", "%m")
		b.blend("%m", "%k", "%p", "%p")
		b.i("VADDPS", "c:two", "%p", "%k")
		b.i("VXORPS", "c:signbit", "%p", "%p")
		b.i("VDIVPS", "%k", "%p", "%y")
		b.i("VANDPS", "c:signbit", "%x", "%k")
		b.i("VXORPS", "%k", "%y", "%y")
	}},
	{"elu", true, func(b *body) { // x > 0 ? x : α·expm1(x)
		expm1(b, "%x", "%y", "%k", "%r", "%z", "%t", "%m")
		b.i("VMULPS", "%alpha", "%y", "%y")
		b.cmp(gtOQ, "c:zero", "%x", "%m")
		b.blend("%m", "%x", "%y", "%y")
	}},
}

// targets lists the generated variants: the kernels × ISAs.
var targets = []isa{
	{name: "AVX2", zmm: false, streams: 2},
	{name: "AVX512", zmm: true, streams: 4},
}

// vregs lists the virtual data and mask registers of a body, %x first.
func vregs(a isa, b *body) (data, masks []string) {
	seen := map[string]bool{"%x": true}
	data = append(data, "%x")
	for _, in := range b.ins {
		for _, o := range in[1:] {
			if !strings.HasPrefix(o, "%") || seen[o] || o == "%alpha" {
				continue
			}
			seen[o] = true
			if strings.HasPrefix(o, "%m") && o != "%f" && a.zmm {
				masks = append(masks, o)
			} else {
				data = append(data, o)
			}
		}
	}
	return data, masks
}

func (a isa) nregs() int {
	if a.zmm {
		return 32
	}
	return 16
}

// streamsFor is the number of streams of b that fit in the registers, at most
// a.streams (one register stays for %alpha).
func streamsFor(a isa, b *body) int {
	data, masks := vregs(a, b)
	n := min(a.streams, (a.nregs()-1)/len(data))
	if len(masks) > 0 {
		n = min(n, 7/len(masks))
	}
	return n
}

// regmap assigns physical registers to the virtual registers of a body for
// each of n streams: data and (AVX2) masks in Y0…, (AVX-512) data in Z0…,
// masks in K1…; %alpha is shared.
func regmap(a isa, b *body, n int) []map[string]string {
	data, masks := vregs(a, b)
	nregs := a.nregs()
	if len(data)*n+1 > nregs || len(masks)*n > 7 {
		panic(fmt.Sprintf("%s: %d streams of %d registers and %d masks do not fit", a.name, n, len(data), len(masks)))
	}
	rn := "Y"
	if a.zmm {
		rn = "Z"
	}
	ms := make([]map[string]string, n)
	for s := range ms {
		ms[s] = map[string]string{"%alpha": fmt.Sprintf("%s%d", rn, nregs-1)}
		for i, d := range data {
			ms[s][d] = fmt.Sprintf("%s%d", rn, s*len(data)+i)
		}
		for i, m := range masks {
			ms[s][m] = fmt.Sprintf("K%d", 1+s*len(masks)+i)
		}
	}
	return ms
}

// render writes one instruction of a body for one stream.
func render(w *bytes.Buffer, a isa, in []string, regs map[string]string) {
	op, args := in[0], make([]string, len(in)-1)
	for i, o := range in[1:] {
		switch {
		case strings.HasPrefix(o, "%"):
			args[i] = regs[o]
		case strings.HasPrefix(o, "c:"):
			args[i] = o[2:] + "<>(SB)"
		default:
			args[i] = o
		}
	}
	if a.zmm {
		switch op {
		case "VANDPS", "VPAND":
			op = "VPANDD"
		case "VORPS":
			op = "VPORD"
		case "VXORPS":
			op = "VPXORD"
		case "VMOVAPS":
			op = "VMOVUPS"
		case "CMP": // pred, src2, src1, k
			op = "VCMPPS"
		case "BLEND": // k, a, b, dst → VBLENDMPS a, b, k, dst
			op, args = "VBLENDMPS", []string{args[1], args[2], args[0], args[3]}
		case "ANDM": // k, src, dst → VMOVUPS.Z src, k, dst
			op, args = "VMOVUPS.Z", []string{args[1], args[0], args[2]}
		}
	} else {
		switch op {
		case "CMP":
			op = "VCMPPS"
		case "BLEND": // VBLENDVPS mask, a, b, dst
			op = "VBLENDVPS"
		case "ANDM": // m, src, dst → VANDPS src, m, dst
			op, args = "VANDPS", []string{args[1], args[0], args[2]}
		}
	}
	fmt.Fprintf(w, "\t%s %s\n", op, strings.Join(args, ", "))
}

// loop writes a loop over n streams of vectors per iteration: load x (+ bias),
// body, store. Pointers: SI src, DI dst, DX bias (advanced by stride register
// str, 0 when bias is nil), CX elements left.
func loop(w *bytes.Buffer, a isa, k kernel, b *body, n int, label, str string) {
	regs := regmap(a, b, n)
	vb := a.vbytes()
	fmt.Fprintf(w, "%s:\n", label)
	for s := range n {
		fmt.Fprintf(w, "\tVMOVUPS %d(SI), %s\n", s*vb, regs[s]["%x"])
	}
	for s := range n {
		fmt.Fprintf(w, "\tVADDPS %d(DX), %s, %s\n", s*vb, regs[s]["%x"], regs[s]["%x"])
	}
	for _, in := range b.ins {
		for s := range n {
			render(w, a, in, regs[s])
		}
	}
	for s := range n {
		fmt.Fprintf(w, "\tVMOVUPS %s, %d(DI)\n", regs[s]["%y"], s*vb)
	}
	fmt.Fprintf(w, "\tADDQ $%d, SI\n\tADDQ $%d, DI\n\tADDQ %s, DX\n", n*vb, n*vb, str)
	fmt.Fprintf(w, "\tSUBQ $%d, CX\n", n*a.lanes())
}

func main() {
	var w bytes.Buffer
	w.WriteString(`// Code generated by simd_asmgen.go; DO NOT EDIT.

//go:build amd64 && !purego

#include "textflag.h"

`)
	for _, c := range consts {
		note := ""
		if c.note != "" {
			note = " " + c.note
		}
		fmt.Fprintf(&w, "// %s: %#08x%s\n", c.name, c.bits, note)
		for off := 0; off < 64; off += 4 {
			fmt.Fprintf(&w, "DATA %s<>+%d(SB)/4, $%#08x\n", c.name, off, c.bits)
		}
		fmt.Fprintf(&w, "GLOBL %s<>(SB), RODATA|NOPTR, $64\n\n", c.name)
	}
	// The bias of a nil bias: −0, for every stream of the widest loop.
	negzeroBytes := 0
	for _, a := range targets {
		negzeroBytes = max(negzeroBytes, a.streams*a.vbytes())
	}
	w.WriteString("// negzero: −0s, the bias when there is none.\n")
	for off := 0; off < negzeroBytes; off += 8 {
		fmt.Fprintf(&w, "DATA negzero<>+%d(SB)/8, $0x8000000080000000\n", off)
	}
	fmt.Fprintf(&w, "GLOBL negzero<>(SB), RODATA|NOPTR, $%d\n", negzeroBytes)

	for _, a := range targets {
		for _, k := range kernels {
			var b body
			k.body(&b)
			fn := k.name + a.name
			sig, size := "dst, src, bias *float32, n int", 32
			if k.alpha {
				sig, size = sig+", alpha float32", 36
			}
			vb, S := a.vbytes(), streamsFor(a, &b)
			fmt.Fprintf(&w, "\n// func %s(%s)\n//\n// %d streams of %d lanes.\nTEXT ·%s(SB), NOSPLIT, $0-%d\n", fn, sig, S, a.lanes(), fn, size)
			w.WriteString("\tMOVQ dst+0(FP), DI\n\tMOVQ src+8(FP), SI\n\tMOVQ bias+16(FP), DX\n\tMOVQ n+24(FP), CX\n")
			if k.alpha {
				fmt.Fprintf(&w, "\tVBROADCASTSS alpha+32(FP), %s\n", regmap(a, &b, 1)[0]["%alpha"])
			}
			// R8/R9: bias strides of the main and the tail loop, 0 for none.
			fmt.Fprintf(&w, "\tMOVQ $%d, R8\n\tMOVQ $%d, R9\n", S*vb, vb)
			w.WriteString("\tXORQ R10, R10\n\tLEAQ negzero<>(SB), R11\n\tTESTQ DX, DX\n\tCMOVQEQ R11, DX\n\tCMOVQEQ R10, R8\n\tCMOVQEQ R10, R9\n")
			fmt.Fprintf(&w, "\tCMPQ CX, $%d\n\tJLT tail\n", S*a.lanes())
			loop(&w, a, k, &b, S, "loop", "R8")
			fmt.Fprintf(&w, "\tCMPQ CX, $%d\n\tJGE loop\n", S*a.lanes())
			w.WriteString("tail:\n\tTESTQ CX, CX\n\tJZ done\n")
			loop(&w, a, k, &b, 1, "tail1", "R9")
			w.WriteString("\tJNZ tail1\ndone:\n\tVZEROUPPER\n\tRET\n")
		}
	}
	if err := os.WriteFile("simd_amd64.s", w.Bytes(), 0o644); err != nil {
		panic(err)
	}
}
