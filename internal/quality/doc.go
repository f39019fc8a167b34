// Package quality measures how much samples of an MNIST model look like
// MNIST digits, with a small classifier that fdsm trained itself (a LeNet-5,
// shipped as lenet.safetensors) instead of an Inception network.
//
// Three figures:
//
//   - FID-MNIST, the Fréchet distance between Gaussians fitted to the
//     classifier's penultimate-layer features of the samples and of the
//     MNIST test set (the "Fréchet LeNet distance" of dfaroughy/FID-MNIST):
//
//     d² = |μ₁ − μ₂|² + tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½).
//
//     tr (Σ₁Σ₂)^½ is computed as Σᵢ √λᵢ over the eigenvalues λᵢ of the
//     symmetric matrix Σ₁^½ Σ₂ Σ₁^½, which is similar to Σ₁Σ₂; both square
//     roots come from a symmetric eigendecomposition (data.SymEigen).
//
//   - The confident fraction: the share of samples whose most probable class
//     has softmax probability ≥ 0.9. A plain classifier is confident about
//     noise too (the LeNet trained without outliers called 64% of uniform
//     noise images a digit at p ≥ 0.9), so the shipped one was also shown
//     non-digits, uniform noise and training images with shuffled pixels,
//     and taught to be unsure of them (outlier exposure, Hendrycks, Mazeika
//     and Dietterich, ICLR 2019; see TrainConfig.Outliers).
//
//   - The smallest class share: the fraction of samples given the rarest of
//     the ten labels (0.1 for balanced samples; 0 when a digit is missing,
//     which is what mode collapse looks like).
//
// The test set's feature mean and covariance are stored with the weights, so
// that measuring needs no MNIST files. The Fréchet distance of n samples is
// biased upwards by about 1/n (a covariance estimated from n points is
// noisy): compare figures at equal n. The package is internal because its
// surface is the command `fdsm quality`; the experiments of cmd/fdsm use it
// directly.
package quality
