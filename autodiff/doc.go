// Package autodiff is a small reverse-mode automatic differentiation engine
// whose gradients can themselves be differentiated, to any order.
//
// A Value is an immutable graph node: a tensor and, when it depends on a
// variable (Var), the inputs it was computed from, the primitive that
// computed it and that call's parameters. Constants (Const, Detach) record
// nothing, so evaluating a model on constants costs exactly its forward
// kernels.
//
// # Primitives
//
// A primitive is data: one descriptor (prim.go) per operation, holding its
// name and its rules as plain functions: the vector-Jacobian product, the
// plain, central, joint and batch difference rules (see Delta) and the
// Taylor-mode jet rule. Each operation computes its result
// with a tensor kernel and records the descriptor and its parameters
// (Scale's factor, Reshape's shape, …); Grad, Delta and Central read the
// rules from there, and error messages name the primitive from it. A new
// transformation (a Taylor-mode jet rule, say) is one more field. The
// descriptors are filled in init functions next to the operations, since a
// rule calls operations that refer to descriptors.
//
// # Adding an activation
//
// A smooth elementwise activation whose derivative is not a function of its
// output alone (so it is applied after a Dense layer without activation)
// takes these places, and no others:
//
//  1. autodiff/activations.go: one block, the operation (its forward from
//     tensor kernels, or from a new tensor kernel in tensor/elementwise.go,
//     with tensor/simd.go, if it gets its own SIMD kernel) and its
//     descriptor: vector-Jacobian product and difference rule (exact,
//     without cancellation);
//  2. autodiff/delta.go: its line in Delta's table of difference rules;
//  3. nn/nn.go: its name (a constant) and its row in the activation table
//     (no fused kernel, the operation, and σ, σ′, σ″ for DKEF);
//  4. autodiff/jet_rules.go: its line in installJetRules (φ′ and φ″ for
//     Taylor mode, see Jet2), its line in installSeriesRules
//     (series_rules.go: its recurrence for Taylor coefficients of any
//     order, see Jet; TestSeriesUnary reads unaryCases), and its
//     descriptor in installLapRules' elementwise list
//     (laplacian_rules.go: the forward Laplacian reads φ′ and φ″ from the
//     jet rule);
//  5. tests: its row in autodiff's unaryCases (ops_test.go: gradient checks
//     to order 3 and, through TestDeltaUnary and TestJetUnary, which read
//     the table, the difference rule in both dtypes at small and large
//     steps and the jet against nested Grad), and its cases in
//     TestDeltaSignChanges (far steps) and TestCentral (both in
//     delta_test.go); nn's TestActivationTable checks the nn row with no
//     edit.
//
// An activation fused into Dense (its derivative a function of its output:
// softplus, tanh, sigmoid, ELU) also has cases in the per-element kernels, which switch on
// tensor.Act outside their inner loops rather than call through a table:
// tensor/fused.go (the Act constant and String, biasAct, act32,
// actDerivChunk) and dense.go (actDerivVJP, actDerivDelta, actDeltaForward,
// actDeltaGrad, jointGrad, actDerivOne, dphiOne, deltaOne, and pairGrad and
// actPairForward when it has a central series), and its nn row names the
// tensor.Act.
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
// this package's differentiable operations, never with a raw kernel (the
// fused nodes' first-order kernels are checked against their recorded
// rules); package adtest checks each primitive at order 2 (3 for several)
// against finite differences.
//
// Besides the elementwise, reduction, shape and MatMul primitives there are
// two fused ones: Dense (act(x·Wᵀ + b), whose backward rule needs only its
// output, so a layer keeps one tensor alive instead of three) and Solve (a
// symmetric positive definite linear solve, for DKEF). Convolutions on NHWC
// images are the same fused node over an implicit GEMM (see Conv2D); the
// linear image primitives come in adjoint pairs, each the other's
// vector-Jacobian product (Im2Col and Col2Im, AvgPool2D and
// AvgPool2DAdjoint), and the NCHW↔NHWC conversions are compositions.
//
// Every primitive also has an exact difference rule, f(a+α) − f(a) without
// subtracting nearly equal numbers: Delta and Central carry differences
// (and FD-SSM's central second difference) through an evaluation of the
// function, each operation's difference computed as the operation runs, so
// that float32 finite differences keep their precision (see package sm).
//
// # Taylor mode
//
// Jet2(f, x, vs) returns f(x), vᵀ∇f(x) and vᵀ∇²f(x)v for K directions at
// once, exactly: the limit ε → 0 of what Central propagates. Each primitive
// has a jet rule (the descriptor's jet field, installed by installJetRules)
// carrying the stacked coefficients [ḣ_1…ḣ_K; ḧ_1…ḧ_K] (Central's layout):
// a linear map applies itself to each coefficient, an elementwise φ gives
// (φ′(h)ḣ, φ″(h)ḣ² + φ′(h)ḧ), products follow Leibniz. The rules are written
// with the package's differentiable operations, so one ordinary Grad of a
// loss built from the jets reaches the parameters. Jet1 carries first
// coefficients only. A primitive without a jet rule panics with a
// *NoJetRuleError. jet.go's comment has the rules table.
//
// Jet(f, x, v, K) is the general form: the derivatives d/dt … dᴷ/dtᴷ of
// f(x + tv), exactly, for any K. Each primitive's series rule (the
// descriptor's series field, installed by installSeriesRules) carries the
// normalised Taylor coefficients h_1…h_K by univariate Taylor arithmetic:
// linear maps apply themselves, products are Cauchy products, and exp,
// tanh, sigmoid, softplus, log, ELU follow recurrences from their
// differential equations (series.go's comment has the table). Jet costs K
// applications of each linear map and O(K²) products per non-linear
// primitive; Jet2 is its order-2 case with fused rules, which the
// objectives use.
//
// # Forward Laplacian
//
// Laplacian(f, x) returns f(x), ∇ₓf and Δₓf per row of x [N, d] (exact score
// matching's two terms) from one forward sweep, not d backward passes: each
// value carries its Jacobian ∂h/∂x, stacked along a leading axis of r
// directions as the jets are, and its Laplacian (Li et al.'s forward
// Laplacian; the rules are the descriptors' lap field, laplacian_rules.go).
// The first layer is symbolic: x's Jacobian is the identity and is never
// materialised, and when the first Dense layer is narrower than x (r < d)
// the Jacobians are kept in its basis, squared norms then being quadratic
// forms in WWᵀ. TryLaplacian checks rule coverage on the recorded graph
// before any rule runs and returns a *NoLaplacianRuleError (convolutions,
// say), so that a caller can fall back to the d-pass path. laplacian.go's
// comment has the rules and the bases.
//
// # Memory
//
// The last backward pass of a training step can tear the graph down as it
// goes (ReleaseGraph), as PyTorch frees saved tensors, and hand each
// parameter's gradient to an optimizer as soon as it is final (Consume,
// which nn.Update uses), so a step never holds every gradient at once. The
// buffers it releases go back to a pool (internal/kernel/bufpool) that the
// tensor package's next allocations of the same size take from, so that a
// steady training step allocates almost nothing from the heap. None of this
// is in the reverse walk itself (Grad in grad.go): the walk calls a memory
// pass (memory.go) at named points (before a node, around its rule, when a
// cotangent arrives or is summed, after the node, at the end), and the pass
// releases, hands over, recycles (recycle.go) and measures (TrackStats).
//
// # Invariants
//
// Who owns which buffer, and when it may be reused:
//
//   - A graph value's tensor (a node's output, and the aux tensors its rules
//     keep) is never written after the node is made, and is the graph's: it
//     is read by the rules of the node and of its users, and by the caller
//     through T(). Only a ReleaseGraph Grad returns it to the pool, once
//     every node that reads it has run its rule; T() of an intermediate
//     value must not be read after that Grad.
//   - Leaves are the caller's. Var and Const tensors are never recycled
//     (nor written: a Consume callback may update xs[i] in place only
//     because no rule reads it afterwards). Scratch marks a constant's
//     tensor as the graph's: a ReleaseGraph Grad recycles it once its last
//     user is released. y, the xs, the seed and the gradients returned or
//     handed over are never recycled by the Grad that made them.
//   - A rule reads only its arguments, its parameters and its node's aux,
//     never a tensor captured from elsewhere: by the time it runs, other
//     nodes' storage may have been reused. It returns new values (or its
//     arguments, which the walk then keeps) and never writes an argument.
//   - Cotangents belong to the walk. Each is held by its entry until the
//     node it belongs to has run its rule and the rule's results are held
//     (they may be views of it); a sum replaces an entry, and the summand
//     it replaces goes. A releasing Grad then recycles it unless a graph
//     value shares its buffer. With Consume, a gradient handed to fn is
//     recycled after fn returns: fn must not keep it.
//   - A rule never hands a buffer to the pool itself. It runs on a tape,
//     which whoever runs the rule owns: a releasing Grad (its tape scopes
//     one rule at a time), a recording Grad or Delta (one tape for the whole
//     call). Operations record their results onto the active tape of any
//     of their inputs, and a tensor a rule computes with a kernel (a mask,
//     a zero, a fused first-order kernel's result) becomes a value through
//     temp (or positive and zerosLike, built on it), which records it the
//     same way, and constOn puts an argument's tensor on the tape as a
//     constant to compute such masks from; a rule then reads as math on
//     values. A releasing Grad
//     recycles the constants a rule made when the rule returns, unless a
//     result or a graph value shares the buffer. A recording Grad or Delta
//     makes those that a node recorded by the rules uses the graph's (as
//     Scratch: the step's releasing Grad recycles them) and recycles the
//     others when it returns. Without a tape (a plain first-order Grad)
//     they are ordinary constants, left to the garbage collector.
//   - Outside the memory pass, the pool is called by hand only for a forward
//     kernel's own scratch, which no tape scopes (SiLU's σ, the softplus
//     aux's −y: both go back as soon as the kernel is done), for the aux of
//     a constant result (opAux) and for Central's zero rows once copied
//     into the joint.
//   - A buffer goes back to the pool whole, once, from its widest view: a
//     view (Reshape, SliceRows) shares its buffer, which is why the
//     recycler counts holders per buffer, not per tensor.
//   - Delta and Central own what they make from their arguments and what f
//     computes from x. f runs on the base values Delta hands it; the nodes
//     a joint replaced are released on return, with what only they reach
//     (f must not keep its values), and the constants the rules compute
//     follow the tape rule above.
//   - tensor.Arena owns what the caller allocates per step (an objective's
//     noise and shifted inputs) and returns it all in one Release, after the
//     step's last backward pass.
//   - The pool returns buffers zeroed and trusts its callers: a buffer
//     returned while still referenced is overwritten by its next owner. The
//     tests run with the pool poisoned (returned storage reads NaN), so that
//     a broken invariant shows as NaN, not as a slightly wrong number.
//
// On top of Grad sit VJP, HVP (a Hessian-vector product by two reverse
// passes) and RowHessianDiag / RowHessianTrace (one backward pass per input
// coordinate, what exact score matching uses).
//
// There are no global modes: graphs built in different goroutines never
// interfere. The only shared state is an atomic counter that numbers nodes,
// the buffer pool and the free list of Grad's bookkeeping (locked, and
// invisible in results: buffers come back zeroed), and a switch of Delta's
// joint chain that only this package's tests flip. Delta's interpretation
// is no mode either: the values it follows point to its state while f runs.
package autodiff
