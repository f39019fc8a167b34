//go:build !amd64 || purego

package cpu

const asmEnabled = false
