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

	sc := getGradScratch()
	defer putGradScratch(sc)
	isX := sc.isX
	for _, x := range xs {
		isX[x] = true
	}
	// Collect the nodes that depend on a variable and lead to y; walk
	// iteratively so deep graphs cannot overflow the stack.
	nodes := sc.nodes[:0]
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
	// Prune to nodes on a path to some x: inputs come first in id order.
	needed := sc.needed
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

	grads := sc.grads
	var live int64 // bytes of cotangents in grads, when tracking
	if needed[y] {
		grads[y] = seed
		live = int64(seed.t.Bytes())
	}
	var rec *recycler
	var tp *tape
	if cfg.createGraph {
		// Constants the recorded rules compute become the graph's (Scratch):
		// a releasing Grad through the recorded graph recycles them.
		tp = &tape{keep: true}
		if cfg.seed == nil {
			seed.tape = tp
		} else if !seed.grad {
			// The caller's constant seed, in a wrapper of the Grad's own
			// so that what the rules compute from it joins the tape.
			seed = &Value{t: seed.t, id: seed.id, tape: tp}
		}
	}
	if cfg.release {
		rec = sc.rec.init(y, seed, xs)
		tp = &tape{}
		if needed[y] {
			rec.hold(seed.t)
		}
	}
	// graph tracks the bytes the graph holds, for the stats: all of it
	// unless nodes are released during the walk.
	var graph *graphMeter
	var xsBytes, xgBytes int64 // the xs themselves, and their gradients so far
	if cfg.stats != nil {
		graph = newGraphMeterIn(sc.meter, sc.meterSeen, nil, y)
		cfg.stats.Nodes = len(nodes)
		cfg.stats.GraphBytes = graph.live
		cfg.stats.PeakCotangentBytes = live
		cfg.stats.PeakBytes = graph.live + live
		for x := range isX {
			if x.t != nil {
				xsBytes += int64(x.t.Bytes())
			}
		}
		cfg.stats.PeakActivationBytes = max(0, graph.live-xsBytes+live)
	}
	// Leaves and constants that are not among xs stop being held by the
	// graph once every node that uses them is released (the batch, noise and
	// stacked FD inputs an objective builds); their tensors are not touched
	// unless Scratch made them the graph's.
	consumers := sc.consumers
	if cfg.release {
		for _, v := range nodes {
			for _, in := range v.inputs {
				if in.prim == nil && !isX[in] {
					consumers[in]++
				}
			}
		}
	}
	// unuse records that a released node no longer uses its inputs.
	unuse := func(ins []*Value) {
		for _, in := range ins {
			n, ok := consumers[in]
			if !ok {
				continue
			}
			consumers[in] = n - 1
			if n > 1 {
				continue
			}
			if graph != nil {
				graph.drop(in)
			}
			if rec != nil && in.owned {
				rec.drop(in.t)
			}
		}
	}
	release := func(v *Value) {
		if !cfg.release || v == y || v.prim == nil || isX[v] {
			return
		}
		if graph != nil {
			graph.drop(v)
		}
		unuse(v.inputs)
		if rec != nil {
			rec.dropNode(v)
		}
		v.t, v.inputs, v.prim, v.params, v.aux = nil, nil, nil, nil, nil
	}
	if cfg.release {
		// A node on no path to the xs never runs its rule, so the walk needs
		// at most its tensor (when a node that does run reads it), never its
		// inputs: cut them now rather than at its turn, which comes last.
		// This frees what built the stacked input of an FD objective, for
		// instance, before the walk starts.
		used := sc.used
		used[y] = true
		for _, v := range nodes {
			if needed[v] {
				for _, in := range v.inputs {
					used[in] = true
				}
			}
		}
		for _, v := range nodes {
			if needed[v] || v.prim == nil || isX[v] {
				continue
			}
			if !used[v] {
				release(v)
				continue
			}
			ins := v.inputs
			v.inputs = nil
			unuse(ins)
		}
	}
	// With Consume, xs[j] is final once the walk has passed the first (in id
	// order) of its users: lastUse orders the handovers.
	type handover struct{ at, j int }
	var pending []handover
	if cfg.consume != nil {
		first := sc.first
		for idx, v := range nodes {
			for _, in := range v.inputs {
				if _, ok := first[in]; !ok && isX[in] {
					first[in] = idx
				}
			}
		}
		for j, x := range xs {
			at, ok := first[x]
			if !ok {
				at = -1 // no user: zero, at the end
			}
			pending = append(pending, handover{at, j})
		}
		slices.SortStableFunc(pending, func(a, b handover) int { return b.at - a.at })
	}
	handed := make([]bool, len(xs))
	handOver := func(h handover) {
		x := xs[h.j]
		g, ok := grads[x]
		if !ok {
			g = Const(tensor.ZerosLike(x.t))
		}
		handed[h.j] = true
		cfg.consume(h.j, g)
		if ok && !slices.ContainsFunc(pending, func(o handover) bool { return xs[o.j] == x }) {
			delete(grads, x)
			live -= int64(g.t.Bytes())
			xgBytes -= int64(g.t.Bytes())
			if rec != nil {
				rec.drop(g.t)
			}
		}
	}
	for i := len(nodes) - 1; i >= 0; i-- {
		for len(pending) > 0 && pending[0].at > i {
			h := pending[0]
			pending = pending[1:]
			handOver(h)
		}
		v := nodes[i]
		g, ok := grads[v]
		if !ok || v.prim == nil {
			release(v)
			continue
		}
		if !isX[v] {
			delete(grads, v) // no longer needed: let it be collected
			live -= int64(g.t.Bytes())
		}
		// g goes back to the pool once the rule's results are held (they
		// may be views of g).
		dropG := func() {
			if rec != nil && !isX[v] {
				rec.drop(g.t)
			}
		}
		need := sc.need[:0]
		for range v.inputs {
			need = append(need, false)
		}
		sc.need = need
		anyNeed := false
		for j, in := range v.inputs {
			need[j] = needed[in]
			anyNeed = anyNeed || need[j]
		}
		if !anyNeed {
			dropG()
			release(v)
			continue
		}
		out, ins := v, v.inputs
		if !cfg.createGraph {
			// Detached copies, reused from node to node (a rule returns new
			// values, not its arguments; wrap checks).
			out = sc.wrap(0, v.t)
			ins = sc.ins[:0]
			for j, in := range v.inputs {
				ins = append(ins, sc.wrap(j+1, in.t))
			}
			sc.ins = ins
		}
		if rec != nil {
			// First order and releasing: what the rule computes is recorded
			// on the tape, to be recycled below.
			rec.freed = rec.freed[:0]
			out.tape, g.tape = tp, tp
			for _, in := range ins {
				in.tape = tp
			}
		}
		if tp != nil {
			tp.active = true
		}
		gin := v.prim.vjp(v.params, g, out, ins, need)
		if tp != nil {
			tp.active = false
		}
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
				if tp != nil && tp.keep {
					tp.active = true
				}
				sum := Add(prev, gin[j])
				if tp != nil {
					tp.active = false
				}
				grads[in] = sum
				if rec != nil {
					rec.hold(sum.t)
					rec.drop(prev.t)
				}
			} else {
				grads[in] = gin[j]
				live += int64(gin[j].t.Bytes())
				if isX[in] {
					xgBytes += int64(gin[j].t.Bytes())
				}
				if rec != nil {
					rec.hold(gin[j].t)
				}
			}
		}
		if rec != nil {
			rec.dropTemps(tp)
		}
		dropG()
		release(v)
		if cfg.stats != nil {
			cfg.stats.PeakCotangentBytes = max(cfg.stats.PeakCotangentBytes, live)
			cfg.stats.PeakBytes = max(cfg.stats.PeakBytes, graph.live+live)
			cfg.stats.PeakActivationBytes = max(cfg.stats.PeakActivationBytes, graph.live-xsBytes+live-xgBytes)
		}
	}
	if cfg.release {
		y.inputs, y.prim, y.params = nil, nil, nil
	}
	for _, h := range pending {
		handOver(h)
	}
	out := make([]*Value, len(xs))
	for i, x := range xs {
		if handed[i] {
			continue
		}
		if g, ok := grads[x]; ok {
			out[i] = g
		} else {
			out[i] = Const(tensor.ZerosLike(x.t))
		}
	}
	if tp != nil && tp.keep {
		tp.finish(out)
	}
	return out
}

// GradT is Grad for a single x, returning the gradient's tensor: the common
// first-order use.
func GradT(y, x *Value, opts ...Option) *tensor.Tensor {
	return Grad(y, []*Value{x}, opts...)[0].t
}
