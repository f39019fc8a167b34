// Package freelist keeps released objects for reuse. Unlike a sync.Pool, a
// List is not emptied by the garbage collector: a training step's GEMM plans,
// parallel jobs and backward-pass bookkeeping are then found every step
// instead of being reallocated after each collection (a steady step
// allocates so little that collections are rare, but each one used to cost
// a burst of reallocation).
package freelist

import "sync"

// DefaultMax is the number of objects a List keeps when Max is 0.
const DefaultMax = 64

// List is a bounded, mutex-guarded stack of free objects. The zero List is
// empty and ready to use.
type List[E any] struct {
	// Max bounds the objects kept; beyond it Put drops them. 0 means
	// DefaultMax.
	Max int

	mu    sync.Mutex
	items []E
}

// Get pops a free object, reporting whether there was one.
func (l *List[E]) Get() (e E, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.items); n > 0 {
		e = l.items[n-1]
		var zero E
		l.items[n-1] = zero
		l.items = l.items[:n-1]
		return e, true
	}
	return e, false
}

// Put keeps e for a later Get, unless the list is full.
func (l *List[E]) Put(e E) {
	l.mu.Lock()
	defer l.mu.Unlock()
	max := l.Max
	if max == 0 {
		max = DefaultMax
	}
	if len(l.items) < max {
		l.items = append(l.items, e)
	}
}
