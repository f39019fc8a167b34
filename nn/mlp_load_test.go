package nn

import (
	"strconv"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/tensor"
)

// stateDict returns the tensors of a 3-4-1 MLP named prefix+<i> for the
// given layer indices, filled with distinct values so a swap shows.
func stateDict(prefix string, idx ...int) map[string]*tensor.Tensor {
	sizes := []int{3, 4, 1}
	ts := map[string]*tensor.Tensor{}
	for k, i := range idx {
		w := tensor.Zeros(tensor.Float32, sizes[k+1], sizes[k])
		for j := range w.Len() {
			w.Set(j, float64(100*k+j))
		}
		ts[prefix+strconv.Itoa(i)+".weight"] = w
		ts[prefix+strconv.Itoa(i)+".bias"] = tensor.Full(tensor.Float32, float64(-k), sizes[k+1])
	}
	return ts
}

func TestMLPFromTensorsNamings(t *testing.T) {
	for _, c := range []struct {
		name string
		ts   map[string]*tensor.Tensor
		sel  string
	}{
		{"fdsm", stateDict("layers.", 0, 1), ""},
		{"sequential", stateDict("", 0, 2), ""},
		{"nested", stateDict("model.net.", 0, 2), ""},
		{"dataparallel", stateDict("module.", 0, 3), ""},
		{"selected", merge(stateDict("energy.", 0, 2), stateDict("encoder.", 0, 1)), "energy."},
	} {
		ts := c.ts
		if c.sel != "" {
			var err error
			if ts, err = SelectPrefix(ts, c.sel); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		m, err := MLPFromTensors(ts, Softplus, tensor.Float64)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(m.Layers) != 2 || m.Layers[0].W.T().Dim(1) != 3 || m.Layers[1].W.T().Dim(0) != 1 {
			t.Errorf("%s: layers not 3-4-1", c.name)
			continue
		}
		// Layer order follows the indices: layer 1's weights start at 100.
		if v := m.Layers[1].W.T().At(0); v != 100 {
			t.Errorf("%s: layer 1's first weight %v, want 100", c.name, v)
		}
		if m.Layers[0].W.T().DType() != tensor.Float64 {
			t.Errorf("%s: dtype %v, want float64", c.name, m.Layers[0].W.T().DType())
		}
	}
}

func merge(a, b map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	for k, v := range b {
		a[k] = v
	}
	return a
}

func TestMLPFromTensorsErrors(t *testing.T) {
	bn := stateDict("", 0, 2)
	bn["1.running_mean"] = tensor.Zeros(tensor.Float32, 4)
	noBias := stateDict("", 0, 2)
	delete(noBias, "2.bias")
	badShape := stateDict("", 0, 2)
	badShape["2.weight"] = tensor.Zeros(tensor.Float32, 1, 5)
	for _, c := range []struct {
		name string
		ts   map[string]*tensor.Tensor
		want string
	}{
		{"two prefixes", merge(stateDict("a.", 0), stateDict("b.", 1)), `have different prefixes "a." and "b."`},
		{"batchnorm", bn, `unexpected tensor "1.running_mean"`},
		{"missing bias", noBias, "layer 1 needs both 2.weight and 2.bias"},
		{"shapes", badShape, "2.weight is [1 5] but the previous layer, 0, has 4 outputs"},
		{"empty", map[string]*tensor.Tensor{}, "no tensors"},
		{"no index", map[string]*tensor.Tensor{"fc.weight": tensor.Zeros(tensor.Float32, 1, 1)}, `unexpected tensor "fc.weight"`},
	} {
		_, err := MLPFromTensors(c.ts, Softplus, tensor.Float32)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
	if _, err := SelectPrefix(stateDict("a.", 0), "b."); err == nil || !strings.Contains(err.Error(), `no tensor name starts with "b."`) {
		t.Errorf("SelectPrefix: error %v", err)
	}
}
