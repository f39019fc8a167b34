package sm

import (
	"errors"
	"fmt"
	"slices"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/fd"
	"github.com/fdsm/fdsm/tensor"
)

// Cancellation-free finite differences.
//
// An FD objective combines model evaluations at x + γ_i·v whose differences
// are tiny next to the values themselves: FD-SSM's second difference
// g(x+v) + g(x−v) − 2g(x) is O(ε²) while each term is O(|g|), and it is then
// multiplied by d/ε² (78 400 at d = 784, ε = 0.1). Evaluated and subtracted
// in float32 (unit round-off u = 6e-8) it keeps a relative accuracy of only
// about u·|g|/|g(x+v) + g(x−v) − 2g(x)|: at d = 784 the parameter gradient's
// cosine with its float64 value is 0.02–0.9 for ε from 0.01 to 0.1 (0.72 and
// 0.43 in the PyTorch peer's measurement).
//
// The stable evaluation (FDStable, the default for float32) never forms the
// shifted evaluations. It evaluates the model once, at a base point, and
// propagates exact differences through the model (autodiff.Delta and
// autodiff.Central): every primitive applies a difference rule without
// cancellation (for a layer's product ΔZ = ΔX·Wᵀ; for softplus
// log1p(σ(z)·expm1(δ)), or its Taylor series in δ for small steps; …).
//
//   - FD-SSM (stencils symmetric about 0): autodiff.Central carries the pair
//     D = (g(x+v) − g(x−v))/2, S = g(x+v) + g(x−v) − 2g(x) through the model
//     (linear maps take pairs to pairs; a layer's activation takes the
//     pre-activation pair (a, b) = (δ_D, δ_S/2) to
//     D′ = (φ(z+b+a) − φ(z+b−a))/2, S′ = φ(z+b+a) + φ(z+b−a) − 2φ(z), summed
//     term by term from φ's Taylor series). The first difference is D, the
//     second S; no O(ε²) quantity is ever obtained by subtracting O(ε) or
//     O(1) ones. Higher-order central stencils (fd.D1Acc4, fd.D2Acc4) use
//     one pair per node ±γ.
//   - FD-DSM, FD-MDSM, FD-SSM-VR (first differences on nodes ±1): the model
//     is evaluated at x − v and one exact difference g(x+v) − g(x−v)
//     (autodiff.Delta with Δx = 2v) is propagated; FD-SSM-VR's interpolated
//     score is s(x−v) + ½Δ.
//
// Other stencils fall back to Delta from the stencil's 0 node (or its first
// node): Σ w_i g(x + γ_i v) = Σ_{i≠b} w_i·Δ_i for derivative stencils.
//
// Error bound. A propagated difference has a relative error of a few u of
// itself times κ, the condition number of the network's map from input
// change to output change (the same κ that bounds any forward pass),
// instead of u·|g|/|Δg|: first differences keep κ·u instead of O(u/ε) and
// FD-SSM's second difference keeps κ·u instead of O(u·|g|/ε²) (summing two
// first differences would keep O(κ·u/ε)). The parameter gradient flows back
// through the same rules (each has a vector-Jacobian product) and inherits
// the bound, up to its own O(κ·u/ε) for the second-difference terms. On
// mnist-mlp and mnist-large (ε from 0.01 to 0.1, at initialisation and after
// 200 steps) the float32 loss is within 2e-5 and the gradient cosine above
// 0.99999 of float64 for every FD objective (bench/stable_test.go).
//
// Cost. The base rows and the K difference rows go through the same matrix
// products as the stacked batch of the naive evaluation (one GEMM for all
// differences of a layer forward, one for the weights and one for the input
// backward, all K+1 row blocks at once); the activation's rule costs a short
// polynomial per element for small steps. Measured per float32 training step
// on mnist-mlp and mnist-large: 0.96–1.15× the naive evaluation (noisy,
// shared machine). Models built from other primitives (NICE, the quadratic
// head, DKEF) go through generic rules made of several elementwise
// operations, which cost more (1.0–1.8× at d = 64 with 256 hidden units).
//
// The model must compute its output from its input with autodiff operations
// only (every model of package nn does): the objective panics if the output
// does not depend on the input through the graph, or if the model uses an
// operation without a difference rule.

// FDMode selects how the finite-difference objectives evaluate their
// stencils.
type FDMode uint8

const (
	// FDAuto (the zero value) is FDStable for float32 batches and FDNaive for
	// float64 ones, and FDNaive whenever Options.NonBatched is set. In
	// float64 the naive round-off (1e-16·|g|/ε²) is harmless at the default
	// steps, the two evaluations cost about the same for MLPs (stable
	// 0.9–1.05× naive) and naive is cheaper for models of generic
	// operations (NICE, DKEF: stable up to 1.2×), and the results stay
	// bit-for-bit those of the plain evaluation (and of the PyTorch
	// cross-check).
	FDAuto FDMode = iota
	// FDNaive evaluates the model at every stencil point x + γ_i·v, stacked
	// into one batch (or one call per point with NonBatched), and combines
	// the evaluations: the paper's method. In float32 it loses the
	// objective to rounding at small ε or large d.
	FDNaive
	// FDStable evaluates the model at one base point and propagates the
	// exact differences to the other stencil points (see the package
	// documentation): accurate in float32.
	FDStable
)

// String returns "auto", "naive" or "stable".
func (m FDMode) String() string {
	switch m {
	case FDAuto:
		return "auto"
	case FDNaive:
		return "naive"
	case FDStable:
		return "stable"
	}
	return fmt.Sprintf("FDMode(%d)", uint8(m))
}

// ParseFDMode parses "auto", "naive" or "stable".
func ParseFDMode(s string) (FDMode, error) {
	for _, m := range []FDMode{FDAuto, FDNaive, FDStable} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("sm: unknown FD evaluation %q (want auto, naive or stable)", s)
}

// stableFD reports whether an FD objective on batch x uses the stable
// evaluation.
func (o *Options) stableFD(name string, x *tensor.Tensor) bool {
	switch o.FDMode {
	case FDNaive:
		return false
	case FDStable:
		if o.NonBatched {
			panic(fmt.Sprintf("sm: %s: NonBatched is an option of the naive FD evaluation, not of FDStable", name))
		}
		return true
	case FDAuto:
		return !o.NonBatched && x.DType() == tensor.Float32
	}
	panic(fmt.Sprintf("sm: %s: unknown FDMode %d", name, uint8(o.FDMode)))
}

// nodeDiffs holds a function's value at the base node of a set of stencils
// and its exact differences to the other nodes.
type nodeDiffs struct {
	base  float64               // γ_b
	y     *ad.Value             // f(x + γ_b·v)
	diffs map[float64]*ad.Value // f(x + γ·v) − f(x + γ_b·v) for γ ≠ γ_b
}

// evalDiffs evaluates f at x + γ_b·v and propagates the differences to every
// other node of the stencils (their union), all K of them stacked through
// the model at once.
func evalDiffs(name string, f fd.Func, x, v *tensor.Tensor, c *Options, stencils ...fd.Stencil) nodeDiffs {
	var nodes []float64
	for _, s := range stencils {
		for _, g := range s.Nodes() {
			if !slices.Contains(nodes, g) {
				nodes = append(nodes, g)
			}
		}
	}
	slices.Sort(nodes)
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
	joint := c.own(tensor.Zeros(x.DType(), (len(others)+1)*n, x.Dim(1)))
	xb := tensor.SliceRows(joint, 0, n)
	shiftRows(xb, x, v, gb)
	dxs := make([]*ad.Value, len(others))
	for i, g := range others {
		dx := tensor.SliceRows(joint, (i+1)*n, (i+2)*n)
		shiftRows(dx, nil, v, g-gb)
		dxs[i] = ad.Const(dx)
	}
	nd := nodeDiffs{base: gb, diffs: map[float64]*ad.Value{}}
	if len(dxs) == 0 {
		nd.y = f(ad.Const(xb))
		return nd
	}
	var dys []*ad.Value
	func() {
		defer rethrowNoDiff(name)
		nd.y, dys = ad.Delta(f, ad.Const(xb), dxs)
	}()
	if !dys[0].RequiresGrad() {
		panic(fmt.Sprintf("sm: %s: the model's output does not depend on its input through autodiff operations, so the stable FD evaluation cannot propagate differences through it; set Options.FDMode = FDNaive", name))
	}
	for i, g := range others {
		nd.diffs[g] = dys[i]
	}
	return nd
}

// apply returns Σ w_i·f(x + γ_i·v) for the stencil s: Σ_{γ_i ≠ γ_b} w_i·Δ_i,
// plus (Σ w_i)·f(x + γ_b·v) when s is an interpolation (order 0, weights
// summing to one; a derivative stencil's weights sum to zero).
func (nd nodeDiffs) apply(s fd.Stencil) *ad.Value {
	var out *ad.Value
	add := func(t *ad.Value) {
		if out == nil {
			out = t
		} else {
			out = ad.Add(out, t)
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
			add(ad.Scale(nd.diffs[g], w[i]))
		}
	}
	if s.Order() == 0 {
		add(ad.Scale(nd.y, sum))
	}
	return out
}

// centralDiffs holds a function's value at x and its exact central
// differences D_γ = (f(x + γv) − f(x − γv))/2 and
// S_γ = f(x + γv) + f(x − γv) − 2f(x) for the positive nodes γ of a set of
// stencils symmetric about 0.
type centralDiffs struct {
	y    *ad.Value
	d, s map[float64]*ad.Value
}

// evalCentral is evalDiffs for stencils whose nodes (their union) are
// symmetric about 0 and include it, with the pairs propagated by
// autodiff.Central, so that second differences are never formed from first
// ones. ok is false when the nodes are not of that form.
func evalCentral(name string, f fd.Func, x, v *tensor.Tensor, c *Options, stencils ...fd.Stencil) (cd centralDiffs, ok bool) {
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
	vs := make([]*ad.Value, len(pos))
	for i, g := range pos {
		vg := v
		if g != 1 {
			vg = c.own(tensor.Scale(v, g))
		}
		vs[i] = ad.Const(vg)
	}
	var ds, ss []*ad.Value
	func() {
		defer rethrowNoDiff(name)
		cd.y, ds, ss = ad.Central(f, ad.Const(x), vs)
	}()
	if !ds[0].RequiresGrad() {
		panic(fmt.Sprintf("sm: %s: the model's output does not depend on its input through autodiff operations, so the stable FD evaluation cannot propagate differences through it; set Options.FDMode = FDNaive", name))
	}
	cd.d, cd.s = map[float64]*ad.Value{}, map[float64]*ad.Value{}
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
func (cd centralDiffs) apply(st fd.Stencil) *ad.Value {
	w := map[float64]float64{}
	var sum float64
	ws := st.Weights()
	for i, g := range st.Nodes() {
		w[g] = ws[i]
		sum += ws[i]
	}
	var out *ad.Value
	add := func(t *ad.Value, c float64) {
		if c == 0 {
			return
		}
		if c != 1 {
			t = ad.Scale(t, c)
		}
		if out == nil {
			out = t
		} else {
			out = ad.Add(out, t)
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

// rethrowNoDiff turns autodiff's panic for a primitive without a difference
// rule into one that names the objective and the way out.
func rethrowNoDiff(name string) {
	if r := recover(); r != nil {
		if err, ok := r.(error); ok {
			var nr *ad.NoDiffRuleError
			if errors.As(err, &nr) {
				panic(fmt.Sprintf("sm: %s: the model uses %s, which has no difference rule for the stable FD evaluation; set Options.FDMode = FDNaive", name, nr.Primitive))
			}
		}
		panic(r)
	}
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
		shift(dst.Float32s(), xs, v.Float32s(), a)
	} else {
		var xs []float64
		if x != nil {
			xs = x.Float64s()
		}
		shift(dst.Float64s(), xs, v.Float64s(), a)
	}
}

func shift[T float32 | float64](dst, x, v []T, a float64) {
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
