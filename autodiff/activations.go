package autodiff

import "github.com/fdsm/fdsm/tensor"

// The standalone smooth activations, one block each: the operation (its
// forward a tensor kernel), and its descriptor with the vector-Jacobian
// product and the difference rule, written with this package's
// differentiable operations (so derivatives of every order and gradients
// through Delta come with them). Adding an activation is one more such block (see the package documentation for the other places).
// The activations fused into Dense, whose derivative is a function of the
// output, have their kernels in dense.go and tensor/fused.go.

// Tanh returns tanh a.
func Tanh(a *Value) *Value { return op(tensor.Tanh(a.t), &tanhP, a) }

var tanhP primitive

func init() {
	tanhP = primitive{name: "Tanh",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			// tanh' = 1 − tanh².
			return []*Value{Mul(g, AddScalar(Neg(Square(out)), 1))}
		},
		// tanh(a + α) − tanh a = t(1 − y²)/(1 + y·t) with y = tanh a, t = tanh α
		// (exact; the denominator is at least 1 − |t| > 0, so it cancels only when
		// |α| is large and of the sign opposite to a's).
		diff: func(_ any, out *Value, in, dIn []*Value, k int) *Value {
			t := Tanh(dIn[0])
			return Div(Mul(t, oneMinusSq(out)), AddScalar(Mul(out, t), 1))
		},
	}
}

// oneMinusSq returns 1 − y² as (1 − y)(1 + y), accurate for |y| near 1.
func oneMinusSq(y *Value) *Value { return Mul(oneMinus(y), AddScalar(y, 1)) }

// Sigmoid returns 1/(1 + e^−a).
func Sigmoid(a *Value) *Value { return op(tensor.Sigmoid(a.t), &sigmoidP, a) }

var sigmoidP primitive

func init() {
	sigmoidP = primitive{name: "Sigmoid",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			// σ' = σ(1 − σ).
			return []*Value{Mul(g, Mul(out, AddScalar(Neg(out), 1)))}
		},
		diff: sigmoidDiff,
	}
}

// σ(a + α) − σ(a) is the tanh rule at half scale (σ(a) = (1 + tanh(a/2))/2):
// 2σ(1 − σ)·T/(1 + (2σ − 1)T) with T = tanh(α/2), for out = σ(a).
func sigmoidDiff(_ any, out *Value, in, dIn []*Value, k int) *Value {
	t := Tanh(Scale(dIn[0], 0.5))
	num := Mul(Scale(Mul(out, oneMinus(out)), 2), t)
	return Div(num, AddScalar(Mul(AddScalar(Scale(out, 2), -1), t), 1))
}

// Softplus returns log(1 + eᵃ), computed without overflow.
func Softplus(a *Value) *Value { return op(tensor.Softplus(a.t), &softplusP, a) }

var softplusP primitive

func init() {
	softplusP = primitive{name: "Softplus",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			return []*Value{Mul(g, Sigmoid(in[0]))}
		},
		// softplus(a + α) − softplus(a) = log1p(σ(a)·expm1(α)): exact for every α;
		// in floating point it is accurate while σ(a)·expm1(α) stays well above −1
		// and below overflow (|α| up to about 80 in float32 when a is moderate).
		// The fused Dense rule switches to a direct form for |α| > 1.
		diff: func(_ any, out *Value, in, dIn []*Value, k int) *Value {
			return Log1p(Mul(Sigmoid(in[0]), Expm1(dIn[0])))
		},
	}
}

// ELU returns a for a > 0 and α(eᵃ − 1) otherwise.
func ELU(a *Value, alpha float64) *Value { return opWith(tensor.ELU(a.t, alpha), &eluP, alpha, a) }

var eluP primitive

func init() {
	eluP = primitive{name: "ELU",
		vjp: func(p any, g, out *Value, in []*Value, need []bool) []*Value {
			// ELU' = 1 where a > 0, else αeᵃ = out + α.
			pos := positive(constOn(g, in[0]))
			return []*Value{Mul(g, Add(pos, Mul(oneMinus(pos), AddScalar(out, p.(float64)))))}
		},
		diff: eluDiff,
	}
}

// ELU: α where a and a + α are both positive, (out + c)·expm1(α) where both
// are negative (c the ELU's α), and the direct difference where the sign
// changes (there |a| < |α|, so nothing large cancels). The masks are
// constants; the masked-out difference is fed as 0 so that no branch
// overflows.
func eluDiff(p any, out *Value, in, dIn []*Value, k int) *Value {
	alpha := p.(float64)
	a, da := in[0], dIn[0]
	ca, cda := constOn(out, a), constOn(out, da)
	pa := positive(ca)                    // a > 0
	pb := positive(Add(ca, cda))          // a + α > 0, [K]+S
	pp := Mul(pb, pa)                     // both positive
	nn := Mul(oneMinus(pb), oneMinus(pa)) // both non-positive
	mix := oneMinus(Add(pp, nn))
	d := Add(Mul(pp, da), Mul(AddScalar(out, alpha), Expm1(Mul(nn, da))))
	if anyNonZero(mix.t) {
		d = Add(d, Sub(ELU(Add(a, Mul(mix, da)), alpha), out))
	}
	return d
}

// SiLU returns a·σ(a), the sigmoid-weighted linear unit, as one primitive.
func SiLU(a *Value) *Value {
	s := tensor.Sigmoid(a.t)
	y := tensor.Mul(a.t, s)
	// A forward kernel's scratch, not a rule's temporary (no tape scopes a
	// forward): it goes back to the pool at once, or every SiLU would leave
	// one buffer to the garbage collector.
	putBuffer(s)
	return op(y, &siluP, a)
}

var siluP primitive

func init() {
	siluP = primitive{name: "SiLU",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			// SiLU′ = σ + aσ(1 − σ) = σ + out·(1 − σ).
			s := Sigmoid(in[0])
			return []*Value{Mul(g, Add(s, Mul(out, oneMinus(s))))}
		},
		// (a + α)σ(a + α) − aσ(a) = α·(σ + Δσ) + a·Δσ, Δσ = σ(a + α) − σ(a)
		// by the sigmoid rule: no difference of nearly equal values is
		// formed. (Near SiLU's minimum, a ≈ −1.28, the two terms are of
		// opposite signs and their sum is O(α²): there the relative error
		// is that of the terms, about u·|α|/|Δ|.)
		diff: func(_ any, out *Value, in, dIn []*Value, k int) *Value {
			s := Sigmoid(in[0])
			ds := sigmoidDiff(nil, s, nil, dIn, k)
			return Add(Mul(dIn[0], Add(s, ds)), Mul(in[0], ds))
		},
	}
}
