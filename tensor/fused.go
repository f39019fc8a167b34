package tensor

import (
	"fmt"
	"math"

	"github.com/fdsm/fdsm/internal/kernel/parallel"
)

// Act is an activation that a fused kernel applies, chosen among those whose
// derivative can be computed from their output alone (so that a fused layer
// need not keep its pre-activation).
type Act uint8

const (
	// ActNone is the identity.
	ActNone Act = iota
	// ActSoftplus is log(1+eˣ); its derivative is σ(x) = 1 − e^−y.
	ActSoftplus
	// ActTanh is tanh x; its derivative is 1 − y².
	ActTanh
	// ActSigmoid is σ(x); its derivative is y(1 − y).
	ActSigmoid
	// ActELU is ELU with α = 1; its derivative is 1 for y > 0, y + 1 otherwise.
	ActELU
)

// String names the activation.
func (a Act) String() string {
	switch a {
	case ActNone:
		return "none"
	case ActSoftplus:
		return "softplus"
	case ActTanh:
		return "tanh"
	case ActSigmoid:
		return "sigmoid"
	case ActELU:
		return "elu"
	}
	return fmt.Sprintf("Act(%d)", uint8(a))
}

// BiasActInPlace replaces each row r of the 2-D tensor c by act(r + b), in one
// pass. It writes into c, which must not be shared: it exists for fused
// layers that own the GEMM output they apply it to. b may be nil (no bias).
func BiasActInPlace(c, b *Tensor, act Act) {
	if c.Rank() != 2 || (b != nil && (b.Len() != c.shape[1] || b.dtype != c.dtype)) {
		bs := "none"
		if b != nil {
			bs = fmt.Sprint(b.dtype, b.shape)
		}
		panic(fmt.Sprintf("tensor: BiasActInPlace of %v %v with bias %s", c.dtype, c.shape, bs))
	}
	if c.dtype == Float32 {
		var bias []float32
		if b != nil {
			bias = b.f32
		}
		biasAct(c.f32, bias, c.shape[1], act)
	} else {
		var bias []float64
		if b != nil {
			bias = b.f64
		}
		biasAct(c.f64, bias, c.shape[1], act)
	}
}

func biasAct[T float](c, bias []T, w int, act Act) {
	rows := len(c) / max(w, 1)
	parallel.For(rows, max(1, grain/max(w, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := c[r*w : (r+1)*w]
			if r32, ok := any(row).([]float32); ok && act != ActNone {
				act32(r32, any(bias).([]float32), act) // bias added in the kernel
				continue
			}
			if bias != nil {
				for j := range row {
					row[j] += bias[j]
				}
			}
			switch act {
			case ActSoftplus:
				for j, v := range row {
					row[j] = T(softplus(float64(v)))
				}
			case ActTanh:
				for j, v := range row {
					row[j] = T(math.Tanh(float64(v)))
				}
			case ActSigmoid:
				for j, v := range row {
					row[j] = T(sigmoid(float64(v)))
				}
			case ActELU:
				for j, v := range row {
					if v <= 0 {
						row[j] = T(math.Expm1(float64(v)))
					}
				}
			}
		}
	})
}

// act32 replaces row by act(row + bias) (bias may be nil) with the slice
// kernels of simd.go, the bias added in the same pass.
func act32(row, bias []float32, act Act) {
	switch act {
	case ActSoftplus:
		apply32(vSoftplus, row, row, bias, 0)
	case ActTanh:
		apply32(vTanh, row, row, bias, 0)
	case ActSigmoid:
		apply32(vSigmoid, row, row, bias, 0)
	case ActELU:
		apply32(vELU, row, row, bias, 1)
	}
}

// ActDerivFromOutput returns act′(x) computed from y = act(x) alone:
// softplus 1 − e^−y, tanh 1 − y², sigmoid y(1 − y), ELU 1 or y + 1, none 1.
func ActDerivFromOutput(y *Tensor, act Act) *Tensor {
	out := allocUninit(y.dtype, y.shape)
	if y.dtype == Float32 {
		actDeriv(out.f32, y.f32, act)
	} else {
		actDeriv(out.f64, y.f64, act)
	}
	return out
}

func actDeriv[T float](dst, y []T, act Act) {
	if len(dst) <= grain {
		actDerivChunk(dst, y, act)
		return
	}
	parallel.For(len(dst), grain, func(lo, hi int) { actDerivChunk(dst[lo:hi], y[lo:hi], act) })
}

func actDerivChunk[T float](d, x []T, act Act) {
	switch act {
	case ActNone:
		for i := range d {
			d[i] = 1
		}
	case ActSoftplus:
		if d32, ok := any(d).([]float32); ok {
			apply32(vNegExpm1Neg, d32, any(x).([]float32), nil, 0) // −expm1(−y)
			return
		}
		for i, v := range x {
			d[i] = T(-math.Expm1(-float64(v)))
		}
	case ActTanh:
		for i, v := range x {
			d[i] = 1 - v*v
		}
	case ActSigmoid:
		for i, v := range x {
			d[i] = v * (1 - v)
		}
	case ActELU:
		for i, v := range x {
			if v > 0 {
				d[i] = 1
			} else {
				d[i] = v + 1
			}
		}
	}
}
