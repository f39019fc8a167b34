package autodiff

import (
	"sync"

	"github.com/fdsm/fdsm/tensor"
)

// The jet rules of the primitives (see jet.go), one line per primitive in
// installJetRules. They are installed on the first Jet2 rather than in an
// init function: the descriptors are assigned whole in the init functions
// of ops.go, conv.go, … which run in file order, after this file's.
var jetRulesOnce sync.Once

func installJetRules() {
	jetRulesOnce.Do(func() {
		// Linear primitives: their difference rule is the map itself.
		for _, pr := range append(linearPrimitives(), imagePrimitives()...) {
			pr.jet = jetLinear
		}
		mulP.jet = jetMul
		divP.jet = jetDiv
		matMulP.jet = jetBilinear(func(p any, a, b *Value) *Value {
			f := p.(matMulFlags)
			return MatMul(a, b, f.transA, f.transB)
		})
		convP.jet = jetBilinear(func(p any, a, b *Value) *Value { return convLinear(a, b, p.(tensor.Window)) })
		convInputGradP.jet = jetBilinear(func(p any, a, b *Value) *Value {
			c := p.(col2ImParams)
			return convInputGrad(a, b, c.win, c.h, c.w)
		})
		convWeightGradP.jet = jetBilinear(func(p any, a, b *Value) *Value { return convWeightGrad(a, b, p.(tensor.Window)) })
		fusedP.jet = jetFused

		// Elementwise φ: φ′ and φ″ (nil: zero) from the input a and output y.
		elem := func(d func(p any, a, y *Value) (d1, d2 *Value)) jetRule {
			return func(p any, out *Value, in []*Value, jIn []*jet, k int) *jet {
				d1, d2 := d(p, in[0], out)
				return jetElem(jIn[0], d1, d2, k)
			}
		}
		expP.jet = elem(func(_ any, a, y *Value) (*Value, *Value) { return y, y })
		expm1P.jet = elem(func(_ any, a, y *Value) (*Value, *Value) { e := AddScalar(y, 1); return e, e })
		logP.jet = elem(func(_ any, a, y *Value) (*Value, *Value) {
			r := Pow(a, -1)
			return r, Neg(Square(r))
		})
		log1pP.jet = elem(func(_ any, a, y *Value) (*Value, *Value) {
			r := Pow(AddScalar(a, 1), -1)
			return r, Neg(Square(r))
		})
		squareP.jet = elem(func(_ any, a, y *Value) (*Value, *Value) {
			return Scale(a, 2), Scratch(tensor.Full(a.DType(), 2, a.Shape()...))
		})
		sqrtP.jet = elem(func(_ any, a, y *Value) (*Value, *Value) {
			d1 := Scale(Pow(y, -1), 0.5)       // 1/(2√a)
			return d1, Scale(Div(d1, a), -0.5) // −1/(4a√a)
		})
		powP.jet = elem(func(p any, a, y *Value) (*Value, *Value) {
			e := p.(float64)
			return Scale(Pow(a, e-1), e), Scale(Pow(a, e-2), e*(e-1))
		})
		tanhP.jet = elem(func(_ any, a, y *Value) (*Value, *Value) {
			d1 := oneMinusSq(y)
			return d1, Scale(Mul(y, d1), -2)
		})
		sigmoidP.jet = elem(func(_ any, a, y *Value) (*Value, *Value) {
			d1 := Mul(y, oneMinus(y))
			return d1, Mul(d1, AddScalar(Scale(y, -2), 1))
		})
		softplusP.jet = elem(func(_ any, a, y *Value) (*Value, *Value) {
			s := Sigmoid(a)
			return s, Mul(s, oneMinus(s))
		})
		siluP.jet = elem(func(_ any, a, y *Value) (*Value, *Value) {
			// SiLU′ = σ + y(1 − σ), SiLU″ = σ(1 − σ)(2 + a(1 − 2σ)).
			s := Sigmoid(a)
			ds := Mul(s, oneMinus(s))
			return Add(s, Mul(y, oneMinus(s))), Mul(ds, AddScalar(Mul(a, AddScalar(Scale(s, -2), 1)), 2))
		})
		eluP.jet = elem(func(p any, a, y *Value) (*Value, *Value) {
			// 1 and 0 where a > 0, y + α twice elsewhere (constant masks).
			pos := tensor.GreaterScalar(a.t, 0)
			neg := Scratch(tensor.AddScalar(tensor.Neg(pos), 1))
			e := Mul(neg, AddScalar(y, p.(float64)))
			return Add(Scratch(pos), e), e
		})
		actDerivP.jet = elem(func(p any, y, d *Value) (*Value, *Value) {
			// φ′ as a function of y: its first derivative is actSlope, its
			// second −(1 − φ′)′ = −φ′′(y) for softplus, −2 for tanh and
			// sigmoid, 0 for ELU and none.
			act := p.(tensor.Act)
			s := actSlope(y, d, act)
			switch act {
			case tensor.ActSoftplus:
				return s, Neg(s)
			case tensor.ActTanh, tensor.ActSigmoid:
				return s, Scratch(tensor.Full(y.DType(), -2, y.Shape()...))
			}
			return s, nil
		})
		solveP.jet = jetSolve
	})
}

// jetLinear is the rule of a linear primitive: its difference rule applied
// to the stacked coefficients (all inputs brought to one layout first).
func jetLinear(p any, out *Value, in []*Value, jIn []*jet, k int) *jet {
	if j := jetBatch(p, out, in, jIn, k); j != nil {
		return j
	}
	second := false
	for _, j := range jIn {
		second = second || j != nil && j.second
	}
	dIn := make([]*Value, len(jIn))
	for i, j := range jIn {
		switch {
		case j == nil:
		case second:
			dIn[i] = j.full(k, in[i])
		default:
			dIn[i] = j.d
		}
	}
	n := k
	if second {
		n = 2 * k
	}
	d := out.prim.diff(p, out, in, dIn, n)
	if d == nil {
		return nil
	}
	return &jet{d: d, second: second}
}

// jetElem is the rule of an elementwise φ with φ′ = d1 and φ″ = d2 (nil:
// zero) at the input, shaped like the output: (φ′ȧ, φ″ȧ² + φ′ä).
func jetElem(j *jet, d1, d2 *Value, k int) *jet {
	a1, a2 := j.first(k), j.secondOrNil(k)
	y1 := Mul(d1, a1)
	if j.only1 {
		return &jet{d: y1, only1: true}
	}
	var y2 *Value
	if d2 != nil {
		y2 = Mul(d2, Square(a1))
	}
	if a2 != nil {
		y2 = addDiff(y2, Mul(d1, a2))
	}
	if y2 == nil {
		return &jet{d: y1}
	}
	return &jet{d: ConcatRows(y1, y2), second: true}
}

// halves returns an input's first- and second-order coefficients (nil when
// zero), expanded to broadcast against [K]+S of the given rank.
func halves(j *jet, k, rank int) (a1, a2 *Value) {
	if j == nil {
		return nil, nil
	}
	return expandK(j.first(k), rank), expandK(j.secondOrNil(k), rank)
}

// mulNil returns a·b, nil when either is nil (zero).
func mulNil(a, b *Value) *Value {
	if a == nil || b == nil {
		return nil
	}
	return Mul(a, b)
}

// joinJet stacks y1 and y2 (nil: zero) broadcast to [K]+shape.
func joinJet(y1, y2 *Value, k int, shape []int) *jet {
	if y1 == nil && y2 == nil {
		return nil
	}
	if y1 == nil {
		y1 = Scratch(tensor.Zeros(y2.DType(), withK(k, shape)...))
	}
	if y2 == nil {
		return &jet{d: fitK(y1, k, shape)}
	}
	return &jet{d: ConcatRows(fitK(y1, k, shape), fitK(y2, k, shape)), second: true}
}

// jetMul: Leibniz, y1 = ȧb + aḃ, y2 = äb + 2ȧḃ + ab̈.
func jetMul(_ any, out *Value, in []*Value, jIn []*jet, k int) *jet {
	if jIn[0] == nil || jIn[1] == nil {
		return jetLinear(nil, out, in, jIn, k) // linear in the factor that moves
	}
	r := out.t.Rank()
	a1, a2 := halves(jIn[0], k, r)
	b1, b2 := halves(jIn[1], k, r)
	a, b := in[0], in[1]
	y1 := Add(Mul(a1, b), Mul(a, b1))
	y2 := Scale(Mul(a1, b1), 2)
	y2 = addDiff(y2, mulNil(a2, b))
	y2 = addDiff(y2, mulNil(a, b2))
	return joinJet(y1, y2, k, out.Shape())
}

// jetDiv: from yb = a, ẏ = (ȧ − yḃ)/b and ÿ = (ä − 2ẏḃ − yb̈)/b.
func jetDiv(_ any, out *Value, in []*Value, jIn []*jet, k int) *jet {
	if jIn[1] == nil {
		return jetLinear(nil, out, in, jIn, k) // linear in the numerator
	}
	r := out.t.Rank()
	a1, a2 := halves(jIn[0], k, r)
	b1, b2 := halves(jIn[1], k, r)
	y, b := out, in[1]
	n1 := Neg(Mul(y, b1))
	if a1 != nil {
		n1 = Sub(a1, Mul(y, b1))
	}
	y1 := Div(n1, b)
	n2 := Neg(Scale(Mul(y1, b1), 2))
	n2 = addDiff(n2, a2)
	if b2 != nil {
		n2 = Sub(n2, Mul(y, b2))
	}
	return joinJet(y1, Div(n2, b), k, out.Shape())
}

// jetBilinear is the rule of a bilinear primitive f(a, b): linear (its
// difference rule, all directions at once) when one factor moves, Leibniz
// direction by direction when both do.
func jetBilinear(f func(p any, a, b *Value) *Value) jetRule {
	return func(p any, out *Value, in []*Value, jIn []*jet, k int) *jet {
		if jIn[0] == nil || jIn[1] == nil {
			return jetLinear(p, out, in, jIn, k)
		}
		a, b := in[0], in[1]
		a1, a2 := jIn[0].first(k), jIn[0].secondOrNil(k)
		b1, b2 := jIn[1].first(k), jIn[1].secondOrNil(k)
		shape := out.Shape()
		d1 := stackK(k, shape, func(i int) *Value {
			return Add(f(p, sliceK(a1, i), b), f(p, a, sliceK(b1, i)))
		})
		d2 := stackK(k, shape, func(i int) *Value {
			d := Scale(f(p, sliceK(a1, i), sliceK(b1, i)), 2)
			if a2 != nil {
				d = Add(d, f(p, sliceK(a2, i), b))
			}
			if b2 != nil {
				d = Add(d, f(p, a, sliceK(b2, i)))
			}
			return d
		})
		return &jet{d: ConcatRows(d1, d2), second: true}
	}
}

// jetFused is the rule of the fused layer φ(L(x, W) + b). With only x
// moving (the parameters do not depend on the point), ż = L(ẋ, W) and
// z̈ = L(ẍ, W), both in one application of L to the stacked coefficients
// (one GEMM, no bias), then the φ rule with φ′ and φ″ from the output.
// When the weights or the bias move too, the coefficients of z come from
// the bilinear rule of L and the bias's own.
func jetFused(p any, out *Value, in []*Value, jIn []*jet, k int) *jet {
	l, act := p.(fusedParams).l, p.(fusedParams).act
	if !l.conv && jIn[0] != nil && jIn[0].joint != nil && jIn[1] == nil && (len(jIn) < 3 || jIn[2] == nil) {
		// A Dense layer on x alone whose input has a joint (Jet's input, a
		// Dense layer's output): the joint node (jet_dense.go). An input
		// without one (a convolutional trunk's features) goes the way
		// below rather than be copied into a joint.
		var b *Value
		if len(in) == 3 {
			b = in[2]
		}
		return denseJet(jIn[0].joint, in[1], b, out, act, k, jIn[0].only1)
	}
	rows := l.rows(in[0])
	zshape := []int{rows, in[1].Dim(0)}
	var z *jet
	if jIn[1] == nil && (len(jIn) < 3 || jIn[2] == nil) {
		j := jIn[0]
		n := k
		if j.second {
			n = 2 * k
		}
		z = &jet{d: Reshape(l.apply(rowsK(j.d), in[1]), withK(n, zshape)...), second: j.second}
	} else {
		z = fusedMovingJet(l, in, jIn, k, zshape)
	}
	if act == tensor.ActNone {
		return z
	}
	// The only1 of the inputs' jets (jetRun sets it on every jet): under
	// Jet1 the activation makes no second-order coefficients.
	only1 := false
	for _, j := range jIn {
		only1 = only1 || j != nil && j.only1
	}
	return jetAct(out, z, act, k, only1)
}

// actSlope is dφ′/dy for φ′ = d as a function of the output y (the factor
// actDerivVJP multiplies by): φ″ = φ′·actSlope.
func actSlope(y, d *Value, act tensor.Act) *Value {
	switch act {
	case tensor.ActSoftplus: // d/dy (1 − e^−y) = e^−y = 1 − φ′
		return oneMinus(d)
	case tensor.ActTanh: // d/dy (1 − y²) = −2y
		return Scale(y, -2)
	case tensor.ActSigmoid: // d/dy (y − y²) = 1 − 2y
		return AddScalar(Scale(y, -2), 1)
	case tensor.ActELU: // 0 for y > 0, 1 otherwise (a constant mask)
		return Scratch(tensor.AddScalar(tensor.Neg(tensor.GreaterScalar(y.t, 0)), 1))
	}
	return Scratch(tensor.ZerosLike(y.t))
}

// jetSolve: X = S⁻¹B with S the symmetric part of A; from SX = B,
// Ẋ = S⁻¹(Ḃ − ṠX) and Ẍ = S⁻¹(B̈ − S̈X − 2ṠẊ), direction by direction, Ṡ
// and S̈ the symmetric parts of Ȧ and Ä.
func jetSolve(_ any, out *Value, in []*Value, jIn []*jet, k int) *jet {
	a, x, shape := in[0], out, out.Shape()
	coef := func(j int, order int) func(i int) *Value {
		if jIn[j] == nil {
			return func(int) *Value { return nil }
		}
		d := jIn[j].first(k)
		if order == 2 {
			d = jIn[j].secondOrNil(k)
		}
		if d == nil {
			return func(int) *Value { return nil }
		}
		return func(i int) *Value { return sliceK(d, i) }
	}
	a1, a2, b1, b2 := coef(0, 1), coef(0, 2), coef(1, 1), coef(1, 2)
	// times returns the symmetric part of m times v (shaped like X), nil for a nil m.
	times := func(m, v *Value) *Value {
		if m == nil {
			return nil
		}
		return Reshape(MatMul(Scale(Add(m, Transpose(m)), 0.5), as2D(v), false, false), shape...)
	}
	solve := func(r *Value) *Value {
		if r == nil {
			return Scratch(tensor.Zeros(x.DType(), shape...))
		}
		return Solve(a, r)
	}
	x1 := make([]*Value, k)
	d1 := stackK(k, shape, func(i int) *Value {
		x1[i] = solve(subNil(b1(i), times(a1(i), x)))
		return x1[i]
	})
	d2 := stackK(k, shape, func(i int) *Value {
		r := subNil(b2(i), times(a2(i), x))
		if t := times(a1(i), x1[i]); t != nil {
			r = subNil(r, Scale(t, 2))
		}
		return solve(r)
	})
	return &jet{d: ConcatRows(d1, d2), second: true}
}

// subNil returns a − b where either may be nil (zero).
func subNil(a, b *Value) *Value {
	switch {
	case b == nil:
		return a
	case a == nil:
		return Neg(b)
	}
	return Sub(a, b)
}

// fusedMovingJet returns the coefficients of z = L(x, W) + b when W or b
// moves: by Leibniz, ż = L(ẋ, W) + L(x, Ẇ) + ḃ and
// z̈ = L(ẍ, W) + 2L(ẋ, Ẇ) + L(x, Ẅ) + b̈, direction by direction.
func fusedMovingJet(l layerMap, in []*Value, jIn []*jet, k int, zshape []int) *jet {
	part := func(j, order, i int) *Value {
		if j >= len(jIn) || jIn[j] == nil {
			return nil
		}
		d := jIn[j].first(k)
		if order == 2 {
			d = jIn[j].secondOrNil(k)
		}
		if d == nil {
			return nil
		}
		return sliceK(d, i)
	}
	app := func(a, b *Value) *Value {
		if a == nil || b == nil {
			return nil
		}
		return l.apply(a, b)
	}
	bias := func(b *Value) *Value {
		if b == nil {
			return nil
		}
		return BroadcastTo(b, zshape...)
	}
	zero := func(v *Value) *Value {
		if v == nil {
			return Scratch(tensor.Zeros(in[1].DType(), zshape...))
		}
		return v
	}
	x, w := in[0], in[1]
	d1 := stackK(k, zshape, func(i int) *Value {
		return zero(addDiff(addDiff(app(part(0, 1, i), w), app(x, part(1, 1, i))), bias(part(2, 1, i))))
	})
	d2 := stackK(k, zshape, func(i int) *Value {
		var d *Value
		if c := app(part(0, 1, i), part(1, 1, i)); c != nil {
			d = Scale(c, 2)
		}
		d = addDiff(d, app(part(0, 2, i), w))
		d = addDiff(d, app(x, part(1, 2, i)))
		return zero(addDiff(d, bias(part(2, 2, i))))
	})
	return &jet{d: ConcatRows(d1, d2), second: true}
}

// jetBatch is jetLinear for a batch-separable primitive whose moving inputs
// all carry joints (see denseJet) with the same coefficient rows: it applies
// the primitive to the joints, so that the chain goes on and the result's
// base value stays a row block of it (jetEval then returns y from the joint,
// and f's recorded layers are dead: releaseJetDead hands them back). A
// Reshape or Neg after a model's last Dense layer keeps the chain so. nil
// when it does not apply.
func jetBatch(p any, out *Value, in []*Value, jIn []*jet, k int) *jet {
	pr := out.prim
	if pr.batch == nil || out.t.Rank() == 0 {
		return nil
	}
	joints := make([]*Value, len(in))
	rows := 0
	for i, j := range jIn {
		if j == nil || j.joint == nil || (len(in) > 1 && !in[i].t.SameShape(out.t)) {
			return nil
		}
		r := k
		if j.second {
			r = 2 * k
		}
		if rows != 0 && r != rows {
			return nil
		}
		rows, joints[i] = r, j.joint
	}
	d, jo := applyBatch(pr, p, out, joints, rows)
	return &jet{d: d, second: rows == 2*k, joint: jo}
}
