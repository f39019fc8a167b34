package autodiff

import (
	"fmt"

	"github.com/fdsm/fdsm/tensor"
)

// The forward Laplacian (Li et al. 2023, "Forward Laplacian: a new
// computational framework for neural network-based variational Monte
// Carlo").
//
// For f acting on the rows of x [N, d] separately, each value h of f's graph
// carries its Jacobian J = ∂h/∂x (one [d]+S block per row) and its
// Laplacian L = Σ_i ∂²h/∂x_i² (shaped like h), propagated forward through
// every primitive:
//
//	linear maps A      J ↦ A J,            L ↦ A L
//	elementwise φ      J ↦ φ′(h) ⊙ J,      L ↦ φ″(h) ⊙ Σ_i J_i² + φ′(h) ⊙ L
//	products a·b       J ↦ a J_b + b J_a,  L ↦ a L_b + b L_a + 2 Σ_i J_a,i ⊙ J_b,i
//
// At the output, ∇f = J and Δf = L: the d second derivatives of exact score
// matching in one forward sweep, instead of d backward passes. It is Jet2
// along the d coordinate directions with the second-order coefficients
// summed as they are made (only their sum is wanted), and J is stacked along
// a leading axis as the jets are ([r]+S, r directions), so that a linear map
// runs once for all of them (one GEMM per Dense layer).
//
// The first layer is kept symbolic. J of x is the identity, never
// materialised; a Dense layer z = xWᵀ + b applied to x has J = Wᵀ, shared by
// every row. When such a layer is x's only use and narrower than x
// (r = out < d), the Jacobians are kept in its basis instead: J_h = Wᵀ K_h,
// K_h = ∂h/∂z ([r]+S per row), z's own K the identity and, after its
// activation, K = diag(φ′(z)) (one [N, r] vector, no [r, r] block per row).
// The squared norms the elementwise rule needs are then quadratic forms in
// the Gram matrix G = WWᵀ: Σ_i J_i² = Σ_jk K_j G_jk K_k (one GEMM with G,
// r² rather than d·r per unit), and ∇f = Wᵀ K_f. On a 784-512-512-1 MLP this
// takes the dominant product from N·784·512² to N·512³ multiply-adds.
//
// Each primitive's rule is its descriptor's lap field (laplacian_rules.go).
// The rules are written with the package's differentiable operations, so a
// loss built from ∇f and Δf is differentiated to the parameters by one
// ordinary Grad. Rule coverage is checked on the recorded graph before any
// rule runs: TryLaplacian returns a *NoLaplacianRuleError, Laplacian panics
// with it.

// lapKind says how a value's Jacobian coefficients K are held.
type lapKind uint8

const (
	// lapIdent: K is the identity (the value is x, or the basis layer's
	// pre-activation): shape [N, r], K[j, n, u] = δ_ju.
	lapIdent lapKind = iota
	// lapDiag: K[j, n, u] = δ_ju·c[n, u], c [N', r] in k (N' = N or 1).
	lapDiag
	// lapDense: k is [r, N']+S (N' = N, or 1 when every row shares it).
	lapDense
)

// lapVal is what the forward Laplacian carries for one value: its Jacobian
// coefficients (in the run's basis, see lapState) and its Laplacian l
// (shaped like the value; nil when zero). A dense K may carry a pending
// factor s (shaped like the value): K = s ⊙ k. The elementwise rule then
// touches only s (its squared norms are s² times k's), and a last layer of
// width one contracts k with s·w directly: the [r, N, width] product s ⊙ k
// is never made, kept or differentiated.
type lapVal struct {
	kind lapKind
	k    *Value
	s    *Value
	l    *Value
}

// lapRule holds a primitive's forward-Laplacian rule. apply returns the
// output's lapVal from the inputs' (lIn[j] nil when input j does not depend
// on x; the result nil when the output's are zero). covers, when set,
// reports whether the rule handles a node whose inputs depend on x as
// moving says (Dense: not when its weights move).
type lapRule struct {
	apply  func(p any, out *Value, in []*Value, lIn []*lapVal, s *lapState) *lapVal
	covers func(p any, in []*Value, moving []bool) bool
}

// lapState is one run's basis: J = B·K with B the identity (w nil, r = d)
// or Wᵀ for the basis layer's weight w [r, d]; g is the Gram matrix BᵀB
// (nil for the identity), gdiag its diagonal ([r]).
type lapState struct {
	r, n      int
	dt        tensor.DType
	w, g      *Value
	gdiag     *Value
	basisNode *Value // the Dense node whose pre-activation has K = I (nil: x itself)
}

// NoLaplacianRuleError is the error of TryLaplacian (and the panic value of
// Laplacian) when the function uses a primitive the forward Laplacian has
// no rule for, or one its rule does not cover (a Dense layer whose weights
// depend on x, a convolution, a product of two matrices that both do).
type NoLaplacianRuleError struct {
	// Primitive names the primitive (its descriptor's name).
	Primitive string
}

// Error implements error.
func (e *NoLaplacianRuleError) Error() string {
	return fmt.Sprintf("autodiff: Laplacian: primitive %s has no forward-Laplacian rule for this use", e.Primitive)
}

// Laplacian returns y = f(x), the gradient ∇ₓy and the Laplacian Δₓy of a
// function of the rows of x [N, d] giving one value per row ([N]): row n of
// grad ([N, d]) and lap ([N]) are ∇ and Δ of y_n with respect to row n of x.
// f is evaluated once, recorded, and its graph is then interpreted with each
// primitive's forward-Laplacian rule (see laplacian.go); the results are
// differentiable in everything f used by one ordinary Grad. f's rows must
// not interact. It panics with a *NoLaplacianRuleError when a rule is
// missing (see TryLaplacian).
func Laplacian(f func(*Value) *Value, x *Value) (y, grad, lap *Value) {
	y, grad, lap, err := TryLaplacian(f, x)
	if err != nil {
		panic(err)
	}
	return y, grad, lap
}

// TryLaplacian is Laplacian returning a *NoLaplacianRuleError, found on the
// recorded graph before any rule runs, instead of panicking: the caller can
// then fall back to another method (y is f(x) whatever the error).
func TryLaplacian(f func(*Value) *Value, x *Value) (y, grad, lap *Value, err error) {
	xm, y, nodes, s, err := lapPrepare(f, x)
	if err != nil {
		return y, nil, nil, err
	}
	n, d := x.Dim(0), x.Dim(1)
	vals := map[*Value]*lapVal{xm: {kind: lapIdent}}
	for _, v := range nodes {
		var lIn []*lapVal
		for i, in := range v.inputs {
			if lv := vals[in]; lv != nil {
				if lIn == nil {
					lIn = make([]*lapVal, len(v.inputs))
				}
				lIn[i] = lv
			}
		}
		if lIn == nil {
			continue
		}
		if lv := v.prim.lap.apply(v.params, v, v.inputs, lIn, s); lv != nil {
			vals[v] = lv
		}
	}
	lv := vals[y]
	if lv == nil {
		return y, Scratch(tensor.Zeros(x.DType(), n, d)), Scratch(tensor.Zeros(x.DType(), n)), nil
	}
	k := s.dense(lv, y.Shape()) // [r, N]
	if s.w == nil {
		grad = Transpose(k)
	} else {
		grad = MatMul(k, s.w, true, false) // (Wᵀ K)ᵀ
	}
	lap = lv.l
	if lap == nil {
		lap = Scratch(tensor.Zeros(x.DType(), n))
	}
	return y, grad, lap, nil
}

// LaplacianBytes evaluates f at x once and returns an upper bound on the
// bytes of the Jacobian stacks Laplacian(f, x) would carry (r numbers for
// each number of every value between x and f(x), r = min(d, the first
// layer's width) as the basis gives), or the *NoLaplacianRuleError
// TryLaplacian would return: for a caller that sizes its batches.
func LaplacianBytes(f func(*Value) *Value, x *Value) (int64, error) {
	_, _, nodes, s, err := lapPrepare(f, x)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, v := range nodes {
		n += int64(v.Len())
	}
	return n * int64(s.r) * int64(x.DType().Size()), nil
}

// lapPrepare evaluates f at the marked x, checks the rules' coverage of its
// graph and chooses the basis.
func lapPrepare(f func(*Value) *Value, x *Value) (xm, y *Value, nodes []*Value, s *lapState, err error) {
	installLapRules()
	if x.t.Rank() != 2 {
		panic(fmt.Sprintf("autodiff: Laplacian of a function of %v (want rows [N, d])", x.Shape()))
	}
	xm = mark(x)
	y = f(xm)
	if n := x.Dim(0); y.t.Rank() != 1 || y.Dim(0) != n {
		panic(fmt.Sprintf("autodiff: Laplacian of a function giving %v for rows %v (want one value per row, [%d])", y.Shape(), x.Shape(), n))
	}
	nodes = dependents(y, xm)
	if err := lapCovers(nodes, xm); err != nil {
		return xm, y, nil, nil, err
	}
	return xm, y, nodes, newLapState(nodes, xm), nil
}

// lapCovers returns the error for the first node the rules do not cover.
func lapCovers(nodes []*Value, x *Value) error {
	dep := map[*Value]bool{x: true}
	for _, v := range nodes {
		dep[v] = true
	}
	for _, v := range nodes {
		r := v.prim.lap
		if r == nil {
			return &NoLaplacianRuleError{Primitive: v.prim.name}
		}
		if r.covers == nil {
			continue
		}
		moving := make([]bool, len(v.inputs))
		for i, in := range v.inputs {
			moving[i] = dep[in]
		}
		if !r.covers(v.params, v.inputs, moving) {
			return &NoLaplacianRuleError{Primitive: v.prim.name}
		}
	}
	return nil
}

// newLapState chooses the run's basis: the first Dense layer's when it is
// x's only use, takes x as its input and is narrower than x; the identity
// otherwise.
func newLapState(nodes []*Value, x *Value) *lapState {
	s := &lapState{r: x.Dim(1), n: x.Dim(0), dt: x.DType()}
	var users []*Value
	for _, v := range nodes {
		for _, in := range v.inputs {
			if in == x {
				users = append(users, v)
				break
			}
		}
	}
	if len(users) == 1 {
		u := users[0]
		if u.prim == &fusedP && u.inputs[0] == x && u.inputs[1] != x && u.inputs[1].Dim(0) < x.Dim(1) {
			w := u.inputs[1]
			s.r, s.w, s.basisNode = w.Dim(0), w, u
			s.g = MatMul(w, w, false, true)
			s.gdiag = SumAxis(Square(w), 1)
			return s
		}
	}
	s.gdiag = Scratch(tensor.Ones(s.dt, s.r))
	return s
}

// eye returns the r×r identity as a constant.
func (s *lapState) eye() *Value {
	t := tensor.Zeros(s.dt, s.r, s.r)
	for i := range s.r {
		t.Set(i*s.r+i, 1)
	}
	return Scratch(t)
}

// dense returns v's coefficients as a dense [r]+shape stack (every row its
// own), materialising the identity, a diagonal or a shared block.
func (s *lapState) dense(v *lapVal, shape []int) *Value {
	var k *Value
	switch v.kind {
	case lapIdent:
		k = Reshape(s.eye(), s.r, 1, s.r)
	case lapDiag:
		c := v.k
		k = Mul(Reshape(c, 1, c.Dim(0), s.r), Reshape(s.eye(), s.r, 1, s.r))
	default:
		k = v.k
		if v.s != nil {
			k = Mul(v.s, k)
		}
	}
	return BroadcastTo(k, withK(s.r, shape)...)
}

// sumSq returns Σ_i J_i² for v (J = B·K), shaped like the value or
// broadcasting to it.
func (s *lapState) sumSq(v *lapVal) *Value {
	switch v.kind {
	case lapIdent:
		return s.gdiag
	case lapDiag:
		return Mul(Square(v.k), s.gdiag)
	}
	var q *Value
	if s.g == nil {
		q = SumAxis(Square(v.k), 0)
	} else {
		q = lapGramSq(s.g, v.k)
	}
	if v.s != nil {
		q = Mul(Square(v.s), q)
	}
	return q
}

// elem applies an elementwise map with derivatives d1 = φ′ and d2 = φ″
// (nil: zero), shaped like the output, to v.
func (s *lapState) elem(v *lapVal, d1, d2 *Value) *lapVal {
	var l *Value
	if d2 != nil {
		l = Mul(d2, s.sumSq(v))
	}
	if v.l != nil {
		l = addDiff(l, Mul(d1, v.l))
	}
	switch v.kind {
	case lapIdent:
		return &lapVal{kind: lapDiag, k: d1, l: l}
	case lapDiag:
		return &lapVal{kind: lapDiag, k: Mul(d1, v.k), l: l}
	}
	f := d1
	if v.s != nil {
		f = Mul(d1, v.s)
	}
	return &lapVal{kind: lapDense, k: v.k, s: f, l: l}
}
