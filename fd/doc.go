// Package fd computes finite-difference stencils of any derivative order and
// evaluates directional derivatives of batched functions with them, as in
// finite-difference score matching (Pang et al., "Efficient Learning of
// Generative Models via Finite-Difference Score Matching", NeurIPS 2020).
//
// # The theorem
//
// Let f be smooth, u a unit direction, ε > 0 a step, and γ_1..γ_K distinct
// nodes. If the weights β solve the K×K Vandermonde system
//
//	Σ_k β_k γ_k^t = T!·δ_{t,T},   t = 0, …, K−1,
//
// which needs K ≥ T+1, then Taylor expansion of each f(x + γ_k ε u) gives
//
//	∂ᵀf/∂uᵀ(x) = ε^{−T} Σ_k β_k f(x + γ_k ε u) + O(ε^{K−T}).
//
// More precisely, with moments M_t = Σ_k β_k γ_k^t and D = u·∇,
//
//	ε^{−T} Σ_k β_k f(x + γ_k ε u) − Dᵀf(x) = Σ_{t≥K} (M_t/t!)·ε^{t−T}·Dᵗf(x),
//
// so the error is C·ε^p·D^{T+p}f(x) + O(ε^{p+1}), where T+p is the first
// t ≥ K with M_t ≠ 0 and C = M_{T+p}/(T+p)!. For node sets symmetric about 0
// the weights are even (T even) or odd (T odd) under γ → −γ, so the moments
// of the other parity vanish; when K−T is odd that includes M_K, and the
// order is K−T+1. The minimal symmetric stencils are thus O(ε²): for T = 1,
// nodes ±1, weights ∓½, error ε²·D³f/6; for T = 2, nodes −1, 0, 1, weights
// 1, −2, 1, error ε²·D⁴f/12. The paper writes the same formula as
// (T!/ε^T)·Σ_k β'_k f(x + γ_k ε u) with β' = β/T! (see Stencil.Paper).
//
// # Weights
//
// New computes the weights for any node set with Fornberg's recurrence run
// in exact rational arithmetic (every float64 node is a rational number), so
// the float64 weights are correctly rounded and the exact ones are available
// as big.Rat; it measures the accuracy order p from the moments rather than
// assuming K−T. Central, Forward and Backward build the usual uniform-grid
// stencils of a requested accuracy, and D1, D2, D3, D4, D1Acc4 and D2Acc4 are
// the named ones. Fornberg is the plain float64 recurrence, for all
// derivative orders at once.
//
// # Batched evaluation
//
// Evaluate stacks the K shifted batches x + γ_k·v into one batch of K·N rows,
// calls f once and splits the result; Directional also forms Σ_k β_k·f(…),
// which approximates ε^T·Dᵀf when v = ε·u. Both work on autodiff values, so a
// loss built from them can be differentiated with respect to f's parameters;
// NonBatched calls f once per node instead. Richardson and Extrapolate combine
// estimates at two step sizes to cancel the leading error term.
//
// # Exact differences
//
// Three evaluators serve a set of stencils sharing the evaluations of their
// union of nodes, each with an Apply that forms Σ w_i·f(x + γ_i·v) for one
// stencil. EvaluateNodes is the paper's: f at every shifted point, stacked,
// and Combine. In float32 that loses a second difference to rounding (it
// is O(ε²) next to terms of O(|f|)), so EvaluateDifferences evaluates f
// once, at a base node, and propagates the exact differences
// f(x + γ·v) − f(x + γ_b·v) through the model (autodiff.Delta: every
// primitive has a difference rule without cancellation), and
// EvaluateCentral, for node sets symmetric about 0, propagates the pairs
// D_γ = (f(x+γv) − f(x−γv))/2 and S_γ = f(x+γv) + f(x−γv) − 2f(x)
// (autodiff.Central), so that no second difference is formed from first
// ones. Package sm picks among them (sm.FDMode) and documents the error
// bound and the cost.
package fd
