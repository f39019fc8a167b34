package adtest

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// Func is a function of several values, the thing being checked.
type Func func(xs []*autodiff.Value) *autodiff.Value

// Settings tunes Check. A nil *Settings means the defaults below.
type Settings struct {
	// Step is the central-difference step h. Default 1e-3: with the 4-point
	// O(h⁴) stencil the truncation error is about h⁴·|f⁽⁵⁾|/30 ≈ 3e-14 and the
	// round-off about 1e-16·|f|/h ≈ 1e-13 in float64.
	Step float64
	// RTol and ATol bound |reverse − numeric| ≤ ATol + RTol·|numeric|.
	// Defaults 1e-6 and 1e-7: four orders above the difference's own error.
	RTol, ATol float64
	// Seed seeds the random directions.
	Seed uint64
}

func (s *Settings) withDefaults() Settings {
	out := Settings{Step: 1e-3, RTol: 1e-6, ATol: 1e-7, Seed: 1}
	if s != nil {
		if s.Step != 0 {
			out.Step = s.Step
		}
		if s.RTol != 0 {
			out.RTol = s.RTol
		}
		if s.ATol != 0 {
			out.ATol = s.ATol
		}
		if s.Seed != 0 {
			out.Seed = s.Seed
		}
	}
	return out
}

// Check compares reverse-mode derivatives of f at xs (float64 tensors) with
// finite differences at every order from 1 to order. It returns an error
// describing the first disagreement, or if f modified its inputs.
func Check(f Func, xs []*tensor.Tensor, order int, s *Settings) error {
	set := s.withDefaults()
	rng := rand.New(rand.NewPCG(set.Seed, 0xadce5))
	before := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		if x.DType() != tensor.Float64 {
			return fmt.Errorf("adtest: input %d is %v; checks run in float64", i, x.DType())
		}
		before[i] = x.Clone()
	}
	if err := check(f, xs, order, 1, set, rng); err != nil {
		return err
	}
	for i, x := range xs {
		if !equal(x, before[i]) {
			return fmt.Errorf("adtest: the function modified input %d", i)
		}
	}
	return nil
}

func check(f Func, xs []*tensor.Tensor, order, level int, set Settings, rng *rand.Rand) error {
	if level > order {
		return nil
	}
	vars := make([]*autodiff.Value, len(xs))
	for i, x := range xs {
		vars[i] = autodiff.Var(x)
	}
	y := f(vars)
	if y.DType() != tensor.Float64 {
		return fmt.Errorf("adtest: order %d: output is %v, want float64", level, y.DType())
	}
	v := tensor.RandN(tensor.Float64, rng, y.Shape()...)
	u := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		u[i] = tensor.RandN(tensor.Float64, rng, x.Shape()...)
	}
	grads := autodiff.Grad(y, vars, autodiff.CreateGraph(), autodiff.WithSeed(autodiff.Const(v)))
	var rev float64
	for i, g := range grads {
		rev += dot(g.T(), u[i])
	}
	phi := func(t float64) float64 {
		moved := make([]*autodiff.Value, len(xs))
		for i, x := range xs {
			// Variables, not constants: at order ≥ 2, f itself calls Grad
			// with respect to its inputs.
			moved[i] = autodiff.Var(tensor.Add(x, tensor.Scale(u[i], t)))
		}
		return dot(f(moved).T(), v)
	}
	h := set.Step
	// Fourth-order central difference (weights 1, −8, 8, −1 over 12h).
	num := (phi(-2*h) - 8*phi(-h) + 8*phi(h) - phi(2*h)) / (12 * h)
	if math.IsNaN(rev) || math.Abs(rev-num) > set.ATol+set.RTol*math.Abs(num) {
		return fmt.Errorf("adtest: order %d: reverse mode gives %.12g, finite differences %.12g (diff %.3g)",
			level, rev, num, rev-num)
	}
	if level == order {
		return nil
	}
	w := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		w[i] = tensor.RandN(tensor.Float64, rng, x.Shape()...)
	}
	next := func(in []*autodiff.Value) *autodiff.Value {
		gs := autodiff.Grad(f(in), in, autodiff.CreateGraph(), autodiff.WithSeed(autodiff.Const(v)))
		var s *autodiff.Value
		for i, g := range gs {
			term := autodiff.Sum(autodiff.Mul(g, autodiff.Const(w[i])))
			if s == nil {
				s = term
			} else {
				s = autodiff.Add(s, term)
			}
		}
		return s
	}
	return check(next, xs, order, level+1, set, rng)
}

func dot(a, b *tensor.Tensor) float64 {
	x, y := a.ToFloat64(), b.ToFloat64()
	var s float64
	for i := range x {
		s += x[i] * y[i]
	}
	return s
}

func equal(a, b *tensor.Tensor) bool {
	x, y := a.ToFloat64(), b.ToFloat64()
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i] != y[i] && !(math.IsNaN(x[i]) && math.IsNaN(y[i])) {
			return false
		}
	}
	return true
}
