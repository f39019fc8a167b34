package autodiff

import (
	"unsafe"

	"github.com/fdsm/fdsm/tensor"
)

// Footprint returns the bytes of tensor storage held by the graph that the
// given values were computed from: every distinct tensor reachable through
// their inputs, themselves included. Views that share storage with the same
// first element (Reshape, a leading slice) are counted once.
//
// It is the memory a backward pass through these values must keep alive: for
// an objective that was built with CreateGraph it includes the recorded
// first-order backward pass, which is where gradient-based score matching
// pays in memory and finite-difference score matching does not.
func Footprint(vs ...*Value) int64 {
	return newGraphMeter(vs...).live
}

// graphMeter counts the bytes of distinct storage held by a graph, and how
// many of its values hold each storage, so that releasing values (Grad's
// ReleaseGraph) can be accounted for.
type graphMeter struct {
	holders map[uintptr]int
	live    int64
}

func newGraphMeter(vs ...*Value) *graphMeter {
	return newGraphMeterIn(map[uintptr]int{}, map[*Value]bool{}, nil, vs...)
}

// newGraphMeterIn is newGraphMeter on the given empty maps and stack (a
// Grad's scratch).
func newGraphMeterIn(holders map[uintptr]int, seen map[*Value]bool, stack []*Value, vs ...*Value) *graphMeter {
	m := &graphMeter{holders: holders}
	stack = append(stack[:0], vs...)
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if v == nil || seen[v] || v.t == nil {
			continue
		}
		seen[v] = true
		m.hold(v.t)
		if v.aux != nil {
			// What a node keeps for its backward pass besides its value
			// (the softplus σ and e^−y of FD's Dense joints) is memory
			// the graph holds too.
			for _, t := range v.aux.tensors() {
				m.hold(t)
			}
		}
		stack = append(stack, v.inputs...)
	}
	return m
}

// hold records one more holder of t's storage.
func (m *graphMeter) hold(t *tensor.Tensor) {
	if key := storageKey(t); key != 0 {
		if m.holders[key] == 0 {
			m.live += int64(t.Bytes())
		}
		m.holders[key]++
	}
}

// drop records that v no longer holds its storage, nor its aux's.
func (m *graphMeter) drop(v *Value) {
	m.release(v.t)
	if v.aux != nil {
		for _, t := range v.aux.tensors() {
			m.release(t)
		}
	}
}

// release records one holder fewer of t's storage.
func (m *graphMeter) release(t *tensor.Tensor) {
	key := storageKey(t)
	if key == 0 || m.holders[key] == 0 {
		return
	}
	m.holders[key]--
	if m.holders[key] == 0 {
		m.live -= int64(t.Bytes())
	}
}

func storageKey(t *tensor.Tensor) uintptr {
	if t == nil || t.Len() == 0 {
		return 0
	}
	if t.DType() == tensor.Float32 {
		return uintptr(unsafe.Pointer(&t.Float32s()[0]))
	}
	return uintptr(unsafe.Pointer(&t.Float64s()[0]))
}

// GradStats receives measurements from a Grad call (see TrackStats).
type GradStats struct {
	// GraphBytes is the Footprint of y when the walk starts.
	GraphBytes int64
	// PeakBytes is the largest total of graph bytes still held plus
	// cotangent bytes, sampled after each node: the peak tensor memory of
	// the backward pass. Without ReleaseGraph it is GraphBytes plus at most
	// PeakCotangentBytes.
	PeakBytes int64
	// PeakActivationBytes is the same peak without the xs and their
	// gradients (the parameters, in a training step): the part of the peak
	// that depends on what was computed, not on the model's size.
	PeakActivationBytes int64
	// PeakCotangentBytes is the largest total size of the cotangents held at
	// once during the backward walk (those waiting to be propagated plus the
	// results), not counting the forward graph.
	PeakCotangentBytes int64
	// Nodes is the number of graph nodes the walk visited.
	Nodes int
}

// TrackStats makes Grad record its measurements into s.
func TrackStats(s *GradStats) Option { return func(c *gradConfig) { c.stats = s } }
