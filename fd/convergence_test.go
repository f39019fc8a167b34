package fd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// lineFunc is a smooth scalar function of t with its exact derivatives.
type lineFunc struct {
	name string
	f    func(t float64) float64
	d    func(n int, t float64) float64 // n-th derivative
}

// tanhPoly returns the coefficients of P_n with dⁿ/dzⁿ tanh z = P_n(tanh z):
// P_0(y) = y and P_{n+1}(y) = P_n′(y)·(1 − y²), since tanh′ = 1 − tanh².
func tanhPoly(n int) []float64 {
	p := []float64{0, 1}
	for range n {
		dp := make([]float64, len(p)-1)
		for j := 1; j < len(p); j++ {
			dp[j-1] = float64(j) * p[j]
		}
		q := make([]float64, len(dp)+2)
		for j, c := range dp {
			q[j] += c
			q[j+2] -= c
		}
		p = q
	}
	return p
}

func polyVal(c []float64, y float64) float64 {
	var v float64
	for j := len(c) - 1; j >= 0; j-- {
		v = v*y + c[j]
	}
	return v
}

// tinyMLP is x ↦ Σ_j a_j tanh(w_j·x + b_j) with fixed weights (3 inputs, 6
// hidden units, drawn from a seeded PCG), seen along the line x0 + t·u.
type tinyMLP struct {
	w      [6][3]float64
	b, a   [6]float64
	x0, dx [3]float64
}

func newTinyMLP() *tinyMLP {
	r := rand.New(rand.NewPCG(7, 8))
	m := &tinyMLP{}
	for j := range m.w {
		for i := range m.w[j] {
			m.w[j][i] = r.NormFloat64() / math.Sqrt(3) // unit-variance pre-activations
		}
		m.b[j] = 0.5 * r.NormFloat64()
		m.a[j] = r.NormFloat64()
	}
	var n float64
	for i := range m.x0 {
		m.x0[i] = r.NormFloat64()
		m.dx[i] = r.NormFloat64()
		n += m.dx[i] * m.dx[i]
	}
	for i := range m.dx {
		m.dx[i] /= math.Sqrt(n)
	}
	return m
}

func (m *tinyMLP) line() lineFunc {
	return lineFunc{
		name: "mlp",
		f: func(t float64) float64 {
			var y float64
			for j := range m.w {
				z := m.b[j]
				for i := range m.x0 {
					z += m.w[j][i] * (m.x0[i] + t*m.dx[i])
				}
				y += m.a[j] * math.Tanh(z)
			}
			return y
		},
		d: func(n int, t float64) float64 {
			p := tanhPoly(n)
			var y float64
			for j := range m.w {
				z, s := m.b[j], 0.0
				for i := range m.x0 {
					z += m.w[j][i] * (m.x0[i] + t*m.dx[i])
					s += m.w[j][i] * m.dx[i]
				}
				y += m.a[j] * math.Pow(s, float64(n)) * polyVal(p, math.Tanh(z))
			}
			return y
		},
	}
}

func lineFuncs() []lineFunc {
	return []lineFunc{
		{"exp", func(t float64) float64 { return math.Exp(0.3 + 0.8*t) },
			func(n int, t float64) float64 { return math.Pow(0.8, float64(n)) * math.Exp(0.3+0.8*t) }},
		// Phase 0.7: every derivative is ±1.3ⁿ·sin 0.7 or ±1.3ⁿ·cos 0.7, none
		// small, so no leading error term vanishes by accident.
		{"sin", func(t float64) float64 { return math.Sin(0.7 + 1.3*t) },
			func(n int, t float64) float64 {
				return math.Pow(1.3, float64(n)) * math.Sin(0.7+1.3*t+float64(n)*math.Pi/2)
			}},
		newTinyMLP().line(),
	}
}

// slope fits log e = a + b·log ε by least squares and returns b.
func slope(eps, errs []float64) float64 {
	var mx, my float64
	for i := range eps {
		mx += math.Log(eps[i])
		my += math.Log(errs[i])
	}
	mx /= float64(len(eps))
	my /= float64(len(eps))
	var sxy, sxx float64
	for i := range eps {
		dx := math.Log(eps[i]) - mx
		sxy += dx * (math.Log(errs[i]) - my)
		sxx += dx * dx
	}
	return sxy / sxx
}

// epsRange returns 5 geometrically spaced steps over which the error of s on
// fn (at t = 0, unit round-off u) is dominated by its leading term C·ε^p·f⁽ᵀ⁺ᵖ⁾:
//   - at the small end the truncation error is at least 100 times the
//     round-off u·Σ|w_i|·|f|/ε^T of the weighted sum, so round-off moves
//     log e by under 0.01;
//   - at the large end the next nonzero term of the expansion,
//     (M_n/n!)·ε^{n−T}·f⁽ⁿ⁾ (n > T+p, M_n the stencil's moment), is at most
//     10% of the leading one.
//
// So log e is within about 0.11 of the leading term's log, and over a range
// of at least 3× the fitted slope is within 0.11/ln 3 ≈ 0.1 of p. The range
// spans at most 16× (4 halvings); the test fails if the two conditions leave
// less than 3×.
func epsRange(t *testing.T, s Stencil, fn lineFunc, u float64) []float64 {
	t.Helper()
	T, p := s.Order(), s.Accuracy()
	var sw float64
	for _, w := range s.Weights() {
		sw += math.Abs(w)
	}
	c, _ := s.ErrorConstant().Float64()
	lead := math.Abs(c * fn.d(T+p, 0))
	lo := math.Pow(100*u*sw*math.Abs(fn.f(0))/lead, 1/float64(T+p))
	hi := math.Inf(1)
	for n := T + p + 1; n <= T+p+2; n++ {
		// Symmetric stencils skip a moment; the first nonzero one of the
		// next two is the next term.
		m, _ := s.Moment(n).Float64()
		if m == 0 {
			continue
		}
		next := math.Abs(m / math.Gamma(float64(n+1)) * fn.d(n, 0))
		hi = math.Pow(0.1*lead/next, 1/float64(n-T-p))
		break
	}
	if hi < 3*lo {
		t.Fatalf("%s %v: no ε range where the leading term dominates (%.3g..%.3g)", fn.name, s, lo, hi)
	}
	lo = math.Max(lo, hi/16)
	out := make([]float64, 5)
	for k := range out {
		out[k] = lo * math.Pow(hi/lo, float64(k)/4)
	}
	return out
}

// convergenceStencils are the stencils whose order is measured: central of
// orders 1–4 at accuracies 2 and 4 (and 6 for orders 1, 2), and one-sided of
// orders 1–4 at accuracies 1–3, except the 7-node one-sided fourth
// derivative: its nodes span 6ε and Σ|w_i| ≈ 287, so in float64 the window
// where its leading term dominates both round-off and the next term is
// narrower than 3× (epsRange), too short to fit a slope.
func convergenceStencils() []Stencil {
	var ss []Stencil
	for order := 1; order <= 4; order++ {
		ss = append(ss, Must(Central(order, 2)), Must(Central(order, 4)))
		if order <= 2 {
			ss = append(ss, Must(Central(order, 6)))
		}
		for acc := 1; acc <= 3; acc++ {
			if order == 4 && acc == 3 {
				continue
			}
			ss = append(ss, Must(Forward(order, acc)), Must(Backward(order, acc)))
		}
	}
	return ss
}

// The error falls at the stated order: the least-squares slope of log error
// against log ε is within ±0.3 of Accuracy(), in float64.
func TestConvergenceOrder(t *testing.T) {
	const u = 0x1p-53
	for _, fn := range lineFuncs() {
		for _, s := range convergenceStencils() {
			T, p := s.Order(), s.Accuracy()
			exact := fn.d(T, 0)
			eps := epsRange(t, s, fn, u)
			errs := make([]float64, len(eps))
			for i, h := range eps {
				errs[i] = math.Abs(s.Apply(fn.f, 0, h) - exact)
			}
			got := slope(eps, errs)
			if math.Abs(got-float64(p)) > 0.3 {
				t.Errorf("%s %v: slope %.3f over ε %.3g..%.3g, want %d ± 0.3 (errors %.3g)", fn.name, s, got, eps[0], eps[len(eps)-1], p, errs)
			}
			if testing.Verbose() {
				t.Logf("%-4s T=%d nodes %v: slope %.3f (want %d) over ε %.3g..%.3g", fn.name, T, s.Nodes(), got, p, eps[0], eps[len(eps)-1])
			}
		}
	}
}

// The leading error term is C·ε^p·f⁽ᵀ⁺ᵖ⁾: at the smallest step of the range
// the measured error matches it to within 15% (the next term is at most
// 10% of it there, round-off 1%).
func TestLeadingErrorTerm(t *testing.T) {
	const u = 0x1p-53
	for _, fn := range lineFuncs() {
		for _, s := range convergenceStencils() {
			T, p := s.Order(), s.Accuracy()
			eps := epsRange(t, s, fn, u)[0]
			c, _ := s.ErrorConstant().Float64()
			want := c * math.Pow(eps, float64(p)) * fn.d(T+p, 0)
			got := s.Apply(fn.f, 0, eps) - fn.d(T, 0)
			if math.Abs(got-want) > 0.15*math.Abs(want) {
				t.Errorf("%s %v at ε=%.3g: error %.4g, leading term %.4g", fn.name, s, eps, got, want)
			}
		}
	}
}

// Richardson extrapolation of the O(ε²) central first derivative cancels the
// ε² term; the expansion has only even powers, so the result is O(ε⁴).
func TestRichardsonOrder(t *testing.T) {
	for _, fn := range lineFuncs() {
		eps := []float64{0.4, 0.2, 0.1, 0.05}
		errs := make([]float64, len(eps))
		for i, h := range eps {
			est := Extrapolate(func(h float64) float64 { return D1.Apply(fn.f, 0, h) }, h, 2, D1.Accuracy())
			errs[i] = math.Abs(est - fn.d(1, 0))
		}
		if got := slope(eps, errs); math.Abs(got-4) > 0.3 {
			t.Errorf("%s: Richardson of D1 has slope %.3f, want 4 ± 0.3 (errors %.3g)", fn.name, got, errs)
		}
	}
	// An estimate with an exactly quadratic error is extrapolated exactly
	// (up to round-off): A(h) = 1 + 3h², r = 3.
	a := func(h float64) float64 { return 1 + 3*h*h }
	if got := Extrapolate(a, 0.5, 3, 2); math.Abs(got-1) > 1e-15 {
		t.Errorf("Extrapolate of 1 + 3h² = %v, want 1", got)
	}
	if got := Richardson(5, 2, 2, 1); got != -1 {
		t.Errorf("Richardson(5, 2, 2, 1) = %v, want (2·2 − 5)/(2 − 1) = −1", got)
	}
	for _, bad := range []struct {
		r float64
		p int
	}{{1, 2}, {0.5, 2}, {2, 0}, {math.NaN(), 2}, {math.Inf(1), 2}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Richardson with r = %v, p = %d did not panic", bad.r, bad.p)
				}
			}()
			Richardson(1, 1, bad.r, bad.p)
		}()
	}
}

func TestTanhPoly(t *testing.T) {
	// tanh″ = −2y(1 − y²) = −2y + 2y³ and tanh‴ = −2 + 8y² − 6y⁴.
	for _, c := range []struct {
		n    int
		want []float64
	}{{1, []float64{1, 0, -1}}, {2, []float64{0, -2, 0, 2}}, {3, []float64{-2, 0, 8, 0, -6}}} {
		if got := tanhPoly(c.n); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("tanhPoly(%d) = %v, want %v", c.n, got, c.want)
		}
	}
}
