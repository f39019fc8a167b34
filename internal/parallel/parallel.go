package parallel

import (
	"runtime"
	"sync"
)

// For calls fn(lo, hi) for consecutive chunks [lo, hi) of [0, n), each of at
// most grain elements, using up to GOMAXPROCS goroutines. When the work fits in
// one chunk, or only one processor is available, it runs on the caller's
// goroutine. fn must be safe to call concurrently for disjoint chunks.
func For(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	chunks := (n + grain - 1) / grain
	workers := runtime.GOMAXPROCS(0)
	if workers > chunks {
		workers = chunks
	}
	if workers <= 1 {
		for lo := 0; lo < n; lo += grain {
			fn(lo, min(lo+grain, n))
		}
		return
	}
	var next int
	var mu sync.Mutex
	take := func() int {
		mu.Lock()
		c := next
		next++
		mu.Unlock()
		return c
	}
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	work := func() {
		for c := take(); c < chunks; c = take() {
			lo := c * grain
			fn(lo, min(lo+grain, n))
		}
	}
	for w := 1; w < workers; w++ {
		go func() { defer wg.Done(); work() }()
	}
	work()
	wg.Wait()
}

// Chunks returns the number of chunks For uses for n elements and the grain.
func Chunks(n, grain int) int {
	if n <= 0 {
		return 0
	}
	if grain < 1 {
		grain = 1
	}
	return (n + grain - 1) / grain
}
