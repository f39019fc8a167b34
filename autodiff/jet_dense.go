package autodiff

import (
	"fmt"

	"github.com/fdsm/fdsm/tensor"
)

// The joint Dense jet node. A chain of Dense layers runs on joints
// J = [h; ḣ_1 … ḣ_K; ḧ_1 … ḧ_K] (the base rows above the stacked
// coefficients, as the difference transform's joints [x; Δx_1 … Δx_K] are):
// one node per layer maps its input joint to its output joint
// [y; ẏ; ÿ] with one GEMM over the coefficient rows forward (the base rows
// are the recorded layer's output, copied) and, backward, one GEMM for the
// input's cotangent and one for the weight's over all rows. Without the
// joint, the weights would receive two gradient contributions, one through
// the recorded base layer and one through the coefficients' product, each
// a full-size matrix held until they are added.

// denseJetParams are the parameters of a denseJet node: the activation, the
// number of directions, the base rows n, the coefficient rows of the input
// (rIn blocks of n) and of the output (rOut blocks), and whether a bias is
// an input.
type denseJetParams struct {
	act             tensor.Act
	k, n, rIn, rOut int
	bias            bool
}

// denseJet is the joint rule of a Dense layer y = φ(x·Wᵀ + b) whose
// weights and bias do not move: j is x's joint ([(1+rIn)·N, in], rIn = K
// or 2K coefficient blocks), base the recorded output y. The output joint
// has rOut = K blocks under Jet1 (only1), 2K when the activation makes
// second-order coefficients, rIn without an activation. The pre-activation
// coefficients Z = [ż; z̈] = J_coef·Wᵀ are an input of the node (the
// activation's rule and its VJP need them, and they are held as graph
// memory, not hidden in the node).
func denseJet(j, w, b *Value, base *Value, act tensor.Act, k int, only1 bool) *jet {
	n, nout := base.Dim(0), w.Dim(0)
	rIn := j.Dim(0)/n - 1
	if j.Dim(0) != (1+rIn)*n || (rIn != k && rIn != 2*k) {
		panic(fmt.Sprintf("autodiff: internal error: denseJet joint %v for base %v, K = %d", j.Shape(), base.Shape(), k))
	}
	rOut := 2 * k
	switch {
	case only1:
		rOut = k
	case act == tensor.ActNone:
		rOut = rIn
	}
	out := tensor.Uninit(base.DType(), (1+rOut)*n, nout) // the base copied, the rest by the GEMM or jetActForward
	copyInto(tensor.SliceRows(out, 0, n), base.t)
	coef := tensor.SliceRows(j.t, n, (1+rIn)*n)
	inputs := []*Value{j, w}
	if b != nil {
		inputs = append(inputs, b)
	}
	if act == tensor.ActNone {
		layerMap{}.forwardInto(tensor.SliceRows(out, n, (1+rOut)*n), tensor.SliceRows(coef, 0, rOut*n), w.t)
	} else {
		z := tensor.Uninit(base.DType(), rIn*n, nout)
		layerMap{}.forwardInto(z, coef, w.t)
		d1 := tensor.ActDerivFromOutput(base.t, act)
		rest := tensor.SliceRows(out, n, (1+rOut)*n)
		if out.DType() == tensor.Float32 {
			jetActForward(rest.Float32s(), base.t.Float32s(), d1.Float32s(), z.Float32s(), act, k, rIn == 2*k)
		} else {
			jetActForward(rest.Float64s(), base.t.Float64s(), d1.Float64s(), z.Float64s(), act, k, rIn == 2*k)
		}
		putBuffer(d1)
		inputs = append(inputs, Scratch(z))
	}
	p := denseJetParams{act: act, k: k, n: n, rIn: rIn, rOut: rOut, bias: b != nil}
	jo := opWith(out, &denseJetP, p, inputs...)
	d := Reshape(SliceRows(jo, n, (1+rOut)*n), rOut, n, nout)
	return &jet{d: d, second: rOut == 2*k, only1: only1, joint: jo}
}

// copyInto copies src into dst (same dtype and size).
func copyInto(dst, src *tensor.Tensor) {
	if dst.DType() == tensor.Float32 {
		copy(dst.Float32s(), src.Float32s())
	} else {
		copy(dst.Float64s(), src.Float64s())
	}
}

var denseJetP primitive

func init() {
	denseJetP = primitive{name: "denseJet", vjp: denseJetVJP}
}

// denseJetVJP is denseJet's vector-Jacobian product. With G = [G₀; G_c]
// the output joint's cotangent (base rows, coefficient rows), jetAct's rule
// maps G_c to Z's cotangent G_Z and to the cotangent ḡ_y of y through φ′(y)
// and φ″(y); the pre-activation cotangent is then
// [(G₀ + ḡ_y)·φ′; G_Z], and J's cotangent, W's and b's are one GEMM with
// W, one with J and the base rows summed. First order runs jetAct's kernel;
// recorded (CreateGraph) it is differentiable operations throughout, Z
// recomputed from J and W so that its dependence on them is recorded.
func denseJetVJP(pp any, g, out *Value, in []*Value, need []bool) []*Value {
	p := pp.(denseJetParams)
	j, w := in[0], in[1]
	n, nout, k := p.n, w.Dim(0), p.k
	var gp *Value // pre-activation cotangent, [(1+rIn)·n, out]
	switch {
	case p.act == tensor.ActNone:
		gp = g
	case out.grad:
		yb := SliceRows(out, 0, n)
		z := Reshape(layerMap{}.apply(SliceRows(j, n, (1+p.rIn)*n), w), p.rIn, n, nout)
		gc := Reshape(SliceRows(g, n, (1+p.rOut)*n), p.rOut, n, nout)
		ga := jetActP.vjp(jetActParams{act: p.act, k: k, only1: p.rOut == k}, gc, out, []*Value{yb, z}, []bool{true, true})
		gz0 := Mul(Add(SliceRows(g, 0, n), ga[0]), actDeriv(yb, p.act))
		gp = ConcatRows(gz0, Reshape(ga[1], p.rIn*n, nout))
	default:
		gp = temp(g, denseJetPreGrad(p, g.t, out.t, in[len(in)-1].t))
	}
	gs := make([]*Value, len(in))
	if need[0] {
		gs[0] = layerMap{}.gradX(gp, w)
	}
	if need[1] {
		gs[1] = layerMap{}.gradW(gp, j)
	}
	if p.bias && need[2] {
		gs[2] = SumTo(SliceRows(gp, 0, n), in[2].t.Shape()...)
	}
	return gs
}

// denseJetPreGrad is denseJetVJP's first-order pre-activation cotangent:
// jetAct's backward kernel on the coefficient rows, then the base rows
// (G₀ + ḡ_y)·φ′.
func denseJetPreGrad(p denseJetParams, g, out, z *tensor.Tensor) *tensor.Tensor {
	n := p.n
	nw := n * out.Dim(1)
	gp := tensor.Zeros(g.DType(), (1+p.rIn)*n, out.Dim(1))
	y := tensor.SliceRows(out, 0, n)
	d1 := tensor.ActDerivFromOutput(y, p.act)
	gc := tensor.SliceRows(g, n, (1+p.rOut)*n)
	if g.DType() == tensor.Float32 {
		denseJetBase(gp.Float32s(), g.Float32s()[:nw], gc.Float32s(), y.Float32s(), d1.Float32s(), z.Float32s(), p)
	} else {
		denseJetBase(gp.Float64s(), g.Float64s()[:nw], gc.Float64s(), y.Float64s(), d1.Float64s(), z.Float64s(), p)
	}
	putBuffer(d1)
	return gp
}

// denseJetBase writes gp = [(g0 + ḡ_y)·φ′; G_Z] (see denseJetVJP).
func denseJetBase[T float32 | float64](gp, g0, gc, y, d1, z []T, p denseJetParams) {
	nw := len(y)
	jetActBackward(gp[nw:], gp[:nw], g0, gc, y, d1, z, p.act, p.k, p.rOut == p.k)
}
