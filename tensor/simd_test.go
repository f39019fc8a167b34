package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// impls32 lists the implementations of the slice kernels of simd.go, which
// the tests run with one table, as math/big tests arith_decl.go against
// arith_decl_pure.go: "scalar" is apply32Go (the kernels of math32.go), then
// each vector implementation the CPU runs (none under the purego tag or on
// other architectures). It is a function because simdImpls is filled by an
// init function, after the package variables.
func impls32() []impl32 {
	ims := []impl32{{"scalar", apply32Go}}
	for _, im := range simdImpls {
		ims = append(ims, impl32{im.name, func(op vop, dst, x, bias []float32, alpha float32) {
			applyImpl(im, op, dst, x, bias, alpha)
		}})
	}
	return ims
}

type impl32 struct {
	name string
	f    func(op vop, dst, x, bias []float32, alpha float32)
}

// eluAlpha is the α of the ELU cases.
const eluAlpha = 1.5

// refs64 are the float64 references of the slice kernels.
var refs64 = [numVops]func(float64) float64{
	vExp:         math.Exp,
	vExpm1:       math.Expm1,
	vNegExpm1Neg: func(x float64) float64 { return -math.Expm1(-x) },
	vLog:         math.Log,
	vLog1p:       math.Log1p,
	vSoftplus:    softplus,
	vSigmoid:     sigmoid,
	vTanh:        math.Tanh,
	vELU: func(x float64) float64 {
		if x > 0 {
			return x
		}
		return eluAlpha * math.Expm1(x)
	},
}

// simdVsScalarUlps bounds the distance in ulps between the assembly and the
// scalar kernels: the same polynomials, but with fused multiply-adds (one
// rounding instead of two in each Horner step and in the reduction
// r = x − n·ln2Lo), so they part by an ulp or two where the rounding errors
// fall on opposite sides. Maxima measured by TestSIMDMatchesScalar (-v) on its
// 10⁶ inputs: exp 1, log 1, expm1 2, log1p 2, softplus 2, sigmoid 2, ELU 2,
// tanh 4 (tanh32 computes e^−2|x| − 1 for 2|x| ≥ ½, which turns a 1-ulp
// difference in e^−2|x| near 0.6 into 2.5 ulps of the result, plus the
// division). The bounds leave one ulp of margin: the scalar code itself
// changes where the compiler fuses its multiply-adds (GOAMD64=v3; the
// distances measured there are 0–2 ulps).
var simdVsScalarUlps = [numVops]float64{
	vExp: 2, vLog: 2, vExpm1: 3, vNegExpm1Neg: 3, vLog1p: 3, vSoftplus: 3, vSigmoid: 3, vELU: 3, vTanh: 5,
}

// TestSlice32Accuracy is TestMath32Accuracy's table, with a few more ranges
// (the branch switches, overflow and subnormal edges), run on every
// implementation of each slice kernel with the same bounds (ulps from package
// math in float64).
func TestSlice32Accuracy(t *testing.T) {
	cases := []struct {
		name    string
		op      vop
		lo, hi  float64
		logSpan bool // sample |x| log-uniformly
		maxUlps float64
	}{
		{"exp", vExp, -87, 88.7, false, 2},
		{"exp-near-overflow", vExp, 88, 88.72, false, 2},
		{"exp-subnormal-edge", vExp, -87.33, -86, false, 2},
		{"log", vLog, 1e-30, 1e30, true, 2},
		{"log-subnormal", vLog, 1e-44, 1e-38, true, 2},
		{"log-near-1", vLog, 0.5, 2, false, 2},
		{"log1p", vLog1p, -0.999, 1e6, false, 3},
		{"log1p-small", vLog1p, -1e-3, 1e-3, false, 3},
		{"expm1", vExpm1, -20, 20, false, 3},
		{"expm1-small", vExpm1, -1e-3, 1e-3, false, 2},
		{"expm1-switch", vExpm1, -0.7, 0.7, false, 3},
		{"negexpm1neg", vNegExpm1Neg, -20, 20, false, 3},
		{"negexpm1neg-softplus-out", vNegExpm1Neg, 0, 5, false, 3},
		{"softplus", vSoftplus, -80, 80, false, 3},
		{"softplus-mid", vSoftplus, -2, 2, false, 3},
		{"sigmoid", vSigmoid, -80, 80, false, 3},
		{"sigmoid-mid", vSigmoid, -4, 4, false, 3},
		{"tanh", vTanh, -10, 10, false, 3},
		{"tanh-small", vTanh, -1e-3, 1e-3, false, 3},
		{"tanh-switch", vTanh, -0.5, 0.5, false, 3},
		{"elu", vELU, -20, 20, false, 3},
	}
	const n = 100000
	x := make([]float32, n)
	y := make([]float32, n)
	for _, c := range cases {
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range x {
			if c.logSpan {
				x[i] = float32(math.Exp(math.Log(c.lo) + (math.Log(c.hi)-math.Log(c.lo))*rng.Float64()))
			} else {
				x[i] = float32(c.lo + (c.hi-c.lo)*rng.Float64())
			}
		}
		for _, im := range impls32() {
			im.f(c.op, y, x, nil, eluAlpha)
			worst, at := 0.0, float32(0)
			for i, v := range x {
				if u := ulps32(y[i], refs64[c.op](float64(v))); u > worst {
					worst, at = u, v
				}
			}
			t.Logf("%s/%s: max %.2f ulps at %g", c.name, im.name, worst, at)
			if worst > c.maxUlps {
				t.Errorf("%s/%s: %.2f ulps at %g (bound %g)", c.name, im.name, worst, at, c.maxUlps)
			}
		}
	}
}

// specials32 are inputs at the edges of every kernel's branches.
var specials32 = func() []float32 {
	inf := float32(math.Inf(1))
	xs := []float32{
		float32(math.NaN()), -float32(math.NaN()), inf, -inf, 0, float32(math.Copysign(0, -1)),
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		0x1p-126, 0x1p-127, 1e-40, -1e-40, 1, -1, 2, -2, 0.5, -0.5, 0.41421356, 0.70710677,
		9, -9, 18, -18, 100, -100, 1000, -1000, 1e-3, -1e-3, 1e-20, -1e-20,
		expMax32, -expMax32, expMin32, -expMin32, 88, 88.02969, 88.0297, -0.999, -0.9999999,
		-1.0000001, 1e30, -1e30, 3e38,
	}
	// Neighbours of each.
	for _, v := range xs[:len(xs):len(xs)] {
		if v == v && !math.IsInf(float64(v), 0) {
			xs = append(xs, math.Nextafter32(v, inf), math.Nextafter32(v, -inf))
		}
	}
	return xs
}()

// TestSlice32Special checks the branches of the scalar code in the vector
// kernels: where the scalar kernel returns NaN, ±Inf or ±0 the vector one
// returns the same bits' class (and zero sign); elsewhere they agree within
// simdVsScalarUlps.
func TestSlice32Special(t *testing.T) {
	x := specials32
	want := make([]float32, len(x))
	got := make([]float32, len(x))
	for op := range numVops {
		apply32Go(op, want, x, nil, eluAlpha)
		for _, im := range impls32()[1:] {
			im.f(op, got, x, nil, eluAlpha)
			for i, v := range x {
				w, g := want[i], got[i]
				switch {
				case w != w:
					if g == g {
						t.Errorf("%v/%s(%g) = %g, want NaN", op, im.name, v, g)
					}
				case w == 0 || math.IsInf(float64(w), 0):
					if math.Float32bits(g) != math.Float32bits(w) {
						t.Errorf("%v/%s(%g) = %g, want %g", op, im.name, v, g, w)
					}
				default:
					if u := ulps32(g, float64(w)); u > simdVsScalarUlps[op] {
						t.Errorf("%v/%s(%g) = %g, scalar %g (%.1f ulps)", op, im.name, v, g, w, u)
					}
				}
			}
		}
	}
}

// TestSIMDMatchesScalar compares the implementations on 10⁶ inputs per
// kernel, half uniform on [−100, 100], half of log-uniform magnitude (1e-30
// to 1e30) with random sign: each vector one within simdVsScalarUlps of the
// scalar one, and the vector ones bitwise equal to each other.
func TestSIMDMatchesScalar(t *testing.T) {
	const n = 1 << 20
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, n)
	for i := range x {
		if i%2 == 0 {
			x[i] = float32(200*rng.Float64() - 100)
		} else {
			x[i] = float32(math.Exp(rng.Float64()*138 - 69))
			if rng.IntN(2) == 0 {
				x[i] = -x[i]
			}
		}
	}
	want := make([]float32, n)
	got := make([]float32, n)
	first := make([]float32, n)
	for op := range numVops {
		apply32Go(op, want, x, nil, eluAlpha)
		for k, im := range impls32()[1:] {
			im.f(op, got, x, nil, eluAlpha)
			worst, at := 0.0, float32(0)
			for i := range x {
				if u := ulps32(got[i], float64(want[i])); u > worst {
					worst, at = u, x[i]
				}
			}
			// The vector implementations run the same instructions per
			// lane, so they agree bitwise whatever the vector width.
			if k == 0 {
				copy(first, got)
			} else {
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(first[i]) && !(got[i] != got[i] && first[i] != first[i]) {
						t.Errorf("%v(%g): %s gives %g, %s %g", op, x[i], im.name, got[i], impls32()[1].name, first[i])
						break
					}
				}
			}
			t.Logf("%v/%s: max %.0f ulps from scalar (at %g)", op, im.name, worst, at)
			if worst > simdVsScalarUlps[op] {
				t.Errorf("%v/%s: %.1f ulps from scalar at %g (bound %g)", op, im.name, worst, at, simdVsScalarUlps[op])
			}
		}
	}
}

// TestSlice32Tails runs every length 0..67, with and without bias, in place
// and not: the guards around dst stay, x and bias are not modified, each
// element equals the whole-block result for its input (the tail goes through
// the same code), and the bias is x + b rounded then the kernel.
func TestSlice32Tails(t *testing.T) {
	const guard = 8
	const sentinel = float32(-12345.5)
	rng := rand.New(rand.NewPCG(5, 6))
	for op := range numVops {
		for _, im := range impls32() {
			for n := range 68 {
				x := make([]float32, n)
				b := make([]float32, n)
				xb := make([]float32, (n+maxBlock-1)/maxBlock*maxBlock) // x + b, padded to whole blocks
				for i := range x {
					x[i] = float32(10*rng.NormFloat64() + 0.5)
					b[i] = float32(rng.NormFloat64())
					xb[i] = x[i] + b[i]
				}
				if op == vLog {
					for i := range x {
						x[i] = float32(math.Abs(float64(x[i])))
						b[i] = float32(math.Abs(float64(b[i])))
						xb[i] = x[i] + b[i]
					}
				}
				want := make([]float32, len(xb))
				im.f(op, want, xb, nil, eluAlpha)
				x0, b0 := append([]float32(nil), x...), append([]float32(nil), b...)
				for _, withBias := range []bool{false, true} {
					for _, inPlace := range []bool{false, true} {
						buf := make([]float32, n+2*guard)
						for i := range buf {
							buf[i] = sentinel
						}
						dst := buf[guard : guard+n]
						src := x
						if inPlace {
							copy(dst, x)
							src = dst
						}
						var bias []float32
						if withBias {
							bias = b
						}
						im.f(op, dst, src, bias, eluAlpha)
						name := fmt.Sprintf("%v/%s/n=%d/bias=%v/inplace=%v", op, im.name, n, withBias, inPlace)
						for i := range guard {
							if buf[i] != sentinel || buf[guard+n+i] != sentinel {
								t.Fatalf("%s: guard overwritten", name)
							}
						}
						for i := range dst {
							var w float32
							if withBias {
								w = want[i]
							} else {
								w = single(im.f, op, x[i])
							}
							if math.Float32bits(dst[i]) != math.Float32bits(w) && !(w != w && dst[i] != dst[i]) {
								t.Fatalf("%s: [%d] = %g, want %g", name, i, dst[i], w)
							}
						}
						for i := range x {
							if math.Float32bits(x[i]) != math.Float32bits(x0[i]) || b[i] != b0[i] {
								t.Fatalf("%s: input modified", name)
							}
						}
					}
				}
			}
		}
	}
}

// single is f on the one element v, in a whole block of copies.
func single(f func(op vop, dst, x, bias []float32, alpha float32), op vop, v float32) float32 {
	var blk [maxBlock]float32
	for i := range blk {
		blk[i] = v
	}
	f(op, blk[:], blk[:], nil, eluAlpha)
	return blk[0]
}

// benchSlice32 reports ns per element of op on 4096 inputs in [−6, 6] (L1
// resident), for both implementations. Run with GOMAXPROCS=1 (the kernels
// are single-threaded here anyway).
func benchSlice32(b *testing.B, op vop) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i)/341.25 - 6
		if op == vLog {
			x[i] = float32(i+1) / 256
		}
	}
	y := make([]float32, len(x))
	for _, im := range impls32() {
		b.Run(im.name, func(b *testing.B) {
			for b.Loop() {
				im.f(op, y, x, nil, eluAlpha)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(x)), "ns/elem")
		})
	}
}

func BenchmarkExp32(b *testing.B)      { benchSlice32(b, vExp) }
func BenchmarkExpm1_32(b *testing.B)   { benchSlice32(b, vExpm1) }
func BenchmarkLog32(b *testing.B)      { benchSlice32(b, vLog) }
func BenchmarkLog1p32(b *testing.B)    { benchSlice32(b, vLog1p) }
func BenchmarkSoftplus32(b *testing.B) { benchSlice32(b, vSoftplus) }
func BenchmarkSigmoid32(b *testing.B)  { benchSlice32(b, vSigmoid) }
func BenchmarkTanh32(b *testing.B)     { benchSlice32(b, vTanh) }
func BenchmarkELU32(b *testing.B)      { benchSlice32(b, vELU) }

// BenchmarkSoftplusDeriv32 is softplus′ = 1 − e^−y from the output y ≥ 0.
func BenchmarkSoftplusDeriv32(b *testing.B) { benchSlice32(b, vNegExpm1Neg) }

// BenchmarkBiasAct32 is the fused layer step act(row + bias) on a 128×512
// float32 batch (GOMAXPROCS=1): "fused" adds the bias inside the vector
// kernel, "separate" adds it in a Go loop first, "scalar" is apply32Go.
func BenchmarkBiasAct32(b *testing.B) {
	const rows, w = 128, 512
	rng := rand.New(rand.NewPCG(7, 8))
	c0 := make([]float32, rows*w)
	for i := range c0 {
		c0[i] = float32(3 * rng.NormFloat64())
	}
	bias := make([]float32, w)
	for i := range bias {
		bias[i] = float32(rng.NormFloat64())
	}
	c := make([]float32, len(c0))
	for _, act := range []Act{ActSoftplus, ActTanh, ActSigmoid} {
		op := map[Act]vop{ActSoftplus: vSoftplus, ActTanh: vTanh, ActSigmoid: vSigmoid}[act]
		for _, mode := range []string{"scalar", "separate", "fused"} {
			b.Run(act.String()+"/"+mode, func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					copy(c, c0)
					b.StartTimer()
					for r := range rows {
						row := c[r*w : (r+1)*w]
						switch mode {
						case "scalar":
							apply32Go(op, row, row, bias, 0)
						case "separate":
							for j := range row {
								row[j] += bias[j]
							}
							apply32(op, row, row, nil, 0)
						case "fused":
							apply32(op, row, row, bias, 0)
						}
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(c)), "ns/elem")
			})
		}
	}
}
