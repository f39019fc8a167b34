package autodiff

import "github.com/fdsm/fdsm/tensor"

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
// records). Its forward is that rule on detached values; its
// vector-Jacobian product is written with differentiable operations.
func jetAct(y *Value, z *jet, act tensor.Act, k int, only1 bool) *jet {
	d1 := actDeriv(Detach(y), act)
	r := jetElem(&jet{d: Detach(z.d), second: z.second, only1: only1}, d1, Mul(d1, actSlope(Detach(y), d1, act)), k)
	p := jetActParams{act: act, k: k, only1: only1}
	return &jet{d: opWith(r.d.t, &jetActP, p, y, z.d), second: r.second, only1: only1}
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
