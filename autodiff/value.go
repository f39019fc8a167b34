package autodiff

import (
	"fmt"
	"sync/atomic"

	"github.com/fdsm/fdsm/tensor"
)

// Value is an immutable node of a computation graph: a tensor and, when it
// depends on a variable, the inputs it was computed from and the rule that
// maps an output cotangent to input cotangents (its vector-Jacobian product).
type Value struct {
	t      *tensor.Tensor
	id     uint64
	grad   bool // depends on at least one variable
	owned  bool // t's storage belongs to the graph alone (see Scratch): a releasing Grad recycles it
	inputs []*Value
	rule   rule
	aux    *deltaAux // tensors the rule keeps for itself, recycled with the node
	tape   *tape     // set while a releasing Grad runs a rule, see tape
}

// rule returns the cotangents of a primitive's inputs given the cotangent g of
// its output. It receives the output and inputs as arguments rather than
// capturing them, so that Grad can run it either on the recorded values
// (create-graph: the result is itself differentiable) or on detached copies
// (first-order: nothing is recorded). need[i] is false for inputs whose
// cotangent is not wanted; the rule may then return nil for them.
//
// Every rule is written with this package's differentiable operations, which
// is what makes derivatives of every order correct. A rule reads only its
// arguments and its node's aux: a releasing Grad recycles the storage of the
// other nodes as it goes, so a tensor captured from elsewhere could have
// been overwritten by the time the rule runs.
type rule func(g, out *Value, in []*Value, need []bool) []*Value

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

// newOp records the result of a primitive. When no input depends on a
// variable the result is a constant and nothing is recorded, which is what
// makes first-order backward passes and plain evaluation cheap.
func newOp(t *tensor.Tensor, r rule, inputs ...*Value) *Value {
	v := &Value{t: t, id: ids.Add(1)}
	for _, in := range inputs {
		if in.grad {
			v.grad = true
			break
		}
	}
	if v.grad {
		// A copy: the caller's argument list then need not escape, so a
		// constant result allocates none.
		v.inputs = append([]*Value(nil), inputs...)
		v.rule = r
	}
	for _, in := range inputs {
		if in.tape != nil && in.tape.active {
			in.tape.record(v, inputs...)
			break
		}
	}
	return v
}

// op records the result t of a primitive whose rule mk builds: only when
// an input depends on a variable, so that the operations a first-order
// backward pass or a plain evaluation runs (whose results are constants)
// never allocate the rule's closures.
func op(t *tensor.Tensor, mk func() rule, inputs ...*Value) *Value {
	return newOp(t, ruleIfNeeded(mk, inputs), inputs...)
}

// opAux is op for a primitive whose rule keeps aux (see newOpAux).
func opAux(t *tensor.Tensor, aux *deltaAux, mk func() rule, inputs ...*Value) *Value {
	return newOpAux(t, aux, ruleIfNeeded(mk, inputs), inputs...)
}

// ruleIfNeeded returns mk() if an input depends on a variable, else nil.
func ruleIfNeeded(mk func() rule, inputs []*Value) rule {
	for _, in := range inputs {
		if in.grad {
			return mk()
		}
	}
	return nil
}

// newOpAux is newOp for a primitive whose rule keeps aux, tensors it
// computed for the backward pass: the node holds them, so that a releasing
// Grad recycles them with it. A constant result keeps no rule, and its aux
// goes back to the pool at once.
func newOpAux(t *tensor.Tensor, aux *deltaAux, r rule, inputs ...*Value) *Value {
	v := newOp(t, r, inputs...)
	if aux == nil {
		return v
	}
	if v.grad {
		v.aux = aux
	} else {
		for _, a := range aux.tensors() {
			putBuffer(a)
		}
	}
	return v
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
