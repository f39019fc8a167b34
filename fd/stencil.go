package fd

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"sync"
)

// Exact is the accuracy order of a stencil that has no truncation error at
// all: only the order-0 stencils whose node set contains 0 (they put weight 1
// on f(x)).
const Exact = math.MaxInt

// Stencil is a finite-difference formula for the T-th derivative:
//
//	h^T f⁽ᵀ⁾(x) ≈ Σ_i w_i f(x + γ_i h)
//
// with nodes γ_i and weights w_i. A Stencil is immutable; its methods return
// copies. The zero Stencil has no nodes and is not usable.
type Stencil struct {
	nodes    []float64
	weights  []float64  // rat rounded to nearest
	rat      []*big.Rat // exact weights for the (exactly binary) nodes
	order    int
	accuracy int
	errConst *big.Rat // M_{T+p}/(T+p)!, zero for Exact
}

// New returns the stencil for the order-th derivative on the given distinct,
// finite nodes (in units of the step h; kept in the order given). The weights
// are computed exactly: every float64 is a rational number, so Fornberg's
// recurrence runs in math/big.Rat and each weight is rounded once to float64.
// With K nodes the moments Σ w_i γ_i^t equal T!·δ_{t,T} for t < K; the
// accuracy order is then measured, not assumed, as the number of further
// moments that vanish plus K − T, so symmetric node sets report their extra
// order.
func New(nodes []float64, order int) (Stencil, error) {
	if s, ok := memo.get(nodes, order); ok {
		return s, nil
	}
	s, err := build(nodes, order)
	if err == nil {
		memo.put(s)
	}
	return s, err
}

// memo keeps the stencils New built: objectives ask for the same few every
// training step, and the exact arithmetic makes each a few dozen big.Rat
// allocations. Stencils are immutable (their accessors return copies), so
// they can be shared. Keys are fixed-size (no allocation to look one up):
// stencils of more than memoNodes nodes are not kept.
var memo = stencilMemo{m: map[memoKey]Stencil{}}

const (
	memoNodes = 8
	memoMax   = 4096
)

type memoKey struct {
	order, n int
	nodes    [memoNodes]float64
}

type stencilMemo struct {
	mu sync.Mutex
	m  map[memoKey]Stencil
}

func keyOf(nodes []float64, order int) (memoKey, bool) {
	k := memoKey{order: order, n: len(nodes)}
	if len(nodes) > memoNodes {
		return k, false
	}
	copy(k.nodes[:], nodes)
	return k, true
}

func (m *stencilMemo) get(nodes []float64, order int) (Stencil, bool) {
	k, ok := keyOf(nodes, order)
	if !ok {
		return Stencil{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[k]
	return s, ok
}

func (m *stencilMemo) put(s Stencil) {
	k, ok := keyOf(s.nodes, s.order)
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.m) < memoMax {
		m.m[k] = s
	}
}

func build(nodes []float64, order int) (Stencil, error) {
	if order < 0 {
		return Stencil{}, fmt.Errorf("fd: negative derivative order %d", order)
	}
	if len(nodes) < order+1 {
		return Stencil{}, fmt.Errorf("fd: %d nodes cannot give a derivative of order %d (need at least %d)", len(nodes), order, order+1)
	}
	g := make([]*big.Rat, len(nodes))
	for i, x := range nodes {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return Stencil{}, fmt.Errorf("fd: node %d is %v", i, x)
		}
		for j := range i {
			if nodes[j] == x { // also catches 0 and -0
				return Stencil{}, fmt.Errorf("fd: duplicate node %v (positions %d and %d)", x, j, i)
			}
		}
		g[i] = new(big.Rat).SetFloat64(x)
	}
	c := fornbergRat(new(big.Rat), g, order)
	s := Stencil{
		nodes:   slices.Clone(nodes),
		weights: make([]float64, len(nodes)),
		rat:     c[order],
		order:   order,
	}
	for i, w := range s.rat {
		s.weights[i], _ = w.Float64()
	}
	s.measureAccuracy(g)
	return s, nil
}

// measureAccuracy checks the defining moments and finds the first nonzero
// moment beyond them. A weighted sum of K powers of distinct nonzero nodes
// cannot vanish for 2K consecutive exponents (split even and odd exponents:
// each is a Vandermonde system in γ²), so scanning t < 3K suffices; if every
// such moment vanishes, all weight sits on node 0 and the stencil is exact.
func (s *Stencil) measureAccuracy(g []*big.Rat) {
	k := len(g)
	pow := make([]*big.Rat, k)
	for i := range pow {
		pow[i] = big.NewRat(1, 1)
	}
	fact := big.NewRat(1, 1) // t!
	m, tmp := new(big.Rat), new(big.Rat)
	for t := 0; t < 3*k; t++ {
		if t > 0 {
			fact.Mul(fact, big.NewRat(int64(t), 1))
			for i := range pow {
				pow[i].Mul(pow[i], g[i])
			}
		}
		m.SetInt64(0)
		for i, w := range s.rat {
			m.Add(m, tmp.Mul(w, pow[i]))
		}
		if t < k {
			want := new(big.Rat)
			if t == s.order {
				want.Set(fact)
			}
			if m.Cmp(want) != 0 {
				// Unreachable for distinct nodes: a guard on the recurrence.
				panic(fmt.Sprintf("fd: internal error: moment %d is %v, want %v", t, m.RatString(), want.RatString()))
			}
			continue
		}
		if m.Sign() != 0 {
			s.accuracy = t - s.order
			s.errConst = new(big.Rat).Quo(m, fact)
			return
		}
	}
	s.accuracy = Exact
	s.errConst = new(big.Rat)
}

// Must returns s and panics if err is not nil. It is meant for stencils whose
// arguments are constants, as in fd.Must(fd.Central(2, 4)).
func Must(s Stencil, err error) Stencil {
	if err != nil {
		panic(err)
	}
	return s
}

// Central returns the symmetric stencil for the order-th derivative with the
// given (even, positive) accuracy order, on integer nodes −p..p. For odd
// orders the weight on node 0 is exactly zero, so that node is left out: it
// would cost a function evaluation and contribute nothing. Order 0 gives the
// trivial stencil on node 0, whose accuracy is Exact.
func Central(order, accuracy int) (Stencil, error) {
	if order < 0 {
		return Stencil{}, fmt.Errorf("fd: negative derivative order %d", order)
	}
	if accuracy < 2 || accuracy%2 != 0 {
		return Stencil{}, fmt.Errorf("fd: central stencils have even accuracy orders ≥ 2, got %d", accuracy)
	}
	// With 2p+1 symmetric nodes the moments vanish up to 2p, and the next odd
	// (even order) or even (odd order) moment vanishes by symmetry too.
	p := (order + accuracy - 1) / 2
	nodes := make([]float64, 0, 2*p+1)
	for i := -p; i <= p; i++ {
		if i != 0 || order%2 == 0 {
			nodes = append(nodes, float64(i))
		}
	}
	return New(nodes, order)
}

// Forward returns the one-sided stencil on nodes 0, 1, …, order+accuracy−1
// (accuracy ≥ 1), for derivatives at the left end of an interval.
func Forward(order, accuracy int) (Stencil, error) {
	nodes, err := oneSided(order, accuracy)
	if err != nil {
		return Stencil{}, err
	}
	return New(nodes, order)
}

// Backward returns the one-sided stencil on nodes −(order+accuracy−1), …, −1, 0
// (accuracy ≥ 1), for derivatives at the right end of an interval.
func Backward(order, accuracy int) (Stencil, error) {
	nodes, err := oneSided(order, accuracy)
	if err != nil {
		return Stencil{}, err
	}
	for i := range nodes {
		nodes[i] = float64(i - len(nodes) + 1)
	}
	return New(nodes, order)
}

// oneSided validates the arguments and returns nodes 0, 1, …, order+accuracy−1.
func oneSided(order, accuracy int) ([]float64, error) {
	if order < 0 {
		return nil, fmt.Errorf("fd: negative derivative order %d", order)
	}
	if accuracy < 1 {
		return nil, fmt.Errorf("fd: one-sided stencils need accuracy order ≥ 1, got %d", accuracy)
	}
	nodes := make([]float64, order+accuracy)
	for i := range nodes {
		nodes[i] = float64(i)
	}
	return nodes, nil
}

// The paper's stencils (Pang et al. 2020, Table of T-th order formulas) and
// the 5-point O(ε⁴) ones. Their weights are exact small rationals.
var (
	// D1 is the first derivative on nodes −1, 1 with weights −½, ½; error ε²·f‴/6.
	D1 = Must(Central(1, 2))
	// D2 is the second derivative on nodes −1, 0, 1 with weights 1, −2, 1; error ε²·f⁗/12.
	D2 = Must(Central(2, 2))
	// D3 is the third derivative on nodes −2, −1, 1, 2 with weights −½, 1, −1, ½.
	D3 = Must(Central(3, 2))
	// D4 is the fourth derivative on nodes −2..2 with weights 1, −4, 6, −4, 1.
	D4 = Must(Central(4, 2))
	// D1Acc4 is the 5-point O(ε⁴) first derivative (nodes ±1, ±2; the centre
	// weight is zero and dropped): weights 1/12, −2/3, 2/3, −1/12.
	D1Acc4 = Must(Central(1, 4))
	// D2Acc4 is the 5-point O(ε⁴) second derivative on nodes −2..2:
	// weights −1/12, 4/3, −5/2, 4/3, −1/12.
	D2Acc4 = Must(Central(2, 4))
)

// Len returns the number of nodes K, the number of function evaluations.
func (s Stencil) Len() int { return len(s.nodes) }

// Order returns the derivative order T.
func (s Stencil) Order() int { return s.order }

// Accuracy returns the accuracy order p: the error of Σ w_i f(x+γ_i h)/h^T
// is O(h^p). It is Exact for the trivial order-0 stencils.
func (s Stencil) Accuracy() int { return s.accuracy }

// Nodes returns a copy of the nodes γ_i.
func (s Stencil) Nodes() []float64 { return slices.Clone(s.nodes) }

// Weights returns a copy of the weights w_i, each the nearest float64 to
// the exact weight.
func (s Stencil) Weights() []float64 { return slices.Clone(s.weights) }

// RatWeights returns copies of the exact weights.
func (s Stencil) RatWeights() []*big.Rat {
	out := make([]*big.Rat, len(s.rat))
	for i, w := range s.rat {
		out[i] = new(big.Rat).Set(w)
	}
	return out
}

// ErrorConstant returns C in the leading error term
// Σ w_i f(x+γ_i h)/h^T − f⁽ᵀ⁾(x) = C·h^p·f⁽ᵀ⁺ᵖ⁾(x) + O(h^{p+1}),
// with p = Accuracy(); C = M_{T+p}/(T+p)! where M_t = Σ w_i γ_i^t.
// It is zero for Exact stencils.
func (s Stencil) ErrorConstant() *big.Rat {
	if s.errConst == nil {
		return new(big.Rat)
	}
	return new(big.Rat).Set(s.errConst)
}

// Moment returns M_t = Σ w_i γ_i^t exactly. By construction M_t = T!·δ_{t,T}
// for t < Len(); the first nonzero moment beyond gives the error term, and
// the ones after it the higher terms of the expansion.
func (s Stencil) Moment(t int) *big.Rat {
	m := new(big.Rat)
	for i, w := range s.rat {
		g := new(big.Rat).SetFloat64(s.nodes[i])
		p := big.NewRat(1, 1)
		for range t {
			p.Mul(p, g)
		}
		m.Add(m, p.Mul(p, w))
	}
	return m
}

// Index returns the position of node gamma, or −1 if it is not a node. Callers
// that combine the per-node evaluations of Evaluate nonlinearly use it to find
// f(x), f(x+v) and f(x−v).
func (s Stencil) Index(gamma float64) int { return slices.Index(s.nodes, gamma) }

// Paper returns the stencil in the form of Pang et al. (2020),
//
//	∂ᵀf/∂uᵀ(x) ≈ scale · Σ_i β_i f(x + γ_i ε u),  scale = T!/ε^T,
//
// so β_i = w_i/T! (rounded once from the exact quotient).
func (s Stencil) Paper(eps float64) (gamma, beta []float64, scale float64) {
	fact := new(big.Rat).SetInt(new(big.Int).MulRange(1, int64(s.order)))
	beta = make([]float64, len(s.rat))
	for i, w := range s.rat {
		beta[i], _ = new(big.Rat).Quo(w, fact).Float64()
	}
	f, _ := fact.Float64()
	return s.Nodes(), beta, f / math.Pow(eps, float64(s.order))
}

// Apply returns the estimate Σ w_i f(x + γ_i h) / h^T of f⁽ᵀ⁾(x) for a scalar
// function, summing in node order.
func (s Stencil) Apply(f func(float64) float64, x, h float64) float64 {
	var sum float64
	for i, g := range s.nodes {
		sum += s.weights[i] * f(x+g*h)
	}
	return sum / math.Pow(h, float64(s.order))
}

// String formats the stencil with its exact weights, for example
// "order 2, accuracy 2: nodes [-1 0 1], weights [1 -2 1]".
func (s Stencil) String() string {
	var b strings.Builder
	acc := fmt.Sprint(s.accuracy)
	if s.accuracy == Exact {
		acc = "exact"
	}
	fmt.Fprintf(&b, "order %d, accuracy %s: nodes %v, weights [", s.order, acc, s.nodes)
	for i, w := range s.rat {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w.RatString())
	}
	b.WriteByte(']')
	return b.String()
}

// Fornberg returns the weights c[k][i] of node i for the derivatives of order
// k = 0..maxOrder at x0, computed in float64 by Fornberg's recurrence
// (B. Fornberg, "Generation of finite difference formulas on arbitrarily
// spaced grids", Math. Comp. 51 (1988) 699–706; the loop is the one in
// SIAM Review 40 (1998) 685–691). Row k uses all nodes, so it is the formula
// of accuracy len(nodes)−k on this node set. The nodes need not be sorted but
// must be distinct; unlike New this works in floating point, so its weights
// carry round-off (a few ulps for the tables' integer nodes).
func Fornberg(x0 float64, nodes []float64, maxOrder int) ([][]float64, error) {
	n := len(nodes)
	if maxOrder < 0 || n == 0 {
		return nil, fmt.Errorf("fd: Fornberg needs nodes and maxOrder ≥ 0, got %d nodes and maxOrder %d", n, maxOrder)
	}
	c := make([][]float64, maxOrder+1)
	for k := range c {
		c[k] = make([]float64, n)
	}
	c[0][0] = 1
	c1, c4 := 1.0, nodes[0]-x0
	for i := 1; i < n; i++ {
		mn := min(i, maxOrder)
		c2, c5 := 1.0, c4
		c4 = nodes[i] - x0
		for j := range i {
			c3 := nodes[i] - nodes[j]
			if c3 == 0 {
				return nil, fmt.Errorf("fd: duplicate node %v (positions %d and %d)", nodes[i], j, i)
			}
			c2 *= c3
			if j == i-1 {
				for k := mn; k >= 1; k-- {
					c[k][i] = c1 * (float64(k)*c[k-1][i-1] - c5*c[k][i-1]) / c2
				}
				c[0][i] = -c1 * c5 * c[0][i-1] / c2
			}
			for k := mn; k >= 1; k-- {
				c[k][j] = (c4*c[k][j] - float64(k)*c[k-1][j]) / c3
			}
			c[0][j] = c4 * c[0][j] / c3
		}
		c1 = c2
	}
	return c, nil
}

// fornbergRat is Fornberg's recurrence in exact rational arithmetic. The
// nodes must be distinct (New checks).
func fornbergRat(x0 *big.Rat, nodes []*big.Rat, maxOrder int) [][]*big.Rat {
	n := len(nodes)
	c := make([][]*big.Rat, maxOrder+1)
	for k := range c {
		c[k] = make([]*big.Rat, n)
		for i := range c[k] {
			c[k][i] = new(big.Rat)
		}
	}
	c[0][0].SetInt64(1)
	c1 := big.NewRat(1, 1)
	c4 := new(big.Rat).Sub(nodes[0], x0)
	c2, c3, c5 := new(big.Rat), new(big.Rat), new(big.Rat)
	t, u, kr := new(big.Rat), new(big.Rat), new(big.Rat)
	for i := 1; i < n; i++ {
		mn := min(i, maxOrder)
		c2.SetInt64(1)
		c5.Set(c4)
		c4.Sub(nodes[i], x0)
		for j := range i {
			c3.Sub(nodes[i], nodes[j])
			c2.Mul(c2, c3)
			if j == i-1 {
				for k := mn; k >= 1; k-- {
					kr.SetInt64(int64(k))
					t.Mul(kr, c[k-1][i-1])
					u.Mul(c5, c[k][i-1])
					t.Sub(t, u)
					t.Mul(t, c1)
					c[k][i].Quo(t, c2)
				}
				t.Mul(c1, c5)
				t.Mul(t, c[0][i-1])
				t.Neg(t)
				c[0][i].Quo(t, c2)
			}
			for k := mn; k >= 1; k-- {
				kr.SetInt64(int64(k))
				t.Mul(c4, c[k][j])
				u.Mul(kr, c[k-1][j])
				t.Sub(t, u)
				c[k][j].Quo(t, c3)
			}
			t.Mul(c4, c[0][j])
			c[0][j].Quo(t, c3)
		}
		c1.Set(c2)
	}
	return c
}
