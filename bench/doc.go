// Package bench measures score-matching objectives against their
// finite-difference counterparts on one engine: the go test -bench suites of
// this directory, and the harness that `fdsm bench` prints from.
//
// A training step is the objective, the backward pass to the parameters
// and an Adam update (what the PyTorch peer in bench/peers times). Its peak tensor memory is measured, not sampled from the
// process: the bytes of every tensor the loss's graph holds when the backward
// pass starts (autodiff.Footprint, which for gradient-based objectives
// includes the recorded first-order backward pass) plus the largest total of
// cotangents alive during that backward pass (autodiff.GradStats).
package bench
