package parallel

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// TestForCoversOnceWithFixedChunks: every index is visited exactly once, in
// chunks whose boundaries are multiples of the grain whatever GOMAXPROCS is.
func TestForCoversOnceWithFixedChunks(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 8} {
		runtime.GOMAXPROCS(procs)
		for _, c := range []struct{ n, grain int }{{0, 4}, {1, 4}, {10, 3}, {1000, 64}, {7, 0}} {
			seen := make([]int, c.n)
			var mu sync.Mutex
			var chunks [][2]int
			For(c.n, c.grain, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					seen[i]++
				}
				mu.Lock()
				chunks = append(chunks, [2]int{lo, hi})
				mu.Unlock()
			})
			for i, v := range seen {
				if v != 1 {
					t.Fatalf("procs %d n %d: index %d visited %d times", procs, c.n, i, v)
				}
			}
			g := max(c.grain, 1)
			if len(chunks) != Chunks(c.n, c.grain) {
				t.Fatalf("procs %d n %d grain %d: %d chunks, Chunks says %d", procs, c.n, c.grain, len(chunks), Chunks(c.n, c.grain))
			}
			for _, ch := range chunks {
				if ch[0]%g != 0 || (ch[1] != c.n && ch[1]-ch[0] != g) {
					t.Fatalf("procs %d: chunk %v is not aligned to grain %d", procs, ch, g)
				}
			}
		}
	}
}

// TestNestedFor runs For inside the chunks of For, with more chunks than
// processors at both levels: a helper busy with an outer chunk never joins
// an inner job, so the calls finish (no deadlock) and cover every index once.
func TestNestedFor(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{2, 3, 8} {
		runtime.GOMAXPROCS(procs)
		const outer, inner = 13, 29
		var seen [outer * inner]int32
		For(outer, 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				For(inner, 2, func(l, h int) {
					for k := l; k < h; k++ {
						seen[i*inner+k]++ // disjoint per (i, k)
					}
				})
			}
		})
		for i, v := range seen {
			if v != 1 {
				t.Fatalf("procs %d: index %d visited %d times", procs, i, v)
			}
		}
	}
}

// TestForAllocs: a parallel For reuses its job and helpers; what remains is
// at most the closure passed in.
func TestForAllocs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	dst := make([]float64, 1<<12)
	allocs := testing.AllocsPerRun(50, func() {
		For(len(dst), 256, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				dst[i]++
			}
		})
	})
	if allocs > 1 {
		t.Errorf("For allocates %v times per call, want at most 1 (the closure)", allocs)
	}
}

// BenchmarkFor times a parallel loop over 64 Ki float64 additions in 16
// chunks: dominated by handing the chunks to the other core and waiting for
// it, the overhead For adds to every elementwise kernel above the grain.
func BenchmarkFor(b *testing.B) {
	dst := make([]float64, 1<<16)
	b.ReportAllocs()
	for range b.N {
		For(len(dst), len(dst)/16, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				dst[i]++
			}
		})
	}
}

// TestConcurrentCallers: several goroutines calling For at once share the
// helpers and the reused jobs; every call still covers its own range once
// (a helper that took one call's offer never works on a later call's job).
func TestConcurrentCallers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen := make([]int32, 1000+g)
			for round := range 200 {
				clear(seen)
				For(len(seen), 37, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						seen[i]++
					}
				})
				for i, v := range seen {
					if v != 1 {
						errs <- fmt.Sprintf("caller %d round %d: index %d visited %d times", g, round, i, v)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
