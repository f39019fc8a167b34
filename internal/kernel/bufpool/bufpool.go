// Package bufpool recycles the float buffers of tensors that a training step
// allocates and drops every step: autodiff.Grad with ReleaseGraph hands back
// the storage of the values it tears down, tensor.Arena that of what a step
// draws, and the tensor package takes its next allocations of the same size
// from here, so a steady step allocates almost nothing from the heap and
// the garbage collector and first-touch page faults stay out of the way.
//
// Buffers are bucketed by exact length (a step's shapes recur every step)
// and returned zeroed. The pool holds up to MaxBytes in all; to make room it
// drops the buckets whose length was asked for least recently (the shapes of
// a model no longer trained), and a buffer larger than the limit is left to
// the garbage collector. Only buffers of at least MinLen elements are
// pooled: smaller ones are cheap to allocate.
//
// A buffer must be returned only when nothing refers to it any more: the
// pool cannot check, and a buffer still in use would be overwritten by its
// next owner. Tests can poison the pool (SetPoison) to catch that.
package bufpool

import (
	"math"
	"sync"
	"sync/atomic"
	"unsafe"
)

const (
	// MinLen is the smallest length pooled.
	MinLen = 1 << 4
	// MaxBytes bounds the bytes held for reuse: twice the working set of
	// the largest benchmark step (a 3-block ResNet's SSM, about 480 MB).
	MaxBytes = 1 << 30
)

// bucket holds the free buffers of one length.
type bucket[T float32 | float64] struct {
	bufs [][]T
	last uint64 // clock at the last get of this length
}

type pool[T float32 | float64] map[int]*bucket[T]

var (
	mu       sync.Mutex // guards everything below
	f32      = pool[float32]{}
	f64      = pool[float64]{}
	held     int64
	clock    uint64
	maxBytes int64 = MaxBytes // lowered by tests
)

// Float32s returns a zeroed slice of length n, recycled when one is held.
func Float32s(n int) []float32 { return get(f32, n) }

// Float64s returns a zeroed slice of length n, recycled when one is held.
func Float64s(n int) []float64 { return get(f64, n) }

// Float32sUninit is Float32s for a caller that writes every element: a
// recycled buffer is not cleared (with the pool poisoned, any buffer comes
// filled with NaN, so that an element left unwritten shows).
func Float32sUninit(n int) []float32 { return getUninit(f32, n) }

// Float64sUninit is Float64s for a caller that writes every element.
func Float64sUninit(n int) []float64 { return getUninit(f64, n) }

// PutFloat32s hands s's whole backing array (s[:cap(s)]) back for reuse.
func PutFloat32s(s []float32) { put(f32, s) }

// PutFloat64s hands s's whole backing array (s[:cap(s)]) back for reuse.
func PutFloat64s(s []float64) { put(f64, s) }

func get[T float32 | float64](p pool[T], n int) []T {
	s, recycled := take(p, n)
	if recycled {
		clear(s)
	}
	return s
}

func getUninit[T float32 | float64](p pool[T], n int) []T {
	s, _ := take(p, n)
	if poison.Load() {
		nan := T(math.NaN())
		for i := range s {
			s[i] = nan
		}
	}
	return s
}

// take returns a held buffer of length n (recycled, its contents stale) or
// a new zeroed one.
func take[T float32 | float64](p pool[T], n int) (s []T, recycled bool) {
	if n >= MinLen {
		mu.Lock()
		clock++
		b := p[n]
		if b == nil {
			b = &bucket[T]{}
			p[n] = b
		}
		b.last = clock
		if l := len(b.bufs); l > 0 {
			s := b.bufs[l-1]
			b.bufs[l-1] = nil
			b.bufs = b.bufs[:l-1]
			held -= bytes(s)
			mu.Unlock()
			return s, true
		}
		mu.Unlock()
	}
	return make([]T, n), false
}

func put[T float32 | float64](p pool[T], s []T) {
	s = s[:cap(s)]
	if poison.Load() {
		nan := T(math.NaN())
		for i := range s {
			s[i] = nan
		}
	}
	if len(s) < MinLen || bytes(s) > maxBytes {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	b := p[len(s)]
	if b == nil {
		b = &bucket[T]{last: clock}
		p[len(s)] = b
	}
	if poison.Load() {
		for _, o := range b.bufs {
			if &o[0] == &s[0] {
				panic("bufpool: buffer returned twice")
			}
		}
	}
	for held+bytes(s) > maxBytes && evictOldest(len(s)) {
	}
	if held+bytes(s) <= maxBytes {
		b.bufs = append(b.bufs, s)
		held += bytes(s)
	}
}

// evictOldest drops the buffers of the least recently asked-for length
// other than keep (of either type), and reports whether it dropped any.
func evictOldest(keep int) bool {
	var oldest uint64 = math.MaxUint64
	var drop func()
	for n, b := range f32 {
		if len(b.bufs) > 0 && n != keep && b.last < oldest {
			oldest, drop = b.last, func() { held -= drain(b) }
		}
	}
	for n, b := range f64 {
		if len(b.bufs) > 0 && n != keep && b.last < oldest {
			oldest, drop = b.last, func() { held -= drain(b) }
		}
	}
	if drop == nil {
		return false
	}
	drop()
	return true
}

// drain empties b and returns the bytes it held.
func drain[T float32 | float64](b *bucket[T]) int64 {
	var n int64
	for i, s := range b.bufs {
		n += bytes(s)
		b.bufs[i] = nil
	}
	b.bufs = b.bufs[:0]
	return n
}

func bytes[T float32 | float64](s []T) int64 { return int64(len(s)) * int64(unsafe.Sizeof(s[0])) }

// Held returns the bytes held for reuse.
func Held() int64 {
	mu.Lock()
	defer mu.Unlock()
	return held
}

var poison atomic.Bool

// SetPoison makes returned buffers fill with NaN, so that a test in which
// anything reads storage after handing it back sees NaNs instead of
// plausible numbers, and makes a buffer returned twice panic. It returns
// the previous setting.
func SetPoison(on bool) bool { return poison.Swap(on) }
