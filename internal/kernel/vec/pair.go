package vec

import "math"

// The softplus kernels of autodiff's float32-stable central differences
// (Central: the rows of a joint are pairs D = (f₊ − f₋)/2, S = f₊ + f₋),
// for pair blocks whose steps are all small enough for the pair series of
// autodiff/dense.go (actPairForward and pairGrad, whose Go loops are the
// reference and the fallback). With s = σ(z), e = 1 − σ(z), q = s·e and
// c₁ … c₆ the Taylor coefficients φ⁽ⁿ⁾(z)/n! of softplus (c₁ = s,
// c₂ = q/2, c₃ = q(e − s)/6, c₄ = q(1 − 6q)/24, c₅ = q(e − s)(1 − 12q)/120,
// c₆ = q(1 − 30q + 120q²)/720):
//
//	SoftplusPairTaylor      with a = D, b = S/2 of the pre-activation:
//	                        S′ = 2(a²(c₂ + c₄a²) + b(c₁ + c₂b + c₃(b² + 3a²) + c₄b(b² + 6a²) [+ c₅(5a⁴ + 10a²b² + b⁴)])),
//	                        D′ = a(c₁ + 2c₂b + c₃(a² + 3b²) + 4c₄b(a² + b²) [+ c₅(a⁴ + 10a²b² + 5b⁴)]),
//	                        the bracketed terms only where |a| + |b| > lim4, and where b = 0
//	                        (the first layer of Central) S′ = 2a²(c₂ + a²(c₄ + c₆a²)), D′ = a(c₁ + a²(c₃ + c₅a²));
//	SoftplusPairGradTaylor  with a = D′, b = −S′/2 of the output: the pair series of expm1 give
//	                        Δφ′₊ + Δφ′₋ = −2e·even and (Δφ′₊ − Δφ′₋)/2 = e·odd, and from them the
//	                        cotangents of the pre-activation pair and of the base.
//
// Every expression, and the order of its operations, is autodiff's, so the
// assembly and the loops there give the same bits.

// pairConsts is the number of constants the pair kernels read.
const pairConsts = 18

// pairConst holds them broadcast to the eight lanes of a vector, in the
// order pair_amd64.s lists: the coefficients' constants, then the |·| mask
// and the sign bit.
var pairConst = func() (c [pairConsts][8]float32) {
	vals := [pairConsts]float32{0.5, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1, 2, 3, 4, 5, 6, 10, 12, 30, 120, -2,
		math.Float32frombits(0x7fffffff), math.Float32frombits(0x80000000)}
	for i, v := range vals {
		for j := range c[i] {
			c[i][j] = v
		}
	}
	return c
}()

// PairWithin reports whether every |dd[i]| + |ds[i]|/2 ≤ t (false if any
// is NaN): the test that sends a pair block to the kernels below. ds must
// be at least as long as dd.
func PairWithin(dd, ds []float32, t float32) bool {
	n := len(dd)
	ds = ds[:n]
	done := 0
	if useAVX && n >= 8 {
		done = n &^ 7
		if !pairWithinAVX(&dd[0], &ds[0], done, &pairConst, t) {
			return false
		}
	}
	return pairWithinGo(dd[done:], ds[done:], t)
}

func pairWithinGo(dd, ds []float32, t float32) bool {
	ds = ds[:len(dd)]
	for i, a := range dd {
		b := ds[i]
		if !(max(a, -a)+max(b, -b)*0.5 <= t) {
			return false
		}
	}
	return true
}

// SoftplusPairTaylor overwrites one pair block of pre-activation steps, D
// rows dd and S rows ds, with the softplus output pair (S′, D′ above) at
// points where σ(z) = s[i] and 1 − σ(z) = e[i]. The block must be within
// autodiff's pair bound (PairWithin); lim4 is the bound below which the c₅
// terms are dropped. ds, s and e must be at least as long as dd.
func SoftplusPairTaylor(dd, ds, s, e []float32, lim4 float32) {
	n := len(dd)
	ds, s, e = ds[:n], s[:n], e[:n]
	done := 0
	if useAVX && n >= 8 {
		done = n &^ 7
		spPairAVX(&dd[0], &ds[0], &s[0], &e[0], done, &pairConst, lim4)
	}
	spPairGo(dd[done:], ds[done:], s[done:], e[done:], lim4)
}

func spPairGo(dd, ds, s, e []float32, lim4 float32) {
	n := len(dd)
	ds, s, e = ds[:n], s[:n], e[:n]
	for i := range dd {
		sj, ej := s[i], e[i]
		q := sj * ej
		c2, c3 := q*0.5, q*(ej-sj)*(1.0/6)
		c4, c5 := q*(1-6*q)*(1.0/24), q*(ej-sj)*(1-12*q)*(1.0/120)
		c6 := q * (1 - 30*q + 120*q*q) * (1.0 / 720)
		a, b := dd[i], ds[i]*0.5
		h := max(a, -a) + max(b, -b)
		a2, b2 := a*a, b*b
		switch {
		case b == 0:
			ds[i] = 2 * a2 * (c2 + a2*(c4+c6*a2))
			dd[i] = a * (sj + a2*(c3+c5*a2))
		case h <= lim4:
			ds[i] = 2 * (a2*(c2+c4*a2) + b*(sj+c2*b+c3*(b2+3*a2)+c4*b*(b2+6*a2)))
			dd[i] = a * (sj + 2*c2*b + c3*(a2+3*b2) + 4*c4*b*(a2+b2))
		default:
			ds[i] = 2 * (a2*(c2+c4*a2) + b*(sj+c2*b+c3*(b2+3*a2)+c4*b*(b2+6*a2)+c5*(5*a2*a2+10*a2*b2+b2*b2)))
			dd[i] = a * (sj + 2*c2*b + c3*(a2+3*b2) + 4*c4*b*(a2+b2) + c5*(a2*a2+10*a2*b2+5*b2*b2))
		}
	}
}

// SoftplusPairGradTaylor is the backward kernel of one pair block: from
// the output pair's steps dyD, dyS (within the pair bound) and cotangents
// gD, gS it sets the pre-activation pair's cotangents gdD, gdS and adds the
// pair's share of the base cotangent to gz, at points where σ(z) = s[i] and
// 1 − σ(z) = e[i]; lim4 as in SoftplusPairTaylor. Every slice must be at
// least as long as gz.
func SoftplusPairGradTaylor(gz, gdD, gdS, gD, gS, dyD, dyS, s, e []float32, lim4 float32) {
	n := len(gz)
	gdD, gdS, gD, gS, dyD, dyS, s, e = gdD[:n], gdS[:n], gD[:n], gS[:n], dyD[:n], dyS[:n], s[:n], e[:n]
	done := 0
	if useAVX && n >= 8 {
		done = n &^ 7
		spPairGradAVX(&pairGradArgs{&gz[0], &gdD[0], &gdS[0], &gD[0], &gS[0], &dyD[0], &dyS[0], &s[0], &e[0]}, done, &pairConst, lim4)
	}
	spPairGradGo(gz[done:], gdD[done:], gdS[done:], gD[done:], gS[done:], dyD[done:], dyS[done:], s[done:], e[done:], lim4)
}

// pairGradArgs carries SoftplusPairGradTaylor's nine arrays to the assembly.
type pairGradArgs struct {
	gz, gdD, gdS, gD, gS, dyD, dyS, s, e *float32
}

func spPairGradGo(gz, gdD, gdS, gD, gS, dyD, dyS, s, e []float32, lim4 float32) {
	n := len(gz)
	gdD, gdS, gD, gS, dyD, dyS, s, e = gdD[:n], gdS[:n], gD[:n], gS[:n], dyD[:n], dyS[:n], s[:n], e[:n]
	for i := range gz {
		p, ej := s[i], e[i]
		dv, sv2 := dyD[i], dyS[i]
		h := max(dv, -dv) + max(sv2, -sv2)*0.5
		a, b := dv, -sv2*0.5
		a2, b2 := a*a, b*b
		var even, odd float32
		if h <= lim4 {
			even = a2*(0.5+a2*(1.0/24)) + b*(1+b*0.5+(b2+3*a2)*(1.0/6)+b*(b2+6*a2)*(1.0/24))
			odd = a * (1 + b + (a2+3*b2)*(1.0/6) + b*(a2+b2)*(1.0/6))
		} else {
			even = a2*(0.5+a2*(1.0/24)) + b*(1+b*0.5+(b2+3*a2)*(1.0/6)+b*(b2+6*a2)*(1.0/24)+(5*a2*a2+10*a2*b2+b2*b2)*(1.0/120))
			odd = a * (1 + b + (a2+3*b2)*(1.0/6) + b*(a2+b2)*(1.0/6) + (a2*a2+10*a2*b2+5*b2*b2)*(1.0/120))
		}
		sp, dp := -2*ej*even, ej*odd
		g1, g2 := gD[i], gS[i]
		gdD[i] = g1*(p+sp*0.5) + 2*g2*dp
		gdS[i] = (g1*dp + g2*(2*p+sp)) * 0.5
		gz[i] += g1*dp + g2*sp
	}
}
