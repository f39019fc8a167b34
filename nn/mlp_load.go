package nn

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// MLPFromTensors builds an MLP from PyTorch-style named tensors, converted
// to dtype dt. The names must all be P<i>.weight, shaped [out, in], and
// P<i>.bias, shaped [out], for one prefix P (possibly empty) and integer
// indices i; the layers are taken in increasing order of i. This accepts
//
//	layers.0.weight, layers.1.weight, …    fdsm's own names
//	0.weight, 2.weight, 4.weight, …        a plain nn.Sequential (activations sit at the odd indices)
//	model.net.0.weight, module.0.weight    a Sequential inside a module, or under DataParallel
//
// Anything else (two prefixes, a BatchNorm's running_mean, a missing bias)
// is an error naming the tensor at fault, as are shapes that do not chain;
// SelectPrefix picks one module out of a larger state_dict.
func MLPFromTensors(ts map[string]*tensor.Tensor, act Activation, dt tensor.DType) (*MLP, error) {
	const want = "want P<i>.weight and P<i>.bias for one prefix P, as an nn.Sequential of Linear layers names them"
	names := make([]string, 0, len(ts))
	for name := range ts {
		names = append(names, name)
	}
	sort.Strings(names) // the first bad name reported is the same every run
	idx := map[int]bool{}
	prefix, first := "", ""
	for _, name := range names {
		p, i, ok := splitLayerName(name)
		if !ok {
			return nil, fmt.Errorf("nn: unexpected tensor %q (%s)", name, want)
		}
		if first == "" {
			prefix, first = p, name
		} else if p != prefix {
			return nil, fmt.Errorf("nn: tensors %q and %q have different prefixes %q and %q (%s; select one module's tensors by its prefix)", first, name, prefix, p, want)
		}
		idx[i] = true
	}
	if len(idx) == 0 {
		return nil, fmt.Errorf("nn: no tensors (%s)", want)
	}
	layers := make([]int, 0, len(idx))
	for i := range idx {
		layers = append(layers, i)
	}
	sort.Ints(layers)
	m := &MLP{Act: act}
	for k, i := range layers {
		wn, bn := fmt.Sprintf("%s%d.weight", prefix, i), fmt.Sprintf("%s%d.bias", prefix, i)
		w, b := ts[wn], ts[bn]
		if w == nil || b == nil {
			return nil, fmt.Errorf("nn: layer %d needs both %s and %s", k, wn, bn)
		}
		if w.Rank() != 2 || b.Rank() != 1 || b.Dim(0) != w.Dim(0) {
			return nil, fmt.Errorf("nn: %s is %v and %s is %v (want [out, in] and [out])", wn, w.Shape(), bn, b.Shape())
		}
		if k > 0 {
			prev := m.Layers[k-1].W.Dim(0)
			if w.Dim(1) != prev {
				return nil, fmt.Errorf("nn: %s is %v but the previous layer, %s%d, has %d outputs", wn, w.Shape(), prefix, layers[k-1], prev)
			}
		}
		m.Layers = append(m.Layers, &Linear{W: ad.Var(w.AsType(dt).Clone()), B: ad.Var(b.AsType(dt).Clone())})
	}
	return m, nil
}

// splitLayerName splits "P<i>.weight" or "P<i>.bias" into P and i, where P
// is empty or ends in a dot.
func splitLayerName(name string) (prefix string, i int, ok bool) {
	rest, ok := strings.CutSuffix(name, ".weight")
	if !ok {
		if rest, ok = strings.CutSuffix(name, ".bias"); !ok {
			return "", 0, false
		}
	}
	num := rest[strings.LastIndexByte(rest, '.')+1:]
	if num == "" || strings.TrimLeft(num, "0123456789") != "" || len(num) > 9 {
		return "", 0, false
	}
	i, _ = strconv.Atoi(num) // at most 9 digits: fits
	return rest[:len(rest)-len(num)], i, true
}

// SelectPrefix returns the tensors of ts whose names start with prefix, with
// the prefix removed: one module's parameters out of a larger state_dict
// (prefix "energy." of a model holding energy.0.weight, encoder.0.weight, …).
// It is an error if none does.
func SelectPrefix(ts map[string]*tensor.Tensor, prefix string) (map[string]*tensor.Tensor, error) {
	out := map[string]*tensor.Tensor{}
	for name, t := range ts {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			out[rest] = t
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("nn: no tensor name starts with %q", prefix)
	}
	return out, nil
}

// Tensors returns a module's parameters by name, for saving.
func Tensors(m Module) map[string]*tensor.Tensor {
	out := map[string]*tensor.Tensor{}
	for _, p := range m.Params() {
		out[p.Name] = p.Value.T()
	}
	return out
}
