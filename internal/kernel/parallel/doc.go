// Package parallel splits loops over a fixed number of chunks across goroutines.
//
// Chunk boundaries depend only on the problem size and the grain, never on
// GOMAXPROCS, so any computation whose per-chunk result is combined in chunk
// order is bitwise identical whatever the number of cores.
package parallel
