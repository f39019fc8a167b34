package autodiff

import (
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"

	"github.com/fdsm/fdsm/tensor"
)

// Exact difference propagation.
//
// A finite difference f(x + Δx) − f(x) computed by evaluating f twice and
// subtracting loses the digits the two values share: in float32, with
// |f| ≈ 100 and a difference of 1e-3, only two or three significant digits
// survive, and a second difference divided by ε² is mostly rounding. Delta
// never forms f(x + Δx) at all. It evaluates f(x) once, recording the graph,
// then walks the recorded nodes in creation order and asks each primitive for
// the exact difference of its output, Δy = op(a + α, b + β) − op(a, b), from
// its base inputs and their differences, in a form without cancellation:
//
//	linear ops          Δy = op(α)                  (sums, reshapes, rows, MatMul by a constant)
//	a·b                 aβ + α(b + β)
//	a/b                 (α − (a/b)β)/(b + β)
//	eᵃ                  eᵃ·expm1(α)
//	log a, log1p a      log1p(α/a), log1p(α/(1 + a))
//	a²                  (2a + α)α
//	√a                  α/(√(a + α) + √a)
//	aᵖ                  aᵖ·expm1(p·log1p(α/a))
//	tanh a              tanh α·(1 − tanh²a)/(1 + tanh a·tanh α)
//	σ(a)                2σ(1 − σ)·T/(1 + (2σ − 1)T),  T = tanh(α/2)
//	softplus a          log1p(σ(a)·expm1(α))
//	Dense               ΔZ = ΔX·Wᵀ, then the activation's rule (one fused node)
//
// Each rule is written with this package's differentiable operations (the
// fused Dense node has a vector-Jacobian product like any other primitive), so
// the differences are values like any other: a loss built from them is
// differentiated by Grad as usual, and its parameter gradient is as accurate
// as the differences themselves.
//
// Error bound. Every rule computes its difference with a relative error of a
// few units of rounding u (u = 6e-8 in float32) of the difference itself, not
// of the values subtracted, plus the error already in its inputs' differences
// times the primitive's local condition number. For a network, the computed
// Δf therefore has relative error about κ·u, where κ is the condition number
// of the map Δx ↦ Δf (the same κ that governs the forward pass), instead of
// u·|f|/|Δf| for the subtraction. A second difference formed from two
// accurate first differences, Δ₊ + Δ₋ with Δ± = f(x ± v) − f(x), loses the
// ratio |Δ±|/|Δ₊ + Δ₋| ≈ |vᵀ∇f|/|vᵀ∇²f v| = O(1/ε): the relative error of a
// second difference falls from u·|f|/ε² to about κ·u/ε.

// diffRule returns the exact difference of a primitive's output for K stacked
// changes of its inputs: out(in + dIn) − out(in). dIn[j] is nil when input j
// does not change and otherwise has shape [K]+shape(in[j]); the result has
// shape [K]+shape(out), or is nil when it is zero. It is written with this
// package's differentiable operations.
type diffRule func(out *Value, in, dIn []*Value, k int) *Value

// diffProbe, passed as the cotangent g to a rule made by withDiff, asks for
// the primitive's difference rule instead of its vector-Jacobian product.
//
// The rule type has room for only one function and Value (value.go) for only
// one rule, so the difference rule travels inside the VJP closure: called
// with g = diffProbe and out = nil it answers probeOK (it has a difference
// rule); with out set and in = inputs ++ their differences it returns the
// difference. A Value field for the difference rule would be the cleaner
// home; this keeps value.go untouched.
var diffProbe = &Value{}

var probeOK = []*Value{diffProbe}

// withDiff attaches a difference rule to a vector-Jacobian product rule.
// Ordinary calls (Grad) go straight to r.
func withDiff(r rule, d diffRule) rule {
	return func(g, out *Value, in []*Value, need []bool) []*Value {
		if g == diffProbe {
			if out == nil {
				return probeOK
			}
			n := len(in) / 2
			k := 0
			for _, dv := range in[n:] {
				if dv != nil {
					k = dv.Dim(0)
					break
				}
			}
			return []*Value{d(out, in[:n], in[n:], k)}
		}
		return r(g, out, in, need)
	}
}

// primName names the primitive that recorded v, from its rule's code (for
// error messages).
func primName(v *Value) string {
	f := runtime.FuncForPC(reflect.ValueOf(v.rule).Pointer())
	if f == nil {
		return "an unknown primitive"
	}
	name := f.Name()
	name = name[strings.LastIndex(name, "/")+1:]
	name = strings.TrimPrefix(name, "autodiff.")
	if i := strings.Index(name, "."); i >= 0 {
		name = name[:i]
	}
	return name
}

// hasDiff reports whether v's primitive has a difference rule.
func hasDiff(v *Value) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	r := v.rule(diffProbe, nil, nil, nil)
	return len(r) == 1 && r[0] == diffProbe
}

// NoDiffRuleError is the panic value of Delta when the function evaluated
// uses a primitive that has no difference rule.
type NoDiffRuleError struct {
	// Primitive names the primitive (the function that recorded the node).
	Primitive string
}

func (e *NoDiffRuleError) Error() string {
	return fmt.Sprintf("autodiff: Delta: primitive %s has no difference rule", e.Primitive)
}

// Delta returns y = f(x) and, for each dxs[i] (shaped like x), the exact
// difference f(x + dxs[i]) − f(x), shaped like y. f is evaluated once, at x;
// the differences are then propagated through the recorded graph, every
// primitive applying its cancellation-free difference rule (see the package
// documentation of the method and its error bound). The differences are
// stacked along a new leading axis internally, so a matrix product of all of
// them is one GEMM, as in a stacked finite-difference batch.
//
// f must compute its result from its argument with this package's
// operations only (a value computed from x.T() by other means is a constant
// to Delta, whose difference is taken as zero). x may be a constant or a
// variable; the results are differentiable in everything f used (parameters,
// x when it is a variable, and the dxs). Delta panics with a
// *NoDiffRuleError if f uses a primitive without a difference rule (every
// primitive of this package has one).
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
	var stacked *Value
	if k == 1 {
		stacked = Reshape(dxs[0], withK(1, x.Shape())...)
	} else if x.t.Rank() == 0 {
		parts := make([]*Value, k)
		for i, dx := range dxs {
			parts[i] = Reshape(dx, 1)
		}
		stacked = ConcatRows(parts...)
	} else {
		stacked = Reshape(ConcatRows(dxs...), withK(k, x.Shape())...)
	}
	y, dy := DeltaStacked(f, x, stacked)
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
	k := dx.Dim(0)
	xm := x
	if !x.grad {
		// Mark x so that everything computed from it is recorded.
		xm = Var(x.t)
	}
	y = f(xm)
	if dy = propagate(y, xm, dx, k); dy == nil {
		dy = Const(tensor.Zeros(y.DType(), withK(k, y.Shape())...))
	}
	return y, dy
}

// propagate returns the stacked difference of y given the difference dx of
// x, or nil when y does not depend on x.
func propagate(y, x, dx *Value, k int) *Value {
	if y == x {
		return dx
	}
	if !y.grad || y.id < x.id {
		return nil
	}
	// Nodes created before x cannot depend on it: the walk stops there, so a
	// large graph the function merely uses (a fitted parameter, say) is not
	// visited.
	var nodes []*Value
	seen := map[*Value]bool{y: true}
	stack := []*Value{y}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		nodes = append(nodes, v)
		for _, in := range v.inputs {
			if in.grad && in.id >= x.id && !seen[in] {
				seen[in] = true
				stack = append(stack, in)
			}
		}
	}
	slices.SortFunc(nodes, func(a, b *Value) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	diffs := map[*Value]*Value{x: dx}
	for _, v := range nodes {
		if v == x || v.rule == nil {
			continue
		}
		var dIn []*Value
		for j, in := range v.inputs {
			if d, ok := diffs[in]; ok {
				if dIn == nil {
					dIn = make([]*Value, len(v.inputs))
				}
				dIn[j] = d
			}
		}
		if dIn == nil {
			continue
		}
		if !hasDiff(v) {
			panic(&NoDiffRuleError{Primitive: primName(v)})
		}
		packed := append(append(make([]*Value, 0, 2*len(dIn)), v.inputs...), dIn...)
		d := v.rule(diffProbe, v, packed, nil)[0]
		if d == nil {
			continue
		}
		if want := withK(k, v.Shape()); !shapeEqual(d.Shape(), want) || d.DType() != v.DType() {
			panic(fmt.Sprintf("autodiff: internal error: %s difference %v %v, want %v %v", primName(v), d.DType(), d.Shape(), v.DType(), want))
		}
		diffs[v] = d
	}
	return diffs[y]
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

// zerosLike returns a constant zero shaped like v.
func zerosLike(v *Value) *Value { return Const(tensor.ZerosLike(v.t)) }

// mask returns a constant 0/1 value.
func mask(t *tensor.Tensor) *Value { return Const(t) }

// oneMinus returns 1 − v.
func oneMinus(v *Value) *Value { return AddScalar(Neg(v), 1) }
