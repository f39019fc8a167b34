package fd

import (
	"fmt"
	"math"

	"github.com/fdsm/fdsm/autodiff"
)

// richardsonFactor returns r^p after checking that extrapolation is defined.
func richardsonFactor(r float64, p int) float64 {
	if !(r > 1) || math.IsInf(r, 0) || p < 1 {
		panic(fmt.Sprintf("fd: Richardson needs a step ratio r > 1 and an error order p ≥ 1, got r = %v, p = %d", r, p))
	}
	return math.Pow(r, float64(p))
}

// Richardson combines an estimate a = A(h) and ar = A(h/r) whose errors are
// C·h^p + o(h^p) into (r^p·A(h/r) − A(h))/(r^p − 1), which cancels the
// C·h^p term. For a stencil of accuracy p the result's error is
// O(h^{p+1}), or O(h^{p+2}) for symmetric stencils whose error expansion has
// only even powers. It panics unless r > 1 and p ≥ 1.
func Richardson(a, ar, r float64, p int) float64 {
	rp := richardsonFactor(r, p)
	return (rp*ar - a) / (rp - 1)
}

// Extrapolate evaluates the estimate at steps h and h/r and returns their
// Richardson combination (see Richardson). A typical use is
//
//	fd.Extrapolate(func(h float64) float64 { return s.Apply(f, x, h) }, h, 2, s.Accuracy())
func Extrapolate(estimate func(h float64) float64, h, r float64, p int) float64 {
	return Richardson(estimate(h), estimate(h/r), r, p)
}

// RichardsonValue is Richardson on autodiff values (elementwise), so an
// extrapolated estimate can be part of a differentiable loss.
func RichardsonValue(a, ar *autodiff.Value, r float64, p int) *autodiff.Value {
	rp := richardsonFactor(r, p)
	return autodiff.Scale(autodiff.Sub(autodiff.Scale(ar, rp), a), 1/(rp-1))
}
