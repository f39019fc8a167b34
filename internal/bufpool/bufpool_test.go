package bufpool

import "testing"

// TestRecycle: a returned buffer comes back, zeroed, for the same length
// only; small buffers and buffers beyond MaxBytes are not held.
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
	small := Float64s(8)
	PutFloat64s(small)
	if Held() != before {
		t.Fatalf("a buffer below MinLen was held (%d bytes)", Held()-before)
	}
	big := make([]float64, MaxBytes/8+MinLen)
	PutFloat64s(big)
	if Held() != before {
		t.Fatalf("a buffer beyond MaxBytes was held")
	}
	d := Float64s(MinLen)
	PutFloat64s(d)
	if e := Float64s(MinLen); &e[0] != &d[0] {
		t.Fatal("float64 buffer not reused")
	}
}
