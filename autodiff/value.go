package autodiff

import (
	"fmt"
	"sync/atomic"

	"github.com/fdsm/fdsm/tensor"
)

// Value is an immutable node of a computation graph: a tensor and, when it
// depends on a variable, the inputs it was computed from, the primitive that
// computed it (whose rules map an output cotangent to input cotangents, and
// input differences to output differences) and that primitive's parameters.
type Value struct {
	t      *tensor.Tensor
	id     uint64
	grad   bool // depends on at least one variable
	owned  bool // t's storage belongs to the graph alone (see Scratch): a releasing Grad recycles it
	inputs []*Value
	prim   *primitive
	params any         // the constants the primitive was called with, passed to its rules
	aux    *deltaAux   // tensors the rules keep for themselves, recycled with the node
	tape   *tape       // set while a releasing Grad runs a rule, see tape
	delta  *deltaState // the running Delta that knows v's difference, see deltaState.eager
}

// ids orders nodes by creation: an input is always created before the nodes
// that use it, so sorting by id is a topological order. A shared atomic
// counter keeps ids unique across goroutines; besides chainJoints (delta.go,
// flipped by tests only) it is the package's only shared state, and it
// carries no mode.
var ids atomic.Uint64

// Var returns a leaf value that gradients can be taken with respect to.
func Var(t *tensor.Tensor) *Value {
	return &Value{t: t, id: ids.Add(1), grad: true}
}

// Const returns a leaf value that is treated as a constant: gradients never
// flow into it.
func Const(t *tensor.Tensor) *Value {
	return &Value{t: t, id: ids.Add(1)}
}

// Scratch returns a constant whose tensor belongs to the graph alone: t was
// allocated for it, and nothing outside the graph reads it afterwards (an
// objective's noise, directions or stacked inputs). Grad with ReleaseGraph
// hands its storage back for reuse once every node using it is released,
// as it does for intermediate values; a plain Const is the caller's and is
// never recycled.
func Scratch(t *tensor.Tensor) *Value {
	return &Value{t: t, id: ids.Add(1), owned: true}
}

// Detach returns a constant holding v's tensor: the same numbers, cut from
// the graph.
func Detach(v *Value) *Value { return Const(v.t) }

// newOp records the result of primitive pr. When no input depends on a
// variable the result is a constant and nothing is recorded, which is what
// makes first-order backward passes and plain evaluation cheap; only a
// running Delta that follows an input sees a constant result's primitive
// and inputs, for as long as it interprets it (see deltaState.eager).
func newOp(t *tensor.Tensor, pr *primitive, inputs ...*Value) *Value {
	v := &Value{t: t, id: ids.Add(1)}
	followed := false
	for _, in := range inputs {
		v.grad = v.grad || in.grad
		followed = followed || in.delta != nil && in.delta.active
	}
	if v.grad || followed {
		// A copy: the caller's argument list then need not escape, so a
		// constant result allocates none.
		v.inputs = append([]*Value(nil), inputs...)
		v.prim = pr
	}
	for _, in := range inputs {
		if in.tape != nil && in.tape.active {
			in.tape.record(v, inputs...)
			break
		}
	}
	return v
}

// op records the result t of a primitive without parameters.
func op(t *tensor.Tensor, pr *primitive, inputs ...*Value) *Value {
	return interpret(newOp(t, pr, inputs...))
}

// interpret hands a recorded node, complete with its parameters and aux, to
// the running Delta when one of its inputs is a value Delta follows, and
// returns the value the caller goes on with: v, or the base Delta hands it
// in v's place (see deltaState.eager).
func interpret(v *Value) *Value {
	if v.prim == nil {
		return v
	}
	for _, in := range v.inputs {
		if in.delta != nil && in.delta.active {
			return in.delta.eager(v)
		}
	}
	return v
}

// opWith records the result t of a primitive called with parameters p,
// which the node keeps for the rules only when it is recorded: a constant
// result (a first-order backward pass, a plain evaluation) boxes nothing.
func opWith[P any](t *tensor.Tensor, pr *primitive, p P, inputs ...*Value) *Value {
	v := newOp(t, pr, inputs...)
	if v.prim != nil {
		v.params = p
	}
	return interpret(v)
}

// opAux is opWith for a primitive whose rules keep aux, tensors it
// computed for the backward pass: the node holds them, so that a releasing
// Grad recycles them with it. A constant result keeps no rule, and its aux
// goes back to the pool at once.
func opAux[P any](t *tensor.Tensor, aux *deltaAux, pr *primitive, p P, inputs ...*Value) *Value {
	v := newOp(t, pr, inputs...)
	if v.prim != nil {
		v.params = p
	}
	if aux != nil {
		if v.prim != nil {
			v.aux = aux
		} else {
			for _, a := range aux.tensors() {
				putBuffer(a)
			}
		}
	}
	return interpret(v)
}

// T returns the value's tensor. It must not be modified.
func (v *Value) T() *tensor.Tensor { return v.t }

// Shape returns a copy of the tensor's shape.
func (v *Value) Shape() []int { return v.t.Shape() }

// Dim returns the size of dimension i (negative counts from the end).
func (v *Value) Dim(i int) int { return v.t.Dim(i) }

// Len returns the number of elements.
func (v *Value) Len() int { return v.t.Len() }

// DType returns the element type.
func (v *Value) DType() tensor.DType { return v.t.DType() }

// Item returns the single element of a one-element value.
func (v *Value) Item() float64 { return v.t.Item() }

// RequiresGrad reports whether v depends on a variable, i.e. whether a
// gradient can flow through it.
func (v *Value) RequiresGrad() bool { return v.grad }

// String describes the value.
func (v *Value) String() string {
	kind := "const"
	if v.grad {
		kind = "var"
	}
	return fmt.Sprintf("Value(%s %v)", kind, v.t)
}
