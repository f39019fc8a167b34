package autodiff

import "fmt"

// primitive describes one operation of the package as data: its name and
// its rules, each a plain function of the node's parameters p (the constants
// the operation was called with: Scale's factor, Reshape's shape, …; nil for
// none, see opWith) and of values passed as arguments. A recorded Value
// points to its primitive and holds its parameters; Grad, Delta and Central
// read the rules from there.
//
// The descriptors are filled in init functions (one table per file, next to
// the operations): a rule calls the package's operations, which refer to
// the descriptors, and a package-level initializer would be an
// initialization cycle.
type primitive struct {
	name string

	// vjp returns the cotangents of the inputs given the cotangent g of the
	// output. It receives the output and inputs as arguments rather than
	// reading them from the node, so that Grad can run it either on the
	// recorded values (create-graph: the result is itself differentiable)
	// or on detached copies (first order: nothing is recorded). need[i] is
	// false for inputs whose cotangent is not wanted; the rule may then
	// return nil for them.
	//
	// Every rule is written with this package's differentiable operations,
	// which is what makes derivatives of every order correct. A rule reads
	// only its arguments, p and its node's aux: a releasing Grad recycles
	// the storage of the other nodes as it goes, so a tensor captured from
	// elsewhere could have been overwritten by the time the rule runs.
	vjp func(p any, g, out *Value, in []*Value, need []bool) []*Value

	// Difference rules (see Delta). A primitive has diff or joint (joint
	// instead of both diff and pair); nil for both means no difference
	// rule, and Delta panics with a *NoDiffRuleError naming the primitive.
	diff  diffRule      // plain: out(in + dIn) − out(in)
	pair  diffRule      // central (see Central); nil, or a nil result: through diff
	joint jointDiffRule // joint-aware (Dense)
	batch batchRule     // batch-separable linear primitives: the rule on joints

	// jet is the Taylor-mode rule (see Jet2 and jet.go): the output's
	// first and second directional derivatives from the inputs'. nil: no
	// jet rule, and Jet2 panics with a *NoJetRuleError naming the
	// primitive. The rules are installed by installJetRules (jet_rules.go).
	jet jetRule
	lap *lapRule // forward Laplacian (laplacian.go); nil: none, see NoLaplacianRuleError

	// series is the Taylor-mode rule of any order (see Jet and series.go):
	// the output's Taylor coefficients h_1 … h_K from the inputs'. nil: no
	// series rule, and Jet panics with a *NoSeriesRuleError.
	series seriesRule

	// Room for more rules goes here: a transformation is one more field,
	// filled where the primitive's other rules are.
}

// diffRule returns the exact difference of a primitive's output for K stacked
// changes of its inputs: out(in + dIn) − out(in). dIn[j] is nil when input j
// does not change and otherwise has shape [K]+shape(in[j]); the result has
// shape [K]+shape(out), or is nil when it is zero. It is written with this
// package's differentiable operations.
type diffRule func(p any, out *Value, in, dIn []*Value, k int) *Value

// jointDiffRule is a difference rule that also works on joint values: a
// joint of a value X [N, …] is the single tensor [X; ΔX_1; …; ΔX_K]
// ([(K+1)·N, …]), the base rows followed by the K differences. jIn[j] is the
// joint of input j when one exists (nil otherwise; jIn itself may be nil).
// The rule returns the stacked difference and, if it built one, the joint of
// its output. Dense has such a rule: a chain of layers then runs on joints,
// one GEMM per layer forward and two backward, exactly like a stacked batch,
// with no second path to the weights through the recorded base layer.
// pairs > 0 selects the central mode (see Central): the K = 2·pairs stacked
// rows are then [D_1 … D_P; S_1 … S_P] rather than K plain differences.
type jointDiffRule func(p any, out *Value, in, dIn, jIn []*Value, k, pairs int) (d, j *Value)

// batchRule applies a batch-separable linear primitive to its inputs'
// joints, treated as a batch K+1 times larger; shape is the output joint's
// shape, [(K+1)·out.Dim(0)]+out.Shape()[1:]. Such a primitive acts on each
// leading-axis block (image, row, matrix) alone, so in row-major order the
// output of [x; Δx_1; …; Δx_K] is [y; Δy_1; …; Δy_K]: the joint chain
// continues through it with no copy, and f goes on with the joint's base
// rows (see deltaState). A primitive
// with a batch rule is linear: its diff rule also maps central pairs.
type batchRule func(p any, j []*Value, shape []int) *Value

// hasDiff reports whether the primitive has a difference rule.
func (pr *primitive) hasDiff() bool { return pr.diff != nil || pr.joint != nil }

// difference applies the primitive's difference rules to a node with output
// out, parameters p, inputs in, their differences dIn and joints jIn: the
// joint-aware rule if it has one; the batch rule when every input carries a
// difference and a joint; in central mode (pairs > 0) the central rule
// (nil when there is none: the caller then goes through the plain rule);
// else the plain rule. It returns the stacked difference and, from a joint
// or batch rule, the output's joint.
func (pr *primitive) difference(p any, out *Value, in, dIn, jIn []*Value, k, pairs int) (d, j *Value) {
	switch {
	case pr.joint != nil:
		return pr.joint(p, out, in, dIn, jIn, k, pairs)
	case pr.batch != nil && batchOK(out, in, dIn, func(j int) bool { return j < len(jIn) && jIn[j] != nil }):
		return applyBatch(pr, p, out, jIn, k)
	case pairs > 0:
		if pr.pair == nil {
			return nil, nil
		}
		return pr.pair(p, out, in, dIn, k), nil
	}
	return pr.diff(p, out, in, dIn, k), nil
}

// primName names the primitive that recorded v, for error messages.
func primName(v *Value) string {
	if v.prim == nil {
		return "a leaf"
	}
	return v.prim.name
}

// NoDiffRuleError is the panic value of Delta when the function evaluated
// uses a primitive that has no difference rule.
type NoDiffRuleError struct {
	// Primitive names the primitive (its descriptor's name).
	Primitive string
}

// Error implements error.
func (e *NoDiffRuleError) Error() string {
	return fmt.Sprintf("autodiff: Delta: primitive %s has no difference rule", e.Primitive)
}

// linearPrimitives lists the primitives that are linear in their moving
// inputs, so that their difference rule is the map itself: each forward
// transformation (the jets, the series, the forward Laplacian) applies them
// as they are, through that rule. imagePrimitives lists the linear image
// primitives, which the forward Laplacian does not cover.
func linearPrimitives() []*primitive {
	return []*primitive{&addP, &subP, &negP, &scaleP, &addScalarP, &whereP,
		&sumP, &sumAxisP, &sumAxis0P, &broadcastP, &sumToP, &reshapeP, &transposeP,
		&concatP, &sliceRowsP, &padRowsP, &gatherP, &scatterP}
}

// imagePrimitives: see linearPrimitives.
func imagePrimitives() []*primitive {
	return []*primitive{&im2ColP, &col2ImP, &batchTransposeP, &avgPoolP, &avgPoolAdjP}
}
