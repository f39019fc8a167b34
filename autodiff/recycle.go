package autodiff

import (
	"unsafe"

	"github.com/fdsm/fdsm/internal/bufpool"
	"github.com/fdsm/fdsm/tensor"
)

// recycler hands back to internal/bufpool, during a Grad with ReleaseGraph,
// the buffers of the intermediate values and cotangents the walk has
// finished with, so that the next step's allocations of the same sizes reuse
// them instead of growing the heap (the garbage collector and first-touch
// page faults cost a training step as much as some of its GEMMs).
//
// A buffer goes back only when nothing can read it again:
//   - it belongs to a node on a path from the xs to y (a node whose rule
//     ran; closures of later-created nodes cannot hold it, and earlier ones
//     are walked after it), or to a cotangent entry of the walk;
//   - no other value reachable from y, and no cotangent still held, shares
//     it (views of one buffer share its end, see bufKey);
//   - it is not pinned: leaves and constants (the caller's data), y, the xs,
//     the seed, the gradients returned or handed over, and any forward
//     buffer a cotangent turns out to share.
type recycler struct {
	holders map[uintptr]int  // values reachable from y, and cotangent entries, holding each buffer
	pinned  map[uintptr]bool // buffers never returned
	forward map[uintptr]bool // buffers of values reachable from y
}

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

// newRecycler counts the holders of every buffer reachable from y and pins
// those of leaves, y, the xs and the seed.
func newRecycler(y, seed *Value, xs []*Value) *recycler {
	r := &recycler{holders: map[uintptr]int{}, pinned: map[uintptr]bool{}, forward: map[uintptr]bool{}}
	seen := map[*Value]bool{}
	stack := []*Value{y}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if v == nil || seen[v] || v.t == nil {
			continue
		}
		seen[v] = true
		if k := bufKey(v.t); k != 0 {
			r.holders[k]++
			r.forward[k] = true
			if v.rule == nil {
				r.pinned[k] = true
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
	r.holders[k]++
}
