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

import (
	"math"
	"sync"
	"sync/atomic"
	"unsafe"
)

const (
	// MinLen is the smallest length pooled.
	MinLen = 1 << 4
	// MaxBytes bounds the bytes held for reuse.
	MaxBytes = 2 << 30
)

var (
	mu   sync.Mutex // guards the buckets and held
	f32  = map[int][][]float32{}
	f64  = map[int][][]float64{}
	held int64
)

// Float32s returns a zeroed slice of length n, recycled when one is held.
func Float32s(n int) []float32 { return get(f32, n) }

// Float64s returns a zeroed slice of length n, recycled when one is held.
func Float64s(n int) []float64 { return get(f64, n) }

// PutFloat32s hands s's whole backing array (s[:cap(s)]) back for reuse.
func PutFloat32s(s []float32) { put(f32, s) }

// PutFloat64s hands s's whole backing array (s[:cap(s)]) back for reuse.
func PutFloat64s(s []float64) { put(f64, s) }

func get[T float32 | float64](buckets map[int][][]T, n int) []T {
	if n >= MinLen {
		mu.Lock()
		if l := buckets[n]; len(l) > 0 {
			s := l[len(l)-1]
			buckets[n] = l[:len(l)-1]
			held -= bytes(s)
			mu.Unlock()
			clear(s)
			return s
		}
		mu.Unlock()
	}
	return make([]T, n)
}

func put[T float32 | float64](buckets map[int][][]T, s []T) {
	s = s[:cap(s)]
	if poison.Load() {
		nan := T(math.NaN())
		for i := range s {
			s[i] = nan
		}
	}
	if len(s) < MinLen {
		return
	}
	mu.Lock()
	if poison.Load() {
		for _, o := range buckets[len(s)] {
			if &o[0] == &s[0] {
				mu.Unlock()
				panic("bufpool: buffer returned twice")
			}
		}
	}
	if held+bytes(s) <= MaxBytes {
		buckets[len(s)] = append(buckets[len(s)], s)
		held += bytes(s)
	}
	mu.Unlock()
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
