package freelist

import (
	"runtime"
	"testing"
)

// TestList: objects come back last in, first out, survive a garbage
// collection (which empties a sync.Pool), and the list keeps at most Max.
func TestList(t *testing.T) {
	l := List[*int]{Max: 2}
	if _, ok := l.Get(); ok {
		t.Fatal("an empty list gave an object")
	}
	a, b, c := new(int), new(int), new(int)
	l.Put(a)
	l.Put(b)
	l.Put(c) // beyond Max: dropped
	runtime.GC()
	if got, ok := l.Get(); !ok || got != b {
		t.Fatalf("first Get: %p %v, want b %p", got, ok, b)
	}
	if got, ok := l.Get(); !ok || got != a {
		t.Fatalf("second Get: %p %v, want a %p", got, ok, a)
	}
	if _, ok := l.Get(); ok {
		t.Fatal("the object beyond Max was kept")
	}
}
