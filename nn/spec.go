package nn

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/internal/infile"
	"github.com/fdsm/fdsm/tensor"
)

// Model kinds of a ModelSpec.
const (
	KindMLP       = "mlp"       // MLP energy d-w-…-w-1
	KindScoreMLP  = "score-mlp" // MLP score network d-w-…-w-d
	KindNICE      = "nice"      // NICE flow (normalised energy)
	KindQuadratic = "quadratic" // MLP trunk with a quadratic head
	KindDKEF      = "dkef"      // deep kernel exponential family
	KindResNet    = "resnet"    // convolutional ResNet energy on square images (FlatResNetEnergy)
)

// ModelKinds returns the kinds a ModelSpec may name, in the order help
// texts list them.
func ModelKinds() []string {
	return []string{KindMLP, KindScoreMLP, KindNICE, KindQuadratic, KindDKEF, KindResNet}
}

// Limits on what a specification (from flags or from a checkpoint's
// metadata) may ask for, so that a corrupt file cannot make a reader
// allocate without bound before the parameters are compared with the file.
const (
	MaxModelDim       = 1 << 16 // d
	MaxModelWidth     = 1 << 14
	MaxModelDepth     = 64
	MaxModelCouplings = 64 // NICE
	MaxModelInducing  = 1 << 14
	MaxModelKernels   = 64
	MaxModelParams    = 1 << 28 // ParamCount
	MaxResNetBlocks   = 16      // a resnet's Depth
)

// ModelSpec is everything needed to rebuild a model's parameters. Its
// String form is what fdsm train stores in a checkpoint's Metadata.Model,
// e.g.
//
//	mlp d=2 width=64 depth=2 act=softplus
//	nice d=784 width=1000 depth=5 act=softplus couplings=4 prior=logistic
//	dkef d=11 width=30 depth=2 act=softplus inducing=100 kernels=3
//	resnet d=784 width=32 depth=3 act=softplus
//
// For resnet, d is the pixel count of square single-channel images, width
// the channels and depth the residual blocks (see FlatResNetEnergy).
// LoadModel rebuilds a checkpoint's model from it.
type ModelSpec struct {
	Kind      string
	Dim       int
	Width     int // hidden width (NICE: of each shift network; DKEF: of φ)
	Depth     int // hidden layers (resnet: residual blocks)
	Act       Activation
	Couplings int   // NICE
	Prior     Prior // NICE
	Inducing  int   // DKEF
	Kernels   int   // DKEF
}

// String formats the specification as ParseModelSpec reads it.
func (s ModelSpec) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s d=%d width=%d depth=%d act=%s", s.Kind, s.Dim, s.Width, s.Depth, s.Act)
	switch s.Kind {
	case KindNICE:
		fmt.Fprintf(&b, " couplings=%d prior=%s", s.Couplings, s.Prior)
	case KindDKEF:
		fmt.Fprintf(&b, " inducing=%d kernels=%d", s.Inducing, s.Kernels)
	}
	return b.String()
}

// ParseModelSpec reads what ModelSpec.String writes, and validates it.
// Quoted input in its errors is cut to a few dozen characters.
func ParseModelSpec(str string) (ModelSpec, error) {
	f := strings.Fields(str)
	if len(f) == 0 {
		return ModelSpec{}, fmt.Errorf("empty model specification")
	}
	s := ModelSpec{Kind: f[0]}
	want := map[string]bool{"d": true, "width": true, "depth": true, "act": true}
	switch s.Kind {
	case KindMLP, KindScoreMLP, KindQuadratic, KindResNet:
	case KindNICE:
		want["couplings"], want["prior"] = true, true
	case KindDKEF:
		want["inducing"], want["kernels"] = true, true
	default:
		return s, fmt.Errorf("unknown model kind %q (want one of %s)", infile.Cut(s.Kind), strings.Join(ModelKinds(), ", "))
	}
	seen := map[string]bool{}
	for _, kv := range f[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !want[k] || seen[k] {
			return s, fmt.Errorf("model %s: unexpected field %q", s.Kind, infile.Cut(kv))
		}
		seen[k] = true
		var err error
		switch k {
		case "act":
			s.Act, err = ParseActivation(v)
		case "prior":
			s.Prior = Prior(v)
			if s.Prior != GaussianPrior && s.Prior != LogisticPrior {
				err = fmt.Errorf("unknown prior %q", infile.Cut(v))
			}
		default:
			var n int
			n, err = strconv.Atoi(v)
			switch k {
			case "d":
				s.Dim = n
			case "width":
				s.Width = n
			case "depth":
				s.Depth = n
			case "couplings":
				s.Couplings = n
			case "inducing":
				s.Inducing = n
			case "kernels":
				s.Kernels = n
			}
		}
		if err != nil {
			return s, fmt.Errorf("model %s: field %q: %v", s.Kind, infile.Cut(kv), err)
		}
	}
	for k := range want {
		if !seen[k] {
			return s, fmt.Errorf("model %s: field %q is missing", s.Kind, k)
		}
	}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("model %s: %v", s.Kind, err)
	}
	return s, nil
}

// Validate checks the sizes against the bounds a reader allocates for. The
// message starts with the field's name, so that a caller can put a flag's
// dash or a file's name in front of it.
func (s ModelSpec) Validate() error {
	check := func(name string, v, lo, hi int) error {
		if v < lo || v > hi {
			return fmt.Errorf("%s %d: want %d…%d", name, v, lo, hi)
		}
		return nil
	}
	minDim := 1
	if s.Kind == KindNICE {
		minDim = 2
	}
	errs := []error{
		check("d", s.Dim, minDim, MaxModelDim),
		check("width", s.Width, 1, MaxModelWidth),
		check("depth", s.Depth, 1, MaxModelDepth),
	}
	if s.Kind == KindNICE {
		errs = append(errs, check("couplings", s.Couplings, 1, MaxModelCouplings))
	}
	if s.Kind == KindDKEF {
		errs = append(errs, check("inducing", s.Inducing, 1, MaxModelInducing), check("kernels", s.Kernels, 1, MaxModelKernels))
	}
	if s.Kind == KindResNet {
		if side := ImageSide(s.Dim); side < 4 {
			errs = append(errs, fmt.Errorf("d %d: want the pixels of a square image of side at least 4 (784 for MNIST)", s.Dim))
		}
		if s.Act != Softplus {
			errs = append(errs, fmt.Errorf("act %s: the ResNet energy's activation is softplus(x) − log 2 (want softplus)", s.Act))
		}
		errs = append(errs, check("depth", s.Depth, 1, MaxResNetBlocks))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if n := s.ParamCount(); n > MaxModelParams {
		return fmt.Errorf("width %d: about %.3g parameters, more than the %d a specification may ask for", s.Width, n, MaxModelParams)
	}
	return nil
}

// ParamCount estimates the number of parameters from above (as a float64:
// the product of valid fields can exceed an int's range), so that a reader
// can refuse a specification far larger than the file that claims it.
func (s ModelSpec) ParamCount() float64 {
	d, w, l := float64(s.Dim), float64(s.Width), float64(s.Depth)
	n := (d+1)*w + (l-1)*(w+1)*w + (w+1)*d // the largest network of any kind
	switch s.Kind {
	case KindNICE:
		n *= float64(s.Couplings)
	case KindDKEF:
		n += float64(s.Inducing) * d
	case KindResNet:
		// Two 3×3 convolutions per block, and a shortcut, plus the head.
		n = l*(19*w*w+2*w) + 4*w*w + 4*w
	}
	return n
}

// Hidden returns the hidden widths: Depth times Width.
func (s ModelSpec) Hidden() []int {
	h := make([]int, s.Depth)
	for i := range h {
		h[i] = s.Width
	}
	return h
}

// Build creates the model of s in dtype dt with fresh parameters drawn from
// rng: an *MLP (mlp, score-mlp), *NICE, *Quadratic, *DKEF or
// *FlatResNetEnergy. s must be valid (Validate); an unknown kind panics.
func (s ModelSpec) Build(dt tensor.DType, rng *rand.Rand) Module {
	switch s.Kind {
	case KindMLP, KindScoreMLP:
		out := 1
		if s.Kind == KindScoreMLP {
			out = s.Dim
		}
		return NewMLP(dt, append(append([]int{s.Dim}, s.Hidden()...), out), s.Act, rng)
	case KindNICE:
		return NewNICE(dt, s.Dim, &NICEConfig{Couplings: s.Couplings, Hidden: s.Width, Depth: s.Depth, Act: s.Act, Prior: s.Prior}, rng)
	case KindQuadratic:
		return NewQuadratic(dt, s.Dim, &QuadraticConfig{Hidden: s.Hidden(), Act: s.Act}, rng)
	case KindDKEF:
		return NewDKEF(dt, s.Dim, &DKEFConfig{Inducing: s.Inducing, Hidden: s.Hidden(), Act: s.Act, Kernels: s.Kernels}, rng)
	case KindResNet:
		return NewFlatResNetEnergy(dt, ImageSide(s.Dim), s.Width, s.Depth, rng)
	}
	panic("nn: ModelSpec.Build: unknown model kind " + strconv.Quote(s.Kind))
}

// ImageSide returns the side of a square image of d pixels, or 0 if d is
// not a square.
func ImageSide(d int) int {
	s := int(math.Sqrt(float64(d)) + 0.5)
	if s*s != d {
		return 0
	}
	return s
}

// FlatResNetEnergy is a ResNetEnergy on single-channel side×side images
// given as rows of their pixels. MNIST's 28×28 is zero-padded to the 32×32
// of the paper's convolutional energy inside the model, as the product with
// a fixed 0/1 matrix in one Dense node: linear (derivatives of every order),
// with FD difference rules, and keeping the FD evaluation's joint batches
// whole. Its parameters are the ResNet's.
type FlatResNetEnergy struct {
	Net *ResNetEnergy
	pad *ad.Value // [padded pixels, pixels], or nil
}

// NewFlatResNetEnergy builds a FlatResNetEnergy of channels channels and
// blocks residual blocks with parameters drawn from rng.
func NewFlatResNetEnergy(dt tensor.DType, side, channels, blocks int, rng *rand.Rand) *FlatResNetEnergy {
	p := 0
	if side == 28 {
		p = 2
	}
	big := side + 2*p
	r := &FlatResNetEnergy{Net: NewResNetEnergy(dt, 1, big, big, &ResNetConfig{Channels: channels, Blocks: blocks}, rng)}
	if p > 0 {
		sel := tensor.Zeros(dt, big*big, side*side)
		for i := range side {
			for j := range side {
				sel.Set(((i+p)*big+j+p)*side*side+i*side+j, 1)
			}
		}
		r.pad = ad.Const(sel)
	}
	return r
}

// Energy returns E(x) for rows x of side² pixels: shape [B, 1].
func (r *FlatResNetEnergy) Energy(x *ad.Value) *ad.Value {
	if r.pad != nil {
		x = ad.Dense(x, r.pad, nil, tensor.ActNone)
	}
	return r.Net.Energy(x)
}

// Params returns the ResNet's parameters.
func (r *FlatResNetEnergy) Params() []Param { return r.Net.Params() }

// ExtraDKEFAlpha is the Metadata.Extra key under which a DKEF's fitted α is
// stored, as comma-separated numbers (α is fitted to data, not trained, so
// it is not a parameter).
const ExtraDKEFAlpha = "dkef.alpha"

// LoadModel rebuilds the model of the checkpoint at path from its metadata
// alone (Metadata.Model, a ModelSpec) and loads its parameters, which must
// all be finite; a DKEF also gets its fitted α from Extra[ExtraDKEFAlpha].
// A specification far larger than the file is refused before anything is
// allocated for it. Errors name the file and the tensor or metadata key.
func LoadModel(path string) (Module, ModelSpec, *Checkpoint, error) {
	ck, err := ReadCheckpoint(path)
	if err != nil {
		return nil, ModelSpec{}, nil, err
	}
	if err := CheckFiniteParams(path, ck.Params); err != nil {
		return nil, ModelSpec{}, nil, err
	}
	if ck.Meta.Model == "" {
		return nil, ModelSpec{}, nil, fmt.Errorf("%s: no model specification (metadata %q): not a checkpoint written by fdsm train", path, "model")
	}
	spec, err := ParseModelSpec(ck.Meta.Model)
	if err != nil {
		return nil, spec, nil, fmt.Errorf("%s: metadata %q: %v", path, "model", err)
	}
	var elems float64
	for _, t := range ck.Params {
		elems += float64(t.Len())
	}
	if spec.ParamCount() > 4*elems+1e6 {
		return nil, spec, nil, fmt.Errorf("%s: metadata %q: the model %q needs about %.3g parameters, the file holds %.0f numbers", path, "model", infile.Cut(ck.Meta.Model), spec.ParamCount(), elems)
	}
	dt := ck.Meta.DType
	if dt == 0 {
		dt = tensor.Float32
	}
	m := spec.Build(dt, rand.New(rand.NewPCG(0, 0)))
	if _, err := LoadCheckpoint(path, m.Params(), nil); err != nil {
		return nil, spec, nil, err
	}
	if k, ok := m.(*DKEF); ok {
		alpha, err := parseAlpha(ck.Meta.Extra[ExtraDKEFAlpha], spec.Inducing)
		if err != nil {
			return nil, spec, nil, fmt.Errorf("%s: metadata %q: %v", path, "extra."+ExtraDKEFAlpha, err)
		}
		k.Alpha = ad.Const(tensor.FromFloat64(dt, alpha, len(alpha)))
	}
	return m, spec, ck, nil
}

// parseAlpha reads the n finite, comma-separated coefficients of a DKEF's α.
func parseAlpha(s string, n int) ([]float64, error) {
	parts := strings.Split(s, ",")
	if s == "" || len(parts) != n {
		return nil, fmt.Errorf("want the %d fitted coefficients α of the DKEF", n)
	}
	alpha := make([]float64, n)
	for i, p := range parts {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("value %d, %q: want a finite number", i+1, infile.Cut(p))
		}
		alpha[i] = v
	}
	return alpha, nil
}

// CheckFiniteParams refuses parameters holding a NaN or an infinity, naming
// the file at path, the tensor (the first in name order) and the element.
func CheckFiniteParams(path string, params map[string]*tensor.Tensor) error {
	for _, name := range slices.Sorted(maps.Keys(params)) {
		t := params[name]
		if !t.HasNaNOrInf() {
			continue
		}
		for i, v := range t.ToFloat64() {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%s: tensor %q: element %d of %v is %g: the parameters must be finite (did training diverge?)", path, name, i, t.Shape(), v)
			}
		}
	}
	return nil
}
