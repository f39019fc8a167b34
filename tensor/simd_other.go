//go:build !amd64 || purego

package tensor

// kernel32 has no assembly here: simdImpls stays empty and simdUse at level
// 0, so applyImpl runs apply32Go and never calls this.
func kernel32(level int, op vop, dst, x, bias []float32, alpha float32) {
	apply32Go(op, dst, x, bias, alpha)
}
