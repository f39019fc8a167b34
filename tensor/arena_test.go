package tensor

import "testing"

// TestArenaReleasesEachBufferOnceFromItsStart: a tensor and views of it
// recorded together hand the whole buffer back once (a view's storage runs
// from its first element to the buffer's end, so releasing it would hand
// back a tail); the next allocation of the buffer's size reuses it, zeroed,
// and the one after that does not get it again.
func TestArenaReleasesEachBufferOnceFromItsStart(t *testing.T) {
	const rows, cols = 7, 613 // 4291 elements: a size no other test uses
	x := Zeros(Float32, rows, cols)
	for i := range x.f32 {
		x.f32[i] = 1
	}
	var a Arena
	a.Add(SliceRows(x, 2, 5)) // a view first: Release must still start at x
	a.Add(x)
	a.Add(x.Reshape(cols, rows))
	a.Add(nil)
	if a.Len() != 3 {
		t.Fatalf("Len %d after three tensors and a nil, want 3", a.Len())
	}
	a.Release()
	if a.Len() != 0 {
		t.Fatalf("Len %d after Release", a.Len())
	}
	y := Zeros(Float32, rows, cols)
	if &y.f32[0] != &x.f32[0] {
		t.Fatal("the released buffer was not reused by an allocation of its size")
	}
	for i, v := range y.f32 {
		if v != 0 {
			t.Fatalf("reused storage not zeroed at %d: %v", i, v)
		}
	}
	if z := Zeros(Float32, rows, cols); &z.f32[0] == &y.f32[0] {
		t.Fatal("the buffer was handed out twice: it was released more than once")
	}
}

func TestSharesStorage(t *testing.T) {
	x := Zeros(Float64, 4, 3)
	for _, c := range []struct {
		name string
		u    *Tensor
		want bool
	}{
		{"itself", x, true},
		{"Reshape", x.Reshape(3, 4), true},
		{"SliceRows", SliceRows(x, 1, 3), true},
		{"Clone", x.Clone(), false},
		{"empty", Zeros(Float64, 0, 3), false},
	} {
		if got := x.SharesStorage(c.u); got != c.want {
			t.Errorf("%s: SharesStorage %v, want %v", c.name, got, c.want)
		}
	}
}
