//go:build amd64 && !purego

package vec

// spPairAVX is spPairGo on n elements, n a positive multiple of 8
// (pair_amd64.s).
//
//go:noescape
func spPairAVX(dd, ds, s, e *float32, n int, c *[pairConsts][8]float32, lim4 float32)

// spPairGradAVX is spPairGradGo on n elements, n a positive multiple of 8.
//
//go:noescape
func spPairGradAVX(a *pairGradArgs, n int, c *[pairConsts][8]float32, lim4 float32)

// pairWithinAVX is pairWithinGo on n elements, n a positive multiple of 8.
//
//go:noescape
func pairWithinAVX(dd, ds *float32, n int, c *[pairConsts][8]float32, t float32) bool
