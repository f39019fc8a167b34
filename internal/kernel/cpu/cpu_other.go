//go:build !amd64 || purego

package cpu

// Without the assembly stub every feature stays false, so callers fall back
// to their portable code.
