package autodiff_test

import (
	"math/rand/v2"
	"runtime"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// TestRuleTemporariesRecycled: the masks the rules compute with kernels
// (here ELU's and Pow's difference rules and ELU's vector-Jacobian product)
// and the values computed from them are the tape's temporaries and go back
// to the pool, so that a steady step of Delta and a releasing Grad through
// those rules leaves no more to the garbage collector than one through
// rules that make no masks (Square and Mul). Before the masks went on the
// tape the difference was about 16 buffers of the step's size per step;
// the bound, 3, leaves room for the pool's own variation between the two
// measurements (0.5 to 2 buffers per step for the plain step, measured).
func TestRuleTemporariesRecycled(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	const n = 64 // 64×64 float64: 32 KiB per buffer, well above bufpool.MinLen
	x := ad.Const(tensor.RandN(tensor.Float64, rng, n, n))
	w := ad.Var(tensor.RandN(tensor.Float64, rng, n, n))
	dx := ad.Const(tensor.Scale(tensor.RandN(tensor.Float64, rng, n, n), 1e-2))
	perStep := func(f func(*ad.Value) *ad.Value) float64 {
		step := func() {
			_, dys := ad.Delta(f, x, []*ad.Value{dx})
			ad.Grad(ad.Sum(dys[0]), []*ad.Value{w}, ad.ReleaseGraph(), ad.Consume(func(int, *ad.Value) {}))
		}
		for range 5 {
			step()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		const steps = 10
		for range steps {
			step()
		}
		runtime.ReadMemStats(&ms)
		return float64(ms.TotalAlloc-before) / steps
	}
	plain := perStep(func(x *ad.Value) *ad.Value { return ad.Square(ad.Mul(x, w)) })
	masked := perStep(func(x *ad.Value) *ad.Value {
		return ad.Pow(ad.AddScalar(ad.Square(ad.ELU(ad.Mul(x, w), 1)), 1), 1.5)
	})
	buf := float64(n * n * 8)
	t.Logf("heap per step: %.2f buffers with ELU and Pow, %.2f without", masked/buf, plain/buf)
	if extra := (masked - plain) / buf; extra > 3 {
		t.Errorf("ELU's and Pow's rules leave %.2f buffers of %.0f bytes per step to the garbage collector", extra, buf)
	}
}
