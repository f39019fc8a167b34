package autodiff

import (
	"slices"

	"github.com/fdsm/fdsm/tensor"
)

// memory is the memory pass of one Grad: everything the reverse walk does
// besides propagating cotangents. The walk calls it at named points (start,
// reach, beforeRule, afterRule, sum, arrive, afterNode, end, returned) and
// it, not the walk, tears the graph down (ReleaseGraph), hands gradients to
// the optimizer (Consume), returns buffers to the pool (recycler, tape) and
// measures (TrackStats). Each part is off unless its option is given (the
// recording tape with CreateGraph), so a plain Grad's pass does nothing. It
// lives in the Grad's scratch, so a call allocates none for it.
type memory struct {
	y     *Value
	xs    []*Value
	isX   map[*Value]bool
	grads map[*Value]*Value // the walk's cotangents, which handovers take from

	release bool
	rec     *recycler // with ReleaseGraph: returns buffers to the pool
	tp      *tape     // the rules' tape: recording (CreateGraph) or releasing
	// consumers counts, per leaf or constant that is not among xs, the
	// nodes still using it (ReleaseGraph).
	consumers map[*Value]int

	consume func(i int, g *Value)
	pending []handover // the handovers, latest position first
	next    int        // pending[next:] are still to make
	handed  []bool     // per xs[i], handed over

	stats            *GradStats
	graph            *graphMeter // bytes the graph still holds (TrackStats)
	live             int64       // bytes of cotangents held
	xsBytes, xgBytes int64       // the xs themselves, and their gradients so far
}

// handover schedules the Consume of xs[j] before the walk reaches node at
// (−1: at the end).
type handover struct{ at, j int }

// start prepares the pass for a walk over nodes (in creation order; needed
// marks those on a path to an x), whose output y has cotangent seed
// (grads[y] when y is needed).
func (m *memory) start(cfg *gradConfig, sc *gradScratch, y, seed *Value, xs, nodes []*Value, needed map[*Value]bool) {
	*m = memory{y: y, xs: xs, isX: sc.isX, grads: sc.grads, release: cfg.release,
		consume: cfg.consume, stats: cfg.stats, consumers: sc.consumers, pending: m.pending[:0], handed: m.handed[:0]}
	if needed[y] {
		m.live = int64(seed.t.Bytes())
	}
	if cfg.createGraph {
		// Constants the recorded rules compute from the seed become the
		// graph's (see tape): a releasing Grad through the recorded graph
		// recycles them.
		m.tp = &tape{keep: true}
		if cfg.seed == nil {
			seed.tape = m.tp
		}
	}
	if m.release {
		m.rec = sc.rec.init(y, seed, xs)
		m.tp = &tape{}
		if needed[y] {
			m.rec.hold(seed.t)
		}
	}
	if m.stats != nil {
		// All of the graph is held unless nodes are released during the walk.
		m.graph = newGraphMeterIn(sc.meter, sc.meterSeen, nil, y)
		m.stats.Nodes = len(nodes)
		m.stats.GraphBytes = m.graph.live
		m.stats.PeakCotangentBytes = m.live
		m.stats.PeakBytes = m.graph.live + m.live
		for x := range m.isX {
			if x.t != nil {
				m.xsBytes += int64(x.t.Bytes())
			}
		}
		m.stats.PeakActivationBytes = max(0, m.graph.live-m.xsBytes+m.live)
	}
	if m.release {
		m.cutUnneeded(sc, nodes, needed)
	}
	m.handed = slices.Grow(m.handed, len(xs))[:len(xs)]
	if m.consume != nil {
		m.schedule(sc, nodes)
	}
}

// cutUnneeded prepares ReleaseGraph. Leaves and constants that are not
// among xs stop being held by the graph once every node that uses them is
// released (the batch, noise and stacked FD inputs an objective builds);
// their tensors are not touched unless Scratch made them the graph's. A node
// on no path to the xs never runs its rule, so the walk needs at most its
// tensor (when a node that does run reads it), never its inputs: they are
// cut now rather than at its turn, which comes last. This frees what built
// the stacked input of an FD objective, for instance, before the walk starts.
func (m *memory) cutUnneeded(sc *gradScratch, nodes []*Value, needed map[*Value]bool) {
	for _, v := range nodes {
		for _, in := range v.inputs {
			if in.prim == nil && !m.isX[in] {
				m.consumers[in]++
			}
		}
	}
	used := sc.used
	used[m.y] = true
	for _, v := range nodes {
		if needed[v] {
			for _, in := range v.inputs {
				used[in] = true
			}
		}
	}
	for _, v := range nodes {
		if needed[v] || v.prim == nil || m.isX[v] {
			continue
		}
		if !used[v] {
			m.releaseNode(v)
			continue
		}
		ins := v.inputs
		v.inputs = nil
		m.unuse(ins)
	}
}

// schedule plans Consume's handovers: xs[j] is final once the walk has
// passed the first (in creation order) of its users.
func (m *memory) schedule(sc *gradScratch, nodes []*Value) {
	first := sc.first
	for idx, v := range nodes {
		for _, in := range v.inputs {
			if _, ok := first[in]; !ok && m.isX[in] {
				first[in] = idx
			}
		}
	}
	for j, x := range m.xs {
		at, ok := first[x]
		if !ok {
			at = -1 // no user: zero, at the end
		}
		m.pending = append(m.pending, handover{at, j})
	}
	slices.SortStableFunc(m.pending, func(a, b handover) int { return b.at - a.at })
}

// reach is called before the walk visits node i: it hands over the
// gradients that are final by then.
func (m *memory) reach(i int) {
	for m.next < len(m.pending) && m.pending[m.next].at > i {
		m.next++
		m.handOver(m.pending[m.next-1])
	}
}

// handOver passes xs[h.j]'s gradient to Consume and, unless the same x is
// handed over again later, drops it.
func (m *memory) handOver(h handover) {
	x := m.xs[h.j]
	g, ok := m.grads[x]
	if !ok {
		g = Const(tensor.ZerosLike(x.t))
	}
	m.handed[h.j] = true
	m.consume(h.j, g)
	if ok && !slices.ContainsFunc(m.pending[m.next:], func(o handover) bool { return m.xs[o.j] == x }) {
		delete(m.grads, x)
		m.live -= int64(g.t.Bytes())
		m.xgBytes -= int64(g.t.Bytes())
		if m.rec != nil {
			m.rec.drop(g.t)
		}
	}
}

// beforeRule is called just before a node's rule runs on g, out and ins:
// what the rule computes from them is recorded on the tape.
func (m *memory) beforeRule(g, out *Value, ins []*Value) {
	if m.rec != nil {
		// First order and releasing: what the rule computes is recorded
		// on the tape, to be recycled in afterNode.
		m.rec.freed = m.rec.freed[:0]
		out.tape, g.tape = m.tp, m.tp
		for _, in := range ins {
			in.tape = m.tp
		}
	}
	if m.tp != nil {
		m.tp.active = true
	}
}

// afterRule is called as soon as the rule returns.
func (m *memory) afterRule() {
	if m.tp != nil {
		m.tp.active = false
	}
}

// sum returns prev + g, the accumulation of a cotangent into an existing
// entry (recorded on a recording Grad's tape), and passes the entry's hold
// from prev to the sum.
func (m *memory) sum(prev, g *Value) *Value {
	if m.tp != nil && m.tp.keep {
		m.tp.active = true
	}
	s := Add(prev, g)
	if m.tp != nil {
		m.tp.active = false
	}
	if m.rec != nil {
		m.rec.hold(s.t)
		m.rec.drop(prev.t)
	}
	return s
}

// arrive records g as in's first cotangent entry.
func (m *memory) arrive(in, g *Value) {
	m.live += int64(g.t.Bytes())
	if m.isX[in] {
		m.xgBytes += int64(g.t.Bytes())
	}
	if m.rec != nil {
		m.rec.hold(g.t)
	}
}

// afterNode is called once the walk is done with node v, whose cotangent g
// (nil when it had none) it no longer holds unless v is an x: the rule's
// temporaries and g go back to the pool, v is released, and the peaks
// sampled.
func (m *memory) afterNode(v, g *Value) {
	if m.rec != nil {
		m.rec.dropTemps(m.tp)
	}
	if g != nil && !m.isX[v] {
		m.live -= int64(g.t.Bytes())
		if m.rec != nil {
			// Only now: the rule's results may be views of g.
			m.rec.drop(g.t)
		}
	}
	m.releaseNode(v)
	if m.stats != nil {
		m.stats.PeakCotangentBytes = max(m.stats.PeakCotangentBytes, m.live)
		m.stats.PeakBytes = max(m.stats.PeakBytes, m.graph.live+m.live)
		m.stats.PeakActivationBytes = max(m.stats.PeakActivationBytes, m.graph.live-m.xsBytes+m.live-m.xgBytes)
	}
}

// releaseNode tears v down (ReleaseGraph): its tensor, aux and links to its
// inputs are dropped, and the leaves only it still used let go. y, the xs
// and leaves are kept.
func (m *memory) releaseNode(v *Value) {
	if !m.release || v == m.y || v.prim == nil || m.isX[v] {
		return
	}
	if m.graph != nil {
		m.graph.drop(v)
	}
	m.unuse(v.inputs)
	if m.rec != nil {
		m.rec.dropNode(v)
	}
	v.t, v.inputs, v.prim, v.params, v.aux = nil, nil, nil, nil, nil
}

// unuse records that a released node no longer uses its inputs.
func (m *memory) unuse(ins []*Value) {
	for _, in := range ins {
		n, ok := m.consumers[in]
		if !ok {
			continue
		}
		m.consumers[in] = n - 1
		if n > 1 {
			continue
		}
		if m.graph != nil {
			m.graph.drop(in)
		}
		if m.rec != nil && in.owned {
			m.rec.drop(in.t)
		}
	}
}

// end is called when the walk is over: y lets go of its inputs
// (ReleaseGraph) and the remaining gradients are handed over.
func (m *memory) end() {
	if m.release {
		m.y.inputs, m.y.prim, m.y.params = nil, nil, nil
	}
	for _, h := range m.pending[m.next:] {
		m.handOver(h)
	}
}

// returned is called with the gradients Grad returns: a recording tape
// ends (see tape.finish).
func (m *memory) returned(out []*Value) {
	if m.tp != nil && m.tp.keep {
		m.tp.finish(out)
	}
}

// clear drops the pass's references for the scratch's next Grad, keeping
// its slices' capacity.
func (m *memory) clear() {
	clear(m.handed[:cap(m.handed)])
	*m = memory{pending: m.pending[:0], handed: m.handed[:0]}
}
