package sm

import (
	"errors"
	"fmt"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/fd"
	"github.com/fdsm/fdsm/tensor"
)

// Cancellation-free finite differences.
//
// An FD objective combines model evaluations at x + γ_i·v whose differences
// are tiny next to the values themselves: FD-SSM's second difference
// g(x+v) + g(x−v) − 2g(x) is O(ε²) while each term is O(|g|), and it is then
// multiplied by d/ε² (78 400 at d = 784, ε = 0.1). Evaluated and subtracted
// in float32 (unit round-off u = 6e-8) it keeps a relative accuracy of only
// about u·|g|/|g(x+v) + g(x−v) − 2g(x)|: at d = 784 the parameter gradient's
// cosine with its float64 value is 0.02–0.9 for ε from 0.01 to 0.1 (0.72 and
// 0.43 in the PyTorch peer's measurement).
//
// The stable evaluation (FDStable, the default for float32) never forms the
// shifted evaluations. It evaluates the model once, at a base point, and
// propagates exact differences through the model (autodiff.Delta and
// autodiff.Central): every primitive applies a difference rule without
// cancellation (for a layer's product ΔZ = ΔX·Wᵀ; for softplus
// log1p(σ(z)·expm1(δ)), or its Taylor series in δ for small steps; …).
//
//   - FD-SSM (stencils symmetric about 0): autodiff.Central carries the pair
//     D = (g(x+v) − g(x−v))/2, S = g(x+v) + g(x−v) − 2g(x) through the model
//     (linear maps take pairs to pairs; a layer's activation takes the
//     pre-activation pair (a, b) = (δ_D, δ_S/2) to
//     D′ = (φ(z+b+a) − φ(z+b−a))/2, S′ = φ(z+b+a) + φ(z+b−a) − 2φ(z), summed
//     term by term from φ's Taylor series). The first difference is D, the
//     second S; no O(ε²) quantity is ever obtained by subtracting O(ε) or
//     O(1) ones. Higher-order central stencils (fd.D1Acc4, fd.D2Acc4) use
//     one pair per node ±γ.
//   - FD-DSM, FD-MDSM, FD-SSM-VR (first differences on nodes ±1): the model
//     is evaluated at x − v and one exact difference g(x+v) − g(x−v)
//     (autodiff.Delta with Δx = 2v) is propagated; FD-SSM-VR's interpolated
//     score is s(x−v) + ½Δ.
//
// Other stencils fall back to Delta from the stencil's 0 node (or its first
// node): Σ w_i g(x + γ_i v) = Σ_{i≠b} w_i·Δ_i for derivative stencils.
//
// Error bound. A propagated difference has a relative error of a few u of
// itself times κ, the condition number of the network's map from input
// change to output change (the same κ that bounds any forward pass),
// instead of u·|g|/|Δg|: first differences keep κ·u instead of O(u/ε) and
// FD-SSM's second difference keeps κ·u instead of O(u·|g|/ε²) (summing two
// first differences would keep O(κ·u/ε)). The parameter gradient flows back
// through the same rules (each has a vector-Jacobian product) and inherits
// the bound, up to its own O(κ·u/ε) for the second-difference terms. On
// mnist-mlp and mnist-large (ε from 0.01 to 0.1, at initialisation and after
// 200 steps) the float32 loss is within 2e-5 and the gradient cosine above
// 0.99999 of float64 for every FD objective (bench/stable_test.go).
//
// Cost. The base rows and the K difference rows go through the same matrix
// products as the stacked batch of the naive evaluation (one GEMM for all
// differences of a layer forward, one for the weights and one for the input
// backward, all K+1 row blocks at once); the activation's rule costs a short
// polynomial per element for small steps. Measured per float32 training step
// on mnist-mlp and mnist-large: 0.96–1.15× the naive evaluation (noisy,
// shared machine). Models built from other primitives (NICE, the quadratic
// head, DKEF) go through generic rules made of several elementwise
// operations, which cost more (1.0–1.8× at d = 64 with 256 hidden units).
//
// The model must compute its output from its input with autodiff operations
// only (every model of package nn does): the objective panics if the output
// does not depend on the input through the graph, or if the model uses an
// operation without a difference rule.

// FDMode selects how the finite-difference objectives evaluate their
// stencils.
type FDMode uint8

const (
	// FDAuto (the zero value) is FDStable for float32 batches and FDNaive for
	// float64 ones, and FDNaive whenever Options.NonBatched is set. In
	// float64 the naive round-off (1e-16·|g|/ε²) is harmless at the default
	// steps, the two evaluations cost about the same for MLPs (stable
	// 0.9–1.05× naive) and naive is cheaper for models of generic
	// operations (NICE, DKEF: stable up to 1.2×), and the results stay
	// bit-for-bit those of the plain evaluation (and of the PyTorch
	// cross-check).
	FDAuto FDMode = iota
	// FDNaive evaluates the model at every stencil point x + γ_i·v, stacked
	// into one batch (or one call per point with NonBatched), and combines
	// the evaluations: the paper's method. In float32 it loses the
	// objective to rounding at small ε or large d.
	FDNaive
	// FDStable evaluates the model at one base point and propagates the
	// exact differences to the other stencil points (see the package
	// documentation): accurate in float32.
	FDStable
)

// String returns "auto", "naive" or "stable".
func (m FDMode) String() string {
	switch m {
	case FDAuto:
		return "auto"
	case FDNaive:
		return "naive"
	case FDStable:
		return "stable"
	}
	return fmt.Sprintf("FDMode(%d)", uint8(m))
}

// ParseFDMode parses "auto", "naive" or "stable".
func ParseFDMode(s string) (FDMode, error) {
	for _, m := range []FDMode{FDAuto, FDNaive, FDStable} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("sm: unknown FD evaluation %q (want auto, naive or stable)", s)
}

// stableFD reports whether an FD objective on batch x uses the stable
// evaluation.
func (o *Options) stableFD(name string, x *tensor.Tensor) bool {
	switch o.FDMode {
	case FDNaive:
		return false
	case FDStable:
		if o.NonBatched {
			panic(fmt.Sprintf("sm: %s: NonBatched is an option of the naive FD evaluation, not of FDStable", name))
		}
		return true
	case FDAuto:
		return !o.NonBatched && x.DType() == tensor.Float32
	}
	panic(fmt.Sprintf("sm: %s: unknown FDMode %d", name, uint8(o.FDMode)))
}

// evalDiffs is fd.EvaluateDifferences, with the objective's name in the
// panics for a model it cannot serve.
func evalDiffs(name string, f fd.Func, x, v *tensor.Tensor, c *Options, stencils ...fd.Stencil) fd.Differences {
	defer rethrowNoDiff(name)
	nd := fd.EvaluateDifferences(f, x, v, c.Arena, stencils...)
	if !nd.DependsOnInput() {
		panic(noInputDependence(name))
	}
	return nd
}

// evalCentral is fd.EvaluateCentral, with the objective's name in the
// panics for a model it cannot serve; ok is false when the stencils' nodes
// are not symmetric about 0.
func evalCentral(name string, f fd.Func, x, v *tensor.Tensor, c *Options, stencils ...fd.Stencil) (fd.CentralDifferences, bool) {
	defer rethrowNoDiff(name)
	cd, ok := fd.EvaluateCentral(f, x, v, c.Arena, stencils...)
	if ok && !cd.DependsOnInput() {
		panic(noInputDependence(name))
	}
	return cd, ok
}

// noInputDependence is the panic message for a model whose output does not
// depend on its input through autodiff.
func noInputDependence(name string) string {
	return fmt.Sprintf("sm: %s: the model's output does not depend on its input through autodiff operations, so the stable FD evaluation cannot propagate differences through it; set Options.FDMode = FDNaive", name)
}

// rethrowNoDiff turns autodiff's panic for a primitive without a difference
// rule into one that names the objective and the way out.
func rethrowNoDiff(name string) {
	if r := recover(); r != nil {
		if err, ok := r.(error); ok {
			var nr *ad.NoDiffRuleError
			if errors.As(err, &nr) {
				panic(fmt.Sprintf("sm: %s: the model uses %s, which has no difference rule for the stable FD evaluation; set Options.FDMode = FDNaive", name, nr.Primitive))
			}
		}
		panic(r)
	}
}
