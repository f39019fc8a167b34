// Package nn holds the models fdsm trains: parameters, layers, activations
// and models built from package autodiff's operations.
//
// A parameter is a named variable (Param) whose name follows PyTorch's
// state_dict convention ("layers.0.weight" shaped [out, in], "layers.0.bias"),
// so weights move between fdsm and PyTorch through safetensors files.
// Parameters are the one place where tensors are updated in place: an
// optimizer step writes new numbers into them between training steps, when no
// graph that uses them is alive.
//
// The models: MLP (an energy with output width 1, or a score network with
// output width d; layers run as fused autodiff.Dense nodes), NICE (a flow
// with exact log-likelihood), Quadratic (the paper's deep-EBM head
// E = l1(h)·l2(h) + lq(h²), on MLP features), ResNetEnergy (the paper's
// convolutional deep EBM: residual blocks of Conv2D layers with
// softplus(x) − log 2, global average pooling and the same head, QuadHead;
// images arrive as NCHW rows and run channels last inside) and DKEF (deep kernel exponential family, kernel
// weights solved in closed form through autodiff.Solve). Training: SGD, Adam,
// RMSProp, weight decay, global-norm clipping, schedules, Train (a loop that
// checkpoints atomically, stops on a NaN or Inf with the step number and
// resumes bit-identically), and safetensors checkpoints.
//
// A ModelSpec names a model by kind and sizes ("mlp d=2 width=64 depth=2
// act=softplus"); fdsm train stores its String form in a checkpoint's
// Metadata.Model, and LoadModel rebuilds the model of a checkpoint from the
// file alone, so a program that imports fdsm loads what the command line
// trained.
//
// Models expose the two views package sm needs: an energy E(x), one value per
// row of a batch with log p(x) = −E(x) − log Z, or a score s(x) ≈ ∇x log p(x),
// one vector per row.
package nn
