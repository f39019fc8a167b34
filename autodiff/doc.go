// Package autodiff is a small reverse-mode automatic differentiation engine
// whose gradients can themselves be differentiated, to any order.
//
// A Value is an immutable graph node: a tensor and, when it depends on a
// variable (Var), the inputs it was computed from and a vector-Jacobian
// product rule. Constants (Const, Detach) record nothing, so evaluating a
// model on constants costs exactly its forward kernels.
//
// Grad(y, xs) walks the nodes between y and xs in reverse creation order
// (creation ids are a topological order) and returns ∂y/∂x for each x as new
// values; nothing is accumulated into the graph, so there is nothing to zero.
// Two modes share one set of rules:
//
//   - first order (the default): every rule runs on detached copies of its
//     inputs, so the backward pass records nothing. This is all the
//     finite-difference objectives of package sm need.
//   - CreateGraph: the rules run on the recorded values and are recorded in
//     turn, so the result can be passed to Grad again. Exact, sliced and
//     denoising score matching need this: their losses contain ∇x log p.
//
// The derivative of every order is right because every rule is written with
// this package's differentiable operations, never with a raw kernel; package
// adtest checks each primitive at order 2 (3 for several) against finite
// differences.
//
// Besides the elementwise, reduction, shape and MatMul primitives there are
// two fused ones: Dense (act(x·Wᵀ + b), whose backward rule needs only its
// output, so a layer keeps one tensor alive instead of three) and Solve (a
// symmetric positive definite linear solve, for DKEF). Convolutions run on
// NHWC images as Im2Col (a linear primitive whose adjoint, Col2Im, is its
// vector-Jacobian product and vice versa) followed by a Dense node; average
// pooling is such a pair too (AvgPool2D and AvgPool2DAdjoint), and the
// NCHW↔NHWC conversions are compositions (see Conv2D).
//
// Every primitive also has an exact difference rule, f(a+α) − f(a) without
// subtracting nearly equal numbers: Delta and Central propagate differences
// (and FD-SSM's central second difference) through a recorded evaluation, so
// that float32 finite differences keep their precision (see package sm).
//
// The last backward pass of a training step can tear the graph down as it
// goes (ReleaseGraph), as PyTorch frees saved tensors, and hand each
// parameter's gradient to an optimizer as soon as it is final (Consume,
// which nn.Update uses), so a step never holds every gradient at once. The
// buffers it releases go back to a pool (internal/kernel/bufpool) that the tensor
// package's next allocations of the same size take from, so that a steady
// training step allocates almost nothing from the heap. Besides the nodes'
// values and cotangents, that covers the temporaries each rule computes
// (recorded on a tape while the rule runs), the constants a recording Grad
// (CreateGraph) or Delta's propagation computes, the part of a function's
// graph that Delta replaces, and Scratch constants (an objective's noise
// and stacked inputs); tensor.Arena does the same for what the caller
// allocates per step. Rules read only their arguments and their node's own
// aux tensors, which is what makes handing storage back safe; the tests run
// with the pool poisoned (returned storage reads NaN).
//
// On top of Grad sit VJP, HVP (a Hessian-vector product by two reverse
// passes) and RowHessianDiag / RowHessianTrace (one backward pass per input
// coordinate, what exact score matching uses).
//
// There are no global modes: graphs built in different goroutines never
// interfere. The only shared state is an atomic counter that numbers nodes,
// the buffer pool and the free list of Grad's bookkeeping (locked, and
// invisible in results: buffers come back zeroed), and a switch of Delta's
// joint chain that only this package's tests flip.
package autodiff
