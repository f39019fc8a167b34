package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ulps32 is the distance in float32 ulps between got and the float64
// reference want (rounded to float32 first).
func ulps32(got float32, want float64) float64 {
	w := float32(want)
	if got == w || (got != got && w != w) {
		return 0
	}
	if math.IsInf(float64(w), 0) || math.IsInf(float64(got), 0) {
		return math.Inf(1)
	}
	ulp := math.Abs(float64(math.Nextafter32(w, float32(math.Inf(1)))) - float64(w))
	if ulp == 0 {
		ulp = math.SmallestNonzeroFloat32
	}
	return math.Abs(float64(got)-want) / ulp
}

// TestMath32Accuracy compares the float32 kernels with package math over a
// sweep of each function's range. The bounds are what Cephes documents for
// expf/logf (about 1–2 ulp) plus one ulp for the composed functions.
func TestMath32Accuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name    string
		f       func(float32) float32
		ref     func(float64) float64
		lo, hi  float64
		maxUlps float64
	}{
		{"exp", exp32, math.Exp, -87, 88.7, 2},
		{"log", log32, math.Log, 1e-30, 1e30, 2},
		{"log1p", log1p32, math.Log1p, -0.999, 1e6, 3},
		{"log1p-small", log1p32, math.Log1p, -1e-3, 1e-3, 3},
		{"expm1", expm1_32, math.Expm1, -20, 20, 3},
		{"expm1-small", expm1_32, math.Expm1, -1e-3, 1e-3, 2},
		{"softplus", softplus32, softplus, -80, 80, 3},
		{"softplus-mid", softplus32, softplus, -2, 2, 3},
		{"log1pUnit", log1pUnit32, math.Log1p, 0, 1, 3},
		{"sigmoid", sigmoid32, sigmoid, -80, 80, 3},
		{"tanh", tanh32, math.Tanh, -10, 10, 3},
		{"tanh-small", tanh32, math.Tanh, -1e-3, 1e-3, 3},
	}
	for _, c := range cases {
		worst, at := 0.0, 0.0
		for i := range 200000 {
			var x float64
			if c.name == "log" {
				x = math.Exp(math.Log(c.lo) + (math.Log(c.hi)-math.Log(c.lo))*float64(i)/200000)
			} else {
				x = c.lo + (c.hi-c.lo)*rng.Float64()
			}
			x32 := float32(x)
			if u := ulps32(c.f(x32), c.ref(float64(x32))); u > worst {
				worst, at = u, float64(x32)
			}
		}
		if worst > c.maxUlps {
			t.Errorf("%s: %.1f ulps at %g (bound %g)", c.name, worst, at, c.maxUlps)
		}
	}
}

func TestMath32Special(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	checks := []struct {
		name      string
		got, want float32
	}{
		{"exp(100)", exp32(100), inf},
		{"exp(-100)", exp32(-100), 0},
		{"exp(0)", exp32(0), 1},
		{"log(0)", log32(0), -inf},
		{"log(inf)", log32(inf), inf},
		{"log(1)", log32(1), 0},
		{"log1p(-1)", log1p32(-1), -inf},
		{"log1p(0)", log1p32(0), 0},
		{"softplus(-1000)", softplus32(-1000), 0},
		{"softplus(1000)", softplus32(1000), 1000},
		{"sigmoid(-1000)", sigmoid32(-1000), 0},
		{"sigmoid(1000)", sigmoid32(1000), 1},
		{"tanh(50)", tanh32(50), 1},
		{"tanh(-50)", tanh32(-50), -1},
		{"expm1(-100)", expm1_32(-100), -1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	for name, f := range map[string]func(float32) float32{"exp": exp32, "log": log32, "log1p": log1p32, "expm1": expm1_32, "softplus": softplus32, "tanh": tanh32} {
		if v := f(nan); v == v {
			t.Errorf("%s(NaN) = %v, want NaN", name, v)
		}
	}
	if v := log32(-1); v == v {
		t.Errorf("log(-1) = %v, want NaN", v)
	}
	// Subnormal input to log: ln(1e-40).
	if u := ulps32(log32(1e-40), math.Log(float64(float32(1e-40)))); u > 2 {
		t.Errorf("log(1e-40) off by %.1f ulps", u)
	}
}

func BenchmarkMath32(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i)/512 - 4
	}
	y := make([]float32, len(x))
	for _, c := range []struct {
		name string
		f    func(float32) float32
	}{{"softplus32", softplus32}, {"exp32", exp32}, {"expm1_32", expm1_32}, {"tanh32", tanh32}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				for i, v := range x {
					y[i] = c.f(v)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(x)), "ns/elem")
		})
	}
	b.Run("math.softplus", func(b *testing.B) {
		for range b.N {
			for i, v := range x {
				y[i] = float32(softplus(float64(v)))
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(x)), "ns/elem")
	})
}
