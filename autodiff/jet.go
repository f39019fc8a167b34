package autodiff

import (
	"fmt"

	"github.com/fdsm/fdsm/tensor"
)

// Taylor mode (jets).
//
// The limit ε → 0 of the difference propagation of Delta and Central is
// Taylor mode: instead of f(x + εv) − f(x), each value h carries the
// coefficients of its second-order Taylor series along the direction v,
// h(t) = h + ḣt + ½ḧt² with ḣ = d/dt h(x + tv) and ḧ = d²/dt² h(x + tv) at
// t = 0. Each primitive's jet rule maps its inputs' coefficients to its
// output's:
//
//	linear maps L       (L ḣ, L ḧ)                       (the difference rule, which is L itself)
//	elementwise φ       (φ′ ḣ, φ″ ḣ² + φ′ ḧ)
//	bilinear B(a, b)    (B(ȧ, b) + B(a, ḃ), B(ä, b) + 2B(ȧ, ḃ) + B(a, b̈))   (Leibniz: ·, MatMul, convolutions)
//	a/b                 ẏ = (ȧ − yḃ)/b,  ÿ = (ä − 2ẏḃ − yb̈)/b
//	Dense φ(xWᵀ + b)    ż = ẋWᵀ, z̈ = ẍWᵀ (no bias), then the φ rule with φ′, φ″ from y
//
// There is no ε, so no truncation bias and no cancellation: vᵀ∇f and
// vᵀ∇²f v are exact up to the rounding of the evaluation itself. The K
// directions are stacked along a leading axis as the differences of Delta
// are, the first-order coefficients above the second-order ones
// ([ḣ_1 … ḣ_K; ḧ_1 … ḧ_K], Central's layout of pairs [D; S]), so that each
// linear map, Dense's GEMM and a convolution's implicit GEMM included, runs
// once for all 2K coefficients. At the input ẍ = 0 and only the K rows of ẋ
// are carried, until the first non-linear primitive makes ḧ (as Central
// skips the zero S rows at the first layer).
//
// The rules are written with this package's differentiable operations, as
// the vector-Jacobian products and difference rules are, so a loss built
// from the coefficients is differentiated to the parameters by one ordinary
// Grad.

// jetRule returns the Taylor coefficients of a primitive's output from its
// inputs' (see Jet2): jIn[j] is nil when input j does not depend on the
// point, and the result is nil when the output's coefficients are zero. k is
// the number of directions.
type jetRule func(p any, out *Value, in []*Value, jIn []*jet, k int) *jet

// jet holds the stacked Taylor coefficients of a value of shape S along K
// directions: d is [2K]+S, the K first-order coefficients then the K
// second-order ones, or, when second is false, [K]+S with the second-order
// coefficients zero.
type jet struct {
	d      *Value
	second bool
	// only1: the second-order coefficients are not wanted (Jet1), so the
	// elementwise rules do not make them.
	only1 bool
	// joint, when not nil, is [value; d] as rows ([(1+rows of d)·N, …]),
	// d a view of it: a Dense layer's output joint (see denseJet), which
	// the next Dense layer continues.
	joint *Value
}

// NoJetRuleError is the panic value of Jet2 when the function evaluated uses
// a primitive that has no jet rule.
type NoJetRuleError struct {
	// Primitive names the primitive (its descriptor's name).
	Primitive string
}

// Error implements error.
func (e *NoJetRuleError) Error() string {
	return fmt.Sprintf("autodiff: Jet2: primitive %s has no jet (Taylor-mode) rule", e.Primitive)
}

// Jet2 returns y = f(x) and, for each direction vs[i] (shaped like x), the
// first and second directional derivatives of f at x along it, shaped like
// y:
//
//	d1[i] = d/dt f(x + t·v_i) at t = 0     (vᵀ∇f(x) for a scalar f)
//	d2[i] = d²/dt² f(x + t·v_i) at t = 0   (vᵀ∇²f(x)v)
//
// For f acting on the rows of x separately (a model's energy per sample),
// row b of d1[i] and d2[i] is that row's vᵀ∇f and vᵀ∇²f v with v row b of
// v_i. f is evaluated once, recorded, and its graph is then interpreted
// with each primitive's jet rule (see the Taylor-mode notes in jet.go): the
// cost is that of evaluating f on 2K+1 stacked inputs, like Central, and
// the results are differentiable in everything f used (its parameters, x
// and the vs when they are variables) by one ordinary Grad.
//
// f must compute its result from its argument with this package's
// operations (a value computed from x.T() by other means is a constant to
// Jet2). Jet2 panics with a *NoJetRuleError if f uses a primitive without a
// jet rule. The values f computes are Jet2's: those the results no longer
// reach are released on return (their T is nil, their storage reused), so
// f must not keep them.
func Jet2(f func(*Value) *Value, x *Value, vs []*Value) (y *Value, d1, d2 []*Value) {
	installJetRules()
	k := len(vs)
	if k == 0 {
		panic("autodiff: Jet2 with no directions")
	}
	checkDirections("Jet2", x, vs)
	y, j := jetEval(f, x, vs, false)
	d1, d2 = make([]*Value, k), make([]*Value, k)
	if j == nil {
		for i := range k {
			d1[i] = Scratch(tensor.ZerosLike(y.t))
			d2[i] = Scratch(tensor.ZerosLike(y.t))
		}
		return y, d1, d2
	}
	full := j.full(k, y)
	for i := range k {
		d1[i] = sliceK(full, i)
		d2[i] = sliceK(full, k+i)
	}
	return y, d1, d2
}

// Jet1 is Jet2 without the second derivatives: y = f(x) and, for each
// direction vs[i], d/dt f(x + t·v_i) at t = 0 (a Jacobian-vector product),
// at the cost of evaluating f on K+1 stacked inputs.
func Jet1(f func(*Value) *Value, x *Value, vs []*Value) (y *Value, d1 []*Value) {
	installJetRules()
	k := len(vs)
	if k == 0 {
		panic("autodiff: Jet1 with no directions")
	}
	checkDirections("Jet1", x, vs)
	y, j := jetEval(f, x, vs, true)
	d1 = make([]*Value, k)
	for i := range k {
		if j == nil {
			d1[i] = Scratch(tensor.ZerosLike(y.t))
		} else {
			d1[i] = sliceK(j.first(k), i)
		}
	}
	return y, d1
}

// checkDirections panics unless every direction is shaped like x.
func checkDirections(name string, x *Value, vs []*Value) {
	for i, v := range vs {
		if v.DType() != x.DType() || !v.t.SameShape(x.t) {
			panic(fmt.Sprintf("autodiff: %s direction %d is %v %v, want x's %v %v", name, i, v.DType(), v.Shape(), x.DType(), x.Shape()))
		}
	}
}

// jetEval evaluates f at x, recorded, and interprets its graph with the
// directions vs stacked; only1 drops the second-order coefficients.
func jetEval(f func(*Value) *Value, x *Value, vs []*Value, only1 bool) (*Value, *jet) {
	id0 := ids.Load() // the values made from here on are Jet's (see releaseJetDead)
	k := len(vs)
	var stacked, joint *Value
	xm := mark(x)
	switch {
	case x.t.Rank() == 2 && constants(x, vs):
		// The joint [x; v_1 … v_K] as one constant, x and the directions
		// views of it, as Delta builds it: a first Dense layer continues it
		// (denseJet) and the graph holds the input rows once.
		xm, joint, stacked = constJoint(x, vs)
	case x.t.Rank() == 2:
		// The joint in one copy, the stacked directions a view of it.
		n := x.Dim(0)
		joint = ConcatRows(append([]*Value{xm}, vs...)...)
		stacked = Reshape(SliceRows(joint, n, (k+1)*n), withK(k, x.Shape())...)
	case k == 1:
		stacked = Reshape(vs[0], withK(1, x.Shape())...)
	case x.t.Rank() == 0:
		parts := make([]*Value, k)
		for i, v := range vs {
			parts[i] = Reshape(v, 1)
		}
		stacked = ConcatRows(parts...)
	default:
		stacked = Reshape(ConcatRows(vs...), withK(k, x.Shape())...)
	}
	fy := f(xm)
	j := jetRun(fy, xm, &jet{d: stacked, only1: only1, joint: joint}, k)
	y := fy
	if j != nil && j.joint != nil {
		// y's value from its joint, so that the backward pass reaches the
		// parameters through the joints alone.
		y = SliceRows(j.joint, 0, fy.Dim(0))
	}
	live := []*Value{y}
	if j != nil {
		live = append(live, j.d, j.joint)
	}
	releaseJetDead(fy, id0, live)
	return y, j
}

// releaseJetDead hands back the storage of the values f and the jet rules
// made (those created after id0) that the results live no longer reach:
// with the joint Dense layers, f's recorded layers are such, as Delta's
// are (releaseDead). Without it each step's base evaluation would be
// garbage for the collector instead of buffers for the next step.
func releaseJetDead(fy *Value, id0 uint64, live []*Value) {
	own := map[*Value]bool{}
	stack := append([]*Value{fy}, live...)
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if v == nil || own[v] || v.id <= id0 {
			continue
		}
		own[v] = true
		stack = append(stack, v.inputs...)
	}
	releaseDead([]*Value{fy}, own, live...)
}

// jetRun interprets the recorded graph of y from x, whose coefficients are
// jx, with the jet rules, and returns y's coefficients (nil when y does not
// depend on x). The nodes are visited in a topological order found from y
// (a depth-first search), so no creation id is compared.
func jetRun(y, x *Value, jx *jet, k int) *jet {
	jets := map[*Value]*jet{x: jx}
	for _, v := range dependents(y, x) {
		var jIn []*jet
		for i, in := range v.inputs {
			if j := jets[in]; j != nil {
				if jIn == nil {
					jIn = make([]*jet, len(v.inputs))
				}
				jIn[i] = j
			}
		}
		if jIn == nil {
			continue
		}
		if v.prim.jet == nil {
			panic(&NoJetRuleError{Primitive: v.prim.name})
		}
		j := v.prim.jet(v.params, v, v.inputs, jIn, k)
		if j == nil {
			continue
		}
		if jx.only1 && j.second {
			j = &jet{d: j.first(k)} // a rule that made them anyway (Leibniz)
		}
		j.only1 = jx.only1
		n := k
		if j.second {
			n = 2 * k
		}
		if want := withK(n, v.Shape()); !shapeEqual(j.d.Shape(), want) || j.d.DType() != v.DType() {
			panic(fmt.Sprintf("autodiff: internal error: %s jet %v %v, want %v %v", primName(v), j.d.DType(), j.d.Shape(), v.DType(), want))
		}
		jets[v] = j
	}
	return jets[y]
}

// dependents returns the recorded nodes between x and y (those that depend
// on x, y included, x excluded), inputs before the nodes that use them.
func dependents(y, x *Value) []*Value {
	dep := map[*Value]bool{x: true}
	seen := map[*Value]bool{x: true}
	var order []*Value
	type frame struct {
		v *Value
		i int
	}
	stack := []frame{{v: y}}
	seen[y] = true
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.i < len(f.v.inputs) {
			in := f.v.inputs[f.i]
			f.i++
			if !seen[in] {
				seen[in] = true
				stack = append(stack, frame{v: in})
			}
			continue
		}
		v := f.v
		stack = stack[:len(stack)-1]
		for _, in := range v.inputs {
			if dep[in] {
				dep[v] = true
				break
			}
		}
		if dep[v] && v != x {
			order = append(order, v)
		}
	}
	return order
}

// first returns the first-order coefficients, [K]+S.
func (j *jet) first(k int) *Value {
	if !j.second {
		return j.d
	}
	return SliceRows(j.d, 0, k)
}

// secondOrNil returns the second-order coefficients, or nil when they are zero.
func (j *jet) secondOrNil(k int) *Value {
	if !j.second {
		return nil
	}
	return SliceRows(j.d, k, 2*k)
}

// full returns the [2K]+S stack of v's coefficients, zeros filled in.
func (j *jet) full(k int, v *Value) *Value {
	if j.second {
		return j.d
	}
	return ConcatRows(j.d, Scratch(tensor.Zeros(v.DType(), withK(k, v.Shape())...)))
}
