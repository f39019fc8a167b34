package tensor

import "math"

// Float32 transcendental kernels. Converting to float64 and calling package
// math costs 10–25 ns per element, which made activations as expensive as the
// matrix products of a small network; these work in float32 throughout, with
// the Cephes single-precision polynomials (S. L. Moshier, Cephes Math Library,
// expf.c and logf.c), accurate to a few float32 ulps. The float64 path keeps
// package math. simd.go runs them over slices, vectorised in assembly where
// the CPU allows.

const (
	ln2Hi32  = 0.693359375    // ln 2 split so that n·ln2Hi is exact (Cephes C1)
	ln2Lo32  = -2.12194440e-4 // ln 2 − ln2Hi (Cephes C2)
	log2e32  = 1.44269504088896341
	expMax32 = 88.72283905206835 // ln(MaxFloat32): above, e^x overflows
	expMin32 = -87.33654475      // ln(smallest normal float32): below, e^x is flushed to 0
	sqrtHalf = 0.707106781186547524
)

// exp32 returns eˣ in float32 (Cephes expf).
func exp32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > expMax32:
		return float32(math.Inf(1))
	case x < expMin32:
		return 0
	}
	// n = round(x/ln 2) without math.Floor (a call per element): truncation
	// toward zero after adding ±½.
	t := log2e32 * x
	if t >= 0 {
		t += 0.5
	} else {
		t -= 0.5
	}
	k := int32(t)
	n := float32(k)
	r := x - n*ln2Hi32 - n*ln2Lo32
	z := r * r
	p := ((((1.9875691500e-4*r+1.3981999507e-3)*r+8.3334519073e-3)*r+4.1665795894e-2)*r+1.6666665459e-1)*r + 5.0000001201e-1
	p = p*z + r + 1
	// Scale by 2ⁿ in two steps so that n = 128 (x just below expMax32) does
	// not overflow the exponent field.
	if k > 127 {
		return p * 2 * math.Float32frombits(uint32(k-1+127)<<23)
	}
	return p * math.Float32frombits(uint32(k+127)<<23)
}

// log32 returns ln x in float32 (Cephes logf).
func log32(x float32) float32 {
	switch {
	case x != x || x == float32(math.Inf(1)):
		return x
	case x < 0:
		return float32(math.NaN())
	case x == 0:
		return float32(math.Inf(-1))
	}
	bits := math.Float32bits(x)
	e := int32(bits>>23) & 0xff
	if e == 0 { // subnormal: normalise
		x *= 1 << 23
		bits = math.Float32bits(x)
		e = int32(bits>>23)&0xff - 23
	}
	// x = m·2^e with m in [0.5, 1).
	m := math.Float32frombits(bits&^(0xff<<23) | 126<<23)
	ef := float32(e - 126)
	if m < sqrtHalf {
		ef--
		m = m + m - 1
	} else {
		m = m - 1
	}
	z := m * m
	y := ((((((((7.0376836292e-2*m-1.1514610310e-1)*m+1.1676998740e-1)*m-1.2420140846e-1)*m+
		1.4249322787e-1)*m-1.6668057665e-1)*m+2.0000714765e-1)*m-2.4999993993e-1)*m + 3.3333331174e-1) * m * z
	y += ln2Lo32 * ef
	y -= 0.5 * z
	return m + y + ln2Hi32*ef
}

// log1p32 returns ln(1 + x) in float32, accurate for small x: with u = 1 + x
// rounded, ln(u)·x/(u − 1) corrects the rounding of u (Goldberg, "What every
// computer scientist should know about floating-point arithmetic", Thm. 4).
func log1p32(x float32) float32 {
	u := 1 + x
	if u == 1 {
		return x
	}
	if u == float32(math.Inf(1)) {
		return u
	}
	return log32(u) * x / (u - 1)
}

// expm1_32 returns eˣ − 1 in float32, accurate for small x: a degree-9 Taylor
// polynomial for |x| < 0.5 (truncation below x¹⁰/10! ≈ 3e-10), e^x − 1
// elsewhere (where the subtraction loses at most one bit).
func expm1_32(x float32) float32 {
	if x > -0.5 && x < 0.5 {
		return x * (1 + x*(1.0/2+x*(1.0/6+x*(1.0/24+x*(1.0/120+x*(1.0/720+x*(1.0/5040+x*(1.0/40320+x*(1.0/362880)))))))))
	}
	return exp32(x) - 1
}

// softplus32 is log(1 + eˣ) = max(x, 0) + log1p(t), t = e^−|x| in (0, 1].
func softplus32(x float32) float32 {
	if x != x {
		return x
	}
	a := x
	if a < 0 {
		a = -a
	}
	return max(x, 0) + log1pUnit32(exp32(-a))
}

// log1pUnit32 is log(1 + t) for t in [0, 1], with logf's reduction done by
// hand so that 1 + t is never rounded: for t < √2 − 1 the polynomial takes
// m = t; above, log(1 + t) = ln 2 + log(1 + m) with m = (t − 1)/2 in
// [−0.29, 0]. No division, no frexp.
func log1pUnit32(t float32) float32 {
	m, ef := t, float32(0)
	if t > 0.41421356 {
		m, ef = (t-1)*0.5, 1
	}
	z := m * m
	y := ((((((((7.0376836292e-2*m-1.1514610310e-1)*m+1.1676998740e-1)*m-1.2420140846e-1)*m+
		1.4249322787e-1)*m-1.6668057665e-1)*m+2.0000714765e-1)*m-2.4999993993e-1)*m + 3.3333331174e-1) * m * z
	y += ln2Lo32 * ef
	y -= 0.5 * z
	return m + y + ln2Hi32*ef
}

// sigmoid32 is 1/(1 + e^−x), without overflow for either sign.
func sigmoid32(x float32) float32 {
	if x >= 0 {
		return 1 / (1 + exp32(-x))
	}
	t := exp32(x)
	return t / (1 + t)
}

// tanh32 is tanh x = −expm1(−2|x|)/(2 + expm1(−2|x|)) with x's sign.
func tanh32(x float32) float32 {
	if x != x {
		return x
	}
	a := x
	if a < 0 {
		a = -a
	}
	if a > 9 { // tanh(9) rounds to 1 in float32
		return float32(math.Copysign(1, float64(x)))
	}
	e := expm1_32(-2 * a)
	r := -e / (2 + e)
	if x < 0 {
		return -r
	}
	return r
}

// log1pNear32 is log1p32 without a call to log32 for x in [−0.646, 1.828]
// (the arguments the softplus difference rule produces): the logf
// polynomial, valid for m in [√½ − 1, √2 − 1], is applied to m = x, to
// m = 2x + 1 (log(1 + x) = log(1 + m) − ln 2, x < √½ − 1, where 2x + 1 is
// exact) or to m = (x − 1)/2 (log(1 + x) = log(1 + m) + ln 2, x > √2 − 1).
// No division, no exponent extraction.
func log1pNear32(x float32) float32 {
	var m, ef float32
	switch {
	case x < -0.6464466 || x > 1.8284271 || x != x:
		return log1p32(x)
	case x < -0.29289322:
		m, ef = 2*x+1, -1
	case x > 0.41421356:
		m, ef = (x-1)*0.5, 1
	default:
		m = x
	}
	z := m * m
	y := ((((((((7.0376836292e-2*m-1.1514610310e-1)*m+1.1676998740e-1)*m-1.2420140846e-1)*m+
		1.4249322787e-1)*m-1.6668057665e-1)*m+2.0000714765e-1)*m-2.4999993993e-1)*m + 3.3333331174e-1) * m * z
	y += ln2Lo32 * ef
	y -= 0.5 * z
	return m + y + ln2Hi32*ef
}

// The scalar float32 kernels, for packages that compose their own float32
// loops (the difference rules of autodiff).

// Exp32 returns eˣ in float32.
func Exp32(x float32) float32 { return exp32(x) }

// Log32 returns ln x in float32.
func Log32(x float32) float32 { return log32(x) }

// Log1p32 returns ln(1 + x) in float32, accurate for small x.
func Log1p32(x float32) float32 { return log1p32(x) }

// Log1pNear32 is Log1p32 for x in [−0.646, 1.828] without a logarithm's
// exponent extraction or division (other x fall back to Log1p32).
func Log1pNear32(x float32) float32 { return log1pNear32(x) }

// Expm1F32 returns eˣ − 1 in float32, accurate for small x.
func Expm1F32(x float32) float32 { return expm1_32(x) }

// Softplus32 returns log(1 + eˣ) in float32, without overflow.
func Softplus32(x float32) float32 { return softplus32(x) }
