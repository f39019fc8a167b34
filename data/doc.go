// Package data loads and prepares the data sets fdsm trains on: toy 2-D
// distributions generated in code, numeric CSV tables (the UCI wine data),
// and MNIST in IDX format, plus the preprocessing of the finite-difference
// score matching paper (Pang et al., NeurIPS 2020).
//
// # Toy distributions
//
// NewToy returns a distribution by name ("8gaussians", "2gaussians", "rings",
// "moons", "spirals", "checkerboard"); Sample draws an [N, 2] tensor of any
// dtype from an explicit *rand.Rand. The shapes and scales are those of
// FFJORD's toy data (Grathwohl et al., 2019, lib/toy_data.py), so results
// can be compared by eye. Distributions whose density is known in closed
// form implement Density, so a model's log-likelihood can be compared with
// the truth:
//
//	mixture of Gaussians   log p = logsumexp_k(log w_k − ‖x − μ_k‖²/2σ²) − log 2πσ²
//	rings (a uniform angle on a circle of radius R, plus N(0, σ²I) noise)
//	                       p_R(x) = exp(−(r² + R²)/2σ²)·I₀(rR/σ²)/2πσ²,  r = ‖x‖
//	checkerboard           uniform on 8 squares of side 2: log p = −log 32 inside
//
// # Files
//
// Everything read from outside (CSV, IDX, gzip) is parsed with errors, never
// panics, and errors start with the file's name; malformed headers cannot
// cause large allocations, because sizes are checked against the data that is
// actually there before anything is allocated for them.
//
// # Preprocessing
//
// The UCI pipeline (PrepareUCI) follows the paper and the DKEF code it took
// the benchmark from (Wenliang et al., 2019): drop "quality", dequantise each
// feature by adding uniform noise on ±δ_j, δ_j the median gap between its
// distinct values, split off test = min(1000, N/10) and validation =
// min(1000, (N − test)/10) rows after a seeded shuffle, and whiten with a PCA
// fitted on the training rows only. Images are dequantised to (k + u)/256 and
// mapped through the logit transform y = logit(λ + (1 − 2λ)x); Logit returns
// the log-determinant of its Jacobian, so a log-likelihood in logit space
// converts back to pixel space.
//
// # Out-of-distribution sets
//
// An OOD benchmark can be built offline from MNIST alone: SelectClasses
// splits off held-out digit classes, Invert, FlipHorizontal, FlipVertical
// and Rotate90 transform in-distribution images exactly (a permutation of
// pixels, or 1 − x), and UniformImages and GaussianImages draw noise images
// in the pixel range.
package data
