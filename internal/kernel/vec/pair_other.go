//go:build !amd64 || purego

package vec

func spPairAVX(dd, ds, s, e *float32, n int, c *[pairConsts][8]float32, lim4 float32) {
	panic("vec: no assembly kernels in this build")
}

func spPairGradAVX(a *pairGradArgs, n int, c *[pairConsts][8]float32, lim4 float32) {
	panic("vec: no assembly kernels in this build")
}

func pairWithinAVX(dd, ds *float32, n int, c *[pairConsts][8]float32, t float32) bool {
	panic("vec: no assembly kernels in this build")
}
