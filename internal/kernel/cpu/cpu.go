package cpu

// Features of the CPU this program runs on (see the package documentation).
// All are false on architectures other than amd64 and under the purego build
// tag.
var (
	// HasAVX2 reports AVX2 (256-bit integer and permute instructions; implies
	// AVX) with YMM state enabled by the operating system.
	HasAVX2 bool
	// HasFMA reports the FMA3 fused multiply-add instructions with YMM state
	// enabled by the operating system.
	HasFMA bool
	// HasAVX512F reports the AVX-512 foundation instructions with opmask and
	// ZMM state enabled by the operating system.
	HasAVX512F bool
)
