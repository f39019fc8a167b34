//go:build amd64 && !purego

package cpu

// cpuid executes CPUID with EAX = eaxArg and ECX = ecxArg.
//
//go:noescape
func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

// xgetbv returns XCR0 (XGETBV with ECX = 0). Only valid when CPUID reports
// OSXSAVE.
//
//go:noescape
func xgetbv() (eax, edx uint32)

func init() { detect() }

func detect() {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 1 {
		return
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		fma     = 1 << 12
		osxsave = 1 << 27
		avx     = 1 << 28
	)
	var osYMM, osZMM bool
	if ecx1&osxsave != 0 {
		xcr0, _ := xgetbv()
		const (
			xmm      = 1 << 1
			ymm      = 1 << 2
			opmask   = 1 << 5
			zmmHi256 = 1 << 6
			hi16ZMM  = 1 << 7
		)
		osYMM = xcr0&(xmm|ymm) == xmm|ymm
		osZMM = osYMM && xcr0&(opmask|zmmHi256|hi16ZMM) == opmask|zmmHi256|hi16ZMM
	}
	hasAVX := ecx1&avx != 0 && osYMM
	HasFMA = hasAVX && ecx1&fma != 0
	if maxID < 7 {
		return
	}
	_, ebx7, _, _ := cpuid(7, 0)
	const (
		avx2    = 1 << 5
		avx512f = 1 << 16
	)
	HasAVX2 = hasAVX && ebx7&avx2 != 0
	HasAVX512F = hasAVX && osZMM && ebx7&avx512f != 0
}
