package cpu

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestFeatures prints the features and checks that they are consistent: an
// AVX-512 CPU has AVX2 and FMA (true of every AVX-512 CPU made), and on
// Linux they agree with the flags the kernel reports in /proc/cpuinfo.
func TestFeatures(t *testing.T) {
	t.Logf("GOARCH=%s HasAVX2=%v HasFMA=%v HasAVX512F=%v", runtime.GOARCH, HasAVX2, HasFMA, HasAVX512F)
	if HasAVX512F && !(HasAVX2 && HasFMA) {
		t.Errorf("AVX-512F without AVX2 and FMA")
	}
	if !asmEnabled {
		if HasAVX2 || HasFMA || HasAVX512F {
			t.Errorf("features reported without the assembly stub")
		}
		return
	}
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skip("no /proc/cpuinfo")
	}
	var flags map[string]bool
	for line := range strings.SplitSeq(string(info), "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "flags" {
			flags = map[string]bool{}
			for _, f := range strings.Fields(value) {
				flags[f] = true
			}
			break
		}
	}
	if flags == nil {
		t.Skip("no flags line in /proc/cpuinfo")
	}
	for _, f := range []struct {
		name string
		has  bool
	}{{"avx2", HasAVX2}, {"fma", HasFMA}, {"avx512f", HasAVX512F}} {
		// Linux lists a flag only when it also enables the state, so the two
		// must agree.
		if flags[f.name] != f.has {
			t.Errorf("/proc/cpuinfo says %s=%v, CPUID/XGETBV say %v", f.name, flags[f.name], f.has)
		}
	}
}
