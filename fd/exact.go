package fd

import (
	"slices"

	"github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// The three evaluators of a set of stencils along x + γ·v: Nodes (the
// shifted evaluations, stacked, as the paper computes them), Differences
// and CentralDifferences (one evaluation and exact differences propagated
// through the model; see the package documentation, "Exact differences").
// Each evaluates f once for the union of the stencils' nodes, and its Apply
// forms Σ w_i·f(x + γ_i·v) for any one of them.

// Nodes holds f(x + γ·v) for every node γ of a set of stencils.
type Nodes struct {
	nodes []float64 // increasing
	ys    []*autodiff.Value
}

// EvaluateNodes evaluates f at x + γ·v for every node of the given stencils
// (their union, in increasing order), with one call on the stacked batch
// unless NonBatched.
func EvaluateNodes(f Func, x, v *autodiff.Value, opts []Option, stencils ...Stencil) Nodes {
	nodes := unionNodes(stencils)
	// An order-0 stencil on the union is just the node set for Evaluate.
	return Nodes{nodes: nodes, ys: Evaluate(Must(New(nodes, 0)), f, x, v, opts...)}
}

// At returns f(x + γ·v) for a node γ of the stencils evaluated.
func (n Nodes) At(gamma float64) *autodiff.Value { return n.ys[slices.Index(n.nodes, gamma)] }

// Apply returns Σ w_i·f(x + γ_i·v) for the stencil s, whose nodes must be
// among those evaluated (Combine's sum, in s's node order).
func (n Nodes) Apply(s Stencil) *autodiff.Value {
	ys := make([]*autodiff.Value, s.Len())
	for i, g := range s.nodes {
		ys[i] = n.At(g)
	}
	return Combine(s, ys)
}

// unionNodes returns the nodes of the stencils, each once, increasing.
func unionNodes(stencils []Stencil) []float64 {
	var nodes []float64
	for _, s := range stencils {
		for _, g := range s.nodes {
			if !slices.Contains(nodes, g) {
				nodes = append(nodes, g)
			}
		}
	}
	slices.Sort(nodes)
	return nodes
}

// own hands t to arena (which may be nil), to be released with the step.
func own(arena *tensor.Arena, t *tensor.Tensor) *tensor.Tensor {
	if arena != nil {
		arena.Add(t)
	}
	return t
}

// DependsOnInput reports whether the propagated differences are values of
// the graph, to be differentiated to f's parameters (vacuously true with no
// difference to propagate). It is false when f's output does not depend on x
// through autodiff operations (or f has no variables): then there was no
// difference to propagate and the objective cannot train f.
func (nd Differences) DependsOnInput() bool { return nd.dependent }

// DependsOnInput is Differences.DependsOnInput.
func (cd CentralDifferences) DependsOnInput() bool { return cd.dependent }

// Differences holds a function's value at the base node of a set of stencils
// and its exact differences to the other nodes.
type Differences struct {
	base  float64                     // γ_b
	y     *autodiff.Value             // f(x + γ_b·v)
	diffs map[float64]*autodiff.Value // f(x + γ·v) − f(x + γ_b·v) for γ ≠ γ_b
	// dependent: the differences depend on x through the graph (false
	// when f ignores its input, or computes it outside autodiff).
	dependent bool
}

// evalDiffs evaluates f at x + γ_b·v and propagates the differences to every
// other node of the stencils (their union), all K of them stacked through
// the model at once.
func EvaluateDifferences(f Func, x, v *tensor.Tensor, arena *tensor.Arena, stencils ...Stencil) Differences {
	nodes := unionNodes(stencils)
	gb := nodes[0]
	if slices.Contains(nodes, 0) {
		gb = 0
	}
	var others []float64
	for _, g := range nodes {
		if g != gb {
			others = append(others, g)
		}
	}
	// The base x + γ_b·v and the differences (γ − γ_b)·v, written straight
	// into consecutive rows of one tensor, [x_b; Δx_1; …; Δx_K]: Delta takes
	// such rows as its joint as they are, with no copy.
	n := x.Dim(0)
	joint := own(arena, tensor.Zeros(x.DType(), (len(others)+1)*n, x.Dim(1)))
	xb := tensor.SliceRows(joint, 0, n)
	shiftRows(xb, x, v, gb)
	dxs := make([]*autodiff.Value, len(others))
	for i, g := range others {
		dx := tensor.SliceRows(joint, (i+1)*n, (i+2)*n)
		shiftRows(dx, nil, v, g-gb)
		dxs[i] = autodiff.Const(dx)
	}
	nd := Differences{base: gb, diffs: map[float64]*autodiff.Value{}}
	if len(dxs) == 0 {
		nd.y, nd.dependent = f(autodiff.Const(xb)), true // no difference to propagate
		return nd
	}
	var dys []*autodiff.Value
	nd.y, dys = autodiff.Delta(f, autodiff.Const(xb), dxs)
	nd.dependent = dys[0].RequiresGrad()
	for i, g := range others {
		nd.diffs[g] = dys[i]
	}
	return nd
}

// apply returns Σ w_i·f(x + γ_i·v) for the stencil s: Σ_{γ_i ≠ γ_b} w_i·Δ_i,
// plus (Σ w_i)·f(x + γ_b·v) when s is an interpolation (order 0, weights
// summing to one; a derivative stencil's weights sum to zero).
func (nd Differences) Apply(s Stencil) *autodiff.Value {
	var out *autodiff.Value
	add := func(t *autodiff.Value) {
		if out == nil {
			out = t
		} else {
			out = autodiff.Add(out, t)
		}
	}
	w := s.Weights()
	var sum float64
	for i, g := range s.Nodes() {
		sum += w[i]
		if g == nd.base || w[i] == 0 {
			continue
		}
		if w[i] == 1 {
			add(nd.diffs[g])
		} else {
			add(autodiff.Scale(nd.diffs[g], w[i]))
		}
	}
	if s.Order() == 0 {
		add(autodiff.Scale(nd.y, sum))
	}
	return out
}

// CentralDifferences holds a function's value at x and its exact central
// differences D_γ = (f(x + γv) − f(x − γv))/2 and
// S_γ = f(x + γv) + f(x − γv) − 2f(x) for the positive nodes γ of a set of
// stencils symmetric about 0.
type CentralDifferences struct {
	y         *autodiff.Value
	d, s      map[float64]*autodiff.Value
	dependent bool // as Differences'
}

// evalCentral is evalDiffs for stencils whose nodes (their union) are
// symmetric about 0 and include it, with the pairs propagated by
// autodiff.Central, so that second differences are never formed from first
// ones. ok is false when the nodes are not of that form.
func EvaluateCentral(f Func, x, v *tensor.Tensor, arena *tensor.Arena, stencils ...Stencil) (cd CentralDifferences, ok bool) {
	var pos []float64
	has0 := false
	nodes := map[float64]bool{}
	for _, st := range stencils {
		for _, g := range st.Nodes() {
			nodes[g] = true
		}
	}
	for g := range nodes {
		switch {
		case g == 0:
			has0 = true
		case !nodes[-g]:
			return cd, false
		case g > 0:
			pos = append(pos, g)
		}
	}
	if !has0 || len(pos) == 0 {
		return cd, false
	}
	slices.Sort(pos)
	vs := make([]*autodiff.Value, len(pos))
	for i, g := range pos {
		vg := v
		if g != 1 {
			vg = own(arena, tensor.Scale(v, g))
		}
		vs[i] = autodiff.Const(vg)
	}
	var ds, ss []*autodiff.Value
	cd.y, ds, ss = autodiff.Central(f, autodiff.Const(x), vs)
	cd.dependent = ds[0].RequiresGrad()
	cd.d, cd.s = map[float64]*autodiff.Value{}, map[float64]*autodiff.Value{}
	for i, g := range pos {
		cd.d[g], cd.s[g] = ds[i], ss[i]
	}
	return cd, true
}

// apply returns Σ w_i·f(x + γ_i·v) for the stencil st: with
// f(x ± γv) = f(x) + S_γ/2 ± D_γ it is
// (Σ w)·f(x) + Σ_{γ>0} ((w₊ + w₋)/2·S_γ + (w₊ − w₋)·D_γ), whose S terms vanish
// for an antisymmetric (odd-order) stencil and whose D terms vanish for a
// symmetric one, so nothing is subtracted.
func (cd CentralDifferences) Apply(st Stencil) *autodiff.Value {
	w := map[float64]float64{}
	var sum float64
	ws := st.Weights()
	for i, g := range st.Nodes() {
		w[g] = ws[i]
		sum += ws[i]
	}
	var out *autodiff.Value
	add := func(t *autodiff.Value, c float64) {
		if c == 0 {
			return
		}
		if c != 1 {
			t = autodiff.Scale(t, c)
		}
		if out == nil {
			out = t
		} else {
			out = autodiff.Add(out, t)
		}
	}
	pos := make([]float64, 0, len(cd.d))
	for g := range cd.d {
		pos = append(pos, g)
	}
	slices.Sort(pos)
	for _, g := range pos {
		wp, wm := w[g], w[-g]
		add(cd.d[g], wp-wm)
		add(cd.s[g], (wp+wm)/2)
	}
	if st.Order() == 0 {
		add(cd.y, sum)
	}
	return out
}

// shiftRows writes x + a·v into dst (a·v when x is nil), with the roundings
// of tensor.Add(x, tensor.Scale(v, a)) (x − v for a = −1, as tensor.Sub;
// −v, as tensor.Neg).
func shiftRows(dst, x, v *tensor.Tensor, a float64) {
	if dst.DType() == tensor.Float32 {
		var xs []float32
		if x != nil {
			xs = x.Float32s()
		}
		shiftInto(dst.Float32s(), xs, v.Float32s(), a)
	} else {
		var xs []float64
		if x != nil {
			xs = x.Float64s()
		}
		shiftInto(dst.Float64s(), xs, v.Float64s(), a)
	}
}

func shiftInto[T float32 | float64](dst, x, v []T, a float64) {
	at := T(a)
	v = v[:len(dst)]
	switch {
	case x == nil && a == 1:
		copy(dst, v)
	case x == nil && a == -1:
		for i, vi := range v {
			dst[i] = -vi
		}
	case x == nil:
		for i, vi := range v {
			dst[i] = vi * at
		}
	case a == 0:
		copy(dst, x) // x itself, signed zeros included
	case a == -1:
		x = x[:len(dst)]
		for i, vi := range v {
			dst[i] = x[i] - vi
		}
	case a == 1:
		x = x[:len(dst)]
		for i, vi := range v {
			dst[i] = x[i] + vi
		}
	default:
		x = x[:len(dst)]
		for i, vi := range v {
			dst[i] = x[i] + T(vi*at) // rounded before the add, as Add(x, Scale(v, a))
		}
	}
}
