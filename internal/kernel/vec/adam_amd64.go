//go:build amd64 && !purego

package vec

import "github.com/fdsm/fdsm/internal/kernel/cpu"

// useAVX selects the assembly kernels; AVX (implied by AVX2) is all they need.
var useAVX = cpu.HasAVX2

// adamAVX is adamGo on n elements, n a positive multiple of 8 (adam_amd64.s).
//
//go:noescape
func adamAVX(p, grad, m, v *float32, n int, c *Adam32)

// spDeltaAVX is spDeltaGo on n elements, n a positive multiple of 8.
//
//go:noescape
func spDeltaAVX(d, s, e *float32, n int, c *[8]float32)

// spGradAVX is spGradGo on n elements, n a positive multiple of 8; sign is −0.
//
//go:noescape
func spGradAVX(gz, gd, grad, dy, s, e *float32, n int, c *[8]float32, sign float32)

// allWithinAVX is allWithinGo on n elements, n a positive multiple of 8.
//
//go:noescape
func allWithinAVX(x *float32, n int, t float32) bool
