package autodiff

import (
	"fmt"
	"sync"

	"github.com/fdsm/fdsm/internal/kernel/parallel"
	"github.com/fdsm/fdsm/tensor"
)

// The forward-Laplacian rules of the primitives (see laplacian.go), installed
// on the first Laplacian for the reason installJetRules gives.
var lapRulesOnce sync.Once

func installLapRules() {
	installJetRules() // the elementwise rules read φ′ and φ″ from the jet rules
	lapRulesOnce.Do(func() {
		linear := &lapRule{apply: lapLinear}
		for _, pr := range linearPrimitives() {
			pr.lap = linear
		}
		unary := &lapRule{apply: lapUnary}
		for _, pr := range []*primitive{&expP, &expm1P, &logP, &log1pP, &squareP, &sqrtP, &powP,
			&tanhP, &sigmoidP, &softplusP, &siluP, &eluP} {
			pr.lap = unary
		}
		mulP.lap = &lapRule{apply: lapMul}
		divP.lap = &lapRule{apply: lapDiv, covers: func(_ any, _ []*Value, moving []bool) bool { return !moving[1] }}
		matMulP.lap = &lapRule{apply: lapLinear, covers: func(_ any, _ []*Value, moving []bool) bool { return !moving[0] || !moving[1] }}
		fusedP.lap = &lapRule{apply: lapFused, covers: func(p any, in []*Value, moving []bool) bool {
			return !p.(fusedParams).l.conv && !moving[1] && (len(moving) < 3 || !moving[2])
		}}
	})
}

// lapLinear is the rule of a linear primitive: its difference rule applied
// to the stacked Jacobian coefficients (K = r directions) and to the
// Laplacians (one).
func lapLinear(p any, out *Value, in []*Value, lIn []*lapVal, s *lapState) *lapVal {
	dk := make([]*Value, len(in))
	dl := make([]*Value, len(in))
	anyL := false
	for i, v := range lIn {
		if v == nil {
			continue
		}
		dk[i] = s.dense(v, in[i].Shape())
		if v.l != nil {
			dl[i] = Reshape(v.l, withK(1, in[i].Shape())...)
			anyL = true
		}
	}
	k := out.prim.diff(p, out, in, dk, s.r)
	var l *Value
	if anyL {
		if d := out.prim.diff(p, out, in, dl, 1); d != nil {
			l = Reshape(d, out.Shape()...)
		}
	}
	if k == nil {
		return nil
	}
	return &lapVal{kind: lapDense, k: k, l: l}
}

// jetDerivs returns φ′ and φ″ (nil: zero) of an elementwise primitive at
// its node, read from its jet rule with unit first-order coefficients and
// zero second-order ones: the rule's output is then (φ′, φ″).
func jetDerivs(p any, out *Value, in []*Value) (d1, d2 *Value) {
	ones := Scratch(tensor.Ones(in[0].DType(), withK(1, in[0].Shape())...))
	j := out.prim.jet(p, out, in, []*jet{{d: ones}}, 1)
	d1 = sliceK(j.first(1), 0)
	if s := j.secondOrNil(1); s != nil {
		d2 = sliceK(s, 0)
	}
	return d1, d2
}

// lapUnary is the rule of an elementwise primitive.
func lapUnary(p any, out *Value, in []*Value, lIn []*lapVal, s *lapState) *lapVal {
	d1, d2 := jetDerivs(p, out, in)
	return s.elem(lIn[0], d1, d2)
}

// lapMul: linear in a factor that does not move; Leibniz when both do.
func lapMul(_ any, out *Value, in []*Value, lIn []*lapVal, s *lapState) *lapVal {
	a, b := in[0], in[1]
	la, lb := lIn[0], lIn[1]
	shape := out.Shape()
	switch {
	case la == nil:
		return s.elem(s.fit(lb, in[1], shape), BroadcastTo(a, shape...), nil)
	case lb == nil:
		return s.elem(s.fit(la, in[0], shape), BroadcastTo(b, shape...), nil)
	}
	la, lb = s.fit(la, a, shape), s.fit(lb, b, shape)
	a, b = BroadcastTo(a, shape...), BroadcastTo(b, shape...)
	var l *Value
	for _, t := range [][2]*Value{{a, lb.l}, {b, la.l}} {
		if t[1] != nil {
			l = addDiff(l, Mul(t[0], t[1]))
		}
	}
	var k, cross *Value
	kind := lapDense
	if la.kind != lapDense && lb.kind != lapDense {
		ca, cb := s.diagOf(la), s.diagOf(lb)
		kind, k = lapDiag, Add(Mul(a, cb), Mul(b, ca))
		cross = Mul(Mul(ca, cb), s.gdiag)
	} else {
		ka, kb := s.dense(la, shape), s.dense(lb, shape)
		k = Add(Mul(a, kb), Mul(b, ka))
		if s.g != nil {
			kb = Reshape(MatMul(s.g, Reshape(kb, s.r, -1), false, false), kb.Shape()...)
		}
		cross = SumAxis(Mul(ka, kb), 0)
	}
	l = addDiff(l, Scale(cross, 2))
	return &lapVal{kind: kind, k: k, l: l}
}

// lapDiv: a/b with b not moving is a times 1/b.
func lapDiv(_ any, out *Value, in []*Value, lIn []*lapVal, s *lapState) *lapVal {
	shape := out.Shape()
	return s.elem(s.fit(lIn[0], in[0], shape), BroadcastTo(Pow(in[1], -1), shape...), nil)
}

// fit brings v, the lapVal of an input shaped like in, to an output of the
// given shape (an operand broadcast by an elementwise product): unchanged
// when the shapes agree, else made dense and broadcast.
func (s *lapState) fit(v *lapVal, in *Value, shape []int) *lapVal {
	if shapeEqual(in.Shape(), shape) {
		return v
	}
	k := s.dense(v, in.Shape())
	var l *Value
	if v.l != nil {
		l = BroadcastTo(v.l, shape...)
	}
	return &lapVal{kind: lapDense, k: BroadcastTo(k, withK(s.r, shape)...), l: l}
}

// diagOf returns the diagonal of an identity or diagonal lapVal.
func (s *lapState) diagOf(v *lapVal) *Value {
	if v.kind == lapIdent {
		return Scratch(tensor.Ones(s.dt, 1, s.r))
	}
	return v.k
}

// lapFused is the rule of the fused layer φ(xWᵀ + b) (W and b not moving):
// the pre-activation's coefficients are K·Wᵀ (one GEMM over the r stacked
// blocks; Wᵀ itself from the identity, and diag(c)·Wᵀ as a batched outer
// product), its Laplacian L·Wᵀ, then the elementwise rule with φ′ and φ″
// from the output.
func lapFused(p any, out *Value, in []*Value, lIn []*lapVal, s *lapState) *lapVal {
	act := p.(fusedParams).act
	x, w, v := in[0], in[1], lIn[0]
	nout := w.Dim(0)
	z := &lapVal{kind: lapDense}
	switch {
	case v.kind == lapIdent && out == s.basisNode:
		z.kind = lapIdent
	case v.kind == lapIdent:
		z.k = Reshape(Transpose(w), s.r, 1, nout)
	case v.kind == lapDiag:
		z.k = lapOuter(Transpose(v.k), Transpose(w))
	case v.s != nil && nout == 1 && v.k.Dim(1) == x.Dim(0):
		// Σ_u k[j, n, u]·s[n, u]·w[u]: the factor and the weights in one
		// [N, in] vector, never multiplied into k.
		z.k = Reshape(lapRowDot(v.k, Mul(v.s, w)), s.r, x.Dim(0), 1)
	default:
		k := v.k
		if v.s != nil {
			k = Mul(v.s, k) // broadcasts a shared k to every row
		}
		rows := k.Dim(1)
		z.k = Reshape(MatMul(Reshape(k, s.r*rows, x.Dim(1)), w, false, true), s.r, rows, nout)
	}
	if v.l != nil {
		z.l = MatMul(v.l, w, false, true)
	}
	if act == tensor.ActNone {
		return z
	}
	d1 := actDeriv(out, act)
	return s.elem(z, d1, Mul(d1, actSlope(out, d1, act)))
}

// The batched products of the first layers, as primitives with their own
// kernels (written out with broadcasting they would take the tensor
// package's general strided path, several times slower on the largest
// tensors of the run):
//
//	lapOuter(a [P, Q], b [P, R])      out[p, q, r] = a[p, q]·b[p, r]
//	lapBMV(m [P, Q, R], v, false)     out[p, q] = Σ_r m[p, q, r]·v[p, r]
//	lapBMV(m [P, Q, R], v, true)      out[p, r] = Σ_q m[p, q, r]·v[p, q]
//
// Each one's vector-Jacobian product is the other two, so derivatives of
// every order are right.
var lapOuterP, lapBMVP, lapGramSqP primitive

func init() {
	lapOuterP = primitive{name: "lapOuter",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			gs := make([]*Value, 2)
			if need[0] {
				gs[0] = lapBMV(g, in[1], false)
			}
			if need[1] {
				gs[1] = lapBMV(g, in[0], true)
			}
			return gs
		},
	}
	lapBMVP = primitive{name: "lapBMV",
		vjp: func(p any, g, out *Value, in []*Value, need []bool) []*Value {
			trans := p.(bool)
			m, v := in[0], in[1]
			gs := make([]*Value, 2)
			if need[0] {
				if trans {
					gs[0] = lapOuter(v, g)
				} else {
					gs[0] = lapOuter(g, v)
				}
			}
			if need[1] {
				gs[1] = lapBMV(m, g, !trans)
			}
			return gs
		},
	}
	// lapGramSq(G, K, GK) = Σ_j K_j·(GK)_j; GK is G·K, passed in so that the
	// rule has it: with G symmetric the cotangents are 2·GK·g for K and
	// Σ_m g_m·K_m K_mᵀ for G, and GK, a cache, gets none.
	lapGramSqP = primitive{name: "lapGramSq",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			k2, gk := in[1], in[2]
			gs := make([]*Value, 3)
			if need[0] {
				if out.grad {
					gs[0] = MatMul(k2, Mul(k2, g), false, true)
				} else {
					gs[0] = temp(g, symOuter(k2.t, g.t))
				}
			}
			if need[1] {
				gs[1] = Mul(gk, Scale(g, 2))
			}
			return gs
		},
	}
}

// lapGramSq returns Σ_jk K_j G_jk K_k for K [r]+S and a symmetric G [r, r],
// shaped S: the squared norm of the Jacobian B·K when G = BᵀB. Its backward
// pass costs one symmetric product (for G), not the two GEMMs of a recorded
// G·K.
func lapGramSq(g, k *Value) *Value {
	shape := k.Shape()[1:]
	k2 := Reshape(k, k.Dim(0), -1)
	gk := MatMul(g, k2, false, false)
	q := tensor.Zeros(k.DType(), k2.Dim(1))
	if q.DType() == tensor.Float32 {
		colDotKernel(q.Float32s(), k2.t.Float32s(), gk.t.Float32s())
	} else {
		colDotKernel(q.Float64s(), k2.t.Float64s(), gk.t.Float64s())
	}
	return Reshape(op(q, &lapGramSqP, g, k2, gk), shape...)
}

// colDotKernel sets q[m] = Σ_j a[j, m]·b[j, m] for a and b [r, len(q)],
// split over the columns (each summed over j in order by one worker).
func colDotKernel[T float32 | float64](q, a, b []T) {
	m := len(q)
	parallel.For(m, 1<<10, func(lo, hi int) {
		for j := 0; j < len(a); j += m {
			aj, bj, dst := a[j+lo:j+hi], b[j+lo:j+hi], q[lo:hi]
			for i := range dst {
				dst[i] += aj[i] * bj[i]
			}
		}
	})
}

// symBlock is the row block of symOuter's products.
const symBlock = 128

// symOuter returns Σ_m g_m·k[:, m]·k[:, m]ᵀ ([r, r]) for k [r, M] and g
// [M], a symmetric matrix: only the blocks on and above the diagonal are
// multiplied (k ⊙ g by kᵀ, symBlock rows at a time), the others mirrored,
// about (nb + 1)/(2nb) of the full product's work for nb blocks.
func symOuter(k, g *tensor.Tensor) *tensor.Tensor {
	r := k.Dim(0)
	kg := tensor.Mul(k, g)
	out := tensor.Zeros(k.DType(), r, r)
	for lo := 0; lo < r; lo += symBlock {
		hi := min(lo+symBlock, r)
		a := tensor.SliceRows(kg, lo, hi)
		blk := tensor.MatMul(a, tensor.SliceRows(k, lo, r), false, true) // [hi−lo, r−lo]
		w := r - lo
		for i := lo; i < hi; i++ {
			for j := lo; j < r; j++ {
				v := blk.At((i-lo)*w + j - lo)
				out.Set(i*r+j, v)
				out.Set(j*r+i, v)
			}
		}
		putBuffer(blk)
	}
	putBuffer(kg)
	return out
}

// lapOuter returns out[p, q, r] = a[p, q]·b[p, r].
func lapOuter(a, b *Value) *Value {
	if a.t.Rank() != 2 || b.t.Rank() != 2 || a.Dim(0) != b.Dim(0) || a.DType() != b.DType() {
		panic(fmt.Sprintf("autodiff: internal error: lapOuter of %v and %v", a.Shape(), b.Shape()))
	}
	np, nq, nr := a.Dim(0), a.Dim(1), b.Dim(1)
	out := tensor.Zeros(a.DType(), np, nq, nr)
	if a.DType() == tensor.Float32 {
		outerKernel(out.Float32s(), a.t.Float32s(), b.t.Float32s(), np, nq, nr)
	} else {
		outerKernel(out.Float64s(), a.t.Float64s(), b.t.Float64s(), np, nq, nr)
	}
	return op(out, &lapOuterP, a, b)
}

// lapBMV returns the batched matrix-vector product of m [P, Q, R] with v:
// Σ_r m[p, q, r]·v[p, r] ([P, Q]), or with trans Σ_q m[p, q, r]·v[p, q]
// ([P, R]).
func lapBMV(m, v *Value, trans bool) *Value {
	if m.t.Rank() != 3 || v.t.Rank() != 2 || v.Dim(0) != m.Dim(0) || (!trans && v.Dim(1) != m.Dim(2)) || (trans && v.Dim(1) != m.Dim(1)) {
		panic(fmt.Sprintf("autodiff: internal error: lapBMV of %v and %v (trans %v)", m.Shape(), v.Shape(), trans))
	}
	np, nq, nr := m.Dim(0), m.Dim(1), m.Dim(2)
	w := nq
	if trans {
		w = nr
	}
	out := tensor.Zeros(m.DType(), np, w)
	if m.DType() == tensor.Float32 {
		bmvKernel(out.Float32s(), m.t.Float32s(), v.t.Float32s(), np, nq, nr, trans)
	} else {
		bmvKernel(out.Float64s(), m.t.Float64s(), v.t.Float64s(), np, nq, nr, trans)
	}
	return opWith(out, &lapBMVP, trans, m, v)
}

// outerKernel fills out [P, Q, R] with a[p, q]·b[p, r], split over p·q rows
// (each row written by one worker: the result does not depend on the
// worker count).
func outerKernel[T float32 | float64](out, a, b []T, np, nq, nr int) {
	parallel.For(np*nq, max(1, (1<<14)/max(nr, 1)), func(lo, hi int) {
		for pq := lo; pq < hi; pq++ {
			s, row, dst := a[pq], b[(pq/nq)*nr:(pq/nq+1)*nr], out[pq*nr:(pq+1)*nr]
			for r, v := range row {
				dst[r] = s * v
			}
		}
	})
}

// bmvKernel is lapBMV's kernel, split over p (each output row summed in a
// fixed order by one worker).
func bmvKernel[T float32 | float64](out, m, v []T, np, nq, nr int, trans bool) {
	parallel.For(np, max(1, (1<<14)/max(nq*nr, 1)), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			mp := m[p*nq*nr : (p+1)*nq*nr]
			if trans {
				vp, dst := v[p*nq:(p+1)*nq], out[p*nr:(p+1)*nr]
				for q, s := range vp {
					row := mp[q*nr : (q+1)*nr]
					for r, x := range row {
						dst[r] += s * x
					}
				}
				continue
			}
			vp, dst := v[p*nr:(p+1)*nr], out[p*nq:(p+1)*nq]
			for q := range dst {
				dst[q] = dot(mp[q*nr:(q+1)*nr], vp)
			}
		}
	})
}

// The products of a last layer of width one on a pending factor (see
// lapVal.s), with the middle index q shared by the two operands:
//
//	lapRowDot(m [P, Q, R], v [Q, R])   out[p, q] = Σ_r m[p, q, r]·v[q, r]
//	lapOuterQ(a [P, Q], b [Q, R])      out[p, q, r] = a[p, q]·b[q, r]
//	lapSumP(a [P, Q], m [P, Q, R])     out[q, r] = Σ_p a[p, q]·m[p, q, r]
//
// each one's vector-Jacobian product the other two.
var lapRowDotP, lapOuterQP, lapSumPP primitive

func init() {
	lapRowDotP = primitive{name: "lapRowDot",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			gs := make([]*Value, 2)
			if need[0] {
				gs[0] = lapOuterQ(g, in[1])
			}
			if need[1] {
				gs[1] = lapSumP(g, in[0])
			}
			return gs
		},
	}
	lapOuterQP = primitive{name: "lapOuterQ",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			gs := make([]*Value, 2)
			if need[0] {
				gs[0] = lapRowDot(g, in[1])
			}
			if need[1] {
				gs[1] = lapSumP(in[0], g)
			}
			return gs
		},
	}
	lapSumPP = primitive{name: "lapSumP",
		vjp: func(_ any, g, out *Value, in []*Value, need []bool) []*Value {
			gs := make([]*Value, 2)
			if need[0] {
				gs[0] = lapRowDot(in[1], g)
			}
			if need[1] {
				gs[1] = lapOuterQ(in[0], g)
			}
			return gs
		},
	}
}

// checkPQR panics unless the operands of the q-shared products agree.
func checkPQR(name string, m3, a, b *Value) {
	ok := m3 == nil || m3.t.Rank() == 3
	if a != nil && ok {
		ok = a.t.Rank() == 2 && (m3 == nil || a.Dim(0) == m3.Dim(0) && a.Dim(1) == m3.Dim(1))
	}
	if b != nil && ok {
		ok = b.t.Rank() == 2 && (m3 == nil || b.Dim(0) == m3.Dim(1) && b.Dim(1) == m3.Dim(2)) && (a == nil || b.Dim(0) == a.Dim(1))
	}
	if !ok {
		panic(fmt.Sprintf("autodiff: internal error: %s of %v, %v, %v", name, shapeOf(m3), shapeOf(a), shapeOf(b)))
	}
}

func shapeOf(v *Value) []int {
	if v == nil {
		return nil
	}
	return v.Shape()
}

// lapRowDot returns out[p, q] = Σ_r m[p, q, r]·v[q, r].
func lapRowDot(m, v *Value) *Value {
	checkPQR("lapRowDot", m, nil, v)
	np, nq, nr := m.Dim(0), m.Dim(1), m.Dim(2)
	out := tensor.Zeros(m.DType(), np, nq)
	if m.DType() == tensor.Float32 {
		rowDotKernel(out.Float32s(), m.t.Float32s(), v.t.Float32s(), nq, nr)
	} else {
		rowDotKernel(out.Float64s(), m.t.Float64s(), v.t.Float64s(), nq, nr)
	}
	return op(out, &lapRowDotP, m, v)
}

// lapOuterQ returns out[p, q, r] = a[p, q]·b[q, r].
func lapOuterQ(a, b *Value) *Value {
	checkPQR("lapOuterQ", nil, a, b)
	np, nq, nr := a.Dim(0), a.Dim(1), b.Dim(1)
	out := tensor.Zeros(a.DType(), np, nq, nr)
	if a.DType() == tensor.Float32 {
		outerQKernel(out.Float32s(), a.t.Float32s(), b.t.Float32s(), nq, nr)
	} else {
		outerQKernel(out.Float64s(), a.t.Float64s(), b.t.Float64s(), nq, nr)
	}
	return op(out, &lapOuterQP, a, b)
}

// lapSumP returns out[q, r] = Σ_p a[p, q]·m[p, q, r].
func lapSumP(a, m *Value) *Value {
	checkPQR("lapSumP", m, a, nil)
	np, nq, nr := m.Dim(0), m.Dim(1), m.Dim(2)
	out := tensor.Zeros(m.DType(), nq, nr)
	if m.DType() == tensor.Float32 {
		sumPKernel(out.Float32s(), a.t.Float32s(), m.t.Float32s(), np, nq, nr)
	} else {
		sumPKernel(out.Float64s(), a.t.Float64s(), m.t.Float64s(), np, nq, nr)
	}
	return op(out, &lapSumPP, a, m)
}

// The kernels split their outputs' rows over the workers, each summed in a
// fixed order: the results do not depend on the worker count.

func rowDotKernel[T float32 | float64](out, m, v []T, nq, nr int) {
	parallel.For(len(out), max(1, (1<<14)/max(nr, 1)), func(lo, hi int) {
		for pq := lo; pq < hi; pq++ {
			out[pq] = dot(m[pq*nr:(pq+1)*nr], v[(pq%nq)*nr:(pq%nq+1)*nr])
		}
	})
}

func outerQKernel[T float32 | float64](out, a, b []T, nq, nr int) {
	parallel.For(len(a), max(1, (1<<14)/max(nr, 1)), func(lo, hi int) {
		for pq := lo; pq < hi; pq++ {
			s, bq, dst := a[pq], b[(pq%nq)*nr:(pq%nq+1)*nr], out[pq*nr:(pq+1)*nr]
			for r, x := range bq {
				dst[r] = s * x
			}
		}
	})
}

func sumPKernel[T float32 | float64](out, a, m []T, np, nq, nr int) {
	parallel.For(nq, max(1, (1<<14)/max(np*nr, 1)), func(lo, hi int) {
		for q := lo; q < hi; q++ {
			dst := out[q*nr : (q+1)*nr]
			for p := range np {
				s, row := a[p*nq+q], m[(p*nq+q)*nr:(p*nq+q+1)*nr]
				for r, x := range row {
					dst[r] += s * x
				}
			}
		}
	})
}

// dot returns Σ a_i·b_i (len(b) ≥ len(a)) with four partial sums, so that
// consecutive products do not wait on one another's addition; the order is
// fixed by the length alone.
func dot[T float32 | float64](a, b []T) T {
	b = b[:len(a)]
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
