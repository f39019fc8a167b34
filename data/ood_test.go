package data

import (
	"slices"
	"testing"

	"github.com/fdsm/fdsm/tensor"
)

// images returns n random h×w images in [0, 1] of float64, distinct pixels.
func images(n, h, w int) *tensor.Tensor {
	return UniformImages(tensor.Float64, newRand(3), n, h*w)
}

func TestSelectClasses(t *testing.T) {
	x := tensor.FromFloat64(tensor.Float64, []float64{0, 1, 2, 3, 4, 5}, 6, 1)
	labels := []uint8{7, 3, 7, 1, 9, 3}
	before := x.ToFloat64()
	got, gl := SelectClasses(x, labels, []uint8{3, 9})
	if !slices.Equal(got.ToFloat64(), []float64{1, 4, 5}) || !slices.Equal(gl, []uint8{3, 9, 3}) {
		t.Errorf("SelectClasses = %v %v, want rows 1, 4, 5 with labels 3 9 3", got.ToFloat64(), gl)
	}
	for _, l := range gl {
		if l != 3 && l != 9 {
			t.Errorf("label %d not among those kept", l)
		}
	}
	if !slices.Equal(x.ToFloat64(), before) {
		t.Error("SelectClasses modified its input")
	}
	if e, _ := SelectClasses(x, labels, []uint8{5}); e.Dim(0) != 0 || e.Dim(1) != 1 {
		t.Errorf("no match: shape %v, want [0 1]", e.Shape())
	}
}

func TestInvert(t *testing.T) {
	x := images(3, 2, 3)
	y := Invert(x)
	xs, ys := x.ToFloat64(), y.ToFloat64()
	for i := range xs {
		// 1 − x in float64 is exact for the x ∈ [½, 1] and within one
		// rounding otherwise; compare with the same expression.
		if ys[i] != 1-xs[i] {
			t.Fatalf("Invert[%d] = %v, want 1 − %v", i, ys[i], xs[i])
		}
	}
}

func TestFlipsAndRotation(t *testing.T) {
	// One 2×3 image, pixels numbered row-major:
	//   0 1 2
	//   3 4 5
	x := tensor.FromFloat64(tensor.Float32, []float64{0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15}, 2, 6)
	if got := FlipHorizontal(x, 2, 3).ToFloat64(); !slices.Equal(got, []float64{2, 1, 0, 5, 4, 3, 12, 11, 10, 15, 14, 13}) {
		t.Errorf("FlipHorizontal = %v", got)
	}
	if got := FlipVertical(x, 2, 3).ToFloat64(); !slices.Equal(got, []float64{3, 4, 5, 0, 1, 2, 13, 14, 15, 10, 11, 12}) {
		t.Errorf("FlipVertical = %v", got)
	}
	// 2×2: 0 1 / 2 3 turned clockwise is 2 0 / 3 1.
	sq := tensor.FromFloat64(tensor.Float64, []float64{0, 1, 2, 3}, 1, 4)
	if got := Rotate90(sq, 2).ToFloat64(); !slices.Equal(got, []float64{2, 0, 3, 1}) {
		t.Errorf("Rotate90 = %v, want [2 0 3 1]", got)
	}
	// Exactness: a flip twice and four quarter turns are the identity, bit
	// for bit; the dtype is kept.
	im := images(4, 28, 28)
	if !slices.Equal(FlipHorizontal(FlipHorizontal(im, 28, 28), 28, 28).ToFloat64(), im.ToFloat64()) {
		t.Error("FlipHorizontal twice is not the identity")
	}
	if !slices.Equal(FlipVertical(FlipVertical(im, 28, 28), 28, 28).ToFloat64(), im.ToFloat64()) {
		t.Error("FlipVertical twice is not the identity")
	}
	r := im
	for range 4 {
		r = Rotate90(r, 28)
	}
	if !slices.Equal(r.ToFloat64(), im.ToFloat64()) {
		t.Error("four quarter turns are not the identity")
	}
	if FlipHorizontal(x, 2, 3).DType() != tensor.Float32 {
		t.Error("FlipHorizontal changed the dtype")
	}
	defer func() {
		if recover() == nil {
			t.Error("FlipHorizontal of 2×3 images on rows of 7 did not panic")
		}
	}()
	FlipHorizontal(tensor.Zeros(tensor.Float64, 1, 7), 2, 3)
}

func TestNoiseImages(t *testing.T) {
	u := UniformImages(tensor.Float32, newRand(1), 50, 784)
	g := GaussianImages(tensor.Float32, newRand(1), 50, 784, 0.5, 0.5)
	for name, x := range map[string]*tensor.Tensor{"uniform": u, "gaussian": g} {
		if x.Dim(0) != 50 || x.Dim(1) != 784 {
			t.Errorf("%s: shape %v", name, x.Shape())
		}
		var s float64
		for _, v := range x.ToFloat64() {
			if v < 0 || v > 1 {
				t.Fatalf("%s: pixel %v outside [0, 1]", name, v)
			}
			s += v
		}
		// Both means are ½ (the Gaussian is clipped symmetrically); over
		// 39200 pixels the standard error is below 0.002: 0.01 is 5σ.
		if m := s / float64(x.Len()); m < 0.49 || m > 0.51 {
			t.Errorf("%s: mean pixel %v, want ½", name, m)
		}
	}
	if !slices.Equal(GaussianImages(tensor.Float64, newRand(2), 3, 4, 0.5, 0.1).ToFloat64(), GaussianImages(tensor.Float64, newRand(2), 3, 4, 0.5, 0.1).ToFloat64()) {
		t.Error("GaussianImages is not reproducible from a seed")
	}
}
