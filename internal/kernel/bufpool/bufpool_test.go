package bufpool

import "testing"

// TestRecycle: a returned buffer comes back, zeroed, for the same length
// only; small buffers and buffers beyond the limit are not held.
func TestRecycle(t *testing.T) {
	s := Float32s(MinLen)
	for i := range s {
		s[i] = 1
	}
	before := Held()
	PutFloat32s(s[:10]) // a leading view: the whole backing array goes back
	if Held() != before+4*MinLen {
		t.Fatalf("held %d after returning %d floats, want %d", Held(), MinLen, before+4*MinLen)
	}
	if u := Float32s(MinLen + 1); &u[0] == &s[0] {
		t.Fatal("a buffer came back for another length")
	}
	u := Float32s(MinLen)
	if &u[0] != &s[0] {
		t.Fatal("the returned buffer was not reused")
	}
	for i, v := range u {
		if v != 0 {
			t.Fatalf("recycled buffer not zeroed at %d: %v", i, v)
		}
	}
	small := Float64s(MinLen / 2)
	PutFloat64s(small)
	if Held() != before {
		t.Fatalf("a buffer below MinLen was held (%d bytes)", Held()-before)
	}
	defer setMax(setMax(1 << 16))
	big := make([]float64, 1<<16/8+MinLen)
	PutFloat64s(big)
	if Held() != before {
		t.Fatalf("a buffer beyond the limit was held")
	}
	d := Float64s(MinLen)
	PutFloat64s(d)
	if e := Float64s(MinLen); &e[0] != &d[0] {
		t.Fatal("float64 buffer not reused")
	}
}

// TestEvictsLeastRecentlyAskedFor: when a returned buffer does not fit under
// the limit, the buckets of the lengths asked for least recently are
// dropped to make room, not the buffer that was just returned nor the
// length in use.
func TestEvictsLeastRecentlyAskedFor(t *testing.T) {
	defer setMax(setMax(1 << 20))
	clearAll()
	const a, b, c = 40_000, 50_000, 60_000 // float32 lengths: 160, 200 and 240 kB
	old := Float32s(a)                     // asked for first: the oldest
	mid := Float32s(b)
	PutFloat32s(old)
	PutFloat32s(mid)
	for range 3 { // 720 kB of length c: over the limit with a and b held
		PutFloat32s(make([]float32, c))
	}
	Float32s(c) // c is in use
	if got := Float32s(a); &got[0] == &old[0] {
		t.Error("the least recently asked-for length survived eviction")
	}
	if got := Float32s(b); &got[0] != &mid[0] {
		t.Error("a more recently asked-for length was evicted when dropping the oldest made room")
	}
	if Held() > 1<<20 {
		t.Errorf("held %d bytes, over the limit", Held())
	}
}

// setMax sets the limit and returns the previous one.
func setMax(n int64) int64 {
	mu.Lock()
	defer mu.Unlock()
	old := maxBytes
	maxBytes = n
	return old
}

func clearAll() {
	mu.Lock()
	defer mu.Unlock()
	for _, b := range f32 {
		held -= drain(b)
	}
	for _, b := range f64 {
		held -= drain(b)
	}
}
