package tensor

import "math"

// Half-precision storage formats that safetensors files from PyTorch often
// hold. Both widen to float32 exactly: every F16 and BF16 value, subnormals,
// ±Inf and NaN (with its payload, shifted) included, is a float32.

// float16ToFloat32 widens an IEEE 754 binary16 value (1 sign bit, 5
// exponent bits of bias 15, 10 fraction bits).
func float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN: all-ones exponent, fraction (payload) kept
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: frac·2⁻²⁴, a float32 normal, exactly
		return math.Float32frombits(sign | math.Float32bits(float32(frac)*0x1p-24))
	}
	// Normal: rebias the exponent from 15 to 127.
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// bfloat16ToFloat32 widens a bfloat16 value: the top 16 bits of a float32.
func bfloat16ToFloat32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}
