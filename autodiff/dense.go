package autodiff

import (
	"fmt"
	"math"

	"github.com/fdsm/fdsm/internal/kernel/parallel"
	"github.com/fdsm/fdsm/internal/kernel/vec"
	"github.com/fdsm/fdsm/tensor"
)

// Dense is the fused layer act(x·Wᵀ + b) for x [N, in], W [out, in] (PyTorch's
// layout) and b [out] (or nil): one GEMM, then bias and activation in one pass.
//
// It is one graph node whose backward rule needs only its output, its input x
// and W, because each supported activation's derivative is a function of its
// output (softplus′ = 1 − e^−y, …). Unfused, a layer keeps three [N, out]
// tensors alive for the backward pass (the product, the pre-activation and
// the output); fused, it keeps one. That matters most to the
// finite-difference objectives, whose only graph is this forward pass.
func Dense(x, w, b *Value, act tensor.Act) *Value {
	if x.t.Rank() != 2 || w.t.Rank() != 2 || x.Dim(1) != w.Dim(1) {
		panic(fmt.Sprintf("autodiff: Dense input %v with weight %v (want [N, in] and [out, in])", x.Shape(), w.Shape()))
	}
	return fused(layerMap{}, x, w, b, act)
}

// fused is the layer act(L(x, W) + b) for the linear map L of l (Dense's
// matrix product, or a convolution: see layerMap), as one node.
func fused(l layerMap, x, w, b *Value, act tensor.Act) *Value {
	out := l.forward(x.t, w.t)
	inputs := []*Value{x, w}
	var bt *tensor.Tensor
	if b != nil {
		bt = b.t
		inputs = append(inputs, b)
	}
	tensor.BiasActInPlace(out, bt, act)
	return opWith(out, &fusedP, fusedParams{l, act}, inputs...)
}

// fusedParams are the parameters of a fused layer.
type fusedParams struct {
	l   layerMap
	act tensor.Act
}

// fusedVJP is the fused layer's vector-Jacobian product.
func fusedVJP(p any, g, out *Value, in []*Value, need []bool) []*Value {
	l, act := p.(fusedParams).l, p.(fusedParams).act
	delta := g
	if act != tensor.ActNone {
		delta = Mul(g, actDeriv(out, act))
	}
	gs := make([]*Value, len(in))
	if need[0] {
		gs[0] = l.gradX(delta, in[1])
	}
	if need[1] {
		gs[1] = l.gradW(delta, in[0])
	}
	if len(in) == 3 && need[2] {
		gs[2] = SumTo(delta, in[2].t.Shape()...)
	}
	return gs
}

// actDeriv is act′ as a function of the activation's output y, a primitive
// so that Dense's rule stays differentiable.
func actDeriv(y *Value, act tensor.Act) *Value {
	return opWith(tensor.ActDerivFromOutput(y.t, act), &actDerivP, act, y)
}

// actDerivVJP is actDeriv's vector-Jacobian product.
func actDerivVJP(p any, g, out *Value, in []*Value, need []bool) []*Value {
	var d *Value
	switch p.(tensor.Act) {
	case tensor.ActSoftplus: // d/dy (1 − e^−y) = e^−y = 1 − out
		d = AddScalar(Neg(out), 1)
	case tensor.ActTanh: // d/dy (1 − y²) = −2y
		d = Scale(in[0], -2)
	case tensor.ActSigmoid: // d/dy (y − y²) = 1 − 2y
		d = AddScalar(Scale(in[0], -2), 1)
	case tensor.ActELU: // 0 for y > 0, 1 otherwise (a constant mask)
		d = oneMinus(positive(constOn(g, in[0])))
	default:
		return []*Value{zerosLike(g)}
	}
	return []*Value{Mul(g, d)}
}

// The descriptors of the fused layer, the activation's derivative and the
// fused difference nodes (see primitive).
var fusedP, actDerivP, denseJointP, denseDeltaP primitive

func init() {
	fusedP = primitive{name: "Dense", vjp: fusedVJP, joint: denseDiff}
	actDerivP = primitive{name: "actDeriv", vjp: actDerivVJP,
		diff: func(p any, out *Value, in, dIn []*Value, k int) *Value {
			return actDerivDelta(in[0], dIn[0], p.(tensor.Act))
		},
	}
	denseJointP = primitive{name: "denseJoint", vjp: denseJointVJP, diff: nestedDiff}
	denseDeltaP = primitive{name: "denseDelta", vjp: denseDeltaVJP, diff: nestedDiff}
}

// nestedDiff is the difference rule of the fused difference nodes.
func nestedDiff(_ any, out *Value, in, dIn []*Value, k int) *Value {
	panic("autodiff: Delta: the difference of a difference (nested Delta through a Dense layer) is not supported")
}

// denseDiff is Dense's difference rule. With only x changing (the parameters
// do not depend on the input), the pre-activation changes by ΔZ = ΔX·Wᵀ with
// no bias and nothing subtracted, and one fused node (denseJoint) applies the
// activation's difference rule to it. The node works on joints
// [X; ΔX_1; …; ΔX_K]: all K differences go through one GEMM forward, and the
// backward pass, which also carries the base rows' cotangent, is one GEMM for
// the weights and one for the input over all (K+1)·N rows, as for a stacked
// batch. (Were the base layer's own recorded node on the backward path too,
// every weight would receive two gradient contributions to be computed and
// added.)
func denseDiff(p any, out *Value, in, dIn, jIn []*Value, k, pairs int) (*Value, *Value) {
	l, act := p.(fusedParams).l, p.(fusedParams).act
	{
		x, w := in[0], in[1]
		n, nout := out.Dim(0), w.Dim(0)
		var b *Value
		if len(in) == 3 {
			b = in[2]
		}
		if dIn[0] != nil && dIn[1] == nil && (b == nil || dIn[2] == nil) {
			j := jIn[0]
			if j == nil {
				j = ConcatRows(x, rowsK(dIn[0]))
			}
			jo := denseJoint(l, j, w, b, out.t, act, k, pairs)
			return Reshape(SliceRows(jo, n, (k+1)*n), k, n, nout), jo
		}
		if pairs > 0 {
			return nil, nil // through the plain rule (deltaState.step converts)
		}
		// Weights or bias change too: ΔZ = ΔX(W + ΔW)ᵀ + X·ΔWᵀ + Δb, per
		// difference.
		dz := stackK(k, []int{n, nout}, func(i int) *Value {
			var d *Value
			if dIn[0] != nil {
				ww := w
				if dIn[1] != nil {
					ww = Add(w, sliceK(dIn[1], i))
				}
				d = l.apply(sliceK(dIn[0], i), ww)
			}
			if dIn[1] != nil {
				d = addDiff(d, l.apply(x, sliceK(dIn[1], i)))
			}
			if b != nil && dIn[2] != nil {
				d = addDiff(d, BroadcastTo(sliceK(dIn[2], i), n, nout))
			}
			return d
		})
		if act == tensor.ActNone {
			return dz, nil
		}
		return Reshape(denseDelta(out, Reshape(dz, k*n, nout), nil, act), k, n, nout), nil
	}
}

// denseJoint is the fused node of the difference transform for a Dense layer:
// from the joint input J = [x; Δx_1; …; Δx_K] ([(K+1)·N, in]) it returns the
// joint output [y; Δy_1; …; Δy_K] ([(K+1)·N, out]), y = φ(x·Wᵀ + b) and
// Δy_k = φ(z + Δx_k·Wᵀ) − φ(z). y is the recorded layer's output (the tensor
// base, copied, not recomputed); the differences are one GEMM on the K·N
// difference rows and the activation's difference rule (see denseDelta),
// which needs only y and δ.
//
// Its vector-Jacobian product maps the joint cotangent [G₀; G_1; …; G_K] to
// the pre-activation cotangents [G₀·φ′(z) + Σ_k G_k·Δφ′_k; G_k·(φ′(z) + Δφ′_k)]
// (Δφ′_k = φ′(z + δ_k) − φ′(z), without cancellation, see actDerivDelta), and
// those, stacked, to J's cotangent (one GEMM with W), W's (one GEMM with J)
// and b's (the base rows summed). First order runs fused kernels; recorded
// (CreateGraph) it is built from differentiable operations on the node's
// own output, so derivatives of every order are right.
//
// With pairs = P > 0 (Central) the K = 2P difference rows are central pairs
// [D_1 … D_P; S_1 … S_P] and the activation's central rule applies: with
// a = δ_D and b = δ_S/2 (so that z + b ± a are the two shifted
// pre-activations), D′ = (φ(z+b+a) − φ(z+b−a))/2 and
// S′ = φ(z+b+a) + φ(z+b−a) − 2φ(z) (see actPairInPlace).
func denseJoint(l layerMap, j, w, b *Value, base *tensor.Tensor, act tensor.Act, k, pairs int) *Value {
	n, nout := base.Dim(0), w.Dim(0)
	nIn := j.Dim(0) / (k + 1) // input rows (images, for a convolution) per block
	if j.Dim(0) != (k+1)*nIn || l.rows(j) != (k+1)*n || base.Dim(1) != nout {
		panic(fmt.Sprintf("autodiff: internal error: denseJoint of %v with weight %v, base %v, K = %d", j.Shape(), w.Shape(), base.Shape(), k))
	}
	// Every row of out is written below: the base copied, the difference
	// rows by the layer map, the skipped ones cleared.
	out := tensor.Uninit(base.DType(), (k+1)*n, nout)
	// rows is the number of difference rows that can be nonzero: in central
	// mode the S rows of the first layer are zeros (S = 0 at x), and their
	// products are skipped, forward and (first order) backward.
	rows, rowsIn := k*n, k*nIn
	if pairs > 0 && isZero(tensor.SliceRows(j.t, (pairs+1)*nIn, (k+1)*nIn)) {
		rows, rowsIn = pairs*n, pairs*nIn
		tensor.SliceRows(out, n+rows, (k+1)*n).Fill(0)
	}
	var aux *deltaAux
	if out.DType() == tensor.Float32 {
		copy(out.Float32s(), base.Float32s())
	} else {
		copy(out.Float64s(), base.Float64s())
	}
	l.forwardInto(tensor.SliceRows(out, n, n+rows), tensor.SliceRows(j.t, nIn, nIn+rowsIn), w.t)
	if pairs > 0 {
		aux = actPairInPlace(tensor.SliceRows(out, n, (k+1)*n), base, act, pairs)
	} else {
		aux = actDeltaInPlace(tensor.SliceRows(out, n, (k+1)*n), base, act)
	}
	inputs := []*Value{j, w}
	if b != nil {
		inputs = append(inputs, b)
	}
	p := denseJointParams{l: l, act: act, k: k, pairs: pairs, n: n, nout: nout, nIn: nIn, rows: rows, rowsIn: rowsIn, aux: aux}
	return opAux(out, aux, &denseJointP, p, inputs...)
}

// denseJointParams are denseJoint's parameters: the layer, the joint's
// sizes, and the aux its kernels computed.
type denseJointParams struct {
	l                                    layerMap
	act                                  tensor.Act
	k, pairs, n, nout, nIn, rows, rowsIn int
	aux                                  *deltaAux
}

// denseJointVJP is denseJoint's vector-Jacobian product.
func denseJointVJP(pp any, g, out *Value, in []*Value, need []bool) []*Value {
	p := pp.(denseJointParams)
	l, act, k, pairs, n, nout, nIn, rows, rowsIn, aux := p.l, p.act, p.k, p.pairs, p.n, p.nout, p.nIn, p.rows, p.rowsIn, p.aux
	var gp *Value // pre-activation cotangent, [(K+1)·N, out]
	switch {
	case act == tensor.ActNone:
		gp = g
	case pairs > 0 && out.grad:
		gp = pairPreGradRecorded(g, out, n, nout, pairs, act)
	case pairs > 0:
		gp = temp(g, pairPreGrad(g.t, out.t, n, pairs, act, aux))
	case out.grad:
		// Recorded: differentiable operations throughout.
		yb := SliceRows(out, 0, n)
		phi := actDeriv(yb, act)
		dphi := actDerivDelta(yb, Reshape(SliceRows(out, n, (k+1)*n), k, n, nout), act)
		g0, g3 := SliceRows(g, 0, n), Reshape(SliceRows(g, n, (k+1)*n), k, n, nout)
		gz := Add(Mul(g0, phi), SumAxis(Mul(g3, dphi), 0))
		gd := Mul(g3, Add(phi, dphi))
		gp = ConcatRows(gz, Reshape(gd, k*n, nout))
	default:
		gp = temp(g, jointPreGrad(g.t, out.t, n, act, aux))
	}
	gs := make([]*Value, len(in))
	if need[0] {
		gs[0] = l.gradX(gp, in[1])
	}
	if need[1] {
		if used := n + rows; used < (k+1)*n && !out.grad {
			// The zero S rows of J add nothing to W's gradient.
			gs[1] = l.gradW(SliceRows(gp, 0, used), SliceRows(in[0], 0, nIn+rowsIn))
		} else {
			gs[1] = l.gradW(gp, in[0])
		}
	}
	if len(in) == 3 && need[2] {
		gs[2] = SumTo(SliceRows(gp, 0, n), in[2].t.Shape()...)
	}
	return gs
}

// isZero reports whether every element of t is zero.
func isZero(t *tensor.Tensor) bool {
	if t.DType() == tensor.Float32 {
		for _, v := range t.Float32s() {
			if v != 0 {
				return false
			}
		}
		return true
	}
	for _, v := range t.Float64s() {
		if v != 0 {
			return false
		}
	}
	return true
}

// pairPreGradRecorded is the central-mode pre-activation cotangent of
// denseJoint from differentiable operations: with Δy± = S′/2 ± D′,
// Δφ′± = φ′(z + b ± a) − φ′(z), SD = Δφ′₊ + Δφ′₋ and DD = (Δφ′₊ − Δφ′₋)/2,
//
//	g_a = G_D·(φ′ + SD/2) + 2·G_S·DD,   g_δS = (G_D·DD + G_S·(2φ′ + SD))/2,
//	g_z = G₀·φ′ + Σ_p (G_D·DD + G_S·SD).
func pairPreGradRecorded(g, out *Value, n, w, p int, act tensor.Act) *Value {
	yb := SliceRows(out, 0, n)
	dd := Reshape(SliceRows(out, n, (p+1)*n), p, n, w)
	sd := Reshape(SliceRows(out, (p+1)*n, (2*p+1)*n), p, n, w)
	half := Scale(sd, 0.5)
	fp, fm := actDerivDelta(yb, Add(half, dd), act), actDerivDelta(yb, Sub(half, dd), act)
	sP, dP := Add(fp, fm), Scale(Sub(fp, fm), 0.5)
	phi := actDeriv(yb, act)
	g0 := SliceRows(g, 0, n)
	gD := Reshape(SliceRows(g, n, (p+1)*n), p, n, w)
	gS := Reshape(SliceRows(g, (p+1)*n, (2*p+1)*n), p, n, w)
	ga := Add(Mul(gD, Add(phi, Scale(sP, 0.5))), Scale(Mul(gS, dP), 2))
	gb := Scale(Add(Mul(gD, dP), Mul(gS, Add(Scale(phi, 2), sP))), 0.5)
	gz := Add(Mul(g0, phi), SumAxis(Add(Mul(gD, dP), Mul(gS, sP)), 0))
	return ConcatRows(gz, Reshape(ga, p*n, w), Reshape(gb, p*n, w))
}

// actPairInPlace overwrites d, holding the pre-activation pairs
// [δ_D,1 … δ_D,P; δ_S,1 … δ_S,P] (blocks shaped like y), with the output
// pairs [D′; S′] of the activation, y = φ(z).
func actPairInPlace(d, y *tensor.Tensor, act tensor.Act, pairs int) *deltaAux {
	if act == tensor.ActNone {
		return nil
	}
	aux := softplusAux(y, act)
	if d.DType() == tensor.Float32 {
		var s, e []float32
		if aux != nil {
			s, e = aux.s.Float32s(), aux.e.Float32s()
		}
		actPairForward(d.Float32s(), y.Float32s(), s, e, act, pairs, &scalar32)
	} else {
		var s, e []float64
		if aux != nil {
			s, e = aux.s.Float64s(), aux.e.Float64s()
		}
		actPairForward(d.Float64s(), y.Float64s(), s, e, act, pairs, &scalar64)
	}
	return aux
}

// actPairForward is the kernel of actPairInPlace. For softplus and small
// steps (|a| + |b| ≤ m.taylorPair) it sums the Taylor series of φ about z in
// both half-steps, term by term: with c_n = φ⁽ⁿ⁾(z)/n!,
//
//	S′/2 = a²(c₂ + c₄a²) + b(c₁ + c₂b + c₃(b² + 3a²) + c₄b(b² + 6a²) + c₅(5a⁴ + 10a²b² + b⁴)),
//	D′   = a(c₁ + 2c₂b + c₃(a² + 3b²) + 4c₄b(a² + b²) + c₅(a⁴ + 10a²b² + 5b⁴)),
//
// no term of which cancels another of its own size (S′ is O(ε²) and is
// never formed from the O(ε) differences); the remainder is below
// (|a| + |b|)⁴/360 of the leading terms. Otherwise it forms the exact
// differences Δ± = φ(z + b ± a) − φ(z) (deltaOne) and combines them.
func actPairForward[T float32 | float64](d, y, sv, ev []T, act tensor.Act, pairs int, m *scalarMath[T]) {
	nw := len(y)
	if nw == 0 {
		return
	}
	off := pairs * nw // D block p at p·nw, S block p at off + p·nw
	parallel.For(nw, max(1, deltaGrain/max(2*pairs, 1)), func(lo, hi int) {
		for blk := range pairs {
			if pairForwardVec(d, sv, ev, act, blk, off, nw, lo, hi, m) {
				continue
			}
			for j := lo; j < hi; j++ {
				yj := y[j]
				var s, e, c2, c3, c4, c5, c6 T
				if act == tensor.ActSoftplus {
					s, e = sv[j], ev[j]
					q := s * e
					c2, c3 = q*0.5, q*(e-s)*(1.0/6)
					c4, c5 = q*(1-6*q)*(1.0/24), q*(e-s)*(1-12*q)*(1.0/120)
					// σ⁽⁵⁾/720 = q(1 − 30q + 120q²)/720, for the S = 0 case only.
					c6 = q * (1 - 30*q + 120*q*q) * (1.0 / 720)
				}
				i := blk*nw + j
				a, b := d[i], d[off+i]*0.5
				if act == tensor.ActSoftplus {
					if h := max(a, -a) + max(b, -b); h <= m.taylorPair {
						a2, b2 := a*a, b*b
						switch {
						case b == 0: // the first layer of Central: S = 0
							d[off+i] = 2 * a2 * (c2 + a2*(c4+c6*a2))
							d[i] = a * (s + a2*(c3+c5*a2))
						case h <= m.taylorPair4:
							// The c₅ terms are below the rounding here.
							d[off+i] = 2 * (a2*(c2+c4*a2) + b*(s+c2*b+c3*(b2+3*a2)+c4*b*(b2+6*a2)))
							d[i] = a * (s + 2*c2*b + c3*(a2+3*b2) + 4*c4*b*(a2+b2))
						default:
							d[off+i] = 2 * (a2*(c2+c4*a2) + b*(s+c2*b+c3*(b2+3*a2)+c4*b*(b2+6*a2)+c5*(5*a2*a2+10*a2*b2+b2*b2)))
							d[i] = a * (s + 2*c2*b + c3*(a2+3*b2) + 4*c4*b*(a2+b2) + c5*(a2*a2+10*a2*b2+5*b2*b2))
						}
						continue
					}
				}
				plus, minus := deltaOne(act, yj, s, e, b+a, m), deltaOne(act, yj, s, e, b-a, m)
				d[i], d[off+i] = (plus-minus)*0.5, plus+minus
			}
		}
	})
}

// pairPreGrad is denseJoint's first-order backward kernel in central mode
// (the formulas of pairPreGradRecorded).
func pairPreGrad(g, out *tensor.Tensor, n, pairs int, act tensor.Act, aux *deltaAux) *tensor.Tensor {
	gp := tensor.Uninit(g.DType(), g.Shape()...) // pairGrad writes every row
	w := g.Dim(1)
	if g.DType() == tensor.Float32 {
		var s, e []float32
		if aux != nil {
			s, e = aux.s.Float32s(), aux.e.Float32s()
		}
		o, gg, q := out.Float32s(), g.Float32s(), gp.Float32s()
		pairGrad(q[:n*w], q[n*w:], gg[:n*w], gg[n*w:], o[:n*w], o[n*w:], s, e, act, pairs, &scalar32)
	} else {
		var s, e []float64
		if aux != nil {
			s, e = aux.s.Float64s(), aux.e.Float64s()
		}
		o, gg, q := out.Float64s(), g.Float64s(), gp.Float64s()
		pairGrad(q[:n*w], q[n*w:], gg[:n*w], gg[n*w:], o[:n*w], o[n*w:], s, e, act, pairs, &scalar64)
	}
	return gp
}

func pairGrad[T float32 | float64](gz, gd, g0, g, y, dy, sv, ev []T, act tensor.Act, pairs int, m *scalarMath[T]) {
	nw := len(y)
	if nw == 0 {
		return
	}
	off := pairs * nw
	parallel.For(nw, max(1, deltaGrain/max(2*pairs, 1)), func(lo, hi int) {
		for j := lo; j < hi; j++ {
			var p T
			if act == tensor.ActSoftplus {
				p = sv[j]
			} else {
				p = actDerivOne(act, y[j])
			}
			gz[j] = g0[j] * p
		}
		for blk := range pairs {
			if pairGradVec(gz, gd, g, dy, sv, ev, act, blk, off, nw, lo, hi, m) {
				continue
			}
			for j := lo; j < hi; j++ {
				yj := y[j]
				var p, e T
				if act == tensor.ActSoftplus {
					p, e = sv[j], ev[j]
				} else {
					p = actDerivOne(act, yj)
				}
				i := blk*nw + j
				dv, sv2 := dy[i], dy[off+i]
				var sp, dp T // Δφ′₊ + Δφ′₋, (Δφ′₊ − Δφ′₋)/2
				if h := max(dv, -dv) + max(sv2, -sv2)*0.5; act == tensor.ActSoftplus && h <= m.taylorPair {
					// Δφ′± = −e·expm1(u ∓ a) with a = D′, u = −S′/2: the pair
					// series of expm1 (c_n = 1/n!), as in actPairForward.
					a, b := dv, -sv2*0.5
					a2, b2 := a*a, b*b
					var even, odd T
					if h <= m.taylorPair4 {
						even = a2*(0.5+a2*(1.0/24)) + b*(1+b*0.5+(b2+3*a2)*(1.0/6)+b*(b2+6*a2)*(1.0/24))
						odd = a * (1 + b + (a2+3*b2)*(1.0/6) + b*(a2+b2)*(1.0/6))
					} else {
						even = a2*(0.5+a2*(1.0/24)) + b*(1+b*0.5+(b2+3*a2)*(1.0/6)+b*(b2+6*a2)*(1.0/24)+(5*a2*a2+10*a2*b2+b2*b2)*(1.0/120))
						odd = a * (1 + b + (a2+3*b2)*(1.0/6) + b*(a2+b2)*(1.0/6) + (a2*a2+10*a2*b2+5*b2*b2)*(1.0/120))
					}
					sp, dp = -2*e*even, e*odd
				} else {
					fp := dphiOne(act, yj, e, p, sv2*0.5+dv, m)
					fm := dphiOne(act, yj, e, p, sv2*0.5-dv, m)
					sp, dp = fp+fm, (fp-fm)*0.5
				}
				gD, gS := g[i], g[off+i]
				gd[i] = gD*(p+sp*0.5) + 2*gS*dp
				gd[off+i] = (gD*dp + gS*(2*p+sp)) * 0.5
				gz[j] += gD*dp + gS*sp
			}
		}
	})
}

// pairForwardVec runs pair block q of the base elements lo … hi−1 of
// actPairForward on the vector kernel of internal/kernel/vec (the same
// operations in the same order, so the same bits) when it can: float32
// softplus with every step of the block within the pair series' bound. It
// reports whether it did.
func pairForwardVec[T float32 | float64](d, sv, ev []T, act tensor.Act, q, off, nw, lo, hi int, m *scalarMath[T]) bool {
	d32, ok := any(d).([]float32)
	if !ok || act != tensor.ActSoftplus {
		return false
	}
	m32 := any(m).(*scalarMath[float32])
	dd, ds := d32[q*nw+lo:q*nw+hi], d32[off+q*nw+lo:off+q*nw+hi]
	if !vec.PairWithin(dd, ds, m32.taylorPair) {
		return false
	}
	vec.SoftplusPairTaylor(dd, ds, any(sv).([]float32)[lo:hi], any(ev).([]float32)[lo:hi], m32.taylorPair4)
	return true
}

// pairGradVec is pairForwardVec for pairGrad's block q: it adds the block's
// share of the base cotangent to gz[lo:hi] and sets its pair's cotangents.
func pairGradVec[T float32 | float64](gz, gd, g, dy, sv, ev []T, act tensor.Act, q, off, nw, lo, hi int, m *scalarMath[T]) bool {
	dy32, ok := any(dy).([]float32)
	if !ok || act != tensor.ActSoftplus {
		return false
	}
	m32 := any(m).(*scalarMath[float32])
	d0, s0 := q*nw, off+q*nw
	if !vec.PairWithin(dy32[d0+lo:d0+hi], dy32[s0+lo:s0+hi], m32.taylorPair) {
		return false
	}
	gd32, g32 := any(gd).([]float32), any(g).([]float32)
	vec.SoftplusPairGradTaylor(any(gz).([]float32)[lo:hi], gd32[d0+lo:d0+hi], gd32[s0+lo:s0+hi], g32[d0+lo:d0+hi], g32[s0+lo:s0+hi],
		dy32[d0+lo:d0+hi], dy32[s0+lo:s0+hi], any(sv).([]float32)[lo:hi], any(ev).([]float32)[lo:hi], m32.taylorPair4)
	return true
}

// jointGradSoftplus is jointGrad's softplus case for the base elements
// lo … lo+len(gz)−1, as contiguous loops (one per difference block) that the
// compiler can keep free of bounds checks.
func jointGradSoftplus[T float32 | float64](gz, gd, g0, g, dy, sv, ev []T, lo, nw, k int, m *scalarMath[T]) {
	n := len(gz)
	g0, sv, ev = g0[:n], sv[:n], ev[:n]
	for j := range gz {
		gz[j] = g0[j] * sv[j]
	}
	t := m.taylor
	for kk := range k {
		o := kk*nw + lo
		gk, dk, gdk := g[o:o+n], dy[o:o+n], gd[o:o+n]
		if allSmall(dk, t) {
			softplusGradTaylor(gz, gdk, gk, dk, sv, ev)
			continue
		}
		for j := range gk {
			// f = expm1(−Δy), by its Taylor series for small steps.
			x := -dk[j]
			var f T
			if x >= -t && x <= t {
				f = x * (1 + x*(0.5+x*(1.0/6+x*(1.0/24+x*(1.0/120+x*(1.0/720))))))
			} else {
				f = m.expm1(x)
			}
			dp := -ev[j] * f // Δφ′
			gdk[j] = gk[j] * (sv[j] + dp)
			gz[j] += gk[j] * dp
		}
	}
}

// allSmall reports whether every |x_i| ≤ t: then the difference kernels take
// their Taylor branch for the whole block, in loops without branches.
func allSmall[T float32 | float64](x []T, t T) bool {
	if x32, ok := any(x).([]float32); ok {
		return vec.AllWithin(x32, float32(t))
	}
	var lo, hi T
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo >= -t && hi <= t // false for a NaN, which takes the general loop
}

// softplusGradTaylor is jointGradSoftplus's loop for one difference block
// whose steps are all within the Taylor bound (what FD objectives' small
// steps give): the same expressions, so the same numbers, without the
// branch; in float32 the vectorized twin in internal/kernel/vec (7× faster).
func softplusGradTaylor[T float32 | float64](gz, gdk, gk, dk, sv, ev []T) {
	if g32, ok := any(gk).([]float32); ok {
		vec.SoftplusGradTaylor(any(gz).([]float32), any(gdk).([]float32), g32, any(dk).([]float32), any(sv).([]float32), any(ev).([]float32))
		return
	}
	n := len(gk)
	gz, gdk, dk, sv, ev = gz[:n], gdk[:n], dk[:n], sv[:n], ev[:n]
	for j := range gk {
		x := -dk[j]
		f := x * (1 + x*(0.5+x*(1.0/6+x*(1.0/24+x*(1.0/120+x*(1.0/720))))))
		dp := -ev[j] * f
		gdk[j] = gk[j] * (sv[j] + dp)
		gz[j] += gk[j] * dp
	}
}

// softplusDeltaTaylor is actDeltaForward's softplus loop for one difference
// block whose steps are all within the Taylor bound, without the branch.
func softplusDeltaTaylor[T float32 | float64](dk, ss, es []T) {
	if d32, ok := any(dk).([]float32); ok {
		vec.SoftplusDeltaTaylor(d32, any(ss).([]float32), any(es).([]float32))
		return
	}
	n := len(dk)
	ss, es = ss[:n], es[:n]
	for j, dl := range dk {
		s, e := ss[j], es[j]
		q := s * e
		c2, c3 := q*0.5, q*(e-s)*(1.0/6)
		c4, c5 := q*(1-6*q)*(1.0/24), q*(e-s)*(1-12*q)*(1.0/120)
		dk[j] = dl * (s + dl*(c2+dl*(c3+dl*(c4+dl*c5))))
	}
}

// actDerivOne is φ′(z) from y = φ(z) (not softplus, whose kernels carry it).
func actDerivOne[T float32 | float64](act tensor.Act, y T) T {
	switch act {
	case tensor.ActTanh:
		return (1 - y) * (1 + y)
	case tensor.ActSigmoid:
		return y * (1 - y)
	case tensor.ActELU:
		if y > 0 {
			return 1
		}
		return y + 1
	}
	return 1
}

// dphiOne is Δφ′ = φ′(z + δ) − φ′(z) from y = φ(z) and Δy = φ(z + δ) − y
// (e = e^−y for softplus, p = φ′(z)), without cancellation.
func dphiOne[T float32 | float64](act tensor.Act, y, e, p, dl T, m *scalarMath[T]) T {
	switch act {
	case tensor.ActSoftplus:
		x := -dl
		if x >= -m.taylor && x <= m.taylor {
			return -e * x * (1 + x*(0.5+x*(1.0/6+x*(1.0/24+x*(1.0/120+x*(1.0/720))))))
		}
		return -e * m.expm1(x)
	case tensor.ActTanh:
		return -dl * (2*y + dl)
	case tensor.ActSigmoid:
		return dl * (1 - 2*y - dl)
	case tensor.ActELU:
		y2 := y + dl
		switch {
		case y > 0 && y2 > 0:
			return 0
		case y <= 0 && y2 <= 0:
			return dl
		case y2 > 0:
			return 1 - p
		}
		return y2 + 1 - p
	}
	return 0
}

// deltaOne is φ(z + δ) − φ(z) from y = φ(z) (s, e = σ(z), 1 − σ(z) for
// softplus), by the forms of actDeltaForward other than its Taylor series.
func deltaOne[T float32 | float64](act tensor.Act, yj, s, e, dl T, m *scalarMath[T]) T {
	switch act {
	case tensor.ActSoftplus:
		if dl >= -1 && dl <= 1 {
			return m.log1p(s * m.expm1(dl))
		}
		return m.softplus(yj+m.log(s)+dl) - yj
	case tensor.ActTanh:
		t, c := tanhPair(dl, m)
		ay := max(yj, -yj)
		den := 1 + yj*t
		if yj*t < -0.5 {
			den = (1 - ay) + ay*c
		}
		return t * (1 - yj) * (1 + yj) / den
	case tensor.ActSigmoid:
		t, c := tanhPair(dl*0.5, m)
		ta := 2*yj - 1
		den := 1 + ta*t
		if ta*t < -0.5 {
			den = 2*min(yj, 1-yj) + max(ta, -ta)*c
		}
		return 2 * yj * (1 - yj) * t / den
	case tensor.ActELU:
		if yj > 0 {
			if yj+dl > 0 {
				return dl
			}
			return m.expm1(yj+dl) - yj
		}
		if z := m.log1p(yj); z+dl <= 0 {
			return (yj + 1) * m.expm1(dl)
		} else {
			return z + dl - yj
		}
	}
	return dl
}

// jointPreGrad is denseJoint's first-order backward kernel: the joint
// cotangent g and output out ([(K+1)·N, w] each, base rows first) to the
// pre-activation cotangent.
func jointPreGrad(g, out *tensor.Tensor, n int, act tensor.Act, aux *deltaAux) *tensor.Tensor {
	gp := tensor.Uninit(g.DType(), g.Shape()...) // jointGrad writes every row
	w := g.Dim(1)
	if g.DType() == tensor.Float32 {
		var s, e []float32
		if aux != nil {
			s, e = aux.s.Float32s(), aux.e.Float32s()
		}
		o, gg, p := out.Float32s(), g.Float32s(), gp.Float32s()
		jointGrad(p[:n*w], p[n*w:], gg[:n*w], gg[n*w:], o[:n*w], o[n*w:], s, e, act, &scalar32)
	} else {
		var s, e []float64
		if aux != nil {
			s, e = aux.s.Float64s(), aux.e.Float64s()
		}
		o, gg, p := out.Float64s(), g.Float64s(), gp.Float64s()
		jointGrad(p[:n*w], p[n*w:], gg[:n*w], gg[n*w:], o[:n*w], o[n*w:], s, e, act, &scalar64)
	}
	return gp
}

// jointGrad writes gz = g0·φ′ + Σ_k g_k·Δφ′_k (base rows) and
// gd = g_k·(φ′ + Δφ′_k) (difference rows) for base outputs y and differences
// dy (K blocks shaped like y).
func jointGrad[T float32 | float64](gz, gd, g0, g, y, dy, sv, ev []T, act tensor.Act, m *scalarMath[T]) {
	nw := len(y)
	if nw == 0 {
		return
	}
	k := len(g) / nw
	parallel.For(nw, max(1, deltaGrain/max(k, 1)), func(lo, hi int) {
		if act == tensor.ActSoftplus && sv != nil {
			jointGradSoftplus(gz[lo:hi], gd, g0[lo:hi], g, dy, sv[lo:hi], ev[lo:hi], lo, nw, k, m)
			return
		}
		for j := lo; j < hi; j++ {
			yj := y[j]
			var p T // φ′(z)
			switch act {
			case tensor.ActSoftplus:
				var e T
				if sv != nil {
					p, e = sv[j], ev[j]
				} else {
					p, e = sigmoidPair(yj, m)
				}
				acc := g0[j] * p
				for i := j; i < len(g); i += nw {
					// f = expm1(−Δy), by its Taylor series for small steps.
					x := -dy[i]
					var f T
					if x >= -m.taylor && x <= m.taylor {
						f = x * (1 + x*(0.5+x*(1.0/6+x*(1.0/24+x*(1.0/120+x*(1.0/720))))))
					} else {
						f = m.expm1(x)
					}
					dp := -e * f // Δφ′
					gd[i] = g[i] * (p + dp)
					acc += g[i] * dp
				}
				gz[j] = acc
				continue
			case tensor.ActTanh:
				p = (1 - yj) * (1 + yj)
			case tensor.ActSigmoid:
				p = yj * (1 - yj)
			case tensor.ActELU:
				p = 1
				if yj <= 0 {
					p = yj + 1
				}
			}
			acc := g0[j] * p
			for i := j; i < len(g); i += nw {
				dl := dy[i]
				var dp T
				switch act {
				case tensor.ActTanh:
					dp = -dl * (2*yj + dl)
				case tensor.ActSigmoid:
					dp = dl * (1 - 2*yj - dl)
				case tensor.ActELU:
					y2 := yj + dl
					switch {
					case yj > 0 && y2 > 0:
					case yj <= 0 && y2 <= 0:
						dp = dl
					case y2 > 0:
						dp = 1 - p
					default:
						dp = y2 + 1 - p
					}
				}
				gd[i] = g[i] * (p + dp)
				acc += g[i] * dp
			}
			gz[j] = acc
		}
	})
}

// denseDelta is the fused node Δy = φ(z + δ) − φ(z) for the output y = φ(z)
// of a Dense layer [N, out] and K stacked pre-activation changes δ [K·N, out],
// with δ = dx·Wᵀ when w is given (dx [K·N, in]) and δ = dx otherwise. It
// needs y, not z: every activation's difference is a function of y and δ
// (softplus: log1p(σ(z)·expm1(δ)) with σ(z) = 1 − e^−y; tanh:
// tanh δ·(1 − y²)/(1 + y·tanh δ); sigmoid: its half-scale tanh form; ELU:
// δ, y's expm1 form or the direct difference by the signs of z and z + δ).
//
// Its vector-Jacobian product uses φ′(z + δ) = φ′(z) + Δφ′ and
// ∂Δy/∂y = Δφ′/φ′(z), Δφ′ = φ′(z + δ) − φ′(z) being itself computed without
// cancellation from y and Δy (softplus: −e^−y·expm1(−Δy); tanh:
// −Δy(2y + Δy); sigmoid: Δy(1 − 2y − Δy)). In the first-order mode of Grad
// it runs as fused kernels; recorded (CreateGraph) it is built from
// differentiable operations, so derivatives of every order are right.
func denseDelta(y, dx, w *Value, act tensor.Act) *Value {
	var d *tensor.Tensor
	inputs := []*Value{y, dx}
	if w != nil {
		d = tensor.MatMul(dx.t, w.t, false, true)
		inputs = append(inputs, w)
	} else {
		d = dx.t.Clone()
	}
	if d.Len()%max(y.Len(), 1) != 0 || d.Dim(1) != y.Dim(1) {
		panic(fmt.Sprintf("autodiff: internal error: denseDelta of %v for output %v", d.Shape(), y.Shape()))
	}
	aux := actDeltaInPlace(d, y.t, act)
	return opAux(d, aux, &denseDeltaP, denseDeltaParams{act, aux}, inputs...)
}

// denseDeltaParams are denseDelta's parameters.
type denseDeltaParams struct {
	act tensor.Act
	aux *deltaAux
}

// denseDeltaVJP is denseDelta's vector-Jacobian product.
func denseDeltaVJP(p any, g, out *Value, in []*Value, need []bool) []*Value {
	act, aux := p.(denseDeltaParams).act, p.(denseDeltaParams).aux
	y, dx := in[0], in[1]
	n, width := y.Dim(0), y.Dim(1)
	k := out.Dim(0) / max(n, 1)
	var gd, gy *Value
	if out.grad {
		// Recorded: differentiable operations throughout.
		phi := actDeriv(y, act)
		dphi := actDerivDelta(y, Reshape(out, k, n, width), act)
		g3 := Reshape(g, k, n, width)
		gd = Reshape(Mul(g3, Add(phi, dphi)), k*n, width)
		if need[0] {
			nz := positive(temp(g, tensor.Abs(phi.t))) // φ′ ≠ 0
			num := SumAxis(Mul(g3, dphi), 0)
			gy = Mul(Div(num, Add(phi, oneMinus(nz))), nz)
		}
	} else {
		gdT, gyT := actDeltaBackward(g.t, y.t, out.t, act, aux, need[0])
		gd = temp(g, gdT)
		if gyT != nil {
			gy = temp(g, gyT)
		}
	}
	gs := make([]*Value, len(in))
	if need[0] {
		gs[0] = gy
	}
	if len(in) == 2 {
		if need[1] {
			gs[1] = gd
		}
		return gs
	}
	if need[1] {
		gs[1] = MatMul(gd, in[2], false, false)
	}
	if need[2] {
		gs[2] = MatMul(gd, dx, true, false)
	}
	return gs
}

// actDerivDelta returns Δφ′ = φ′(z + δ) − φ′(z) for y = φ(z) [S] and the
// stacked Δy = φ(z + δ) − y [K]+S, without cancellation, from differentiable
// operations (nil for the identity).
func actDerivDelta(y, dy *Value, act tensor.Act) *Value {
	switch act {
	case tensor.ActSoftplus: // (1 − e^−(y+Δ)) − (1 − e^−y) = −e^−y·expm1(−Δ)
		return Neg(Mul(Exp(Neg(y)), Expm1(Neg(dy))))
	case tensor.ActTanh: // (1 − (y+Δ)²) − (1 − y²) = −Δ(2y + Δ)
		return Neg(Mul(dy, Add(Scale(y, 2), dy)))
	case tensor.ActSigmoid: // (y+Δ)(1−y−Δ) − y(1−y) = Δ(1 − 2y − Δ)
		return Mul(dy, Sub(AddScalar(Scale(y, -2), 1), dy))
	case tensor.ActELU: // φ′ = 1 for y > 0, y + 1 otherwise
		cy := constOn(dy, y)
		pa := positive(cy)                       // y > 0
		pb := positive(Add(cy, constOn(dy, dy))) // y + Δ > 0
		nn := Mul(oneMinus(pa), oneMinus(pb))
		mix := Add(Mul(pa, oneMinus(pb)), Mul(pb, oneMinus(pa)))
		d := Mul(nn, dy)
		if anyNonZero(mix.t) {
			// φ′(y + Δ) − φ′(y) directly: 1 − (y + 1) = −y or (y + Δ + 1) − 1.
			after := Add(pb, Mul(oneMinus(pb), AddScalar(Add(y, dy), 1)))
			d = Add(d, Mul(mix, Sub(after, actDeriv(y, act))))
		}
		return d
	}
	return nil
}

// deltaGrain is the number of elements per parallel chunk of the difference
// kernels (each element costs one or two transcendental functions).
const deltaGrain = 1 << 12

// deltaAux holds what the forward difference kernel computed per base
// element and the backward kernel needs again: for softplus σ(z) and
// 1 − σ(z) = e^−y, each to full relative accuracy. The node's rule keeps it
// (2·N·out numbers), so the backward pass spends no transcendental function
// per base element.
type deltaAux struct {
	s, e *tensor.Tensor
}

// tensors lists the aux tensors, for the recycler.
func (a *deltaAux) tensors() [2]*tensor.Tensor { return [2]*tensor.Tensor{a.s, a.e} }

// actDeltaInPlace overwrites d, K blocks of δ each shaped like y, with
// φ(z + δ) − φ(z) where y = φ(z).
func actDeltaInPlace(d, y *tensor.Tensor, act tensor.Act) *deltaAux {
	if act == tensor.ActNone {
		return nil
	}
	aux := softplusAux(y, act)
	if d.DType() == tensor.Float32 {
		var s, e []float32
		if aux != nil {
			s, e = aux.s.Float32s(), aux.e.Float32s()
		}
		actDeltaForward(d.Float32s(), y.Float32s(), s, e, act, &scalar32)
	} else {
		var s, e []float64
		if aux != nil {
			s, e = aux.s.Float64s(), aux.e.Float64s()
		}
		actDeltaForward(d.Float64s(), y.Float64s(), s, e, act, &scalar64)
	}
	return aux
}

// actDeltaBackward returns, for the cotangent g of Δy (K blocks shaped like
// y), g·φ′(z + δ) (the cotangent of δ) and, if wantY, Σ_k g_k·Δφ′_k/φ′(z)
// (the cotangent of y; zero where φ′(z) = 0).
func actDeltaBackward(g, y, dy *tensor.Tensor, act tensor.Act, aux *deltaAux, wantY bool) (gd, gy *tensor.Tensor) {
	gd = tensor.ZerosLike(g)
	if wantY {
		gy = tensor.ZerosLike(y)
	}
	if g.DType() == tensor.Float32 {
		var gys, s, e []float32
		if wantY {
			gys = gy.Float32s()
		}
		if aux != nil {
			s, e = aux.s.Float32s(), aux.e.Float32s()
		}
		actDeltaGrad(gd.Float32s(), gys, g.Float32s(), y.Float32s(), dy.Float32s(), s, e, act, &scalar32)
	} else {
		var gys, s, e []float64
		if wantY {
			gys = gy.Float64s()
		}
		if aux != nil {
			s, e = aux.s.Float64s(), aux.e.Float64s()
		}
		actDeltaGrad(gd.Float64s(), gys, g.Float64s(), y.Float64s(), dy.Float64s(), s, e, act, &scalar64)
	}
	return gd, gy
}

// scalarMath holds the scalar functions the difference kernels need, for one
// precision: float32 has its own polynomial kernels (package math through
// float64 costs 10–25 ns per call), float64 uses package math.
type scalarMath[T float32 | float64] struct {
	exp, expm1, log, log1p, softplus func(T) T
	// taylor bounds the steps |δ| for which the kernels use short Taylor
	// series: δ⁵/720 (the softplus difference's relative remainder) below
	// the precision's rounding, 1.3e-9 in float32 and 1.4e-18 in float64.
	taylor T
	// taylorPair bounds |a| + |b| for the central (pair) series, whose
	// relative remainder is below (|a| + |b|)⁴/360: 2.7e-9 in float32,
	// 4.4e-18 in float64.
	taylorPair T
	// taylorPair4 bounds |a| + |b| where the series' fifth-order terms,
	// below (|a| + |b|)⁴/24 of the leading ones, may be dropped (1.4e-10 in
	// float32, 6.7e-18 in float64).
	taylorPair4 T
}

var (
	scalar32 = scalarMath[float32]{exp32, expm132, log32, log1pNear32, softplus32, 0.0625, 0.03125, 0.0078125}
	scalar64 = scalarMath[float64]{math.Exp, math.Expm1, math.Log, math.Log1p, softplus64, 1e-3, 2e-4, 1e-4}
)

func softplus64(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// sigmoidPair returns σ(z) = 1 − e^−y and 1 − σ(z) = e^−y for y = softplus(z),
// both to full relative accuracy, with one transcendental function.
func sigmoidPair[T float32 | float64](y T, m *scalarMath[T]) (s, e T) {
	if y > 0.6931471805599453 { // e < ½: 1 − e is exact to rounding
		e = m.exp(-y)
		return 1 - e, e
	}
	s = -m.expm1(-y) // s ≤ ½: 1 − s is exact
	return s, 1 - s
}

// expm1Small is eˣ − 1, by its Taylor series to x⁶ when |x| ≤ m.taylor
// (relative remainder below x⁶/5040), else by m.expm1.
func expm1Small[T float32 | float64](x T, m *scalarMath[T]) T {
	if x >= -m.taylor && x <= m.taylor {
		return x * (1 + x*(1.0/2+x*(1.0/6+x*(1.0/24+x*(1.0/120+x*(1.0/720))))))
	}
	return m.expm1(x)
}

// tanhPair returns tanh x and 1 − |tanh x|, both to full relative accuracy:
// by the odd Taylor series to x⁷ for |x| ≤ m.taylor (relative remainder
// below 62x⁸/2835), else from em = expm1(−2|x|), |tanh x| = −em/(2 + em)
// and 1 − |tanh x| = (2 + 2em)/(2 + em).
func tanhPair[T float32 | float64](x T, m *scalarMath[T]) (t, c T) {
	if x >= -m.taylor && x <= m.taylor {
		x2 := x * x
		t = x * (1 - x2*(1.0/3-x2*(2.0/15-x2*(17.0/315))))
		return t, 1 - max(t, -t)
	}
	em := m.expm1(-2 * max(x, -x))
	return copysignT(-em/(2+em), x), (2 + 2*em) / (2 + em)
}

func copysignT[T float32 | float64](mag, sign T) T {
	if sign < 0 {
		return -mag
	}
	return mag
}

// actDeltaForward is the kernel of actDeltaInPlace. It is split over the
// base elements j (chunk boundaries independent of the worker count); each
// computes what depends on y_j once and then its K differences.
func actDeltaForward[T float32 | float64](d, y, sv, ev []T, act tensor.Act, m *scalarMath[T]) {
	nw := len(y)
	if nw == 0 {
		return
	}
	k := len(d) / nw
	parallel.For(nw, max(1, deltaGrain/max(k, 1)), func(lo, hi int) {
		switch act {
		case tensor.ActSoftplus:
			n := hi - lo
			ys, ss, es := y[lo:hi], sv[lo:hi], ev[lo:hi]
			t := m.taylor
			for kk := range k {
				dk := d[kk*nw+lo : kk*nw+lo+n]
				if allSmall(dk, t) {
					softplusDeltaTaylor(dk, ss, es)
					continue
				}
				for j := range dk {
					dl, s, e := dk[j], ss[j], es[j] // δ, σ(z), 1 − σ(z)
					switch {
					case dl >= -t && dl <= t:
						// The Taylor series to δ⁵: the first term dominates
						// (|δ| ≤ 1/16), and the remainder, at most q·δ⁶/720,
						// is below the rounding of σ·δ (see taylor). No
						// transcendental function at all for the small steps
						// FD objectives take. Coefficients: σ, σ′/2, σ″/6,
						// σ‴/24, σ⁗/120 with σ′ = q = σ(1 − σ),
						// σ″ = q(1 − 2σ), σ‴ = q(1 − 6q), σ⁗ = q(1 − 2σ)(1 − 12q).
						q := s * e
						c2, c3 := q*0.5, q*(e-s)*(1.0/6)
						c4, c5 := q*(1-6*q)*(1.0/24), q*(e-s)*(1-12*q)*(1.0/120)
						dk[j] = dl * (s + dl*(c2+dl*(c3+dl*(c4+dl*c5))))
					case dl >= -1 && dl <= 1:
						// log1p's argument is in [−0.64σ, 1.72σ]: no cancellation.
						dk[j] = m.log1p(s * m.expm1(dl))
					default:
						// |δ| > 1: the values differ by at least a factor
						// (or by |δ|), so subtracting is safe and nothing
						// overflows. z = log(eʸ − 1) = y + log σ.
						dk[j] = m.softplus(ys[j]+m.log(s)+dl) - ys[j]
					}
				}
			}
		case tensor.ActTanh:
			for j := lo; j < hi; j++ {
				yj := y[j]
				p, ay := (1-yj)*(1+yj), max(yj, -yj)
				for i := j; i < len(d); i += nw {
					t, c := tanhPair(d[i], m) // tanh δ, 1 − |tanh δ|
					den := 1 + yj*t
					if yj*t < -0.5 {
						// 1 − |y||t| = (1 − |y|) + |y|(1 − |t|), both terms exact-ish.
						den = (1 - ay) + ay*c
					}
					d[i] = t * p / den
				}
			}
		case tensor.ActSigmoid:
			for j := lo; j < hi; j++ {
				yj := y[j]
				ta := 2*yj - 1 // tanh(z/2)
				q := 2 * yj * (1 - yj)
				near := 2 * min(yj, 1-yj) // 1 − |ta|
				for i := j; i < len(d); i += nw {
					t, c := tanhPair(d[i]*0.5, m) // T = tanh(δ/2)
					den := 1 + ta*t
					if ta*t < -0.5 {
						den = near + max(ta, -ta)*c
					}
					d[i] = q * t / den
				}
			}
		case tensor.ActELU:
			for j := lo; j < hi; j++ {
				yj := y[j]
				if yj > 0 { // z = y
					for i := j; i < len(d); i += nw {
						if dl := d[i]; yj+dl > 0 {
							d[i] = dl
						} else {
							d[i] = m.expm1(yj+dl) - yj
						}
					}
					continue
				}
				z, e := m.log1p(yj), yj+1 // e = eᶻ
				for i := j; i < len(d); i += nw {
					if dl := d[i]; z+dl <= 0 {
						d[i] = e * m.expm1(dl)
					} else {
						d[i] = z + dl - yj
					}
				}
			}
		}
	})
}

// actDeltaGrad is the kernel of actDeltaBackward: gd = g·(φ′ + Δφ′) and
// gy = Σ_k g·Δφ′/φ′ (gy nil when not wanted).
func actDeltaGrad[T float32 | float64](gd, gy, g, y, dy, sv, ev []T, act tensor.Act, m *scalarMath[T]) {
	nw := len(y)
	if nw == 0 {
		return
	}
	k := len(g) / nw
	parallel.For(nw, max(1, deltaGrain/max(k, 1)), func(lo, hi int) {
		for j := lo; j < hi; j++ {
			yj := y[j]
			var acc T
			switch act {
			case tensor.ActSoftplus:
				// φ′ = s = 1 − e^−y and e = e^−y, from the forward pass.
				var s, e T
				if sv != nil {
					s, e = sv[j], ev[j]
				} else {
					s, e = sigmoidPair(yj, m)
				}
				var r T
				if s > 0 {
					r = e / s
				}
				for i := j; i < len(g); i += nw {
					f := expm1Small(-dy[i], m) // Δφ′ = −e·f
					gd[i] = g[i] * (s - e*f)
					acc -= g[i] * r * f
				}
			case tensor.ActTanh, tensor.ActSigmoid:
				var p T
				if act == tensor.ActTanh {
					p = (1 - yj) * (1 + yj)
				} else {
					p = yj * (1 - yj)
				}
				var inv T
				if p != 0 {
					inv = 1 / p
				}
				for i := j; i < len(g); i += nw {
					dl := dy[i]
					var dp T
					if act == tensor.ActTanh {
						dp = -dl * (2*yj + dl)
					} else {
						dp = dl * (1 - 2*yj - dl)
					}
					gd[i] = g[i] * (p + dp)
					acc += g[i] * dp * inv
				}
			case tensor.ActELU:
				p := T(1)
				if yj <= 0 {
					p = yj + 1
				}
				var inv T
				if p != 0 {
					inv = 1 / p
				}
				for i := j; i < len(g); i += nw {
					dl := dy[i]
					y2 := yj + dl
					var dp T
					switch {
					case yj > 0 && y2 > 0:
					case yj <= 0 && y2 <= 0:
						dp = dl
					case y2 > 0:
						dp = 1 - p
					default:
						dp = y2 + 1 - p
					}
					gd[i] = g[i] * (p + dp)
					acc += g[i] * dp * inv
				}
			}
			if gy != nil {
				gy[j] = acc
			}
		}
	})
}

// softplusAux returns, for softplus, σ(z) = −expm1(−y) and 1 − σ(z) = e^−y,
// both to full relative accuracy, by the (vectorised) tensor kernels: one
// pass each over the base, shared by the K differences and the backward
// pass. Other activations need none (nil).
func softplusAux(y *tensor.Tensor, act tensor.Act) *deltaAux {
	if act != tensor.ActSoftplus {
		return nil
	}
	ny := tensor.Neg(y)
	e := tensor.Exp(ny)
	// A forward kernel's scratch (this runs in denseJoint's and denseDelta's
	// forward, once per softplus layer and step, not in a rule): back to the
	// pool at once, so that a steady training step stays allocation-free.
	putBuffer(ny)
	return &deltaAux{s: tensor.ActDerivFromOutput(y, tensor.ActSoftplus), e: e}
}
