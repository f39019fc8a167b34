package sm

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fdsm/fdsm/fd"
	"github.com/fdsm/fdsm/tensor"
)

// Projection is the distribution of the random projections v.
type Projection uint8

const (
	// Rademacher draws each entry ±1: E[vvᵀ] = I. The default for SSM.
	Rademacher Projection = iota
	// Gaussian draws N(0, I): E[vvᵀ] = I.
	Gaussian
	// Sphere draws uniformly on the sphere of radius √d: E[vvᵀ] = I. (The FD
	// objectives always use a sphere, of the radius their formula fixes.)
	Sphere
)

// String returns the projection's name.
func (p Projection) String() string {
	switch p {
	case Rademacher:
		return "rademacher"
	case Gaussian:
		return "gaussian"
	case Sphere:
		return "sphere"
	}
	return fmt.Sprintf("Projection(%d)", uint8(p))
}

// ParseProjection parses "rademacher", "gaussian" or "sphere".
func ParseProjection(s string) (Projection, error) {
	for _, p := range []Projection{Rademacher, Gaussian, Sphere} {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("sm: unknown projection %q (want rademacher, gaussian or sphere)", s)
}

// Defaults of the objectives (docs/OBJECTIVES.md; the values of the paper's
// reference code).
const (
	DefaultSigma    = 0.1  // DSM noise level σ
	DefaultEpsSSM   = 0.1  // FD-SSM and FD-SSM-VR: v on the sphere of radius ε
	DefaultEpsDSM   = 1e-3 // FD-DSM: u on the sphere of radius ε√d
	DefaultEpsMDSM  = 0.05 // FD-MDSM: v on the sphere of radius ε
	MDSMSigmaMin    = 0.05 // MDSM: σ_i spaced linearly from here...
	MDSMSigmaMax    = 1.2  // ...to here across the batch
	MDSMSigma0      = 0.1  // MDSM: σ₀
	MDSMCoefficient = 1e-4 // MDSM: the loss's constant factor c
)

// Options configures an objective. The zero value (or nil) means the
// defaults; only Rand, or the explicit V and Noise, must be supplied when the
// objective is random.
type Options struct {
	// Rand draws whatever randomness is not given explicitly. Draw order:
	// the DSM noise n first (B rows), then the projections (M·B rows).
	Rand *rand.Rand
	// V, if set, holds the projections, one row per (projection, sample):
	// M·B rows, projection m of sample b at row m·B + b. Gradient-based
	// objectives use the rows as given; FD objectives rescale each row to
	// the sphere radius their formula prescribes.
	V *tensor.Tensor
	// Noise, if set, holds the DSM noise n ([B, d]): x̃ = x + σ·n.
	Noise *tensor.Tensor
	// Arena, if set, receives the tensors the objective allocates for one
	// evaluation (noise, projections, shifted and repeated inputs): they
	// live until the loss's backward pass is done, and a training loop
	// releases the arena after each step, so that the next step's draws
	// reuse their storage (see nn.TrainConfig and tensor.Arena). The loss
	// must not be evaluated again after the release.
	Arena *tensor.Arena
	// Projection is the distribution of v for SSM and SSM-VR.
	Projection Projection
	// M is the number of projections per sample (default 1).
	M int
	// Sigma is the DSM noise level σ (0: DefaultSigma; negative panics).
	Sigma float64
	// SigmaSquaredScale divides the DSM-family losses by σ² (the other
	// common scale). The default is the authors' scale, ½‖σ²s(x̃) + σn‖².
	SigmaSquaredScale bool
	// Eps is the finite-difference step ε (0: the objective's default; a
	// negative or NaN value panics).
	Eps float64
	// First and Second are the stencils for the first and second
	// directional derivatives (default fd.D1 and fd.D2, O(ε²)); fd.D1Acc4 and
	// fd.D2Acc4 give O(ε⁴).
	First, Second fd.Stencil
	// NonBatched evaluates the FD stencil points with one model call each,
	// instead of one call on the stacked batch (the paper's ablation). It is
	// an option of the naive evaluation: with FDMode = FDAuto it selects
	// FDNaive, and with FDStable it panics.
	NonBatched bool
	// FDMode selects how FD objectives evaluate their stencils: FDAuto (the
	// default: exact difference propagation, FDStable, for float32 batches;
	// the plain stacked evaluation, FDNaive, for float64 ones), FDNaive or
	// FDStable. See the package documentation for the method and its error
	// bound.
	FDMode FDMode
}

func (o *Options) or() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.M <= 0 {
		c.M = 1
	}
	if c.Sigma == 0 {
		c.Sigma = DefaultSigma
	}
	if !(c.Sigma > 0) || math.IsInf(c.Sigma, 0) || !(c.Eps >= 0) || math.IsInf(c.Eps, 0) {
		panic(fmt.Sprintf("sm: Options.Sigma %g and Options.Eps %g: want a positive finite σ and a finite ε ≥ 0 (0 selects the default)", c.Sigma, c.Eps))
	}
	if c.First.Len() == 0 {
		c.First = fd.D1
	}
	if c.Second.Len() == 0 {
		c.Second = fd.D2
	}
	return c
}

func (o *Options) eps(def float64) float64 {
	if o.Eps > 0 {
		return o.Eps
	}
	return def
}

func (o *Options) rng(what string) *rand.Rand {
	if o.Rand == nil {
		panic(fmt.Sprintf("sm: %s needs Options.Rand or explicit values", what))
	}
	return o.Rand
}

// noise returns the DSM noise n, [B, d].
func (o *Options) noise(x *tensor.Tensor) *tensor.Tensor {
	if o.Noise != nil {
		if !o.Noise.SameShape(x) || o.Noise.DType() != x.DType() {
			panic(fmt.Sprintf("sm: Noise is %v %v, want %v %v (the batch's)", o.Noise.DType(), o.Noise.Shape(), x.DType(), x.Shape()))
		}
		return o.Noise
	}
	return o.own(tensor.RandN(x.DType(), o.rng("the noise"), x.Shape()...))
}

// own records t, allocated by the objective for this evaluation, in the
// arena (if any) and returns it. Never the caller's batch, V or Noise.
func (o *Options) own(t *tensor.Tensor) *tensor.Tensor {
	if o.Arena != nil {
		o.Arena.Add(t)
	}
	return t
}

// fdOptions are the options of package fd's naive evaluation.
func (o *Options) fdOptions() []fd.Option {
	if o.NonBatched {
		return []fd.Option{fd.NonBatched()}
	}
	return nil
}

// repeat is repeatRows(x, o.M), owned when it is a copy.
func (o *Options) repeat(x *tensor.Tensor) *tensor.Tensor {
	if o.M == 1 {
		return x
	}
	return o.own(repeatRows(x, o.M))
}

// projections returns M·B projections for batch x, from V or drawn from the
// chosen distribution.
func (o *Options) projections(x *tensor.Tensor, kind Projection) *tensor.Tensor {
	b, d := x.Dim(0), x.Dim(1)
	if o.V != nil {
		if o.V.Rank() != 2 || o.V.Dim(0) != o.M*b || o.V.Dim(1) != d || o.V.DType() != x.DType() {
			panic(fmt.Sprintf("sm: V is %v %v, want %v [%d %d] (M·B rows)", o.V.DType(), o.V.Shape(), x.DType(), o.M*b, d))
		}
		return o.V
	}
	r := o.rng("the projections")
	switch kind {
	case Rademacher:
		return o.own(tensor.Rademacher(x.DType(), r, o.M*b, d))
	case Gaussian:
		return o.own(tensor.RandN(x.DType(), r, o.M*b, d))
	default:
		return o.own(sphereInPlace(tensor.RandN(x.DType(), r, o.M*b, d), math.Sqrt(float64(d))))
	}
}

// sphereProjections returns M·B directions on the sphere of the given radius:
// V's rows rescaled, or Gaussian draws normalised.
func (o *Options) sphereProjections(x *tensor.Tensor, radius float64) *tensor.Tensor {
	if o.V != nil {
		return o.own(sphere(o.projections(x, Sphere), radius))
	}
	return o.own(sphereInPlace(tensor.RandN(x.DType(), o.rng("the projections"), o.M*x.Dim(0), x.Dim(1)), radius))
}

// sphere rescales each row of v to length r (rows of zeros stay zero),
// into a new tensor: v may be the caller's Options.V.
func sphere(v *tensor.Tensor, r float64) *tensor.Tensor { return sphereInPlace(v.Clone(), r) }

// sphereInPlace is sphere on a tensor of the objective's own, rescaled in
// place.
func sphereInPlace(v *tensor.Tensor, r float64) *tensor.Tensor {
	if v.DType() == tensor.Float32 {
		sphereRows(v.Float32s(), v.Dim(1), r)
	} else {
		sphereRows(v.Float64s(), v.Dim(1), r)
	}
	return v
}

// sphereRows rescales each row of a (width d) to length r in place, in
// float64 arithmetic whatever the storage.
func sphereRows[T float32 | float64](a []T, d int, r float64) {
	for i := 0; i < len(a); i += d {
		row := a[i : i+d]
		var ss float64
		for _, x := range row {
			ss += float64(x) * float64(x)
		}
		if ss == 0 {
			continue
		}
		s := r / math.Sqrt(ss)
		for j, x := range row {
			row[j] = T(float64(x) * s)
		}
	}
}

// repeatRows stacks m copies of x.
func repeatRows(x *tensor.Tensor, m int) *tensor.Tensor {
	if m == 1 {
		return x
	}
	xs := make([]*tensor.Tensor, m)
	for i := range xs {
		xs[i] = x
	}
	return tensor.ConcatRows(xs...)
}

func checkBatch(name string, x *tensor.Tensor) {
	if x.Rank() != 2 || x.Dim(0) == 0 {
		panic(fmt.Sprintf("sm: %s needs a batch of shape [B, d] with B > 0, got %v", name, x.Shape()))
	}
}
