package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// matMulShapes are the products of one training step of a 784-512-512-1 MLP at
// batch 128 with weights stored [out, in] (PyTorch layout), named
// m×k×n/op(A)op(B) for an m×k by k×n product:
//
//	forward  Y  = X·Wᵀ   MatMul(x, w, false, true)   X[128,in], W[out,in]
//	backward dX = G·W    MatMul(g, w, false, false)  G[128,out]
//	backward dW = Gᵀ·X   MatMul(g, x, true, false)   → [out,in]
//
// plus a plain 128x784x512 NN product.
var matMulShapes = []struct {
	m, k, n        int
	transA, transB bool
}{
	{128, 784, 512, false, true},  // layer 1 forward
	{128, 512, 784, false, false}, // layer 1 dX
	{512, 128, 784, true, false},  // layer 1 dW
	{128, 512, 512, false, true},  // layer 2 forward
	{128, 512, 512, false, false}, // layer 2 dX
	{512, 128, 512, true, false},  // layer 2 dW
	{128, 784, 512, false, false}, // plain NN
}

func BenchmarkMatMul(b *testing.B) {
	for _, dt := range []DType{Float32, Float64} {
		name := map[DType]string{Float32: "f32", Float64: "f64"}[dt]
		for _, s := range matMulShapes {
			op := func(t bool) string {
				if t {
					return "T"
				}
				return "N"
			}
			b.Run(fmt.Sprintf("%s/%dx%dx%d/%s%s", name, s.m, s.k, s.n, op(s.transA), op(s.transB)), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 2))
				ar, ac := s.m, s.k
				if s.transA {
					ar, ac = ac, ar
				}
				br, bc := s.k, s.n
				if s.transB {
					br, bc = bc, br
				}
				x := RandN(dt, rng, ar, ac)
				y := RandN(dt, rng, br, bc)
				for b.Loop() {
					MatMul(x, y, s.transA, s.transB)
				}
				flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
