package nn

import (
	"fmt"
	"math"
)

// Schedule gives the learning rate of step (counted from 0) in a run of
// total steps. A schedule is a pure function of its arguments, so a resumed
// run gets the same rates as an uninterrupted one.
type Schedule func(step, total int) float64

// Constant returns the schedule that is lr at every step.
func Constant(lr float64) Schedule {
	return func(int, int) float64 { return lr }
}

// Cosine returns a linear warmup followed by cosine annealing (PyTorch's
// CosineAnnealingLR with T_max = total − warmup, after a LinearLR warmup).
// Steps 0 … warmup−1 ramp linearly up to lr as lr·(step+1)/warmup, so the
// first step already moves; from step warmup on,
//
//	lr(step) = minLR + ½(lr − minLR)(1 + cos(π·(step − warmup)/(total − warmup)))
//
// which is lr at step = warmup and reaches minLR at step = total (the last
// step, total − 1, is one decrement above it). Steps past total stay at minLR.
func Cosine(lr, minLR float64, warmup int) Schedule {
	if warmup < 0 {
		panic(fmt.Sprintf("nn: Cosine warmup %d is negative", warmup))
	}
	return func(step, total int) float64 {
		if step < warmup {
			return lr * float64(step+1) / float64(warmup)
		}
		n := total - warmup
		if n <= 0 || step >= total {
			return minLR
		}
		p := float64(step-warmup) / float64(n)
		return minLR + 0.5*(lr-minLR)*(1+math.Cos(math.Pi*p))
	}
}

// StepDecay returns lr·gammaᵏ with k = ⌊step/every⌋ (PyTorch's StepLR).
func StepDecay(lr, gamma float64, every int) Schedule {
	if every <= 0 {
		panic(fmt.Sprintf("nn: StepDecay every %d must be positive", every))
	}
	return func(step, _ int) float64 {
		return lr * math.Pow(gamma, float64(step/every))
	}
}
