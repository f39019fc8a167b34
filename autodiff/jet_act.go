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
	out := tensor.Uninit(y.DType(), withK(rows, y.Shape())...) // jetActForward writes every block
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

// jetBlock is the number of base elements whose φ′, φ″ (and, backward, the
// slopes) the kernels compute at once, on the stack, before running over
// the K directions: each direction's block is then a contiguous loop, not
// a stride-N walk per element.
const jetBlock = 256

// jetActForward writes y1 = φ′z1 (the first K blocks of out) and, when out
// has 2K blocks, y2 = φ″z1² + φ′z2, for the base outputs y with φ′ = d1
// and z the K first-order blocks of the pre-activation coefficients, then,
// when second, its K second-order ones (else z2 = 0). The expressions are
// jetElem's, term by term.
func jetActForward[T float32 | float64](out, y, d1, z []T, act tensor.Act, k int, second bool) {
	nw := len(y)
	kn := k * nw
	both := len(out) == 2*kn
	parallel.For(nw, max(jetBlock, jetGrain/k), func(lo, hi int) {
		var p2b [jetBlock]T
		for b0 := lo; b0 < hi; b0 += jetBlock {
			b1 := min(b0+jetBlock, hi)
			p := d1[b0:b1]
			p2 := p2b[:len(p)]
			if both {
				for j, pj := range p {
					p2[j] = pj * slopeOne(act, y[b0+j], pj) // φ″
				}
			}
			for i := range k {
				off := i*nw + b0
				z1, y1 := z[off:off+len(p)], out[off:off+len(p)]
				for j, pj := range p {
					y1[j] = pj * z1[j]
				}
				if !both {
					continue
				}
				y2 := out[kn+off : kn+off+len(p)]
				for j, pj := range p2 {
					y2[j] = pj * (z1[j] * z1[j])
				}
				if second {
					z2 := z[kn+off : kn+off+len(p)]
					for j, pj := range p {
						y2[j] += pj * z2[j]
					}
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
// needed), summed over the directions in their order. With g0 (the
// cotangent of a fused layer's base output, or nil) it writes
// (g0 + gy)·φ′ instead of gy: the base rows' pre-activation cotangent of
// the joint Dense node (see denseJetVJP), in the same pass.
func jetActBackward[T float32 | float64](gz, gy, g0, g, y, d1, z []T, act tensor.Act, k int, only1 bool) {
	nw := len(y)
	second := len(z) == 2*k*nw
	kn := k * nw
	parallel.For(nw, max(jetBlock, jetGrain/k), func(lo, hi int) {
		var sb, p2b, ddb, accb [jetBlock]T
		for b0 := lo; b0 < hi; b0 += jetBlock {
			b1 := min(b0+jetBlock, hi)
			p := d1[b0:b1]
			n := len(p)
			s, p2, dd2, acc := sb[:n], p2b[:n], ddb[:n], accb[:n]
			for j, pj := range p {
				sj := slopeOne(act, y[b0+j], pj)
				s[j], p2[j] = sj, pj*sj
				dd2[j] = sj*sj + pj*slopeDerivOne(act, sj)
				acc[j] = 0
			}
			for i := range k {
				off := i*nw + b0
				g1, z1 := g[off:off+n], z[off:off+n]
				if only1 {
					if gz != nil {
						gz1 := gz[off : off+n]
						for j, pj := range p {
							gz1[j] = g1[j] * pj
						}
					}
					for j, sj := range s {
						acc[j] += g1[j] * z1[j] * sj
					}
					continue
				}
				g2 := g[kn+off : kn+off+n]
				if gz != nil {
					gz1 := gz[off : off+n]
					for j, pj := range p {
						gz1[j] = g1[j]*pj + (g2[j]*p2[j]*z1[j])*2
					}
					if second {
						gz2 := gz[kn+off : kn+off+n]
						for j, pj := range p {
							gz2[j] = g2[j] * pj
						}
					}
				}
				if second {
					z2 := z[kn+off : kn+off+n]
					for j, sj := range s {
						acc[j] += (g1[j]*z1[j]+g2[j]*z2[j])*sj + g2[j]*(z1[j]*z1[j])*dd2[j]
					}
				} else {
					for j, sj := range s {
						acc[j] += (g1[j]*z1[j])*sj + g2[j]*(z1[j]*z1[j])*dd2[j]
					}
				}
			}
			switch {
			case gy == nil:
			case g0 != nil:
				g0b, gyb := g0[b0:b1], gy[b0:b1]
				for j, pj := range p {
					gyb[j] = (g0b[j] + acc[j]) * pj
				}
			default:
				copy(gy[b0:b1], acc)
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
		jetActBackward(gzs, gys, nil, g.t.Float32s(), y.t.Float32s(), d1.Float32s(), zs.t.Float32s(), p.act, p.k, p.only1)
	} else {
		var gzs, gys []float64
		if gz != nil {
			gzs = gz.Float64s()
		}
		if gy != nil {
			gys = gy.Float64s()
		}
		jetActBackward(gzs, gys, nil, g.t.Float64s(), y.t.Float64s(), d1.Float64s(), zs.t.Float64s(), p.act, p.k, p.only1)
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
