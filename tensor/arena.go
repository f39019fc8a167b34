package tensor

import (
	"unsafe"

	"github.com/fdsm/fdsm/internal/kernel/bufpool"
)

// Arena collects tensors that die together, such as the noise, directions
// and shifted inputs an objective draws for one training step, and hands
// their storage back for reuse in one call once the step's backward pass is
// done. Later allocations of the same sizes then reuse that storage instead
// of growing the heap, so a steady training loop makes no garbage.
//
// Only tensors allocated for the arena's owner belong in it: a tensor (or a
// view of its storage) that anything reads after Release would see another
// tensor's numbers. The zero Arena is empty and ready to use; an Arena is
// not safe for concurrent use.
type Arena struct {
	ts []*Tensor
}

// Add records t for release and returns it. A nil t is ignored.
func (a *Arena) Add(t *Tensor) *Tensor {
	if t != nil {
		a.ts = append(a.ts, t)
	}
	return t
}

// Len returns the number of tensors recorded since the last Release.
func (a *Arena) Len() int { return len(a.ts) }

// Release hands the storage of every recorded tensor back for reuse (each
// buffer once, however many of its views were added, from the view that
// reaches furthest back: the tensor it was allocated for, if recorded) and
// empties the arena. The recorded tensors must not be used afterwards.
func (a *Arena) Release() {
	// Views of one buffer share its end; the one with the largest capacity
	// starts earliest.
	widest := make(map[unsafe.Pointer]*Tensor, len(a.ts))
	for i, t := range a.ts {
		a.ts[i] = nil
		p := t.storageEnd()
		if p == nil {
			continue
		}
		if w, ok := widest[p]; !ok || t.storageCap() > w.storageCap() {
			widest[p] = t
		}
	}
	a.ts = a.ts[:0]
	for _, t := range widest {
		t.recycle()
	}
}

// recycle hands t's storage back to the pool: t must own it, and nothing
// may use it afterwards.
func (t *Tensor) recycle() {
	if t.dtype == Float32 {
		bufpool.PutFloat32s(t.f32)
	} else {
		bufpool.PutFloat64s(t.f64)
	}
}

func (t *Tensor) storageCap() int { return max(cap(t.f32), cap(t.f64)) }

// SharesStorage reports whether t and u are views of one buffer (one was
// obtained from the other by Reshape, SliceRows or the like), so that
// writing one, or releasing it to an Arena, affects the other.
func (t *Tensor) SharesStorage(u *Tensor) bool {
	p := t.storageEnd()
	return p != nil && p == u.storageEnd()
}

// storageEnd identifies t's buffer by the address of its last element
// (views keep their capacity to the buffer's end); nil for no storage.
func (t *Tensor) storageEnd() unsafe.Pointer {
	if t.dtype == Float32 {
		if cap(t.f32) == 0 {
			return nil
		}
		return unsafe.Pointer(&t.f32[:cap(t.f32)][cap(t.f32)-1])
	}
	if cap(t.f64) == 0 {
		return nil
	}
	return unsafe.Pointer(&t.f64[:cap(t.f64)][cap(t.f64)-1])
}
