package vec

import "math"

// sqrt32 is the correctly rounded float32 square root: the float64 root
// rounded to float32 is correctly rounded because 53 ≥ 2·24 + 2 (double
// rounding is innocuous for √), so it equals VSQRTPS.
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
