package autodiff

import (
	"slices"
	"unsafe"

	"github.com/fdsm/fdsm/internal/kernel/bufpool"
	"github.com/fdsm/fdsm/internal/kernel/freelist"
	"github.com/fdsm/fdsm/tensor"
)

// recycler hands back to internal/kernel/bufpool, during a Grad with ReleaseGraph,
// the buffers of the intermediate values and cotangents the walk has
// finished with, so that the next step's allocations of the same sizes reuse
// them instead of growing the heap (the garbage collector and first-touch
// page faults cost a training step as much as some of its GEMMs).
//
// A buffer goes back only when nothing can read it again:
//   - it belongs to a node of y's graph that the walk has released (rules
//     read only their arguments and their node's aux, and every later
//     node's rule has run by then), or to a cotangent entry of the walk;
//   - no other value reachable from y, and no cotangent still held, shares
//     it (views of one buffer share its end, see bufKey);
//   - it is not pinned: leaves and constants (the caller's data) unless made
//     by Scratch, y, the xs, the seed, the gradients returned or handed
//     over, and any forward buffer a cotangent turns out to share.
//
// Besides the nodes' values it recycles the aux tensors their rules keep,
// Scratch constants once their last user is released, and the temporaries a
// rule computes (see tape).
type recycler struct {
	holders map[uintptr]int  // values reachable from y, and cotangent entries, holding each buffer
	pinned  map[uintptr]bool // buffers never returned
	forward map[uintptr]bool // buffers of values reachable from y, until returned
	seen    map[*Value]bool  // init's walk
	stack   []*Value
	widest  map[uintptr]*tensor.Tensor // per buffer, the view reaching furthest back
	freed   []uintptr                  // buffers returned since the current rule started
}

// tape collects, while a releasing Grad runs one rule, the values the rule
// computes into fresh storage. The walk is first order there, so they are
// constants that only the rule has seen: once it returns, those that are
// not (views of) its results go back to the pool. Values inherit the tape
// from their inputs while it is active, so a rule needs no plumbing; a rule
// that wraps a tensor it computed in a constant uses temp.
//
// A recording Grad (CreateGraph) keeps a tape too (keep): the constants its
// rules compute from the cotangents (a cotangent that does not depend on a
// variable, such as the seed's broadcasts) become inputs of the recorded
// graph, and are marked as the graph's like Scratch constants, so that the
// releasing Grad at the end of the step recycles them. Those returned as
// gradients are the caller's and stay unmarked, and those no recorded node
// uses are dead once the Grad returns and go back to the pool (finish).
// Delta's interpreter keeps such a tape as well (deltaRun).
type tape struct {
	active bool
	keep   bool
	temps  []*Value
	nodes  []*Value // recorded nodes made by the rules, on a recording Grad's tape
}

// record marks v, computed by an operation on inputs while the tape is
// active, as the tape's, and as a temporary when its storage is fresh (not a
// view of an input) and, on a recording Grad's tape, constant.
func (tp *tape) record(v *Value, inputs ...*Value) {
	v.tape = tp
	if tp.keep && v.grad {
		tp.nodes = append(tp.nodes, v)
		return
	}
	k := bufKey(v.t)
	if k == 0 {
		return
	}
	for _, in := range inputs {
		if bufKey(in.t) == k {
			return
		}
	}
	v.owned = true
	tp.temps = append(tp.temps, v)
}

// temp is the one way a rule turns a tensor it computed with a kernel (a
// mask, a zero, a fused first-order kernel's result) into a value: a
// constant that, when the rule runs on a tape (ref, a value the rule was
// given, is on an active tape: a releasing or recording Grad's, or
// Delta's), is the rule's temporary, owned by the tape. A releasing Grad's
// tape recycles it when the rule returns unless a result shares it; a
// recording Grad's or Delta's makes it the graph's if a node recorded by
// the rules uses it and recycles it otherwise when the Grad or Delta
// returns. Without a tape (a plain first-order Grad) it is an ordinary
// constant. The operations record what a rule computes from such values in
// the same way, so a rule never hands a buffer to the pool itself.
func temp(ref *Value, t *tensor.Tensor) *Value {
	v := Const(t)
	if ref.tape != nil && ref.tape.active {
		ref.tape.record(v, ref)
	}
	return v
}

// constOn returns v's tensor as a constant on ref's tape (if ref is on an
// active one): what a rule computes from it with operations (masks, say)
// is then the tape's, as temp's results are, while v's storage stays v's.
func constOn(ref, v *Value) *Value {
	c := Const(v.t)
	if ref.tape != nil && ref.tape.active {
		c.tape = ref.tape
	}
	return c
}

// positive returns the constant mask [v > 0] (1 where v > 0, else 0), a
// temporary of the rule running on v (see temp). A mask's derivative is
// zero almost everywhere, so a rule may treat it as a constant.
func positive(v *Value) *Value { return temp(v, tensor.GreaterScalar(v.t, 0)) }

// bufKey identifies the buffer t's storage lies in by the address of the
// buffer's last element: every view (Reshape, SliceRows) keeps its slice's
// capacity to the end of the buffer. 0 for empty storage.
func bufKey(t *tensor.Tensor) uintptr {
	if t == nil {
		return 0
	}
	if t.DType() == tensor.Float32 {
		s := t.Float32s()
		if cap(s) == 0 {
			return 0
		}
		return uintptr(unsafe.Pointer(&s[:cap(s)][cap(s)-1]))
	}
	s := t.Float64s()
	if cap(s) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(&s[:cap(s)][cap(s)-1]))
}

// init counts the holders of every buffer reachable from y and pins those
// of leaves, y, the xs and the seed. r's maps are empty (gradScratch).
func (r *recycler) init(y, seed *Value, xs []*Value) *recycler {
	seen := r.seen
	stack := append(r.stack[:0], y)
	defer func() { r.stack = stack }()
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if v == nil || seen[v] || v.t == nil {
			continue
		}
		seen[v] = true
		if k := r.count(v.t); k != 0 {
			r.forward[k] = true
			if v.prim == nil && !v.owned {
				r.pinned[k] = true
			}
		}
		if v.aux != nil {
			for _, t := range v.aux.tensors() {
				r.forward[r.count(t)] = true
			}
		}
		stack = append(stack, v.inputs...)
	}
	r.pin(y.t)
	r.pin(seed.t)
	for _, x := range xs {
		r.pin(x.t)
	}
	return r
}

// count records one more holder of t's buffer, and returns its key.
func (r *recycler) count(t *tensor.Tensor) uintptr {
	k := bufKey(t)
	if k == 0 {
		return 0
	}
	r.holders[k]++
	if w := r.widest[k]; w == nil || storageCap(t) > storageCap(w) {
		r.widest[k] = t
	}
	return k
}

// storageCap is the capacity of t's storage: the larger, the further back
// the view starts in its buffer.
func storageCap(t *tensor.Tensor) int {
	if t.DType() == tensor.Float32 {
		return cap(t.Float32s())
	}
	return cap(t.Float64s())
}

func (r *recycler) pin(t *tensor.Tensor) {
	if k := bufKey(t); k != 0 {
		r.pinned[k] = true
	}
}

// drop records that one holder of t's buffer let go, and returns the buffer
// to the pool when it was the last and the buffer may go.
func (r *recycler) drop(t *tensor.Tensor) {
	k := bufKey(t)
	if k == 0 {
		return
	}
	n := r.holders[k] - 1
	if n > 0 {
		r.holders[k] = n
		return
	}
	delete(r.holders, k)
	if r.pinned[k] {
		return
	}
	r.put(k, t)
}

// put returns t's buffer, keyed k, to the pool, from the widest view of it
// seen (a view's storage runs from its first element to the buffer's end).
func (r *recycler) put(k uintptr, t *tensor.Tensor) {
	if w := r.widest[k]; w != nil && storageCap(w) > storageCap(t) {
		t = w
	}
	delete(r.widest, k)
	delete(r.forward, k) // a later allocation may reuse it for anything
	r.freed = append(r.freed, k)
	putBuffer(t)
}

// putBuffer hands t's storage back to the pool: t must be the only tensor
// on it, and unused from now on.
func putBuffer(t *tensor.Tensor) {
	if t.DType() == tensor.Float32 {
		bufpool.PutFloat32s(t.Float32s())
	} else {
		bufpool.PutFloat64s(t.Float64s())
	}
}

// hold records a cotangent entry holding t's buffer. A cotangent that shares
// a forward value's buffer (a rule that returned an input) pins it.
func (r *recycler) hold(t *tensor.Tensor) {
	k := bufKey(t)
	if k == 0 {
		return
	}
	if r.forward[k] {
		r.pinned[k] = true
	}
	r.count(t)
}

// dropNode lets go of what a released node held: its value and its aux.
func (r *recycler) dropNode(v *Value) {
	r.drop(v.t)
	if v.aux != nil {
		for _, t := range v.aux.tensors() {
			r.drop(t)
		}
	}
}

// dropTemps returns the temporaries tp recorded during one rule whose
// storage nothing holds: not a cotangent the rule returned (those were
// held first), not a forward value, not pinned, and not already returned
// (a cotangent summed into an earlier one of the same rule).
func (r *recycler) dropTemps(tp *tape) {
	for i, v := range tp.temps {
		tp.temps[i] = nil
		k := bufKey(v.t)
		if k == 0 || r.holders[k] > 0 || r.pinned[k] || r.forward[k] || slices.Contains(r.freed, k) {
			continue
		}
		r.put(k, v.t)
		v.t = nil // a stray read fails loudly instead of seeing reused storage
	}
	tp.temps = tp.temps[:0]
	r.freed = r.freed[:0]
}

// finish ends a recording Grad's tape, whose gradients are out: constants
// sharing storage with out are the caller's (unmarked); those no recorded
// node made by the rules uses, and out does not share, are dead (the
// cotangents the walk summed or passed on, broadcasts of the seed): their
// storage goes back to the pool.
func (tp *tape) finish(out []*Value) {
	used := map[uintptr]bool{}
	for _, n := range tp.nodes {
		for _, in := range n.inputs {
			used[bufKey(in.t)] = true
		}
	}
	returned := map[uintptr]bool{}
	for _, o := range out {
		if o != nil {
			returned[bufKey(o.t)] = true
		}
	}
	for _, v := range tp.temps {
		k := bufKey(v.t)
		switch {
		case returned[k]:
			v.owned = false
		case !used[k] && k != 0:
			used[k] = true // once
			putBuffer(v.t)
			v.t = nil
		}
	}
	tp.temps, tp.nodes, tp.active = nil, nil, false
}

// releaseDead releases the nodes among own (what Delta made) that the
// roots reach and none of live reaches: their tensors and aux go back to
// the pool unless a value still reachable, or an input from outside own,
// shares the storage, and the nodes are emptied (a stray use panics
// instead of reading reused storage).
func releaseDead(roots []*Value, own map[*Value]bool, live ...*Value) {
	sc := getGradScratch() // for its maps
	defer putGradScratch(sc)
	// Buffers still in use: those of every value the results reach, and
	// every input of those values.
	keep := sc.keys
	seen := sc.seen
	stack := append(sc.stack[:0], live...)
	defer func() { sc.stack = stack }()
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if v == nil || seen[v] {
			continue
		}
		seen[v] = true
		keep[bufKey(v.t)] = true
		if v.aux != nil {
			for _, t := range v.aux.tensors() {
				keep[bufKey(t)] = true
			}
		}
		for _, in := range v.inputs {
			if own[in] {
				stack = append(stack, in)
			} else {
				keep[bufKey(in.t)] = true
			}
		}
	}
	// The dead: the nodes the roots reach and the results do not. Their
	// inputs from outside own are kept too (views of a parameter, say).
	dead := sc.nodes[:0]
	defer func() { sc.nodes = dead }()
	stack = append(stack[:0], roots...)
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[v] || !own[v] || v.prim == nil {
			continue
		}
		seen[v] = true
		dead = append(dead, v)
		for _, in := range v.inputs {
			if !own[in] || in.prim == nil {
				keep[bufKey(in.t)] = true
			}
			stack = append(stack, in)
		}
	}
	free := sc.bufs // per buffer, its widest dead view
	add := func(t *tensor.Tensor) {
		if k := bufKey(t); k != 0 && !keep[k] {
			if w := free[k]; w == nil || storageCap(t) > storageCap(w) {
				free[k] = t
			}
		}
	}
	for _, v := range dead {
		add(v.t)
		if v.aux != nil {
			for _, t := range v.aux.tensors() {
				add(t)
			}
		}
		v.t, v.inputs, v.prim, v.params, v.aux = nil, nil, nil, nil, nil
	}
	for _, t := range free {
		putBuffer(t)
	}
}

// gradScratch is a Grad call's bookkeeping: its maps and slices are kept
// for the next call (a training step's backward passes would otherwise
// rebuild them, as garbage, every step).
type gradScratch struct {
	isX, seen, needed, used map[*Value]bool
	grads                   map[*Value]*Value
	consumers, first        map[*Value]int
	nodes, stack, ins       []*Value
	need                    []bool
	wraps                   []*Value // detached copies handed to rules, by argument position
	rec                     recycler
	keys                    map[uintptr]bool           // releaseDead's kept buffers
	bufs                    map[uintptr]*tensor.Tensor // releaseDead's freed ones
	meter                   map[uintptr]int            // the graph meter's holders (TrackStats)
	meterSeen               map[*Value]bool            // and its walk's
	mem                     memory                     // the memory pass
}

var gradScratches = freelist.List[*gradScratch]{Max: 16}

func getGradScratch() *gradScratch {
	if sc, ok := gradScratches.Get(); ok {
		return sc
	}
	return &gradScratch{
		isX: map[*Value]bool{}, seen: map[*Value]bool{}, needed: map[*Value]bool{}, used: map[*Value]bool{},
		grads: map[*Value]*Value{}, consumers: map[*Value]int{}, first: map[*Value]int{},
		keys: map[uintptr]bool{}, bufs: map[uintptr]*tensor.Tensor{}, meter: map[uintptr]int{}, meterSeen: map[*Value]bool{},
		rec: recycler{holders: map[uintptr]int{}, pinned: map[uintptr]bool{}, forward: map[uintptr]bool{},
			widest: map[uintptr]*tensor.Tensor{}, seen: map[*Value]bool{}},
	}
}

// putGradScratch empties sc, keeping its capacity, for the next Grad.
func putGradScratch(sc *gradScratch) {
	for _, m := range []map[*Value]bool{sc.isX, sc.seen, sc.needed, sc.used, sc.rec.seen, sc.meterSeen} {
		clear(m)
	}
	clear(sc.grads)
	clear(sc.keys)
	clear(sc.bufs)
	clear(sc.meter)
	clear(sc.consumers)
	clear(sc.first)
	clear(sc.rec.holders)
	clear(sc.rec.pinned)
	clear(sc.rec.forward)
	clear(sc.rec.widest)
	for _, s := range [][]*Value{sc.nodes, sc.stack, sc.ins, sc.rec.stack} {
		clear(s[:cap(s)])
	}
	for _, w := range sc.wraps {
		w.t, w.tape = nil, nil
	}
	sc.rec.freed = sc.rec.freed[:0]
	sc.mem.clear()
	gradScratches.Put(sc)
}

// wrap returns a constant holding t for argument position i of a rule,
// reusing the one of the previous node.
func (sc *gradScratch) wrap(i int, t *tensor.Tensor) *Value {
	for len(sc.wraps) <= i {
		sc.wraps = append(sc.wraps, nil)
	}
	w := sc.wraps[i]
	if w == nil {
		w = &Value{}
		sc.wraps[i] = w
	}
	w.t, w.id, w.tape = t, ids.Add(1), nil
	return w
}

// detached returns detached copies of v and its inputs for v's rule, in
// the first-order walk, where the rule must record nothing.
func (sc *gradScratch) detached(v *Value) (out *Value, ins []*Value) {
	out = sc.wrap(0, v.t)
	ins = sc.ins[:0]
	for j, in := range v.inputs {
		ins = append(ins, sc.wrap(j+1, in.t))
	}
	sc.ins = ins
	return out, ins
}

// unwrap retires the copies a rule returned among its results (an identity
// rule may hand an argument back): they live on as cotangents.
func (sc *gradScratch) unwrap(gin []*Value) {
	for _, g := range gin {
		if g == nil {
			continue
		}
		for i, w := range sc.wraps {
			if g == w {
				sc.wraps[i] = nil
			}
		}
	}
}
