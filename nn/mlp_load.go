package nn

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// MLPFromTensors builds an MLP from PyTorch-style named tensors
// ("layers.<i>.weight" shaped [out, in], "layers.<i>.bias" shaped [out], for
// i = 0, 1, …), converted to dtype dt. It returns an error naming the tensor
// at fault when a layer is missing, an extra name is present, or the shapes
// do not chain.
func MLPFromTensors(ts map[string]*tensor.Tensor, act Activation, dt tensor.DType) (*MLP, error) {
	idx := map[int]bool{}
	names := make([]string, 0, len(ts))
	for name := range ts {
		names = append(names, name)
	}
	sort.Strings(names) // the first bad name reported is the same every run
	for _, name := range names {
		rest, ok := strings.CutPrefix(name, "layers.")
		if !ok {
			return nil, fmt.Errorf("nn: unexpected tensor %q (want layers.<i>.weight and layers.<i>.bias)", name)
		}
		num, field, ok := strings.Cut(rest, ".")
		i, err := strconv.Atoi(num)
		if !ok || err != nil || i < 0 || (field != "weight" && field != "bias") {
			return nil, fmt.Errorf("nn: unexpected tensor %q (want layers.<i>.weight and layers.<i>.bias)", name)
		}
		idx[i] = true
	}
	if len(idx) == 0 {
		return nil, fmt.Errorf("nn: no layers.<i>.weight tensors")
	}
	layers := make([]int, 0, len(idx))
	for i := range idx {
		layers = append(layers, i)
	}
	sort.Ints(layers)
	m := &MLP{Act: act}
	for k, i := range layers {
		if i != k {
			return nil, fmt.Errorf("nn: layer indices %v are not 0, 1, 2, …", layers)
		}
		wn, bn := fmt.Sprintf("layers.%d.weight", i), fmt.Sprintf("layers.%d.bias", i)
		w, b := ts[wn], ts[bn]
		if w == nil || b == nil {
			return nil, fmt.Errorf("nn: layer %d needs both %s and %s", i, wn, bn)
		}
		if w.Rank() != 2 || b.Rank() != 1 || b.Dim(0) != w.Dim(0) {
			return nil, fmt.Errorf("nn: %s is %v and %s is %v (want [out, in] and [out])", wn, w.Shape(), bn, b.Shape())
		}
		if k > 0 {
			prev := m.Layers[k-1].W.Dim(0)
			if w.Dim(1) != prev {
				return nil, fmt.Errorf("nn: %s is %v but the previous layer has %d outputs", wn, w.Shape(), prev)
			}
		}
		m.Layers = append(m.Layers, &Linear{W: ad.Var(w.AsType(dt).Clone()), B: ad.Var(b.AsType(dt).Clone())})
	}
	return m, nil
}

// Tensors returns a module's parameters by name, for saving.
func Tensors(m Module) map[string]*tensor.Tensor {
	out := map[string]*tensor.Tensor{}
	for _, p := range m.Params() {
		out[p.Name] = p.Value.T()
	}
	return out
}
