// Package adtest checks reverse-mode derivatives against finite differences,
// to any order, in the manner of HIPS autograd's check_grads.
//
// At each order, Check draws a random direction u for the inputs and a random
// cotangent v for the output, and compares the reverse-mode directional
// derivative Σᵢ⟨∂⟨v, f⟩/∂xᵢ, uᵢ⟩ with a central difference of t ↦ ⟨v, f(x + t·u)⟩.
// It then recurses on the scalar function x ↦ Σᵢ⟨∂⟨v, f⟩/∂xᵢ, wᵢ⟩ (w random),
// whose reverse pass is a backward pass through a recorded backward pass: the
// check of order n exercises n nested Grad calls.
package adtest
