package autodiff_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// lapTol is the relative agreement asked of the forward Laplacian against
// nested Grad in float64 (issue 21 item 3: 1e-10).
const lapTol = 1e-10

// lapAct is one activation of the test MLPs: fused into Dense, or applied
// after it.
type lapAct struct {
	name  string
	fused tensor.Act
	apply func(*ad.Value) *ad.Value // nil: fused
}

var lapActs = []lapAct{
	{"softplus", tensor.ActSoftplus, nil},
	{"tanh", tensor.ActTanh, nil},
	{"sigmoid", tensor.ActSigmoid, nil},
	{"elu", tensor.ActELU, nil},
	{"silu", tensor.ActNone, ad.SiLU},
	{"swish", tensor.ActNone, func(z *ad.Value) *ad.Value { return ad.Mul(z, ad.Sigmoid(z)) }},
	{"softplus-unfused", tensor.ActNone, ad.Softplus},
	{"elu-unfused", tensor.ActNone, func(z *ad.Value) *ad.Value { return ad.ELU(z, 1) }},
	{"tanh-exp", tensor.ActNone, func(z *ad.Value) *ad.Value { return ad.Mul(ad.Tanh(z), ad.Exp(ad.Scale(z, -0.5))) }},
}

// lapMLP is an energy MLP sizes[0]-…-1 with biases, its parameters Vars.
type lapMLP struct {
	ws, bs []*ad.Value
	act    lapAct
}

func newLapMLP(dt tensor.DType, rng *rand.Rand, act lapAct, sizes ...int) *lapMLP {
	m := &lapMLP{act: act}
	for i := 0; i+1 < len(sizes); i++ {
		bound := 1.5 / math.Sqrt(float64(sizes[i]))
		m.ws = append(m.ws, ad.Var(tensor.RandU(dt, rng, -bound, bound, sizes[i+1], sizes[i])))
		m.bs = append(m.bs, ad.Var(tensor.RandU(dt, rng, -0.5, 0.5, sizes[i+1])))
	}
	return m
}

func (m *lapMLP) params() []*ad.Value { return append(append([]*ad.Value(nil), m.ws...), m.bs...) }

// energy is the MLP's output per row, [N].
func (m *lapMLP) energy(x *ad.Value) *ad.Value {
	h := x
	for i := range m.ws {
		switch {
		case i+1 == len(m.ws):
			h = ad.Dense(h, m.ws[i], m.bs[i], tensor.ActNone)
		case m.act.apply == nil:
			h = ad.Dense(h, m.ws[i], m.bs[i], m.act.fused)
		default:
			h = m.act.apply(ad.Dense(h, m.ws[i], m.bs[i], tensor.ActNone))
		}
	}
	return ad.Reshape(h, -1)
}

// lapLoss is exact score matching's per-batch loss from ∇ and Δ of f:
// mean of ½‖∇f‖² + Δf.
func lapLoss(g, l *ad.Value) *ad.Value {
	return ad.Mean(ad.Add(ad.Scale(ad.SumAxis(ad.Square(g), 1), 0.5), l))
}

// nestedLaplacian returns f(x), ∇f and Δf per row by nested Grad (d
// recorded backward passes), and the loss built from them.
func nestedLaplacian(f func(*ad.Value) *ad.Value, x *tensor.Tensor) (y, g, l, loss *ad.Value) {
	xv := ad.Var(x)
	y = f(xv)
	g = ad.Grad(ad.Sum(y), []*ad.Value{xv}, ad.CreateGraph())[0]
	l = ad.SumAxis(ad.RowJacobianDiag(g, xv, ad.CreateGraph()), 1)
	return y, g, l, lapLoss(g, l)
}

// TestLaplacianMLP: y, ∇f, Δf and the parameter gradient of ½‖∇f‖² + Δf
// equal nested Grad's to 1e-10 in float64, for every activation, several
// depths, and both bases (d below the first width: the identity; d above
// it: the first layer's).
func TestLaplacianMLP(t *testing.T) {
	shapes := [][]int{{3, 7, 1}, {3, 6, 5, 1}, {4, 5, 6, 4, 1}, {9, 4, 1}, {9, 5, 6, 1}, {11, 4, 5, 3, 1}}
	for _, act := range lapActs {
		for _, sizes := range shapes {
			t.Run(fmt.Sprintf("%s/%v", act.name, sizes), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(21, 3))
				m := newLapMLP(tensor.Float64, rng, act, sizes...)
				x := tensor.RandN(tensor.Float64, rng, 5, sizes[0])
				y, g, l := ad.Laplacian(m.energy, ad.Const(x))
				wy, wg, wl, wloss := nestedLaplacian(m.energy, x)
				for _, c := range []struct {
					name      string
					got, want *ad.Value
				}{{"y", y, wy}, {"grad", g, wg}, {"laplacian", l, wl}} {
					if e := relErr(c.got.T(), c.want.T()); e > lapTol {
						t.Errorf("%s differs from nested Grad by %g", c.name, e)
					}
				}
				gp := ad.Grad(lapLoss(g, l), m.params())
				wp := ad.Grad(wloss, m.params())
				for i := range gp {
					if e := relErr(gp[i].T(), wp[i].T()); e > lapTol {
						t.Errorf("parameter %d gradient differs from nested Grad by %g", i, e)
					}
				}
			})
		}
	}
}

// TestLaplacianWideBasis: a first layer wider than symOuter's block (160 >
// 128 rows, so the backward pass's symmetric product is assembled from
// several blocks and their mirrors), checked against nested Grad.
func TestLaplacianWideBasis(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	m := newLapMLP(tensor.Float64, rng, lapActs[0], 300, 160, 8, 1)
	x := tensor.RandN(tensor.Float64, rng, 3, 300)
	_, g, l := ad.Laplacian(m.energy, ad.Const(x))
	_, _, _, wloss := nestedLaplacian(m.energy, x)
	gp, wp := ad.Grad(lapLoss(g, l), m.params()), ad.Grad(wloss, m.params())
	for i := range gp {
		if e := relErr(gp[i].T(), wp[i].T()); e > lapTol {
			t.Errorf("parameter %d gradient differs from nested Grad by %g", i, e)
		}
	}
}

// TestLaplacianBytes: the bound counts r numbers per number of every value
// between x and f(x): for 9-4-1 in the first layer's basis (r = 4) the values
// [N, 4], [N, 1] and [N] (the reshape), for 3-7-1 in the identity basis
// (r = 3) [N, 7], [N, 1] and [N]; 8 bytes each in float64.
func TestLaplacianBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		sizes []int
		want  int64
	}{{[]int{9, 4, 1}, 2 * (4 + 1 + 1) * 4 * 8}, {[]int{3, 7, 1}, 2 * (7 + 1 + 1) * 3 * 8}} {
		m := newLapMLP(tensor.Float64, rng, lapActs[0], c.sizes...)
		got, err := ad.LaplacianBytes(m.energy, ad.Const(tensor.RandN(tensor.Float64, rng, 2, c.sizes[0])))
		if err != nil || got != c.want {
			t.Errorf("%v: LaplacianBytes %d, %v; want %d", c.sizes, got, err, c.want)
		}
	}
}

// TestLaplacianOps: the rules of the linear and product primitives an
// energy may use beyond Dense, checked the same way: a sum of two branches
// of x (x used twice: the identity basis), a product of two moving values,
// a division by a constant and a quadratic term.
func TestLaplacianOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	m := newLapMLP(tensor.Float64, rng, lapActs[1], 6, 5, 4, 1)
	w := ad.Const(tensor.RandN(tensor.Float64, rng, 3, 6))
	c := ad.Const(tensor.RandU(tensor.Float64, rng, 1, 2, 3))
	f := func(x *ad.Value) *ad.Value {
		u := ad.Div(ad.Tanh(ad.MatMul(x, w, false, true)), c) // [N, 3]
		v := ad.Mul(ad.Sigmoid(u), ad.Square(u))
		q := ad.Scale(ad.SumAxis(ad.Square(x), 1), 0.25)
		return ad.Add(ad.Sub(m.energy(x), ad.SumAxis(v, 1)), ad.Log1p(q))
	}
	x := tensor.RandN(tensor.Float64, rng, 4, 6)
	_, g, l := ad.Laplacian(f, ad.Const(x))
	_, wg, wl, _ := nestedLaplacian(f, x)
	if e := relErr(g.T(), wg.T()); e > lapTol {
		t.Errorf("grad differs from nested Grad by %g", e)
	}
	if e := relErr(l.T(), wl.T()); e > lapTol {
		t.Errorf("laplacian differs from nested Grad by %g", e)
	}
}

// TestLaplacianNoRule: a primitive without a rule (here a convolution) is
// reported by name before any rule runs, and Laplacian panics with the same
// error.
func TestLaplacianNoRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	w := ad.Const(tensor.RandN(tensor.Float64, rng, 2, 1, 3, 3))
	f := func(x *ad.Value) *ad.Value {
		img := ad.Reshape(x, x.Dim(0), 4, 4, 1)
		return ad.SumAxis(ad.Reshape(ad.Conv2DAct(img, w, nil, 1, 1, tensor.ActSoftplus), x.Dim(0), -1), 1)
	}
	x := ad.Const(tensor.RandN(tensor.Float64, rng, 2, 16))
	_, _, _, err := ad.TryLaplacian(f, x)
	var nr *ad.NoLaplacianRuleError
	if !errors.As(err, &nr) || nr.Primitive != "Dense" {
		t.Fatalf("TryLaplacian error %v, want a *NoLaplacianRuleError naming Dense (the fused convolution)", err)
	}
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("Laplacian did not panic")
		} else if e, ok := r.(*ad.NoLaplacianRuleError); !ok || e.Primitive != "Dense" {
			t.Fatalf("Laplacian panicked with %v", r)
		}
	}()
	ad.Laplacian(f, x)
}

// TestLaplacianFloat32: in float32 the parameter gradient of ½‖∇f‖² + Δf
// points where float64's does (cosine ≥ 0.99999, as the other objectives'
// tests ask), in both bases.
func TestLaplacianFloat32(t *testing.T) {
	for _, sizes := range [][]int{{8, 32, 32, 1}, {48, 32, 32, 1}} {
		rng := rand.New(rand.NewPCG(7, 8))
		m64 := newLapMLP(tensor.Float64, rng, lapActs[0], sizes...)
		x64 := tensor.RandN(tensor.Float64, rng, 16, sizes[0])
		m32 := &lapMLP{act: m64.act}
		for i := range m64.ws {
			m32.ws = append(m32.ws, ad.Var(m64.ws[i].T().AsType(tensor.Float32)))
			m32.bs = append(m32.bs, ad.Var(m64.bs[i].T().AsType(tensor.Float32)))
		}
		grad := func(m *lapMLP, x *tensor.Tensor) []float64 {
			_, g, l := ad.Laplacian(m.energy, ad.Const(x))
			var flat []float64
			for _, p := range ad.Grad(lapLoss(g, l), m.params()) {
				flat = append(flat, p.T().ToFloat64()...)
			}
			return flat
		}
		a, b := grad(m64, x64), grad(m32, x64.AsType(tensor.Float32))
		var ab, aa, bb float64
		for i := range a {
			ab, aa, bb = ab+a[i]*b[i], aa+a[i]*a[i], bb+b[i]*b[i]
		}
		if c := ab / math.Sqrt(aa*bb); c < 0.99999 {
			t.Errorf("%v: cosine of the float32 and float64 gradients %v", sizes, c)
		}
	}
}

// TestLaplacianGOMAXPROCS: the same bits, loss and parameter gradient,
// whatever the number of workers (the batched kernels split their work by
// sizes only).
func TestLaplacianGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rng := rand.New(rand.NewPCG(9, 10))
	m := newLapMLP(tensor.Float32, rng, lapActs[0], 96, 64, 64, 1)
	x := tensor.RandN(tensor.Float32, rng, 32, 96)
	run := func() []float64 {
		_, g, l := ad.Laplacian(m.energy, ad.Const(x))
		loss := lapLoss(g, l)
		out := []float64{loss.Item()}
		for _, p := range ad.Grad(loss, m.params()) {
			out = append(out, p.T().ToFloat64()...)
		}
		return out
	}
	runtime.GOMAXPROCS(1)
	want := run()
	for _, procs := range []int{2, 8} {
		runtime.GOMAXPROCS(procs)
		got := run()
		for i := range want {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("GOMAXPROCS %d: element %d is %v, %v with one worker", procs, i, got[i], want[i])
			}
		}
	}
}
