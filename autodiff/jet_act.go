package autodiff

import (
	"github.com/fdsm/fdsm/internal/kernel/parallel"
	"github.com/fdsm/fdsm/tensor"
)

// The jet rule of a fused layer's activation (see jetFused) as one node,
// jetAct.

// jetActParams are the parameters of a jetAct node.
type jetActParams struct {
	act   tensor.Act
	k     int
	only1 bool
}

// jetAct applies the φ rule of a fused layer's activation to the
// coefficients z of its pre-activation, φ′ and φ″ from the output y, as one
// node: the backward pass then keeps y, z and the result alive, not the
// half-dozen [K, N, out] products of the rule written out (what jetElem
// records). Its forward is one pass over the coefficients (jetActForward),
// as the FD path's fused activation kernels are; its first-order
// vector-Jacobian product likewise (jetActBackward), the recorded one
// (CreateGraph) is written with differentiable operations.
func jetAct(y *Value, z *jet, act tensor.Act, k int, only1 bool) *jet {
	d1 := tensor.ActDerivFromOutput(y.t, act)
	rows := 2 * k
	if only1 {
		rows = k
	}
	out := tensor.Zeros(y.DType(), withK(rows, y.Shape())...)
	if y.DType() == tensor.Float32 {
		jetActForward(out.Float32s(), y.t.Float32s(), d1.Float32s(), z.d.t.Float32s(), act, k, z.second)
	} else {
		jetActForward(out.Float64s(), y.t.Float64s(), d1.Float64s(), z.d.t.Float64s(), act, k, z.second)
	}
	putBuffer(d1)
	p := jetActParams{act: act, k: k, only1: only1}
	return &jet{d: opWith(out, &jetActP, p, y, z.d), second: !only1, only1: only1}
}

// jetGrain is the number of base elements per parallel chunk of the jet
// activation kernels (a few multiplications per element and direction).
const jetGrain = 1 << 12

// jetActForward writes y1 = φ′z1 (the first K blocks of out) and, when out
// has 2K blocks, y2 = φ″z1² + φ′z2, for the base outputs y with φ′ = d1
// and z the K first-order blocks of the pre-activation coefficients, then,
// when second, its K second-order ones (else z2 = 0). The expressions are
// jetElem's, term by term.
func jetActForward[T float32 | float64](out, y, d1, z []T, act tensor.Act, k int, second bool) {
	nw := len(y)
	both := len(out) == 2*k*nw
	parallel.For(nw, max(1, jetGrain/k), func(lo, hi int) {
		for j := lo; j < hi; j++ {
			p := d1[j]
			p2 := p * slopeOne(act, y[j], p) // φ″
			for i := j; i < k*nw; i += nw {
				z1 := z[i]
				out[i] = p * z1
				if both {
					y2 := p2 * (z1 * z1)
					if second {
						y2 += p * z[k*nw+i]
					}
					out[k*nw+i] = y2
				}
			}
		}
	})
}

// slopeOne is actSlope for one element: dφ′/dy at the output y, φ′ = d.
func slopeOne[T float32 | float64](act tensor.Act, y, d T) T {
	switch act {
	case tensor.ActSoftplus:
		return 1 - d
	case tensor.ActTanh:
		return -2 * y
	case tensor.ActSigmoid:
		return -2*y + 1
	case tensor.ActELU:
		if y > 0 {
			return 0
		}
		return 1
	}
	return 0
}

// slopeDerivOne is actSlopeDeriv for one element (s = slopeOne).
func slopeDerivOne[T float32 | float64](act tensor.Act, s T) T {
	switch act {
	case tensor.ActSoftplus:
		return -s
	case tensor.ActTanh, tensor.ActSigmoid:
		return -2
	}
	return 0
}

// jetActBackward is jetAct's first-order vector-Jacobian product in one
// pass (the formulas of the recorded rule in jetActP, term by term): from
// the cotangent g of the output (K blocks, or 2K without only1) it writes
// z's cotangent gz (nil: not needed; len(z) elements) and y's gy (nil: not
// needed), summed over the directions.
func jetActBackward[T float32 | float64](gz, gy, g, y, d1, z []T, act tensor.Act, k int, only1 bool) {
	nw := len(y)
	second := len(z) == 2*k*nw
	kn := k * nw
	parallel.For(nw, max(1, jetGrain/k), func(lo, hi int) {
		for j := lo; j < hi; j++ {
			p := d1[j]
			s := slopeOne(act, y[j], p)
			p2 := p * s
			dd2 := s*s + p*slopeDerivOne(act, s)
			var acc T
			for i := j; i < kn; i += nw {
				g1, z1 := g[i], z[i]
				if only1 {
					if gz != nil {
						gz[i] = g1 * p
					}
					acc += g1 * z1 * s
					continue
				}
				g2 := g[kn+i]
				if gz != nil {
					gz[i] = g1*p + (g2*p2*z1)*2
					if second {
						gz[kn+i] = g2 * p
					}
				}
				t := g1 * z1
				if second {
					t += g2 * z[kn+i]
				}
				acc += t*s + g2*(z1*z1)*dd2
			}
			if gy != nil {
				gy[j] = acc
			}
		}
	})
}

var jetActP primitive

func init() {
	// With y1 = φ′z1 and y2 = φ″z1² + φ′z2 (φ′ = d1, φ″ = d1·s, s = dφ′/dy):
	// ∂/∂z1 = g1φ′ + 2g2φ″z1, ∂/∂z2 = g2φ′, and through y, with
	// dφ′/dy = s and dφ″/dy = s² + φ′·ds/dy, the sum over the K directions
	// of (g1z1 + g2z2)·s + g2z1²·(s² + φ′·ds/dy).
	jetActP = primitive{name: "jetAct",
		vjp: func(pp any, g, out *Value, in []*Value, need []bool) []*Value {
			p := pp.(jetActParams)
			y, zs, k := in[0], in[1], p.k
			if !out.grad {
				return jetActVJP(p, g, y, zs, need)
			}
			d1 := actDeriv(y, p.act)
			s := actSlope(y, d1, p.act)
			second := zs.Dim(0) == 2*k
			z1 := zs
			var z2 *Value
			if second {
				z1, z2 = SliceRows(zs, 0, k), SliceRows(zs, k, 2*k)
			}
			g1 := SliceRows(g, 0, k)
			var g2 *Value
			if !p.only1 {
				g2 = SliceRows(g, k, 2*k)
			}
			gs := make([]*Value, 2)
			if need[1] {
				gz1 := Mul(g1, d1)
				if g2 != nil {
					gz1 = Add(gz1, Scale(Mul(Mul(g2, Mul(d1, s)), z1), 2))
				}
				gs[1] = gz1
				if second {
					gz2 := Scratch(tensor.ZerosLike(z2.t))
					if g2 != nil {
						gz2 = Mul(g2, d1)
					}
					gs[1] = ConcatRows(gz1, gz2)
				}
			}
			if need[0] {
				t := Mul(g1, z1)
				if g2 != nil {
					if z2 != nil {
						t = Add(t, Mul(g2, z2))
					}
					t = Mul(t, s)
					dd2 := Square(s)
					if ds := actSlopeDeriv(s, p.act); ds != nil {
						dd2 = Add(dd2, Mul(d1, ds))
					}
					t = Add(t, Mul(Mul(g2, Square(z1)), dd2))
				} else {
					t = Mul(t, s)
				}
				gs[0] = SumTo(t, y.Shape()...)
			}
			return gs
		},
	}
}

// actSlopeDeriv is d/dy of actSlope (nil: zero): −s for softplus
// (s = 1 − φ′), −2 for tanh (s = −2y) and sigmoid (s = 1 − 2y).
func actSlopeDeriv(s *Value, act tensor.Act) *Value {
	switch act {
	case tensor.ActSoftplus:
		return Neg(s)
	case tensor.ActTanh, tensor.ActSigmoid:
		return Scratch(tensor.Full(s.DType(), -2, s.Shape()...))
	}
	return nil
}

// jetActVJP is jetAct's first-order vector-Jacobian product by the one-pass
// kernel.
func jetActVJP(p jetActParams, g, y, zs *Value, need []bool) []*Value {
	d1 := tensor.ActDerivFromOutput(y.t, p.act)
	gs := make([]*Value, 2)
	var gz, gy *tensor.Tensor
	if need[1] {
		gz = tensor.ZerosLike(zs.t)
	}
	if need[0] {
		gy = tensor.ZerosLike(y.t)
	}
	if y.DType() == tensor.Float32 {
		var gzs, gys []float32
		if gz != nil {
			gzs = gz.Float32s()
		}
		if gy != nil {
			gys = gy.Float32s()
		}
		jetActBackward(gzs, gys, g.t.Float32s(), y.t.Float32s(), d1.Float32s(), zs.t.Float32s(), p.act, p.k, p.only1)
	} else {
		var gzs, gys []float64
		if gz != nil {
			gzs = gz.Float64s()
		}
		if gy != nil {
			gys = gy.Float64s()
		}
		jetActBackward(gzs, gys, g.t.Float64s(), y.t.Float64s(), d1.Float64s(), zs.t.Float64s(), p.act, p.k, p.only1)
	}
	putBuffer(d1)
	if gz != nil {
		gs[1] = temp(g, gz)
	}
	if gy != nil {
		gs[0] = temp(g, gy)
	}
	return gs
}
