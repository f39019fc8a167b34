//go:build race

package gemm

// raceEnabled shrinks the test sweeps under the race detector, which makes
// the float64 reference about 10× slower.
const raceEnabled = true
