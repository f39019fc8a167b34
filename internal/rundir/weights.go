package rundir

import (
	"flag"
	"fmt"
	"math"
	"strings"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/infile"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// WeightFlags are the flags with which loss, sample, eval and energy read a
// PyTorch-style state_dict (-model M.safetensors) instead of a checkpoint:
// the tensors give the layer widths and the input dimension d, the flags the
// rest of the architecture, and (sample, eval, energy) what a checkpoint
// would record about the data. One code path, WeightFlags.Build, serves all
// four commands.
type WeightFlags struct {
	fs                            *flag.FlagSet
	path, prefix, act, dtype      *string
	transform, mean, std, columns *string // nil for loss, which takes arrays in the model's space
}

// modelHelp is the -model flag's help, shared by the four commands.
const modelHelp = "MLP weights as safetensors (F32, F64, F16 or BF16, read as -dtype): P<i>.weight [out, in] and P<i>.bias for one prefix P, as PyTorch names an nn.Sequential of Linear layers (0.weight, 2.weight, …; model.net.0.weight; module. under DataParallel; fdsm's layers.0.weight), layers in index order, their widths and the input dimension d read from the shapes; a last layer of width 1 is an energy (log p = −E), of width d a score network. MLPs only: a ResNet's state_dict is not read"

// WeightHelp is the paragraph of the sample, eval and energy help on
// -model.
const WeightHelp = `With -model M.safetensors instead of -ckpt, the model is an MLP read from
a PyTorch state_dict (an nn.Sequential of Linear layers, see -model): layer
widths and d from the tensors' shapes, the activation from -act, the dtype
from -dtype (-prefix picks one module of a larger state_dict). A state_dict
records nothing about the data, so rows go into the model as they are
(-transform none) unless -transform standardize (with -mean and -std) or
logit says otherwise, a CSV's columns are all of its columns unless
-columns names them, and there is no objective or step to report.`

// AddWeightFlags registers -model, -prefix, -act and -dtype, and with data
// the flags that say how data rows map into the model's space (-transform,
// -mean, -std, -columns), which a checkpoint records and a state_dict does
// not.
func AddWeightFlags(fs *flag.FlagSet, withData bool) *WeightFlags {
	f := &WeightFlags{fs: fs}
	with := "" // loss requires -model; the others take it or -ckpt
	if withData {
		with = "with -model: "
	}
	f.path = fs.String("model", "", modelHelp)
	f.prefix = fs.String("prefix", "", with+"use only the tensors whose names start with this prefix (e.g. energy.), the prefix removed: one module of a larger state_dict")
	f.act = fs.String("act", "softplus", with+"the activation between the Linear layers: "+ActivationList())
	f.dtype = fs.String("dtype", "float32", with+"compute in float32 or float64")
	if withData {
		f.transform = fs.String("transform", data.TransformNone, "with -model: how data rows map into the model's space: none (rows go in as they are, in the data's units), standardize ((x − mean)/std per column, with -mean and -std) or logit (of pixels in [0, 1], λ = 1e-6 as fdsm train's)")
		f.mean = fs.String("mean", "", "with -model -transform standardize: the column means, comma-separated or a .npy vector of d values")
		f.std = fs.String("std", "", "with -model -transform standardize: the column standard deviations (positive), comma-separated or a .npy vector of d values")
		f.columns = fs.String("columns", "", "with -model: the CSV columns the model takes, comma-separated, in order (empty: every column)")
	}
	return f
}

// given lists the flags of f set on the command line other than -model.
func (f *WeightFlags) given() []string {
	var names []string
	f.fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "prefix", "act", "dtype", "transform", "mean", "std", "columns":
			names = append(names, "-"+fl.Name)
		}
	})
	return names
}

// build reads the state_dict of -model into an MLP energy or score network
// in the dtype of -dtype; flag mistakes are FlagErrors.
func (f *WeightFlags) Build() (*sm.Model, tensor.DType, error) {
	act, err := nn.ParseActivation(*f.act)
	if err != nil {
		return nil, 0, FlagError{Msg: "-act: " + err.Error()}
	}
	dt, err := tensor.ParseDType(*f.dtype)
	if err != nil {
		return nil, 0, FlagError{Msg: "-dtype: " + err.Error()}
	}
	m, err := sm.LoadStateDict(*f.path, *f.prefix, act, dt)
	return m, dt, err
}

// describeMLP names an MLP of the given kind by its widths, e.g.
// "mlp 2-64-32-1 act=softplus".
func describeMLP(kind string, mlp *nn.MLP) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d", kind, mlp.Layers[0].W.Dim(1))
	for _, l := range mlp.Layers {
		fmt.Fprintf(&b, "-%d", l.W.Dim(0))
	}
	fmt.Fprintf(&b, " act=%s", mlp.Act)
	return b.String()
}

// load builds the model of -model with the data flags' transform. What a
// checkpoint records and a state_dict does not is as the flags say: no
// training data (eval needs -data), no objective or step, the transform of
// -transform (none unless given).
func (f *WeightFlags) load() (*Model, error) {
	m, dt, err := f.Build()
	if err != nil {
		return nil, err
	}
	tr, err := f.transformFor(m.Spec.Dim)
	if err != nil {
		return nil, err
	}
	meta := nn.Metadata{Model: describeMLP(m.Spec.Kind, m.Module.(*nn.MLP)), DType: dt, Extra: map[string]string{}}
	return &Model{Model: m, Path: *f.path, Meta: meta, Transform: tr}, nil
}

// transformFor reads -transform, -mean, -std and -columns for a model of d
// inputs.
func (f *WeightFlags) transformFor(d int) (data.Transform, error) {
	// Pixels of -data mnist are dequantised, as for a model train fitted to
	// MNIST: a density's log-likelihood (and bits/dim) is of continuous
	// values.
	t := data.Transform{Kind: *f.transform, Dequantize: true}
	switch t.Kind {
	case data.TransformNone, data.TransformLogit:
		if *f.mean != "" || *f.std != "" {
			return t, Flagf("-mean and -std are for -transform standardize, not %s", t.Kind)
		}
	case data.TransformStandardize:
		var err error
		if t.Mean, err = readVector("-mean", *f.mean, d); err != nil {
			return t, err
		}
		if t.Std, err = readVector("-std", *f.std, d); err != nil {
			return t, err
		}
		for j, s := range t.Std {
			if !(s > 0) {
				return t, Flagf("-std: value %d is %g: want positive standard deviations", j+1, s)
			}
		}
	default:
		return t, Flagf("-transform %q: want none, standardize or logit", infile.Cut(t.Kind))
	}
	if *f.columns != "" {
		t.Columns = strings.Split(*f.columns, ",")
		if len(t.Columns) != d {
			return t, Flagf("-columns: %d names, but the model takes %d inputs", len(t.Columns), d)
		}
	}
	return t, nil
}

// readVector reads d finite numbers given to flag name: a comma-separated
// list, or a .npy file holding a vector.
func readVector(name, s string, d int) ([]float64, error) {
	if s == "" {
		return nil, Flagf("-transform standardize needs %s (%d values)", name, d)
	}
	var v []float64
	if strings.HasSuffix(strings.ToLower(s), ".npy") {
		t, err := tensor.LoadNpy(s)
		if err != nil {
			return nil, err
		}
		if t.Len() != d || t.Rank() > 2 {
			return nil, fmt.Errorf("%s %s: shape %v, want a vector of %d values (the model's inputs)", name, s, t.Shape(), d)
		}
		v = t.ToFloat64()
	} else {
		var err error
		if v, err = data.ParseFloats(s); err != nil {
			return nil, Flagf("%s: %v", name, err)
		}
		if len(v) != d {
			return nil, Flagf("%s: %d values, but the model takes %d inputs", name, len(v), d)
		}
	}
	for j, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%s %s: value %d is %g: want finite numbers", name, infile.Cut(s), j+1, x)
		}
	}
	return v, nil
}

// OpenModel loads the model of -ckpt or of -model (exactly one is given) for
// sample, eval and energy.
func OpenModel(ckpt string, f *WeightFlags) (*Model, error) {
	switch {
	case ckpt != "" && *f.path != "":
		return nil, Flagf("-ckpt and -model are alternatives: give one (a checkpoint of fdsm train, or a state_dict)")
	case ckpt == "" && *f.path == "":
		return nil, Flagf("-ckpt or -model is required")
	case ckpt != "":
		if g := f.given(); len(g) > 0 {
			return nil, Flagf("%s: only with -model (a checkpoint records its own architecture and data transform)", strings.Join(g, ", "))
		}
		return LoadModel(ckpt)
	}
	return f.load()
}

// ActivationList names nn's activations for a flag's help, e.g.
// "softplus, elu, tanh, swish, silu or sigmoid".
func ActivationList() string {
	var names []string
	for _, a := range nn.Activations() {
		names = append(names, string(a))
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Path is the state_dict file -model names ("" if not given).
func (f *WeightFlags) Path() string { return *f.path }
