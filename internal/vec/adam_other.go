//go:build !amd64 || purego

package vec

const useAVX = false

func adamAVX(p, grad, m, v *float32, n int, c *Adam32) {
	panic("vec: no assembly kernels in this build")
}
