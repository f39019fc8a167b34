// Package vec holds fdsm's vectorized elementwise kernels that belong to no
// tensor operation: today the float32 Adam update, which nn's optimizers run
// once per parameter element per step.
//
// Each kernel has an AVX assembly form on amd64 (chosen at start-up from
// internal/kernel/cpu) and a pure-Go twin, used under the purego build tag, on other
// architectures, and for the tail of a slice shorter than a vector. The two
// give bitwise identical results: the assembly performs the same IEEE
// operations in the same order, without fused multiply-adds, and the Go
// code converts each product explicitly so that no compiler fuses it either.
package vec
