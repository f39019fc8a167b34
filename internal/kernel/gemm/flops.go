package gemm

import "sync/atomic"

// flops counts the floating-point operations of the matrix products the
// package has computed, 2·m·n·k each (a multiply and an add per term), for
// the benchmarks' floor: a step's product FLOPs over the rate Gemm reaches.
var flops atomic.Uint64

// FLOPs returns the operations of every product computed so far by Gemm,
// the implicit GEMMs (PatchesTimes, TimesPatches) and the direct
// convolutions, 2·m·n·k each, in this process.
func FLOPs() uint64 { return flops.Load() }

// countFLOPs adds the 2·m·n·k operations of one product.
func countFLOPs(m, n, k int) { flops.Add(uint64(2 * m * n * k)) }
