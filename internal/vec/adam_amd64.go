//go:build amd64 && !purego

package vec

import "github.com/fdsm/fdsm/internal/cpu"

// useAVX selects the assembly kernels; AVX (implied by AVX2) is all they need.
var useAVX = cpu.HasAVX2

// adamAVX is adamGo on n elements, n a positive multiple of 8 (adam_amd64.s).
//
//go:noescape
func adamAVX(p, grad, m, v *float32, n int, c *Adam32)
