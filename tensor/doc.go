// Package tensor provides dense float32/float64 tensors and the numerical
// kernels fdsm is built on.
//
// A Tensor has a runtime dtype (Float32 or Float64), a shape, and contiguous
// row-major storage with no strides: Reshape shares storage, Transpose copies,
// and MatMul takes transpose flags instead of materialising transposes. The
// kernels are written once as generic Go functions over float32 | float64 and
// dispatched by dtype, so the public API has no type parameters.
//
// Operations return new tensors and never modify their inputs, which is what
// lets package autodiff share tensors freely between graph nodes.
//
// Broadcasting follows NumPy's rules (shapes aligned at the trailing axis, a
// size-1 axis repeats); the common cases, a scalar and a row vector repeated
// across rows, have fast paths. SumTo is the reduction that undoes a
// broadcast, and is its adjoint.
//
// Shape misuse is a programmer error and panics with a message that names the
// shapes involved ("tensor: MatMul shapes [3 4] ... x [5 6] ..."). Data that
// comes from outside (safetensors and .npy files) is parsed with errors, never
// panics.
//
// Storage of at least 16 elements comes from a pool of buffers that autodiff
// (for a graph it releases) and Arena (for tensors a training step draws and
// drops) hand back, so a steady training loop reuses its memory instead of
// making garbage; returned storage is zeroed before reuse.
//
// Parallelism lives inside kernels: large elementwise loops, reductions and
// GEMM are split into chunks whose boundaries depend only on the problem size,
// and reductions combine their partial results in chunk order, so results are
// bitwise identical whatever GOMAXPROCS is. Sums of float32 data accumulate in
// float64.
package tensor
