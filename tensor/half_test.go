package tensor

import (
	"math"
	"testing"
)

// The bit patterns are from IEEE 754-2008's binary16 layout (as tabulated on
// Wikipedia's "Half-precision floating-point format" page) and from
// bfloat16 being float32's upper half.
func TestFloat16ToFloat32(t *testing.T) {
	nan := float32(math.NaN())
	for _, c := range []struct {
		name string
		h    uint16
		want float32
	}{
		{"zero", 0x0000, 0},
		{"one", 0x3c00, 1},
		{"minus two", 0xc000, -2},
		{"one third", 0x3555, 0.333251953125},
		{"largest normal", 0x7bff, 65504},
		{"smallest normal", 0x0400, 0x1p-14},
		{"smallest subnormal", 0x0001, 0x1p-24},
		{"largest subnormal", 0x03ff, 1023 * 0x1p-24},
		{"negative subnormal", 0x8001, -0x1p-24},
		{"one plus ulp", 0x3c01, 1 + 0x1p-10},
		{"+inf", 0x7c00, float32(math.Inf(1))},
		{"-inf", 0xfc00, float32(math.Inf(-1))},
		{"nan", 0x7e00, nan},
	} {
		got := float16ToFloat32(c.h)
		if math.IsNaN(float64(c.want)) {
			if !math.IsNaN(float64(got)) {
				t.Errorf("%s: %#04x → %v, want NaN", c.name, c.h, got)
			}
			continue
		}
		if math.Float32bits(got) != math.Float32bits(c.want) {
			t.Errorf("%s: %#04x → %v (%#08x), want %v (%#08x)", c.name, c.h, got, math.Float32bits(got), c.want, math.Float32bits(c.want))
		}
	}
	// Negative zero keeps its sign.
	if b := math.Float32bits(float16ToFloat32(0x8000)); b != 0x80000000 {
		t.Errorf("-0: got bits %#08x, want 0x80000000", b)
	}
	// A NaN's payload survives: 0x7c01 is a signalling NaN of payload 1.
	if b := math.Float32bits(float16ToFloat32(0x7c01)); b != 0x7f802000 {
		t.Errorf("NaN payload: got bits %#08x, want 0x7f802000", b)
	}
}

// TestFloat16Exhaustive checks all 65536 patterns against the value formula
// (−1)^s · 2^(e−15) · (1 + f/1024), or 2^−14 · f/1024 when e = 0.
func TestFloat16Exhaustive(t *testing.T) {
	for h := range 1 << 16 {
		s, e, f := h>>15, (h>>10)&0x1f, h&0x3ff
		got := float16ToFloat32(uint16(h))
		var want float64
		switch {
		case e == 0x1f && f == 0:
			want = math.Inf(1)
		case e == 0x1f:
			if !math.IsNaN(float64(got)) {
				t.Fatalf("%#04x → %v, want NaN", h, got)
			}
			continue
		case e == 0:
			want = math.Ldexp(float64(f)/1024, -14)
		default:
			want = math.Ldexp(1+float64(f)/1024, e-15)
		}
		if s == 1 {
			want = -want
		}
		if float64(got) != want || math.Signbit(float64(got)) != (s == 1) {
			t.Fatalf("%#04x → %v, want %v", h, got, want)
		}
	}
}

func TestBFloat16ToFloat32(t *testing.T) {
	for _, c := range []struct {
		name string
		h    uint16
		want float32
	}{
		{"one", 0x3f80, 1},
		{"minus two", 0xc000, -2},
		{"pi rounded", 0x4049, 3.140625},
		{"largest", 0x7f7f, 0x1.fep127},
		{"smallest subnormal", 0x0001, 0x1p-133},
		{"+inf", 0x7f80, float32(math.Inf(1))},
		{"-inf", 0xff80, float32(math.Inf(-1))},
	} {
		if got := bfloat16ToFloat32(c.h); math.Float32bits(got) != math.Float32bits(c.want) {
			t.Errorf("%s: %#04x → %v, want %v", c.name, c.h, got, c.want)
		}
	}
	if got := bfloat16ToFloat32(0x7fc0); !math.IsNaN(float64(got)) {
		t.Errorf("0x7fc0 → %v, want NaN", got)
	}
}

// TestSafetensorsHalf decodes F16 and BF16 tensors, as PyTorch's
// model.half() and model.bfloat16() write them, into Float32.
func TestSafetensorsHalf(t *testing.T) {
	// F16 1, −2, 2⁻²⁴, +Inf; BF16 1, −2 (bit patterns as in the tables above).
	data := []byte{0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c, 0x80, 0x3f, 0x00, 0xc0}
	file := stFile(`{"a":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}}`, data)
	ts, _, err := DecodeSafetensors(file)
	if err != nil {
		t.Fatal(err)
	}
	a, b := ts["a"], ts["b"]
	if a.DType() != Float32 || b.DType() != Float32 {
		t.Fatalf("dtypes %v, %v: want float32", a.DType(), b.DType())
	}
	want := []float64{1, -2, 0x1p-24, math.Inf(1)}
	for i, v := range a.ToFloat64() {
		if v != want[i] {
			t.Errorf("a[%d] = %v, want %v", i, v, want[i])
		}
	}
	if got := b.ToFloat64(); got[0] != 1 || got[1] != -2 {
		t.Errorf("b = %v, want [1 -2]", got)
	}
	if s := a.Shape(); len(s) != 2 || s[0] != 2 || s[1] != 2 {
		t.Errorf("a's shape %v, want [2 2]", s)
	}
}
