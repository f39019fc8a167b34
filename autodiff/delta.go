package autodiff

import (
	"fmt"

	"github.com/fdsm/fdsm/tensor"
)

// chainJoints enables the joint chain through batch-separable primitives
// (batch rules) and the joints built for other primitives (see deltaState).
// Only tests turn it off, to check that the chain changes no number.
var chainJoints = true

// batchOK reports whether a batch rule applies to a primitive with output
// out, inputs in and input differences dIn; has(j) reports whether input j
// has a joint. A rank-0 output has no rows to stack.
func batchOK(out *Value, in, dIn []*Value, has func(j int) bool) bool {
	if out.t.Rank() == 0 {
		return false
	}
	for j := range in {
		if dIn[j] == nil || !has(j) || (len(in) > 1 && !in[j].t.SameShape(out.t)) {
			return false
		}
	}
	return true
}

// applyBatch runs pr's batch rule on the joints jIn and returns the output's
// stacked difference (a view of the joint's rows after the base) and joint.
func applyBatch(pr *primitive, p any, out *Value, jIn []*Value, k int) (d, j *Value) {
	shape := out.Shape()
	rows := shape[0]
	shape[0] *= k + 1
	j = pr.batch(p, jIn, shape)
	if !shapeEqual(j.Shape(), shape) {
		panic(fmt.Sprintf("autodiff: internal error: %s joint %v, want %v", pr.name, j.Shape(), shape))
	}
	return Reshape(SliceRows(j, rows, (k+1)*rows), withK(k, out.Shape())...), j
}

// Delta returns y = f(x) and, for each dxs[i] (shaped like x), the exact
// difference f(x + dxs[i]) − f(x), shaped like y, computed without
// subtracting nearly equal numbers.
//
// A finite difference computed by evaluating f twice and subtracting loses
// the digits the two values share: in float32, with |f| ≈ 100 and a
// difference of 1e-3, two or three significant digits survive, and a second
// difference divided by ε² is mostly rounding. Delta never forms
// f(x + Δx). It evaluates f(x) once, as an interpreter: each operation f
// applies to a value with a difference is, as it is recorded, asked by its
// primitive's rules for the exact difference of its output,
// Δy = op(a + α, b + β) − op(a, b), from its base inputs and their
// differences (as JAX's JVP interpreter carries tangents), in a form
// without cancellation:
//
//	linear ops          Δy = op(α)       (sums, reshapes, rows, transposes, MatMul by a constant,
//	                                      Im2Col, Col2Im, AvgPool2D and its adjoint, BatchTranspose)
//	a·b                 aβ + α(b + β)
//	a/b                 (α − (a/b)β)/(b + β)
//	eᵃ, expm1 a         eᵃ·expm1(α)
//	log a, log1p a      log1p(α/a), log1p(α/(1 + a))
//	a²                  (2a + α)α
//	√a                  α/(√(a + α) + √a)
//	aᵖ                  aᵖ·expm1(p·log1p(α/a))   (direct where a changes sign)
//	tanh a              tanh α·(1 − tanh²a)/(1 + tanh a·tanh α)
//	σ(a)                2σ(1 − σ)·T/(1 + (2σ − 1)T),  T = tanh(α/2)
//	SiLU a = a·σ(a)     α·(σ + Δσ) + a·Δσ,  Δσ by the σ rule
//	softplus a          log1p(σ(a)·expm1(α))
//	ELU                 α, (out + c)·expm1(α) or direct, by the signs of a and a + α
//	Solve(A, B)         (A + ΔA)⁻¹(ΔB − ΔA·X)
//	Dense               ΔZ = ΔX·Wᵀ, then the activation's rule, from y = φ(z)
//
// Each rule is written with this package's differentiable operations (the
// fused Dense node has a vector-Jacobian product like any other primitive),
// so the differences are values like any other: a loss built from them is
// differentiated by Grad as usual, and its gradient is as accurate as the
// differences themselves.
//
// Joints. When x is 2-D, values travel as joints [X; ΔX_1; …; ΔX_K] (the
// base rows, then the K differences, in one tensor), so that a network costs
// about a stacked batch of K+1 evaluations. Dense is joint-aware: one GEMM
// per layer for all K differences, and a backward pass of one GEMM for the
// weights and one for the input over all (K+1)·N rows. The batch-separable
// linear primitives (Reshape, Im2Col, Col2Im, AvgPool2D and its adjoint,
// BatchTranspose, SumAxis and MeanAxis over an axis ≥ 1, Scale, Neg, and Add
// and Sub of two joints of one shape) map a joint to a joint by treating it
// as a batch K+1 times larger, with no copy: so Conv2D, Conv2DAct,
// AvgPool2D, GlobalAvgPool2D, the layout conversions and residual sums keep
// the chain, and a convolution's patch matrix is built once, for all rows.
// Any other primitive whose changing inputs have joints is applied to the
// base rows and its rule to the differences, and its joint, when a later
// joint-aware or batch primitive needs it, is the two stacked (one copy of
// its output). The chain changes no computed value or difference; gradients
// differ from a chain broken at every primitive by rounding only (the same
// cotangent terms, summed in another order).
//
// Error bound. Every rule computes its difference with a relative error of a
// few units of rounding u (u = 6e-8 in float32) of the difference itself, not
// of the values subtracted, plus the error already in its inputs' differences
// times the primitive's local condition number. For a network, the computed
// Δf therefore has relative error about κ·u, where κ is the condition number
// of the map Δx ↦ Δf (the same κ that governs the forward pass), instead of
// u·|f|/|Δf| for the subtraction. A second difference formed from two
// accurate first differences, Δ₊ + Δ₋ with Δ± = f(x ± v) − f(x), loses the
// ratio |Δ±|/|Δ₊ + Δ₋| ≈ |vᵀ∇f|/|vᵀ∇²f v| = O(1/ε): its relative error falls
// from u·|f|/ε² to about κ·u/ε; Central, which carries the pair
// ((Δ₊ − Δ₋)/2, Δ₊ + Δ₋) through f instead, keeps κ·u. Two limits of the
// representation: a tanh or
// sigmoid unit whose output has rounded to exactly ±1 (or 0, 1) has lost its
// pre-activation and is taken to stay saturated (its true difference is then
// below the rounding of the output anyway unless the step is large); and the
// standalone softplus, tanh and sigmoid rules are written for the moderate
// steps of finite differences (|α| up to a few units; far beyond, expm1(α)
// overflows or the log1p argument nears −1), while the fused Dense kernels
// switch to direct forms and hold for every α.
//
// f must compute its result from its argument with this package's
// operations only (a value computed from x.T() by other means is a constant
// to Delta, whose difference is taken as zero). x may be a constant or a
// variable; the results are differentiable in everything f used (parameters,
// x when it is a variable, and the dxs). Delta panics with a
// *NoDiffRuleError if f uses a primitive without a difference rule (every
// primitive of this package has one); Delta nested inside f through a Dense
// layer (a difference of a difference) is not supported.
//
// The values f computes are Delta's: the results are reached through the
// difference graph, and those of f's values it no longer uses are released
// on return (their T is nil, their storage reused), so f must not keep them.
func Delta(f func(*Value) *Value, x *Value, dxs []*Value) (y *Value, dys []*Value) {
	k := len(dxs)
	if k == 0 {
		panic("autodiff: Delta with no differences")
	}
	for i, dx := range dxs {
		if dx.DType() != x.DType() || !dx.t.SameShape(x.t) {
			panic(fmt.Sprintf("autodiff: Delta difference %d is %v %v, want x's %v %v", i, dx.DType(), dx.Shape(), x.DType(), x.Shape()))
		}
	}
	xm := mark(x)
	var stacked, joint *Value
	switch {
	case x.t.Rank() == 2 && constants(x, dxs):
		xm, joint, stacked = constJoint(x, dxs)
	case x.t.Rank() == 2:
		// The joint [x; Δx_1; …; Δx_K] in one copy; the stacked differences
		// are a view of it.
		n := x.Dim(0)
		joint = ConcatRows(append([]*Value{xm}, dxs...)...)
		stacked = Reshape(SliceRows(joint, n, (k+1)*n), withK(k, x.Shape())...)
	case k == 1:
		stacked = Reshape(dxs[0], withK(1, x.Shape())...)
	case x.t.Rank() == 0:
		parts := make([]*Value, k)
		for i, dx := range dxs {
			parts[i] = Reshape(dx, 1)
		}
		stacked = ConcatRows(parts...)
	default:
		stacked = Reshape(ConcatRows(dxs...), withK(k, x.Shape())...)
	}
	y, dy := deltaRun(f, xm, stacked, joint, k, 0, append([]*Value{x}, dxs...))
	dys = make([]*Value, k)
	for i := range dys {
		dys[i] = sliceK(dy, i)
	}
	return y, dys
}

// DeltaStacked is Delta with the K differences stacked along a leading axis:
// dx has shape [K]+shape(x) and dy has shape [K]+shape(y), dy[i] =
// f(x + dx[i]) − f(x).
func DeltaStacked(f func(*Value) *Value, x, dx *Value) (y, dy *Value) {
	if dx.t.Rank() != x.t.Rank()+1 || !shapeEqual(dx.Shape()[1:], x.Shape()) || dx.DType() != x.DType() {
		panic(fmt.Sprintf("autodiff: DeltaStacked differences %v %v for x %v %v (want [K]+x's shape)", dx.DType(), dx.Shape(), x.DType(), x.Shape()))
	}
	xm := mark(x)
	var joint *Value
	if x.t.Rank() == 2 {
		joint = ConcatRows(xm, rowsK(dx))
	}
	return deltaRun(f, xm, dx, joint, dx.Dim(0), 0, []*Value{x, dx})
}

// Central returns y = f(x) and, for each vs[p] (shaped like x), the exact
// central differences
//
//	ds[p] = (f(x + v_p) − f(x − v_p))/2,   ss[p] = f(x + v_p) + f(x − v_p) − 2f(x),
//
// shaped like y. It is Delta for the 2P differences ±v_p, but it carries the
// pairs (D, S) through f instead of the differences Δ± = S/2 ± D: linear
// operations map pairs to pairs, the fused Dense node has a central rule
// (the Taylor series of the activation in both half-steps for small steps,
// the exact differences otherwise), and multiplication, squares and
// exponentials have exact pair rules; any other primitive goes through its
// plain rule and back. So the second difference ss is never formed by adding
// two first differences of opposite sign: through a network of Dense layers
// its relative error is about κ·u, not κ·u/ε as for Δ₊ + Δ₋ (and not
// u·|f|/ε² as for f(x+v) + f(x−v) − 2f(x) evaluated). The cost is that of
// Delta with 2P differences, less the first layer's products with the
// S rows, which are zero at x and skipped. As for Delta, f must not keep
// the values it computes.
func Central(f func(*Value) *Value, x *Value, vs []*Value) (y *Value, ds, ss []*Value) {
	p := len(vs)
	if p == 0 {
		panic("autodiff: Central with no steps")
	}
	for i, v := range vs {
		if v.DType() != x.DType() || !v.t.SameShape(x.t) {
			panic(fmt.Sprintf("autodiff: Central step %d is %v %v, want x's %v %v", i, v.DType(), v.Shape(), x.DType(), x.Shape()))
		}
	}
	xm := mark(x)
	parts := make([]*Value, 0, 2*p+1)
	if x.t.Rank() == 2 {
		parts = append(parts, xm)
	}
	for _, v := range vs {
		if x.t.Rank() == 0 {
			v = Reshape(v, 1)
		}
		parts = append(parts, v)
	}
	zs := tensor.Zeros(x.DType(), withK(p, x.Shape())...)
	if x.t.Rank() == 0 {
		parts = append(parts, Scratch(zs))
	} else {
		parts = append(parts, Scratch(zs.Reshape(append([]int{p * x.Dim(0)}, x.Shape()[1:]...)...)))
	}
	var stacked, joint *Value
	switch {
	case x.t.Rank() == 2 && constants(x, parts[1:]):
		xm, joint, stacked = constJoint(x, parts[1:])
		putBuffer(zs) // copied into the joint
	case x.t.Rank() == 2:
		n := x.Dim(0)
		joint = ConcatRows(parts...)
		stacked = Reshape(SliceRows(joint, n, (2*p+1)*n), withK(2*p, x.Shape())...)
	default:
		stacked = Reshape(ConcatRows(parts...), withK(2*p, x.Shape())...)
	}
	y, dy := deltaRun(f, xm, stacked, joint, 2*p, p, append([]*Value{x}, vs...))
	ds, ss = make([]*Value, p), make([]*Value, p)
	for i := range p {
		ds[i], ss[i] = sliceK(dy, i), sliceK(dy, p+i)
	}
	return y, ds, ss
}

// centralToPM maps central pairs [D_1 … D_P; S_1 … S_P] to the differences
// [Δ₊_1 … Δ₊_P; Δ₋_1 … Δ₋_P], Δ± = S/2 ± D.
func centralToPM(d *Value, p int) *Value {
	shape := d.Shape()
	two := Reshape(d, 2, p*numel(shape[1:]))
	dd, half := SliceRows(two, 0, 1), Scale(SliceRows(two, 1, 2), 0.5)
	return Reshape(ConcatRows(Add(half, dd), Sub(half, dd)), shape...)
}

// pmToCentral is the inverse of centralToPM: D = (Δ₊ − Δ₋)/2, S = Δ₊ + Δ₋.
func pmToCentral(d *Value, p int) *Value {
	shape := d.Shape()
	two := Reshape(d, 2, p*numel(shape[1:]))
	plus, minus := SliceRows(two, 0, 1), SliceRows(two, 1, 2)
	return Reshape(ConcatRows(Scale(Sub(plus, minus), 0.5), Add(plus, minus)), shape...)
}

// splitCentral returns the D and S halves ([P]+S each) of a central stack,
// expanded to broadcast against [P]+shape of the given rank.
func splitCentral(d *Value, rank int) (dd, ss *Value) {
	if d == nil {
		return nil, nil
	}
	shape := d.Shape()
	p := shape[0] / 2
	rest := numel(shape[1:])
	two := Reshape(d, 2, p*rest)
	sub := withK(p, shape[1:])
	return expandK(Reshape(SliceRows(two, 0, 1), sub...), rank), expandK(Reshape(SliceRows(two, 1, 2), sub...), rank)
}

// joinCentral stacks D and S halves back, broadcast to [P]+shape.
func joinCentral(dd, ss *Value, p int, shape []int) *Value {
	return Reshape(ConcatRows(fitK(dd, p, shape), fitK(ss, p, shape)), withK(2*p, shape)...)
}

func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// constants reports whether neither x nor any of the dxs depends on a
// variable.
func constants(x *Value, dxs []*Value) bool {
	if x.grad {
		return false
	}
	for _, dx := range dxs {
		if dx.grad {
			return false
		}
	}
	return true
}

// constJoint builds the joint [x; d_1; …; d_K] of a 2-D x and constant
// differences (each d_i a multiple of x's rows) as one leaf, with a variable
// standing for x and the stacked differences as views of it: nothing in
// them is differentiated, so the graph holds the input rows once instead of
// twice (the ConcatRows node would keep its inputs alive until the end of
// the backward pass). f runs on the joint's base rows, a constant: its
// operations on them are interpreted all the same (see newOp).
func constJoint(x *Value, ds []*Value) (xm, joint, stacked *Value) {
	n := x.Dim(0)
	ts := make([]*tensor.Tensor, 0, len(ds)+1)
	ts = append(ts, x.t)
	for _, d := range ds {
		ts = append(ts, d.t)
	}
	if jt := consecutive(ts); jt != nil {
		// The caller laid the rows out already (sm does): the joint is a
		// view of its storage, which stays the caller's.
		joint = Const(jt)
		xm = Var(tensor.SliceRows(jt, 0, n))
		rows := jt.Dim(0)
		stacked = Const(tensor.SliceRows(jt, n, rows).Reshape(withK((rows-n)/n, x.Shape())...))
		return xm, joint, stacked
	}
	jt := tensor.ConcatRows(ts...)
	joint = Scratch(jt)
	xm = Var(tensor.SliceRows(jt, 0, n))
	xm.owned = true
	rows := jt.Dim(0)
	stacked = Scratch(tensor.SliceRows(jt, n, rows).Reshape(withK((rows-n)/n, x.Shape())...))
	return xm, joint, stacked
}

// consecutive returns the rows of ts as one tensor when they are already
// consecutive in one buffer (each starts where the previous ends), and nil
// otherwise.
func consecutive(ts []*tensor.Tensor) *tensor.Tensor {
	rows, total := 0, 0
	for i, t := range ts {
		if t.DType() != ts[0].DType() || t.Len() == 0 || !t.SharesStorage(ts[0]) {
			return nil
		}
		if i > 0 && storageCap(t) != storageCap(ts[i-1])-ts[i-1].Len() {
			return nil // not right after the previous one
		}
		rows += t.Dim(0)
		total += t.Len()
	}
	shape := append([]int{rows}, ts[0].Shape()[1:]...)
	if ts[0].DType() == tensor.Float32 {
		return tensor.WrapFloat32(ts[0].Float32s()[:total], shape...)
	}
	return tensor.WrapFloat64(ts[0].Float64s()[:total], shape...)
}

// mark returns the value Delta evaluates f at: for a constant x a variable
// holding its tensor, so that everything f computes from it is recorded; for
// a variable an identity (Reshape) of it, so that the value Delta marks as
// followed (see deltaState) is its own and the caller's x, which another
// goroutine may be using, is left untouched.
func mark(x *Value) *Value {
	if x.grad {
		return Reshape(x, x.Shape()...)
	}
	return Var(x.t)
}

// deltaRun evaluates f at the marked x and carries the stacked
// differences dx (joint, if not nil, is [x; dx] as rows), eagerly: every
// operation f applies to a value with a difference is handed to the
// interpreter as it is recorded (deltaState.eager), which computes its
// difference by its primitive's rules there and then.
//
// The values the caller made from its arguments args (the marked x, the
// joint) and those f computes from x are deltaRun's (own). f runs on base
// values (see deltaState), so its nodes are the difference graph's but for
// those a joint replaced (Dense outputs, copied into their joints, and the
// batch rules' outputs, computed again on the joints' base rows); those
// are released on return, with what of f's graph only they reach, their
// storage handed back for reuse (releaseDead). The constants the rules compute (masks, zero
// differences, conversions between pairs and differences) go on a tape, as
// a recording Grad's do: those the difference graph uses become the
// graph's, for the releasing Grad to recycle, the others are freed at once.
func deltaRun(f func(*Value) *Value, x, dx, joint *Value, k, pairs int, args []*Value) (y, dy *Value) {
	tp := &tape{keep: true}
	s, x0 := newDeltaState(x, dx, joint, k, pairs)
	s.tp = tp
	s.own = ownSince(args, x, dx, joint, x0)
	for v := range s.own {
		s.mark(v)
	}
	fy := s.run(f, x0)
	if fy == x0 {
		y, dy = x, dx
	} else {
		y, dy = fy, s.diffs[fy]
	}
	if dy == nil {
		dy = Scratch(tensor.Zeros(y.DType(), withK(k, y.Shape())...))
	}
	for _, v := range tp.nodes {
		s.own[v] = true // made by the rules
	}
	tp.finish([]*Value{y, dy})
	releaseDead(s.dropped, s.own, y, dy)
	return y, dy
}

// ownSince returns the values Delta made before calling f: vs and what they
// were built from, down to the caller's arguments args.
func ownSince(args []*Value, vs ...*Value) map[*Value]bool {
	stop := map[*Value]bool{}
	for _, a := range args {
		stop[a] = true
	}
	own := map[*Value]bool{}
	for len(vs) > 0 {
		v := vs[len(vs)-1]
		vs = vs[:len(vs)-1]
		if v == nil || stop[v] || own[v] {
			continue
		}
		own[v] = true
		vs = append(vs, v.inputs...)
	}
	return own
}

// deltaState is what the difference interpreter knows of the values it has
// seen: their stacked differences and their joints ([base; differences] in
// one tensor).
//
// Like autodidax's JVP interpreter, which carries each primal with its
// tangent, the interpreter hands f the base value of each operation it
// interprets, and f's next operations run on it: the value f holds is the
// base, so the rules read base values, and the backward pass reaches the
// parameters, through the difference graph only, and no primitive is
// applied twice to compute a base. Where a rule continues a joint, the
// base f is handed is the joint's base rows (a view), and the node f's
// operation recorded is dropped (released on return, see deltaRun).
//
// A joint comes from a joint-aware rule (Dense) or a batch rule (the
// batch-separable linear primitives: reshapes, Im2Col, Col2Im, pooling,
// BatchTranspose, axis sums, scaling, sums of two joints), which map joints
// to joints with no copy, or is built on demand: any other primitive whose
// changing inputs all have joints is joinable, and its joint is
// ConcatRows(base, differences) once a joint-consuming primitive needs it
// (one copy of the output, against, at the next Dense, a copy of its input:
// at a convolution, the 9× wider patch matrix).
type deltaState struct {
	k, pairs int
	active   bool            // f is running and no rule is: operations are interpreted
	tp       *tape           // the constants the rules compute, see deltaRun
	own      map[*Value]bool // the values Delta made (f's interpreted nodes among them)
	diffs    map[*Value]*Value
	joints   map[*Value]*Value
	joinable map[*Value]bool
	dropped  []*Value // f's nodes replaced by a joint's base rows
}

// newDeltaState starts the interpreter at x, whose stacked difference is dx
// and joint, if not nil, joint, and returns the value f is to be evaluated
// at: x's base, the joint's base rows when there is a joint (so that the
// rules' uses of the base reach x through the joint), and x otherwise.
func newDeltaState(x, dx, joint *Value, k, pairs int) (*deltaState, *Value) {
	s := &deltaState{k: k, pairs: pairs, diffs: map[*Value]*Value{},
		joints: map[*Value]*Value{}, joinable: map[*Value]bool{}}
	x0 := x
	if joint != nil {
		x0 = SliceRows(joint, 0, x.Dim(0))
	}
	s.diffs[x0] = dx
	x0.delta = s
	if joint != nil {
		s.joints[x0] = joint
	}
	return s, x0
}

// hasJoint reports whether v has, or can be given, a joint.
func (s *deltaState) hasJoint(v *Value) bool { return s.joints[v] != nil || s.joinable[v] }

// jointOf returns v's joint, building it for a joinable v.
func (s *deltaState) jointOf(v *Value) *Value {
	if j := s.joints[v]; j != nil {
		return j
	}
	j := ConcatRows(v, rowsK(s.diffs[v]))
	s.joints[v] = j
	return j
}

// run evaluates f at x with interpretation on; afterwards (also when f
// panics) the values it made follow nothing.
func (s *deltaState) run(f func(*Value) *Value, x *Value) *Value {
	defer func() {
		s.active = false
		for v := range s.diffs {
			v.delta = nil
		}
	}()
	s.active = true
	return f(x)
}

// eager interprets v, just recorded by an operation f applied to a value
// with a difference, and returns the value f is handed in its place (see
// step): the rules run with interpretation off (their own operations are
// not f's) and with the tape on.
//
// A recorded v that f goes on with joins the tape's nodes, so that the
// rules' constants it uses stay (see tape.finish). A constant v (the part
// of f before its first parameter, when x is a constant) is a leaf again
// once interpreted, and the tape's temporary, like the constants the rules
// compute: f's operations on constants record nothing, as in a plain
// evaluation, and only the interpreter saw its inputs.
func (s *deltaState) eager(v *Value) *Value {
	s.active = false
	s.own[v] = true
	s.mark(v)
	s.tp.active = true
	b := s.step(v)
	s.tp.active = false
	s.active = true
	switch {
	case v.grad && b == v:
		s.tp.nodes = append(s.tp.nodes, v)
	case !v.grad:
		s.tp.record(v, v.inputs...)
		if v.aux != nil {
			for _, a := range v.aux.tensors() {
				putBuffer(a)
			}
		}
		v.inputs, v.prim, v.params, v.aux = nil, nil, nil, nil
	}
	return b
}

// mark puts a value Delta made on the tape, so that what the rules compute
// from it is recorded.
func (s *deltaState) mark(v *Value) { v.tape = s.tp }

// step interprets one recorded node v whose inputs the state has seen: it
// records v's difference (none when no input changes) and, when its rules
// give a joint, the joint; it returns the value f is handed: v, whose
// inputs are bases already, or the joint's base rows.
func (s *deltaState) step(v *Value) *Value {
	var dIn []*Value
	for j, in := range v.inputs {
		if d, ok := s.diffs[in]; ok {
			if dIn == nil {
				dIn = make([]*Value, len(v.inputs))
			}
			dIn[j] = d
		}
	}
	if dIn == nil {
		return v
	}
	pr := v.prim
	if !pr.hasDiff() {
		panic(&NoDiffRuleError{Primitive: pr.name})
	}
	n := len(v.inputs)
	in := v.inputs
	jIn := make([]*Value, n)
	switch {
	case pr.joint != nil:
		for j, vin := range v.inputs {
			if dIn[j] != nil && (s.joints[vin] != nil || chainJoints && s.joinable[vin]) {
				jIn[j] = s.jointOf(vin)
			}
		}
	case pr.batch != nil:
		if chainJoints && batchOK(v, v.inputs, dIn, func(j int) bool { return s.hasJoint(v.inputs[j]) }) {
			for j, vin := range v.inputs {
				jIn[j] = s.jointOf(vin)
			}
		}
	}
	out := v
	d, jv := pr.difference(v.params, out, in, dIn, jIn, s.k, s.pairs)
	if s.pairs > 0 && d == nil {
		// No central rule: through the plain rule, on the differences
		// to x ± v, and back. The primitive's own result loses the
		// digits a plain second difference loses.
		pm := make([]*Value, n)
		for j, dv := range dIn {
			if dv != nil {
				pm[j] = centralToPM(dv, s.pairs)
			}
		}
		if r, _ := pr.difference(v.params, out, in, pm, make([]*Value, n), s.k, 0); r != nil {
			d = pmToCentral(r, s.pairs)
		}
	}
	if jv != nil {
		// f goes on with the joint's base rows (the same numbers as v),
		// so that the backward pass reaches the parameters through the
		// joint alone; v is dead.
		s.dropped = append(s.dropped, v)
		v = SliceRows(jv, 0, v.Dim(0))
		s.joints[v] = jv
	}
	if d == nil {
		return v
	}
	if want := withK(s.k, v.Shape()); !shapeEqual(d.Shape(), want) || d.DType() != v.DType() {
		panic(fmt.Sprintf("autodiff: internal error: %s difference %v %v, want %v %v", primName(out), d.DType(), d.Shape(), v.DType(), want))
	}
	s.diffs[v] = d
	v.delta = s
	if jv == nil && chainJoints && v.t.Rank() > 0 {
		// The chain continues through v if all its changing inputs
		// have joints. (Affine ops such as AddScalar are here, not
		// batch rules: the constant must not reach the differences.)
		s.joinable[v] = true
		for j, in := range v.inputs {
			if dIn[j] != nil && !s.hasJoint(in) {
				s.joinable[v] = false
				break
			}
		}
	}
	return v
}

// Helpers for the difference rules. A stacked difference of a value of shape
// S has shape [K]+S.

// withK returns [k]+s.
func withK(k int, s []int) []int { return append([]int{k}, s...) }

// expandK views a stacked difference d ([K]+s) so that it broadcasts against
// [K]+S for an S of the given rank ≥ len(s): [K, 1, …, 1]+s.
func expandK(d *Value, rank int) *Value {
	if d == nil {
		return nil
	}
	s := d.Shape()
	if len(s)-1 >= rank {
		return d
	}
	shape := make([]int, 0, rank+1)
	shape = append(shape, s[0])
	for range rank - (len(s) - 1) {
		shape = append(shape, 1)
	}
	return Reshape(d, append(shape, s[1:]...)...)
}

// fitK broadcasts d to [K]+shape (nil stays nil).
func fitK(d *Value, k int, shape []int) *Value {
	if d == nil {
		return nil
	}
	return BroadcastTo(d, withK(k, shape)...)
}

// addDiff returns a + b where either may be nil (a zero difference).
func addDiff(a, b *Value) *Value {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return Add(a, b)
}

// sliceK returns difference i of a stacked difference, shaped like the value.
func sliceK(d *Value, i int) *Value {
	s := d.Shape()
	if d.Dim(0) == 1 {
		return Reshape(d, s[1:]...)
	}
	if len(s) == 1 {
		return Reshape(SliceRows(d, i, i+1))
	}
	n := s[1]
	return SliceRows(rowsK(d), i*n, (i+1)*n)
}

// rowsK views a stacked difference [K, n, …] of a value with rows as
// [K·n, …]: the K differences one below the other.
func rowsK(d *Value) *Value {
	s := d.Shape()
	return Reshape(d, append([]int{s[0] * s[1]}, s[2:]...)...)
}

// stackK stacks part(0), …, part(k−1), each of the given shape, into [K]+shape.
func stackK(k int, shape []int, part func(i int) *Value) *Value {
	if k == 1 {
		return Reshape(part(0), withK(1, shape)...)
	}
	parts := make([]*Value, k)
	for i := range parts {
		p := part(i)
		if len(shape) == 0 {
			p = Reshape(p, 1)
		}
		parts[i] = p
	}
	return Reshape(ConcatRows(parts...), withK(k, shape)...)
}

// zerosLike returns a constant zero shaped like v, a temporary of the rule
// running on v (see temp).
func zerosLike(v *Value) *Value { return temp(v, tensor.ZerosLike(v.t)) }

// oneMinus returns 1 − v.
func oneMinus(v *Value) *Value { return AddScalar(Neg(v), 1) }

// Float32 scalar kernels for the difference rules: package tensor's Cephes
// single-precision polynomials (S. L. Moshier's expf.c and logf.c), accurate
// to a few float32 ulps.
func exp32(x float32) float32       { return tensor.Exp32(x) }
func log32(x float32) float32       { return tensor.Log32(x) }
func log1p32(x float32) float32     { return tensor.Log1p32(x) }
func log1pNear32(x float32) float32 { return tensor.Log1pNear32(x) }
func expm132(x float32) float32     { return tensor.Expm1F32(x) }
func softplus32(x float32) float32  { return tensor.Softplus32(x) }
