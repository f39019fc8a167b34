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
// Models expose the two views package sm needs: an energy E(x), one value per
// row of a batch with log p(x) = −E(x) − log Z, or a score s(x) ≈ ∇x log p(x),
// one vector per row.
package nn
