//go:build !amd64 || purego

package vec

const useAVX = false

func adamAVX(p, grad, m, v *float32, n int, c *Adam32) {
	panic("vec: no assembly kernels in this build")
}

func spDeltaAVX(d, s, e *float32, n int, c *[8]float32) {
	panic("vec: no assembly kernels in this build")
}

func spGradAVX(gz, gd, grad, dy, s, e *float32, n int, c *[8]float32, sign float32) {
	panic("vec: no assembly kernels in this build")
}

func allWithinAVX(x *float32, n int, t float32) bool {
	panic("vec: no assembly kernels in this build")
}
