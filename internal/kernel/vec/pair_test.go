package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The bounds of autodiff's float32 pair series (scalarMath's taylorPair and
// taylorPair4 in autodiff/dense.go).
const pairLim, pairLim4 = 1.0 / 32, 1.0 / 128

// pairInputs returns σ(z), 1 − σ(z) for z of spread 3, a pair block within
// pairLim (every fifth S zero, as at Central's first layer; |D| + |S|/2
// on both sides of pairLim4, up to pairLim), and cotangents.
func pairInputs(rng *rand.Rand, n int) (z []float64, s, e, dd, ds, gD, gS, gz []float32) {
	z = make([]float64, n)
	s, e, dd, ds = make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	gD, gS, gz = make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range n {
		z[i] = rng.NormFloat64() * 3
		sg := 1 / (1 + math.Exp(-z[i]))
		s[i], e[i] = float32(sg), float32(1-sg)
		// |D| up to the bound, S the rest of it: the c₅ terms, largest
		// near the bound, then matter to float32 rounding.
		a := (rng.Float64()*2 - 1) * pairLim
		dd[i] = float32(a)
		if i%5 != 0 {
			ds[i] = float32((rng.Float64()*2 - 1) * 2 * (pairLim - math.Abs(a)) * 0.999)
		}
		gD[i], gS[i], gz[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	return
}

// softplus64 is log(1 + eˣ) without overflow.
func softplus64(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }

// TestSoftplusPairKernels: the dispatching kernels (assembly when the build
// has it) equal the pure-Go twins bit for bit at lengths around the vector
// width, and agree with the pair differences computed in float64: the
// forward D′ = (φ(z₊) − φ(z₋))/2, S′ = φ(z₊) + φ(z₋) − 2φ(z) at
// z± = z + S/2 ± D; the backward from Δφ′± = −e·expm1(−(S′/2 ± D′)).
func TestSoftplusPairKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 7, 8, 9, 31, 64, 100} {
		z, s, e, dd, ds, gD, gS, gz := pairInputs(rng, n)
		if !PairWithin(dd, ds, pairLim) {
			t.Fatalf("n=%d: inputs outside the pair bound", n)
		}
		d1, s1, d2, s2 := clone(dd), clone(ds), clone(dd), clone(ds)
		SoftplusPairTaylor(d1, s1, s, e, pairLim4)
		spPairGo(d2, s2, s, e, pairLim4)
		if i := same(d1, d2); i >= 0 {
			t.Fatalf("n=%d: SoftplusPairTaylor D′[%d] = %v, spPairGo %v (useAVX=%v)", n, i, d1[i], d2[i], useAVX)
		}
		if i := same(s1, s2); i >= 0 {
			t.Fatalf("n=%d: SoftplusPairTaylor S′[%d] = %v, spPairGo %v (useAVX=%v)", n, i, s1[i], s2[i], useAVX)
		}
		for i := range n {
			// z from s and e is exact to their float32 rounding; relative
			// 1e-5 covers that rounding (2^-24 each) in the series, which
			// has no cancellation. The absolute floors are below the
			// smallest outputs (|D′| ≳ q·|D|, |S′| ≳ q·D²).
			zi := math.Log(float64(s[i])) - math.Log(float64(e[i]))
			b, a := float64(ds[i])/2, float64(dd[i])
			fp, fm, f0 := softplus64(zi+b+a), softplus64(zi+b-a), softplus64(zi)
			wantD, wantS := (fp-fm)/2, (fp-f0)+(fm-f0)
			if math.Abs(float64(d1[i])-wantD) > 1e-5*math.Abs(wantD)+1e-12 {
				t.Fatalf("n=%d i=%d: D′ = %v, want %v (z %v, D %v, S %v)", n, i, d1[i], wantD, z[i], dd[i], ds[i])
			}
			if math.Abs(float64(s1[i])-wantS) > 1e-4*math.Abs(wantS)+1e-11 {
				t.Fatalf("n=%d i=%d: S′ = %v, want %v (z %v, D %v, S %v)", n, i, s1[i], wantS, z[i], dd[i], ds[i])
			}
		}

		// The backward kernel on the forward's output pair.
		gz1, gz2 := clone(gz), clone(gz)
		gdD1, gdS1, gdD2, gdS2 := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		SoftplusPairGradTaylor(gz1, gdD1, gdS1, gD, gS, d1, s1, s, e, pairLim4)
		spPairGradGo(gz2, gdD2, gdS2, gD, gS, d1, s1, s, e, pairLim4)
		for name, pr := range map[string][2][]float32{"gz": {gz1, gz2}, "gdD": {gdD1, gdD2}, "gdS": {gdS1, gdS2}} {
			if i := same(pr[0], pr[1]); i >= 0 {
				t.Fatalf("n=%d: SoftplusPairGradTaylor %s[%d] = %v, spPairGradGo %v (useAVX=%v)", n, name, i, pr[0][i], pr[1][i], useAVX)
			}
		}
		for i := range n {
			ei, p := float64(e[i]), float64(s[i])
			hp, hm := float64(s1[i])/2+float64(d1[i]), float64(s1[i])/2-float64(d1[i])
			dphiP, dphiM := -ei*math.Expm1(-hp), -ei*math.Expm1(-hm)
			sp, dp := dphiP+dphiM, (dphiP-dphiM)/2
			g1, g2 := float64(gD[i]), float64(gS[i])
			want := [3]float64{g1*(p+sp/2) + 2*g2*dp, (g1*dp + g2*(2*p+sp)) / 2, float64(gz[i]) + g1*dp + g2*sp}
			got := [3]float32{gdD1[i], gdS1[i], gz1[i]}
			for k, w := range want {
				if math.Abs(float64(got[k])-w) > 1e-5*(math.Abs(g1)+math.Abs(g2)+math.Abs(float64(gz[i]))) {
					t.Fatalf("n=%d i=%d: output %d of the backward = %v, want %v", n, i, k, got[k], w)
				}
			}
		}
	}
}

// TestPairWithin: the assembly and Go tests agree, at every position of a
// single offending element (outside in D or in S, NaN, ±Inf) and on the
// bound itself.
func TestPairWithin(t *testing.T) {
	for _, n := range []int{1, 8, 9, 24, 33} {
		dd, ds := make([]float32, n), make([]float32, n)
		for i := range dd {
			dd[i] = float32(i%5-2) * pairLim / 8
			ds[i] = float32(i%3-1) * pairLim / 2
		}
		dd[n/2], ds[n/2] = pairLim/2, pairLim // on the bound: within
		if !PairWithin(dd, ds, pairLim) || !pairWithinGo(dd, ds, pairLim) {
			t.Fatalf("n=%d: a block within the bound reported outside", n)
		}
		bad := []float32{pairLim * 2, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
		for i := range n {
			for _, v := range bad {
				for _, inS := range []bool{false, true} {
					x := dd
					if inS {
						x = ds
					}
					old := x[i]
					x[i] = v * 2.5
					if PairWithin(dd, ds, pairLim) || pairWithinGo(dd, ds, pairLim) {
						t.Fatalf("n=%d: %v at %d (in S: %v) reported within", n, x[i], i, inS)
					}
					x[i] = old
				}
			}
		}
	}
}

func BenchmarkSoftplusPairKernels(b *testing.B) {
	const n = 32 * 32 * 32 // one conv-resnet activation of one image batch row block
	_, s, e, dd, ds, gD, gS, gz := pairInputs(rand.New(rand.NewPCG(1, 1)), n)
	w1, w2 := clone(dd), clone(ds)
	gdD, gdS := make([]float32, n), make([]float32, n)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"forward", func() { copy(w1, dd); copy(w2, ds); SoftplusPairTaylor(w1, w2, s, e, pairLim4) }},
		{"forward-go", func() { copy(w1, dd); copy(w2, ds); spPairGo(w1, w2, s, e, pairLim4) }},
		{"grad", func() { SoftplusPairGradTaylor(gz, gdD, gdS, gD, gS, dd, ds, s, e, pairLim4) }},
		{"grad-go", func() { spPairGradGo(gz, gdD, gdS, gD, gS, dd, ds, s, e, pairLim4) }},
		{"within", func() { PairWithin(dd, ds, pairLim) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.f()
			}
		})
	}
}
