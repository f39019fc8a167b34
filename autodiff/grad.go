package autodiff

import (
	"fmt"
	"slices"

	"github.com/fdsm/fdsm/tensor"
)

type gradConfig struct {
	createGraph bool
	seed        *Value
	stats       *GradStats
	release     bool
	consume     func(i int, g *Value)
}

// Option configures Grad.
type Option func(*gradConfig)

// CreateGraph makes Grad record the backward pass itself, so that the
// returned gradients can be differentiated again (gradients of gradients, to
// any order). Without it, Grad runs every rule on detached values and records
// nothing: the cheap first-order mode.
func CreateGraph() Option { return func(c *gradConfig) { c.createGraph = true } }

// ReleaseGraph makes Grad tear the graph down as it walks it: once a node's
// rule has run, its tensor and its links to its inputs are dropped, so the
// memory of the forward pass (and of any recorded backward pass) can be
// reclaimed during the backward pass instead of after it, as PyTorch does
// without retain_graph. Variables, constants and y's own tensor are kept.
// Afterwards the intermediate values between y and xs must not be used
// again (their T is nil, and their storage, like that of the cotangents,
// is handed back for reuse by later allocations: tensors obtained from
// them by T() before the call must not be read after it); it is meant for
// the last backward pass of a training step. It cannot be combined with
// CreateGraph.
func ReleaseGraph() Option { return func(c *gradConfig) { c.release = true } }

// Consume makes Grad hand the gradient of xs[i] to fn(i, g) as soon as it
// is final, that is once every node that uses xs[i] has run its rule, and
// then drop it: Grad returns nil in its place. Gradients of xs that y does
// not depend on are handed over, zero, at the end. fn runs on Grad's
// goroutine, in the order the gradients become final, and may update xs[i]'s
// tensor in place: no rule reads it afterwards. A training step passes its
// optimizer update, so that the parameters' gradients are not all alive at
// once (PyTorch's optimizer-in-backward hooks). With ReleaseGraph, g's
// storage is reused once fn returns, so fn must not keep g. It cannot be
// combined with CreateGraph.
func Consume(fn func(i int, g *Value)) Option { return func(c *gradConfig) { c.consume = fn } }

// WithSeed sets the output cotangent (the "v" of a vector-Jacobian product
// vᵀ∂y/∂x). It must have y's shape. Without it, y must hold a single element
// and the seed is 1.
func WithSeed(g *Value) Option { return func(c *gradConfig) { c.seed = g } }

// Grad returns ∂y/∂x for each x in xs (contracted with the seed, see
// WithSeed), as new values of the shapes of xs. A gradient with respect to a
// value y does not depend on is zero. Nothing is stored in the graph, so Grad
// can be called any number of times, from any goroutine, on graphs that are
// not being extended concurrently.
func Grad(y *Value, xs []*Value, opts ...Option) []*Value {
	cfg, seed := configure(y, opts)
	sc := getGradScratch()
	defer putGradScratch(sc)
	nodes, needed := sc.order(y, xs)
	grads, isX := sc.grads, sc.isX
	if needed[y] {
		grads[y] = seed
	}
	// The walk only propagates cotangents, as autograd's backward_pass
	// does; m, the memory pass (memory.go), releases, hands over, recycles
	// and measures at the points the walk calls it.
	m := &sc.mem
	m.start(&cfg, sc, y, seed, xs, nodes, needed)
	for i := len(nodes) - 1; i >= 0; i-- {
		m.reach(i)
		v := nodes[i]
		g, ok := grads[v]
		if !ok || v.prim == nil {
			m.afterNode(v, nil)
			continue
		}
		if !isX[v] {
			delete(grads, v) // passed on below
		}
		if need := sc.needs(v, needed); need != nil {
			out, ins := v, v.inputs
			if !cfg.createGraph {
				out, ins = sc.detached(v)
			}
			m.beforeRule(g, out, ins)
			gin := v.prim.vjp(v.params, g, out, ins, need)
			m.afterRule()
			if !cfg.createGraph {
				sc.unwrap(gin)
			}
			for j, in := range v.inputs {
				if !need[j] || gin[j] == nil {
					continue
				}
				if !gin[j].t.SameShape(in.t) {
					panic(fmt.Sprintf("autodiff: internal error: cotangent shape %v for input shape %v", gin[j].t.Shape(), in.t.Shape()))
				}
				if prev, ok := grads[in]; ok {
					grads[in] = m.sum(prev, gin[j])
				} else {
					grads[in] = gin[j]
					m.arrive(in, gin[j])
				}
			}
		}
		m.afterNode(v, g)
	}
	m.end()
	out := make([]*Value, len(xs))
	for i, x := range xs {
		if m.handed[i] {
			continue
		}
		if g, ok := grads[x]; ok {
			out[i] = g
		} else {
			out[i] = Const(tensor.ZerosLike(x.t))
		}
	}
	m.returned(out)
	return out
}

// configure reads Grad's options and returns them with the output
// cotangent, detached in first order.
func configure(y *Value, opts []Option) (gradConfig, *Value) {
	var cfg gradConfig
	for _, o := range opts {
		o(&cfg)
	}
	seed := cfg.seed
	if seed == nil {
		if y.Len() != 1 {
			panic(fmt.Sprintf("autodiff: Grad of a non-scalar value of shape %v needs WithSeed", y.t.Shape()))
		}
		seed = Const(tensor.OnesLike(y.t))
	} else if !seed.t.SameShape(y.t) || seed.DType() != y.DType() {
		panic(fmt.Sprintf("autodiff: Grad seed %v %v does not match output %v %v",
			seed.DType(), seed.t.Shape(), y.DType(), y.t.Shape()))
	}
	if !cfg.createGraph {
		seed = Detach(seed)
	}
	if cfg.release && cfg.createGraph {
		panic("autodiff: Grad with both ReleaseGraph and CreateGraph (a recorded backward pass needs the graph it releases)")
	}
	if cfg.consume != nil && cfg.createGraph {
		panic("autodiff: Grad with both Consume and CreateGraph (a consumed gradient cannot be differentiated again)")
	}
	return cfg, seed
}

// order returns the nodes that depend on a variable and lead to y, in
// creation order (a topological order: inputs first), and marks as needed
// those on a path to some x. It walks iteratively so that deep graphs
// cannot overflow the stack.
func (sc *gradScratch) order(y *Value, xs []*Value) (nodes []*Value, needed map[*Value]bool) {
	isX := sc.isX
	for _, x := range xs {
		isX[x] = true
	}
	nodes = sc.nodes[:0]
	seen := sc.seen
	if y.grad {
		stack := append(sc.stack[:0], y)
		seen[y] = true
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			nodes = append(nodes, v)
			for _, in := range v.inputs {
				if in.grad && !seen[in] {
					seen[in] = true
					stack = append(stack, in)
				}
			}
		}
		sc.stack = stack
	}
	sc.nodes = nodes
	slices.SortFunc(nodes, func(a, b *Value) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	needed = sc.needed
	for _, v := range nodes {
		if isX[v] {
			needed[v] = true
			continue
		}
		for _, in := range v.inputs {
			if needed[in] {
				needed[v] = true
				break
			}
		}
	}
	return nodes, needed
}

// needs returns which of v's inputs want a cotangent, or nil when none
// does (the slice is reused from node to node).
func (sc *gradScratch) needs(v *Value, needed map[*Value]bool) []bool {
	need := sc.need[:0]
	anyNeed := false
	for _, in := range v.inputs {
		need = append(need, needed[in])
		anyNeed = anyNeed || needed[in]
	}
	sc.need = need
	if !anyNeed {
		return nil
	}
	return need
}

// GradT is Grad for a single x, returning the gradient's tensor: the common
// first-order use.
func GradT(y, x *Value, opts ...Option) *tensor.Tensor {
	return Grad(y, []*Value{x}, opts...)[0].t
}
