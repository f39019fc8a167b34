package sm

import (
	"fmt"
	"github.com/fdsm/fdsm/internal/infile"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// LoadStateDict reads an MLP from a PyTorch-style state_dict in the
// safetensors file at path: an nn.Sequential of Linear layers
// (P0.weight [out, in], P0.bias, P2.weight, …; see nn.MLPFromTensors),
// only the tensors under prefix if it is not empty (the prefix removed),
// with activation act between the layers, computed in dt. The layer widths
// and the input dimension d come from the tensors' shapes; a last layer of
// width 1 makes an energy, one of width d a score network
// (nn.KindScoreMLP). Parameters must be finite. Errors name the file; one
// about the prefix names it -prefix, as fdsm's flag.
func LoadStateDict(path, prefix string, act nn.Activation, dt tensor.DType) (*Model, error) {
	weights, md, err := tensor.LoadSafetensors(path)
	if err != nil {
		return nil, err
	}
	hint := "" // for a checkpoint of fdsm train given to -model
	if md["model"] != "" {
		hint = fmt.Sprintf(" (the file is a checkpoint of a %s model: give it to -ckpt)", infile.Cut(md["model"]))
	}
	if prefix != "" {
		if weights, err = nn.SelectPrefix(weights, prefix); err != nil {
			return nil, fmt.Errorf("%s: -prefix: %w", path, err)
		}
	}
	if err := nn.CheckFiniteParams(path, weights); err != nil {
		return nil, err
	}
	mlp, err := nn.MLPFromTensors(weights, act, dt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w%s", path, err, hint)
	}
	widths := []int{mlp.Layers[0].W.Dim(1)}
	for k, l := range mlp.Layers {
		if l.W.Len() == 0 {
			return nil, fmt.Errorf("%s: layer %d's weight is %v: want at least one input and one output", path, k, l.W.Shape())
		}
		widths = append(widths, l.W.Dim(0))
	}
	d, out := widths[0], widths[len(widths)-1]
	if d > nn.MaxModelDim {
		return nil, fmt.Errorf("%s: the first layer takes %d inputs, more than the %d this tool takes", path, d, nn.MaxModelDim)
	}
	s := nn.ModelSpec{Kind: nn.KindMLP, Dim: d, Depth: len(mlp.Layers) - 1, Act: act}
	for _, w := range widths[1 : len(widths)-1] {
		s.Width = max(s.Width, w)
	}
	switch {
	case out == 1:
	case out == d:
		s.Kind = nn.KindScoreMLP
	default:
		return nil, fmt.Errorf("%s: the last layer's weight is %v: want 1 output (an energy) or %d, its input dimension (a score network)", path, mlp.Layers[len(mlp.Layers)-1].W.Shape(), d)
	}
	return WrapModel(s, mlp), nil
}
