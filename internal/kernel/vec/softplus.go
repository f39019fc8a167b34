package vec

import "math"

// The softplus difference kernels of autodiff's float32-stable FD
// evaluation, for blocks of steps small enough for their Taylor series (see
// autodiff/dense.go): with s = σ(z), e = 1 − σ(z) and q = s·e,
//
//	SoftplusDeltaTaylor:  δ ← δ·(s + δ·(c₂ + δ·(c₃ + δ·(c₄ + δ·c₅))))
//	                      = softplus(z + δ) − softplus(z) to float32 rounding,
//	                      c₂ = q/2, c₃ = q(e − s)/6, c₄ = q(1 − 6q)/24, c₅ = q(e − s)(1 − 12q)/120;
//	SoftplusGradTaylor:   f = expm1(−Δy) by its series to x⁶, Δφ′ = −e·f,
//	                      gd ← g·(s + Δφ′),  gz ← gz + g·Δφ′.
//
// The expressions, and their order, are those of autodiff's generic loops.

// spConst holds the float32 constants the assembly broadcasts.
var spConst = [8]float32{0.5, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1, 6, 12, 1.0 / 720}

// signMask is −0: XOR with it negates.
var signMask = math.Float32frombits(0x80000000)

// SoftplusDeltaTaylor overwrites each step d[i] with the softplus difference
// it makes at a point where σ(z) = s[i] and 1 − σ(z) = e[i]. All |d[i]| must
// be within autodiff's Taylor bound (1/16 in float32); s and e must be at
// least as long as d.
func SoftplusDeltaTaylor(d, s, e []float32) {
	n := len(d)
	s, e = s[:n], e[:n]
	done := 0
	if useAVX && n >= 8 {
		done = n &^ 7
		spDeltaAVX(&d[0], &s[0], &e[0], done, &spConst)
	}
	spDeltaGo(d[done:], s[done:], e[done:])
}

func spDeltaGo(d, s, e []float32) {
	s, e = s[:len(d)], e[:len(d)]
	for j, dl := range d {
		sj, ej := s[j], e[j]
		q := sj * ej
		c2, c3 := q*0.5, q*(ej-sj)*(1.0/6)
		c4, c5 := q*(1-6*q)*(1.0/24), q*(ej-sj)*(1-12*q)*(1.0/120)
		d[j] = dl * (sj + dl*(c2+dl*(c3+dl*(c4+dl*c5))))
	}
}

// SoftplusGradTaylor is the backward kernel of one difference block: for
// each i, with Δφ′ = −e[i]·expm1(−dy[i]) (series), gd[i] = g[i]·(s[i] + Δφ′)
// and gz[i] += g[i]·Δφ′. All |dy[i]| must be within the Taylor bound; the
// other slices must be at least as long as g.
func SoftplusGradTaylor(gz, gd, g, dy, s, e []float32) {
	n := len(g)
	gz, gd, dy, s, e = gz[:n], gd[:n], dy[:n], s[:n], e[:n]
	done := 0
	if useAVX && n >= 8 {
		done = n &^ 7
		spGradAVX(&gz[0], &gd[0], &g[0], &dy[0], &s[0], &e[0], done, &spConst, signMask)
	}
	spGradGo(gz[done:], gd[done:], g[done:], dy[done:], s[done:], e[done:])
}

func spGradGo(gz, gd, g, dy, s, e []float32) {
	n := len(g)
	gz, gd, dy, s, e = gz[:n], gd[:n], dy[:n], s[:n], e[:n]
	for j, gj := range g {
		x := -dy[j]
		f := x * (1 + x*(0.5+x*(1.0/6+x*(1.0/24+x*(1.0/120+x*(1.0/720))))))
		dp := -e[j] * f
		gd[j] = gj * (s[j] + dp)
		gz[j] += gj * dp
	}
}

// AllWithin reports whether every |x[i]| ≤ t (false if any is NaN): the test
// that sends a block to the Taylor kernels above.
func AllWithin(x []float32, t float32) bool {
	n := len(x)
	done := 0
	if useAVX && n >= 8 {
		done = n &^ 7
		if !allWithinAVX(&x[0], done, t) {
			return false
		}
	}
	return allWithinGo(x[done:], t)
}

func allWithinGo(x []float32, t float32) bool {
	for _, v := range x {
		if !(v >= -t && v <= t) {
			return false
		}
	}
	return true
}
