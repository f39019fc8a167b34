package autodiff

import (
	"sync"

	"github.com/fdsm/fdsm/tensor"
)

// The series rules of the primitives (see series.go), one line per
// primitive in installSeriesRules, installed on the first Jet for the same
// reason the jet rules are installed late (see jet_rules.go).
var seriesRulesOnce sync.Once

func installSeriesRules() {
	seriesRulesOnce.Do(func() {
		for _, pr := range append(linearPrimitives(), imagePrimitives()...) {
			pr.series = seriesLinear
		}
		mulP.series = seriesBilinear(func(_ any, a, b *Value) *Value { return Mul(a, b) })
		matMulP.series = seriesBilinear(func(p any, a, b *Value) *Value {
			f := p.(matMulFlags)
			return MatMul(a, b, f.transA, f.transB)
		})
		convP.series = seriesBilinear(func(p any, a, b *Value) *Value { return convLinear(a, b, p.(tensor.Window)) })
		convInputGradP.series = seriesBilinear(func(p any, a, b *Value) *Value {
			c := p.(col2ImParams)
			return convInputGrad(a, b, c.win, c.h, c.w)
		})
		convWeightGradP.series = seriesBilinear(func(p any, a, b *Value) *Value { return convWeightGrad(a, b, p.(tensor.Window)) })
		divP.series = func(_ any, out *Value, in []*Value, sIn []series) series {
			if sIn[1] == nil {
				return seriesLinear(nil, out, in, sIn) // linear in the numerator
			}
			return seriesQuotient(out, in[1], sIn[0], sIn[1], len(sIn[1]))
		}
		fusedP.series = seriesFused
		actDerivP.series = seriesActDeriv

		// Elementwise φ of one input a with output y.
		elem := func(r func(p any, a, y *Value, sa series) series) seriesRule {
			return func(p any, out *Value, in []*Value, sIn []series) series {
				return r(p, in[0], out, sIn[0])
			}
		}
		expP.series = elem(func(_ any, _, y *Value, sa series) series {
			return seriesODE(y, sa, func(m int, ys series) *Value { return coef(y, ys, m) })
		})
		expm1P.series = elem(func(_ any, _, y *Value, sa series) series {
			e := AddScalar(y, 1)
			return seriesODE(y, sa, func(m int, ys series) *Value { return coef(e, ys, m) })
		})
		reciprocal := func(a0 *Value, sa series) func(m int, _ series) *Value {
			r0 := Pow(a0, -1)
			var rs series
			return func(m int, _ series) *Value {
				if rs == nil {
					rs = seriesQuotient(r0, a0, nil, sa, len(sa))
				}
				return coef(r0, rs, m)
			}
		}
		logP.series = elem(func(_ any, a, y *Value, sa series) series { return seriesODE(y, sa, reciprocal(a, sa)) })
		log1pP.series = elem(func(_ any, a, y *Value, sa series) series {
			return seriesODE(y, sa, reciprocal(AddScalar(a, 1), sa))
		})
		squareP.series = elem(func(_ any, a, y *Value, sa series) series {
			return seriesProduct(Mul, a, a, sa, sa, len(sa), y.Shape())
		})
		sqrtP.series = elem(func(_ any, a, y *Value, sa series) series {
			ys := make(series, len(sa))
			for k := 1; k <= len(sa); k++ {
				num := sa[k-1]
				for j := 1; j < k; j++ {
					if ys[j-1] != nil && ys[k-j-1] != nil {
						num = subNil(num, Mul(ys[j-1], ys[k-j-1]))
					}
				}
				if num != nil {
					ys[k-1] = Div(num, Scale(y, 2))
				}
			}
			return nonZero(ys)
		})
		powP.series = elem(func(p any, a, y *Value, sa series) series {
			e := p.(float64)
			ys := make(series, len(sa))
			for k := 1; k <= len(sa); k++ {
				var num *Value
				for j := 1; j <= k; j++ {
					aj, yk := sa[j-1], coef(y, ys, k-j)
					if c := e*float64(j) - float64(k-j); aj != nil && yk != nil && c != 0 {
						num = addDiff(num, Scale(Mul(aj, yk), c))
					}
				}
				if num != nil {
					ys[k-1] = Div(num, Scale(a, float64(k)))
				}
			}
			return nonZero(ys)
		})
		tanhP.series = elem(func(_ any, _, y *Value, sa series) series { return tanhSeries(y, sa) })
		sigmoidP.series = elem(func(_ any, _, y *Value, sa series) series { return sigmoidSeries(y, sa) })
		softplusP.series = elem(func(_ any, a, y *Value, sa series) series { return softplusSeries(y, Sigmoid(a), sa) })
		siluP.series = elem(func(_ any, a, y *Value, sa series) series {
			s := Sigmoid(a) // SiLU = a·σ(a): the product of two series
			return seriesProduct(Mul, a, s, sa, sigmoidSeries(s, sa), len(sa), y.Shape())
		})
		eluP.series = elem(func(p any, a, y *Value, sa series) series {
			return eluSeries(y, tensor.GreaterScalar(a.t, 0), p.(float64), sa)
		})
	})
}

// seriesBilinear is the rule of a bilinear primitive f(a, b): the product
// rule, which is the linear map of the factor that moves when one does.
func seriesBilinear(f func(p any, a, b *Value) *Value) seriesRule {
	return func(p any, out *Value, in []*Value, sIn []series) series {
		g := func(a, b *Value) *Value { return f(p, a, b) }
		return seriesProduct(g, in[0], in[1], sIn[0], sIn[1], seriesOrder(sIn), out.Shape())
	}
}

// seriesFused is the rule of the fused layer φ(L(x, W) + b): the
// coefficients of the pre-activation z by the product rule of L (with only x
// moving, z_k = L(x_k, W), no bias), then the activation's rule from the
// output.
func seriesFused(p any, out *Value, in []*Value, sIn []series) series {
	l, act := p.(fusedParams).l, p.(fusedParams).act
	order := seriesOrder(sIn)
	zshape := []int{l.rows(in[0]), in[1].Dim(0)}
	sz := seriesProduct(l.apply, in[0], in[1], sIn[0], sIn[1], order, zshape)
	if len(sIn) > 2 && sIn[2] != nil {
		if sz == nil {
			sz = make(series, order)
		}
		for k, c := range sIn[2] {
			if c != nil {
				sz[k] = addDiff(sz[k], BroadcastTo(c, zshape...))
			}
		}
	}
	sz = nonZero(sz)
	if sz == nil {
		return nil
	}
	return nonZero(actSeries(act, out, sz))
}

// seriesActDeriv is the rule of actDeriv, d = φ′ as a function of the
// output y: softplus d = 1 − e^−y (d′ = (1 − d)·y′), tanh d = 1 − y²,
// sigmoid d = y − y², ELU d = 1 where y > 0 and y + 1 elsewhere; none, 1.
func seriesActDeriv(p any, out *Value, in []*Value, sIn []series) series {
	y, sy := in[0], sIn[0]
	ds := make(series, len(sy))
	switch act := p.(tensor.Act); act {
	case tensor.ActSoftplus:
		return seriesODE(out, sy, func(m int, ds series) *Value {
			if m == 0 {
				return oneMinus(out)
			}
			return subNil(nil, ds[m-1])
		})
	case tensor.ActTanh, tensor.ActSigmoid:
		for k := 1; k <= len(sy); k++ {
			ds[k-1] = subNil(nil, selfProduct(y, sy, k))
			if act == tensor.ActSigmoid {
				ds[k-1] = addDiff(sy[k-1], ds[k-1])
			}
		}
	case tensor.ActELU:
		neg := Scratch(tensor.AddScalar(tensor.Neg(tensor.GreaterScalar(y.t, 0)), 1))
		for k := range ds {
			ds[k] = mulNil(neg, sy[k])
		}
	}
	return nonZero(ds)
}
