// Package bufpool recycles the large float buffers of tensors that a
// training step allocates and drops every step: autodiff.Grad with
// ReleaseGraph hands back the storage of the intermediate values it tears
// down, and the tensor package takes its next allocations of the same size
// from here, so a steady step allocates little new memory and the garbage
// collector and first-touch page faults stay out of the way.
//
// Buffers are bucketed by exact length (a step's shapes recur every step),
// returned zeroed, and held up to MaxBytes in all; beyond that a returned
// buffer is left to the garbage collector. Only buffers of at least MinLen
// elements are pooled: smaller ones are cheap to allocate.
//
// A buffer must be returned only when nothing refers to it any more: the
// pool cannot check, and a buffer still in use would be overwritten by its
// next owner. Within fdsm only autodiff.Grad returns buffers, under the
// conditions its ReleaseGraph documents.
package bufpool

import "sync"

const (
	// MinLen is the smallest length pooled.
	MinLen = 1 << 12
	// MaxBytes bounds the bytes held for reuse.
	MaxBytes = 256 << 20
)

var (
	mu   sync.Mutex
	f32  = map[int][][]float32{}
	f64  = map[int][][]float64{}
	held int64
)

// Float32s returns a zeroed slice of length n, recycled when one is held.
func Float32s(n int) []float32 {
	if n >= MinLen {
		mu.Lock()
		if l := f32[n]; len(l) > 0 {
			s := l[len(l)-1]
			f32[n] = l[:len(l)-1]
			held -= int64(4 * n)
			mu.Unlock()
			clear(s)
			return s
		}
		mu.Unlock()
	}
	return make([]float32, n)
}

// Float64s returns a zeroed slice of length n, recycled when one is held.
func Float64s(n int) []float64 {
	if n >= MinLen {
		mu.Lock()
		if l := f64[n]; len(l) > 0 {
			s := l[len(l)-1]
			f64[n] = l[:len(l)-1]
			held -= int64(8 * n)
			mu.Unlock()
			clear(s)
			return s
		}
		mu.Unlock()
	}
	return make([]float64, n)
}

// PutFloat32s hands s's whole backing array (s[:cap(s)]) back for reuse.
func PutFloat32s(s []float32) {
	s = s[:cap(s)]
	n := len(s)
	if n < MinLen {
		return
	}
	mu.Lock()
	if held+int64(4*n) <= MaxBytes {
		f32[n] = append(f32[n], s)
		held += int64(4 * n)
	}
	mu.Unlock()
}

// PutFloat64s hands s's whole backing array (s[:cap(s)]) back for reuse.
func PutFloat64s(s []float64) {
	s = s[:cap(s)]
	n := len(s)
	if n < MinLen {
		return
	}
	mu.Lock()
	if held+int64(8*n) <= MaxBytes {
		f64[n] = append(f64[n], s)
		held += int64(8 * n)
	}
	mu.Unlock()
}

// Held returns the bytes held for reuse.
func Held() int64 {
	mu.Lock()
	defer mu.Unlock()
	return held
}
