package parallel

import (
	"github.com/fdsm/fdsm/internal/kernel/freelist"
	"runtime"
	"sync"
	"sync/atomic"
)

// For calls fn(lo, hi) for consecutive chunks [lo, hi) of [0, n), each of at
// most grain elements, using up to GOMAXPROCS goroutines. When the work fits in
// one chunk, or only one processor is available, it runs on the caller's
// goroutine. fn must be safe to call concurrently for disjoint chunks.
//
// The other goroutines are long-lived helpers (started as GOMAXPROCS calls
// for them), offered the job without blocking: a helper that is busy, with
// another job or a chunk of an enclosing For, simply never joins, and the
// caller takes the chunks it leaves. So nested calls cannot deadlock, and a
// call allocates nothing beyond fn's closure.
func For(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	chunks := (n + grain - 1) / grain
	workers := min(runtime.GOMAXPROCS(0), chunks)
	if workers <= 1 {
		for lo := 0; lo < n; lo += grain {
			fn(lo, min(lo+grain, n))
		}
		return
	}
	j := getJob()
	j.n, j.grain, j.chunks, j.fn = n, grain, int64(chunks), fn
	j.next.Store(0)
	startHelpers(workers - 1)
	offered := 0
	for range workers - 1 {
		select {
		case offers <- j:
			offered++
		default: // every helper is busy: fewer hands
		}
	}
	j.work()
	// Wait for every helper that took the offer to check in, and for those
	// that joined to finish: then nothing refers to j any more.
	j.mu.Lock()
	j.closed = true // helpers checking in from now on leave at once
	for j.checked < offered || j.active > 0 {
		j.idle.Wait()
	}
	j.closed, j.checked, j.fn = false, 0, nil
	j.mu.Unlock()
	jobs.Put(j)
}

// job is one call of For: chunks are taken in order from next.
type job struct {
	next     atomic.Int64
	chunks   int64
	n, grain int
	fn       func(lo, hi int)
	mu       sync.Mutex
	idle     sync.Cond // signalled when checked or active changes
	checked  int       // helpers that took the offer and checked in
	active   int       // helpers working on the job
	closed   bool      // the caller has finished its share
}

func (j *job) work() {
	for c := j.next.Add(1) - 1; c < j.chunks; c = j.next.Add(1) - 1 {
		lo := int(c) * j.grain
		j.fn(lo, min(lo+j.grain, j.n))
	}
}

// help runs a helper's share of j, if the caller has not finished it yet.
func (j *job) help() {
	j.mu.Lock()
	j.checked++
	if j.closed {
		j.idle.Broadcast()
		j.mu.Unlock()
		return
	}
	j.active++
	j.mu.Unlock()
	j.work()
	j.mu.Lock()
	j.active--
	j.idle.Broadcast()
	j.mu.Unlock()
}

var (
	offers = make(chan *job) // unbuffered: only an idle helper takes an offer

	helpersMu sync.Mutex
	helpers   int
)

// startHelpers makes sure at least k helpers run.
func startHelpers(k int) {
	helpersMu.Lock()
	for ; helpers < k; helpers++ {
		go func() {
			for j := range offers {
				j.help()
			}
		}()
	}
	helpersMu.Unlock()
}

// jobs keeps finished jobs for reuse.
var jobs freelist.List[*job]

func getJob() *job {
	if j, ok := jobs.Get(); ok {
		return j
	}
	j := new(job)
	j.idle.L = &j.mu
	return j
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
