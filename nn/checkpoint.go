package nn

import (
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fdsm/fdsm/tensor"
)

// A checkpoint is one safetensors file:
//
//	tensors         each parameter under its PyTorch name ("layers.0.weight"),
//	                each optimizer buffer under "optim.<buffer>.<parameter>"
//	__metadata__    "format": "pt" (what PyTorch's safetensors writer puts there),
//	                the Metadata fields under the keys of the table below,
//	                "optim" (the optimizer's kind) and "optim.<scalar>",
//	                and Metadata.Extra under "extra.<key>"
//
// so torch's safetensors.torch.load_file reads it and load_state_dict takes
// the parameters once the "optim." keys are dropped.

// Metadata keys of a checkpoint.
const (
	metaModel     = "model"
	metaStep      = "step"
	metaSeed      = "seed"
	metaRNG       = "rng"
	metaObjective = "objective"
	metaDType     = "dtype"
	metaOptim     = "optim"
	optimPrefix   = "optim."
	extraPrefix   = "extra."
)

// Metadata describes a training run in a checkpoint. Every field is stored as
// a string in the safetensors header; the zero value of a field is what a
// file without its key reads as.
type Metadata struct {
	// Model is a free-form model specification, e.g. "mlp 2-64-64-1 softplus".
	Model string
	// Step is the number of training steps completed, which is also the
	// index of the next step to run.
	Step int
	// Seed is the seed the run started from (informational).
	Seed uint64
	// RNG is the random generator's state, from its MarshalBinary
	// (math/rand/v2's PCG and ChaCha8 have one); stored as hex.
	RNG []byte
	// Objective names the training objective, e.g. "fd-ssm".
	Objective string
	// DType is the parameters' dtype (0: not recorded).
	DType tensor.DType
	// Extra holds free-form string pairs.
	Extra map[string]string
}

// Checkpoint is a checkpoint file's contents, read and parsed but not
// applied to a model.
type Checkpoint struct {
	// Params holds the tensors whose names do not start with "optim.".
	Params map[string]*tensor.Tensor
	// Optim is the optimizer state (Kind is empty if the file has none),
	// with the "optim." prefix removed from the tensor and scalar names.
	Optim OptimState
	// Meta is the training metadata.
	Meta Metadata
}

// SaveCheckpoint writes params, the state of opt (unless opt is nil) and
// meta to one safetensors file at path, atomically (see
// tensor.SaveSafetensors): a crash leaves the previous file or the new one,
// never a torn one. A parameter holding a NaN or ±Inf is refused (nothing is
// written): such a checkpoint would replace a good one with a model nothing
// can use. Errors start with path.
func SaveCheckpoint(path string, params []Param, opt Optimizer, meta Metadata) error {
	tensors := make(map[string]*tensor.Tensor, len(params))
	for _, p := range params {
		if strings.HasPrefix(p.Name, optimPrefix) {
			return fmt.Errorf("%s: parameter %q: names starting with %q are reserved for optimizer state", path, p.Name, optimPrefix)
		}
		if _, dup := tensors[p.Name]; dup {
			return fmt.Errorf("%s: parameter %q appears twice", path, p.Name)
		}
		if p.Value.T().HasNaNOrInf() {
			return fmt.Errorf("%s: parameter %q holds NaN or infinite values; not written", path, p.Name)
		}
		tensors[p.Name] = p.Value.T()
	}
	md := encodeMetadata(meta)
	if opt != nil {
		st := opt.State()
		if st.Kind == "" {
			return fmt.Errorf("%s: optimizer %T: its state has no Kind", path, opt)
		}
		encodeOptimMetadata(md, st)
		for k, t := range st.Tensors {
			tensors[optimPrefix+k] = t
		}
	}
	return tensor.SaveSafetensors(path, tensors, md)
}

// ReadCheckpoint reads and parses the checkpoint at path without applying
// it: to inspect its metadata, or to build the model it needs before
// LoadCheckpoint. Malformed metadata is an error naming path and the key.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	tensors, md, err := tensor.LoadSafetensors(path)
	if err != nil {
		return nil, err
	}
	meta, optim, err := decodeMetadata(md)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ck := &Checkpoint{Params: map[string]*tensor.Tensor{}, Optim: optim, Meta: meta}
	for name, t := range tensors {
		if k, ok := strings.CutPrefix(name, optimPrefix); ok {
			if ck.Optim.Tensors == nil {
				ck.Optim.Tensors = map[string]*tensor.Tensor{}
			}
			ck.Optim.Tensors[k] = t
		} else {
			ck.Params[name] = t
		}
	}
	if ck.Optim.Kind == "" && len(ck.Optim.Tensors) > 0 {
		return nil, fmt.Errorf("%s: optimizer tensors (%q, …) without metadata %q naming the optimizer", path, optimPrefix+slices.Min(slices.Collect(maps.Keys(ck.Optim.Tensors))), metaOptim)
	}
	return ck, nil
}

// LoadCheckpoint reads the checkpoint at path into params and, unless opt is
// nil, the optimizer state into opt, and returns its metadata.
//
// The file must hold exactly the parameters' names with their shapes and
// dtypes, and, when opt is not nil, a state for an optimizer of opt's kind.
// Everything is checked before anything is written, so on error params and
// opt are unchanged. Errors name path and the offending parameter or
// metadata key.
func LoadCheckpoint(path string, params []Param, opt Optimizer) (Metadata, error) {
	return loadCheckpoint(path, params, opt, nil)
}

// loadCheckpoint is LoadCheckpoint that also restores src's state from the
// metadata (when src is not nil), with the same all-or-nothing guarantee.
func loadCheckpoint(path string, params []Param, opt Optimizer, src RandSource) (Metadata, error) {
	ck, err := ReadCheckpoint(path)
	if err != nil {
		return Metadata{}, err
	}
	if err := checkParams(ck.Params, params); err != nil {
		return Metadata{}, fmt.Errorf("%s: %w", path, err)
	}
	if opt != nil && ck.Optim.Kind == "" {
		return Metadata{}, fmt.Errorf("%s: no optimizer state (metadata %q is missing)", path, metaOptim)
	}
	restore := func() {}
	if src != nil {
		if len(ck.Meta.RNG) == 0 {
			return Metadata{}, fmt.Errorf("%s: metadata %q: no random generator state to resume from", path, metaRNG)
		}
		old, err := src.MarshalBinary()
		if err != nil {
			return Metadata{}, fmt.Errorf("%s: saving the current generator state: %w", path, err)
		}
		if err := src.UnmarshalBinary(ck.Meta.RNG); err != nil {
			src.UnmarshalBinary(old)
			return Metadata{}, fmt.Errorf("%s: metadata %q: %w", path, metaRNG, err)
		}
		restore = func() { src.UnmarshalBinary(old) }
	}
	if opt != nil {
		if err := opt.LoadState(params, ck.Optim); err != nil {
			restore()
			return Metadata{}, fmt.Errorf("%s: optimizer state: %w", path, err)
		}
	}
	for _, p := range params {
		p.Value.T().CopyFrom(ck.Params[p.Name])
	}
	return ck.Meta, nil
}

// checkParams checks that file holds exactly the parameters, with their
// shapes and dtypes.
func checkParams(file map[string]*tensor.Tensor, params []Param) error {
	want := make(map[string]bool, len(params))
	var missing []string
	for _, p := range params {
		if want[p.Name] {
			return fmt.Errorf("parameter %q appears twice in the model", p.Name)
		}
		want[p.Name] = true
		if file[p.Name] == nil {
			missing = append(missing, p.Name)
		}
	}
	var extra []string
	for name := range file {
		if !want[name] {
			extra = append(extra, name)
		}
	}
	switch {
	case len(missing) > 0:
		return fmt.Errorf("parameter%s %s missing from the file", ckptPlural(missing), ckptQuoteList(missing))
	case len(extra) > 0:
		return fmt.Errorf("tensor%s %s in the file %s not parameters of the model", ckptPlural(extra), ckptQuoteList(extra), ckptIsAre(extra))
	}
	for _, p := range params {
		t, pt := file[p.Name], p.Value.T()
		if t.DType() != pt.DType() {
			return fmt.Errorf("parameter %q: dtype %v in the file, %v in the model", p.Name, t.DType(), pt.DType())
		}
		if !t.SameShape(pt) {
			return fmt.Errorf("parameter %q: shape %v in the file, %v in the model", p.Name, t.Shape(), pt.Shape())
		}
	}
	return nil
}

// ckptQuoteList quotes up to five names, sorted, and says how many more there are.
func ckptQuoteList(names []string) string {
	slices.Sort(names)
	const show = 5
	var b strings.Builder
	for i, n := range names[:min(len(names), show)] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(n))
	}
	if len(names) > show {
		fmt.Fprintf(&b, " and %d more", len(names)-show)
	}
	return b.String()
}

func ckptPlural(s []string) string {
	if len(s) > 1 {
		return "s"
	}
	return ""
}

func ckptIsAre(s []string) string {
	if len(s) > 1 {
		return "are"
	}
	return "is"
}

// encodeMetadata turns meta into safetensors metadata strings. Step and Seed
// are always written, the other fields when set.
func encodeMetadata(meta Metadata) map[string]string {
	md := map[string]string{
		"format": "pt",
		metaStep: strconv.Itoa(meta.Step),
		metaSeed: strconv.FormatUint(meta.Seed, 10),
	}
	if meta.Model != "" {
		md[metaModel] = meta.Model
	}
	if len(meta.RNG) > 0 {
		md[metaRNG] = hex.EncodeToString(meta.RNG)
	}
	if meta.Objective != "" {
		md[metaObjective] = meta.Objective
	}
	if meta.DType != 0 {
		md[metaDType] = meta.DType.String()
	}
	for k, v := range meta.Extra {
		md[extraPrefix+k] = v
	}
	return md
}

// encodeOptimMetadata adds the optimizer's kind and scalars to md; the
// scalars are formatted to round-trip exactly.
func encodeOptimMetadata(md map[string]string, st OptimState) {
	md[metaOptim] = st.Kind
	for k, v := range st.Scalars {
		md[optimPrefix+k] = strconv.FormatFloat(v, 'g', -1, 64)
	}
}

// decodeMetadata parses what encodeMetadata writes, plus the optimizer's
// kind and scalars. Keys it does not know are ignored, so files written by
// other tools load. Errors name the key and quote (a prefix of) the value.
func decodeMetadata(md map[string]string) (Metadata, OptimState, error) {
	var meta Metadata
	var optim OptimState
	bad := func(key, val, want string) error {
		return fmt.Errorf("metadata %q: %s is not %s", key, ckptQuoteValue(val), want)
	}
	// Sorted, so that the first of several errors is always the same one.
	for _, k := range slices.Sorted(maps.Keys(md)) {
		v := md[k]
		switch {
		case k == metaModel:
			meta.Model = v
		case k == metaObjective:
			meta.Objective = v
		case k == metaStep:
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return Metadata{}, OptimState{}, bad(k, v, "a non-negative integer")
			}
			meta.Step = n
		case k == metaSeed:
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return Metadata{}, OptimState{}, bad(k, v, "an unsigned 64-bit integer")
			}
			meta.Seed = n
		case k == metaRNG:
			b, err := hex.DecodeString(v)
			if err != nil || len(b) == 0 {
				return Metadata{}, OptimState{}, bad(k, v, "a non-empty hex string")
			}
			meta.RNG = b
		case k == metaDType:
			dt, err := tensor.ParseDType(v)
			if err != nil {
				return Metadata{}, OptimState{}, bad(k, v, "a dtype (float32 or float64)")
			}
			meta.DType = dt
		case k == metaOptim:
			if v == "" {
				return Metadata{}, OptimState{}, bad(k, v, "an optimizer kind")
			}
			optim.Kind = v
		case strings.HasPrefix(k, optimPrefix):
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return Metadata{}, OptimState{}, bad(k, v, "a finite number")
			}
			if optim.Scalars == nil {
				optim.Scalars = map[string]float64{}
			}
			optim.Scalars[strings.TrimPrefix(k, optimPrefix)] = f
		case strings.HasPrefix(k, extraPrefix):
			if meta.Extra == nil {
				meta.Extra = map[string]string{}
			}
			meta.Extra[strings.TrimPrefix(k, extraPrefix)] = v
		}
	}
	if optim.Kind == "" && len(optim.Scalars) > 0 {
		return Metadata{}, OptimState{}, fmt.Errorf("metadata %q: optimizer scalars without %q naming the optimizer", optimPrefix+slices.Min(slices.Collect(maps.Keys(optim.Scalars))), metaOptim)
	}
	return meta, optim, nil
}

// ckptQuoteValue quotes a metadata value for an error, shortened: it comes from a
// file and may be large.
func ckptQuoteValue(v string) string {
	const limit = 40
	if len(v) > limit {
		// Cut at a rune boundary so the quoted prefix stays readable.
		i := limit
		for i > 0 && !utf8.RuneStart(v[i]) {
			i--
		}
		return strconv.Quote(v[:i]) + "…"
	}
	return strconv.Quote(v)
}
