package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/internal/infile"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// Model kinds of -model.
const (
	kindMLP       = "mlp"       // softplus MLP energy d-w-…-w-1
	kindScoreMLP  = "score-mlp" // MLP score network d-w-…-w-d
	kindNICE      = "nice"      // NICE flow (normalised energy)
	kindQuadratic = "quadratic" // MLP trunk with a quadratic head
	kindDKEF      = "dkef"      // deep kernel exponential family
	kindResNet    = "resnet"    // convolutional ResNet energy on square images
)

var modelKinds = []string{kindMLP, kindScoreMLP, kindNICE, kindQuadratic, kindDKEF, kindResNet}

// Limits on what a model specification (from flags or from a checkpoint's
// metadata) may ask for, so that a corrupt file cannot make us allocate
// without bound before the parameters are even compared with the file.
const (
	maxDim      = 1 << 16
	maxWidth    = 1 << 14
	maxDepth    = 64
	maxCoupling = 64
	maxInducing = 1 << 14
	maxKernels  = 64
	maxParams   = 1 << 28
)

// modelSpec is everything needed to rebuild a model's parameters. Its
// String form is stored in a checkpoint's Metadata.Model, e.g.
//
//	mlp d=2 width=64 depth=2 act=softplus
//	nice d=784 width=1000 depth=5 act=softplus couplings=4 prior=logistic
//	dkef d=11 width=30 depth=2 act=softplus inducing=100 kernels=3
//	resnet d=784 width=32 depth=3 act=softplus
//
// For resnet, d is the pixel count of square single-channel images, width
// the channels and depth the residual blocks (see resNetEnergy).
// so that sample, eval and energy need nothing but the checkpoint.
type modelSpec struct {
	Kind      string
	Dim       int
	Width     int // hidden width (NICE: of each shift network; DKEF: of φ)
	Depth     int // hidden layers
	Act       nn.Activation
	Couplings int      // NICE
	Prior     nn.Prior // NICE
	Inducing  int      // DKEF
	Kernels   int      // DKEF
}

// String formats the specification as parseModelSpec reads it.
func (s modelSpec) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s d=%d width=%d depth=%d act=%s", s.Kind, s.Dim, s.Width, s.Depth, s.Act)
	switch s.Kind {
	case kindNICE:
		fmt.Fprintf(&b, " couplings=%d prior=%s", s.Couplings, s.Prior)
	case kindDKEF:
		fmt.Fprintf(&b, " inducing=%d kernels=%d", s.Inducing, s.Kernels)
	}
	return b.String()
}

// parseModelSpec reads what modelSpec.String writes.
func parseModelSpec(str string) (modelSpec, error) {
	f := strings.Fields(str)
	if len(f) == 0 {
		return modelSpec{}, fmt.Errorf("empty model specification")
	}
	s := modelSpec{Kind: f[0]}
	want := map[string]bool{"d": true, "width": true, "depth": true, "act": true}
	switch s.Kind {
	case kindMLP, kindScoreMLP, kindQuadratic, kindResNet:
	case kindNICE:
		want["couplings"], want["prior"] = true, true
	case kindDKEF:
		want["inducing"], want["kernels"] = true, true
	default:
		return s, fmt.Errorf("unknown model kind %q (want one of %s)", infile.Cut(s.Kind), strings.Join(modelKinds, ", "))
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
			s.Act, err = nn.ParseActivation(v)
		case "prior":
			s.Prior = nn.Prior(v)
			if s.Prior != nn.GaussianPrior && s.Prior != nn.LogisticPrior {
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
	if err := s.validate(); err != nil {
		return s, fmt.Errorf("model %s: %v", s.Kind, err)
	}
	return s, nil
}

// validate checks the sizes. The message starts with the field's name, so
// that a caller can put a flag's dash or a file's name in front of it.
func (s modelSpec) validate() error {
	check := func(name string, v, lo, hi int) error {
		if v < lo || v > hi {
			return fmt.Errorf("%s %d: want %d…%d", name, v, lo, hi)
		}
		return nil
	}
	minDim := 1
	if s.Kind == kindNICE {
		minDim = 2
	}
	errs := []error{
		check("d", s.Dim, minDim, maxDim),
		check("width", s.Width, 1, maxWidth),
		check("depth", s.Depth, 1, maxDepth),
	}
	if s.Kind == kindNICE {
		errs = append(errs, check("couplings", s.Couplings, 1, maxCoupling))
	}
	if s.Kind == kindDKEF {
		errs = append(errs, check("inducing", s.Inducing, 1, maxInducing), check("kernels", s.Kernels, 1, maxKernels))
	}
	if s.Kind == kindResNet {
		if side := imageSide(s.Dim); side < 4 {
			errs = append(errs, fmt.Errorf("d %d: want the pixels of a square image of side at least 4 (784 for MNIST)", s.Dim))
		}
		if s.Act != nn.Softplus {
			errs = append(errs, fmt.Errorf("act %s: the ResNet energy's activation is softplus(x) − log 2 (want softplus)", s.Act))
		}
		errs = append(errs, check("depth", s.Depth, 1, maxResNetBlocks))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if n := s.paramCount(); n > maxParams {
		return fmt.Errorf("width %d: about %.3g parameters, more than the %d this tool builds", s.Width, n, maxParams)
	}
	return nil
}

// paramCount estimates the number of parameters (as a float64: the product
// of valid fields can exceed an int's range).
func (s modelSpec) paramCount() float64 {
	d, w, l := float64(s.Dim), float64(s.Width), float64(s.Depth)
	n := (d+1)*w + (l-1)*(w+1)*w + (w+1)*d // the largest network of any kind
	switch s.Kind {
	case kindNICE:
		n *= float64(s.Couplings)
	case kindDKEF:
		n += float64(s.Inducing) * d
	case kindResNet:
		// Two 3×3 convolutions per block, and a shortcut, plus the head.
		n = l*(19*w*w+2*w) + 4*w*w + 4*w
	}
	return n
}

// hidden returns the hidden widths.
func (s modelSpec) hidden() []int {
	h := make([]int, s.Depth)
	for i := range h {
		h[i] = s.Width
	}
	return h
}

// model is a built model with the views the commands need.
type model struct {
	spec   modelSpec
	mod    nn.Module
	energy sm.Energy // nil for a score network
	score  sm.Score  // set for a score network only
	nice   *nn.NICE  // set for NICE
	dkef   *nn.DKEF  // set for DKEF
}

// build creates the model of spec s with fresh, seeded parameters.
func (s modelSpec) build(dt tensor.DType, rng *rand.Rand) *model {
	m := &model{spec: s}
	switch s.Kind {
	case kindMLP, kindScoreMLP:
		out := 1
		if s.Kind == kindScoreMLP {
			out = s.Dim
		}
		sizes := append(append([]int{s.Dim}, s.hidden()...), out)
		mlp := nn.NewMLP(dt, sizes, s.Act, rng)
		m.mod = mlp
		if s.Kind == kindScoreMLP {
			m.score = sm.ScoreFunc(mlp.Score)
		} else {
			m.energy = mlp
		}
	case kindNICE:
		n := nn.NewNICE(dt, s.Dim, &nn.NICEConfig{Couplings: s.Couplings, Hidden: s.Width, Depth: s.Depth, Act: s.Act, Prior: s.Prior}, rng)
		m.mod, m.energy, m.nice = n, n, n
	case kindQuadratic:
		q := nn.NewQuadratic(dt, s.Dim, &nn.QuadraticConfig{Hidden: s.hidden(), Act: s.Act}, rng)
		m.mod, m.energy = q, q
	case kindDKEF:
		k := nn.NewDKEF(dt, s.Dim, &nn.DKEFConfig{Inducing: s.Inducing, Hidden: s.hidden(), Act: s.Act, Kernels: s.Kernels}, rng)
		m.mod, m.energy, m.dkef = k, k, k
	case kindResNet:
		r := newResNetEnergy(dt, imageSide(s.Dim), s.Width, s.Depth, rng)
		m.mod, m.energy = r, r
	default:
		panic("fdsm: unknown model kind " + s.Kind)
	}
	return m
}

// maxResNetBlocks bounds a ResNet's depth.
const maxResNetBlocks = 16

// imageSide returns the side of a square image of d pixels, or 0 if d is
// not a square.
func imageSide(d int) int {
	s := int(math.Sqrt(float64(d)) + 0.5)
	if s*s != d {
		return 0
	}
	return s
}

// resNetPad is the zero padding on each side of side×side images: MNIST's
// 28×28 goes to the 32×32 of the paper's convolutional energy.
func resNetPad(side int) int {
	if side == 28 {
		return 2
	}
	return 0
}

// resNetEnergy is nn.ResNetEnergy on side×side images given as rows of
// their unpadded pixels: it zero-pads them (see resNetPad) inside the model,
// as the product with a fixed 0/1 matrix in one Dense node, which is linear
// (derivatives of every order), has FD difference rules and keeps the FD
// evaluation's joint batches whole. Its parameters are the ResNet's.
type resNetEnergy struct {
	net *nn.ResNetEnergy
	pad *ad.Value // [padded pixels, pixels], or nil
}

func newResNetEnergy(dt tensor.DType, side, channels, blocks int, rng *rand.Rand) *resNetEnergy {
	p := resNetPad(side)
	big := side + 2*p
	r := &resNetEnergy{net: nn.NewResNetEnergy(dt, 1, big, big, &nn.ResNetConfig{Channels: channels, Blocks: blocks}, rng)}
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

// Energy implements sm.Energy.
func (r *resNetEnergy) Energy(x *ad.Value) *ad.Value {
	if r.pad != nil {
		x = ad.Dense(x, r.pad, nil, tensor.ActNone)
	}
	return r.net.Energy(x)
}

// Params implements nn.Module.
func (r *resNetEnergy) Params() []nn.Param { return r.net.Params() }

// isScore reports whether the model is a score network.
func (m *model) isScore() bool { return m.energy == nil }

// compatible checks that objective obj can train the model, with a message
// that says what would.
func (m *model) compatible(obj sm.Objective) error {
	switch {
	case m.isScore() && obj.Score == nil:
		return fmt.Errorf("objective %s needs an energy model (-model %s, %s, %s, %s or %s); %s is a score network, trained by %s",
			obj.Name, kindMLP, kindNICE, kindQuadratic, kindDKEF, kindResNet, m.spec.Kind, strings.Join(objectiveNames(func(o sm.Objective) bool { return o.Score != nil }), " or "))
	case !m.isScore() && obj.Energy == nil:
		return fmt.Errorf("objective %s needs a score network (-model %s); %s is an energy model", obj.Name, kindScoreMLP, m.spec.Kind)
	}
	return nil
}

// objectiveNames lists the names of the objectives keep accepts.
func objectiveNames(keep func(sm.Objective) bool) []string {
	var names []string
	for _, o := range sm.Objectives() {
		if keep == nil || keep(o) {
			names = append(names, o.Name)
		}
	}
	return names
}

// loss evaluates objective obj on batch x.
func (m *model) loss(obj sm.Objective, x *tensor.Tensor, o *sm.Options) *ad.Value {
	if m.isScore() {
		return obj.Score(m.score, x, o)
	}
	return obj.Energy(m.energy, x, o)
}

// sampler returns what sm.Langevin takes: the energy or the score network.
func (m *model) sampler() any {
	if m.isScore() {
		return m.score
	}
	return m.energy
}

// evalChunk is the rows per forward pass of energies and scoreNorms: small
// enough that a ResNet's patch matrices (9·channels floats per pixel) stay
// in the tens of megabytes.
const evalChunk = 256

// energies returns E(x) for each row of x, in chunks, as float64.
func (m *model) energies(x *tensor.Tensor) []float64 {
	out := make([]float64, 0, x.Dim(0))
	for lo := 0; lo < x.Dim(0); lo += evalChunk {
		hi := min(lo+evalChunk, x.Dim(0))
		out = append(out, m.energy.Energy(ad.Const(tensor.SliceRows(x, lo, hi))).T().ToFloat64()...)
	}
	return out
}

// scoreNorms returns ‖s(x)‖² for each row of x: the anomaly score of a
// score network, which has no energy.
func (m *model) scoreNorms(x *tensor.Tensor) []float64 {
	out := make([]float64, 0, x.Dim(0))
	d := x.Dim(1)
	for lo := 0; lo < x.Dim(0); lo += evalChunk {
		hi := min(lo+evalChunk, x.Dim(0))
		s := m.score.Score(ad.Const(tensor.SliceRows(x, lo, hi))).T().ToFloat64()
		for i := range hi - lo {
			var q float64
			for _, v := range s[i*d : (i+1)*d] {
				q += v * v
			}
			out = append(out, q)
		}
	}
	return out
}

// Keys of Metadata.Extra that fdsm train writes.
const (
	extraData      = "data"              // the -data specification
	extraTransform = "data.transform"    // none, standardize or logit
	extraMean      = "data.mean"         // standardize: column means
	extraStd       = "data.std"          // standardize: column standard deviations
	extraColumns   = "data.columns"      // CSV: the columns used, in order
	extraAlpha     = "dkef.alpha"        // DKEF: the fitted α
	extraEnergy    = "train.energy_mean" // mean energy of training rows, for OOD scores
	extraFlagPref  = "flag."             // the train flags, for -resume
)

// formatFloats writes floats so that they read back exactly.
func formatFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}

// parseFloats reads what formatFloats writes.
func parseFloats(s string) ([]float64, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]float64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", infile.Cut(p))
		}
		out[i] = v
	}
	return out, nil
}

// loaded is a model rebuilt from a checkpoint, with what the checkpoint says
// about the data it was trained on.
type loaded struct {
	*model
	path string // the checkpoint file
	meta nn.Metadata
	tr   transform
}

// checkpointPath resolves -ckpt: a file, or a directory holding
// nn.CheckpointName.
func checkpointPath(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, unwrapPathError(err))
	}
	if st.IsDir() {
		f := filepath.Join(p, nn.CheckpointName)
		if _, err := os.Stat(f); err != nil {
			return "", fmt.Errorf("%s: no checkpoint %s in this directory", p, nn.CheckpointName)
		}
		return f, nil
	}
	return p, nil
}

// unwrapPathError drops the path and operation of an *os.PathError, which
// the caller names itself.
func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// loadModel rebuilds the model a checkpoint (file or directory) holds from
// its metadata alone. Parameters and numbers in the metadata must be finite.
func loadModel(ckpt string) (*loaded, error) {
	path, err := checkpointPath(ckpt)
	if err != nil {
		return nil, err
	}
	ck, err := nn.ReadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	if err := checkFiniteParams(path, ck.Params); err != nil {
		return nil, err
	}
	meta := ck.Meta
	if meta.Model == "" {
		return nil, fmt.Errorf("%s: no model specification (metadata %q): not a checkpoint written by fdsm train", path, "model")
	}
	spec, err := parseModelSpec(meta.Model)
	if err != nil {
		return nil, fmt.Errorf("%s: metadata %q: %v", path, "model", err)
	}
	// Refuse a specification far larger than the file before allocating it.
	var elems float64
	for _, t := range ck.Params {
		elems += float64(t.Len())
	}
	if spec.paramCount() > 4*elems+1e6 {
		return nil, fmt.Errorf("%s: metadata %q: the model %q needs about %.3g parameters, the file holds %.0f numbers", path, "model", meta.Model, spec.paramCount(), elems)
	}
	dt := meta.DType
	if dt == 0 {
		dt = tensor.Float32
	}
	m := spec.build(dt, rand.New(rand.NewPCG(0, 0)))
	if _, err := nn.LoadCheckpoint(path, m.mod.Params(), nil); err != nil {
		return nil, err
	}
	if m.dkef != nil {
		alpha, err := parseFloats(meta.Extra[extraAlpha])
		if err != nil || len(alpha) != spec.Inducing {
			return nil, fmt.Errorf("%s: metadata %q: want the %d fitted coefficients α of the DKEF", path, "extra."+extraAlpha, spec.Inducing)
		}
		if err := checkFiniteValues(path, "extra."+extraAlpha, alpha); err != nil {
			return nil, err
		}
		m.dkef.Alpha = ad.Const(tensor.FromFloat64(dt, alpha, len(alpha)))
	}
	tr, err := transformFromMeta(meta.Extra, spec.Dim)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &loaded{model: m, path: path, meta: meta, tr: tr}, nil
}

// addModelFlags registers the model flags shared by train and demo.
type modelFlags struct {
	fs                      *flag.FlagSet
	kind, act, prior        *string
	width, depth, couplings *int
	inducing, kernels       *int
}

func addModelFlags(fs *flag.FlagSet) *modelFlags {
	return &modelFlags{
		fs:        fs,
		kind:      fs.String("model", kindMLP, "model: "+strings.Join(modelKinds, ", ")+" (score-mlp outputs a score vector, trained by ssm-vr or fd-ssm-vr; the others are energies)"),
		width:     fs.Int("width", 128, "hidden layer width (nice: of each shift network; dkef: of the feature network; resnet: the channels, 32 if not given)"),
		depth:     fs.Int("depth", 2, "number of hidden layers (of each network; resnet: the residual blocks, 3 if not given)"),
		act:       fs.String("act", "softplus", "activation: softplus, elu, tanh, swish or sigmoid (smooth: ReLU breaks score matching)"),
		couplings: fs.Int("couplings", 4, "nice: number of coupling layers"),
		prior:     fs.String("prior", "gaussian", "nice: latent prior, gaussian or logistic"),
		inducing:  fs.Int("inducing", 100, "dkef: number of inducing points"),
		kernels:   fs.Int("kernels", 3, "dkef: number of Gaussian kernels in the mixture"),
	}
}

// spec turns the flags into a specification for data of dimension d; errors
// are usage errors.
func (f *modelFlags) spec(d int) (modelSpec, error) {
	s := modelSpec{Kind: *f.kind, Dim: d, Width: *f.width, Depth: *f.depth, Couplings: *f.couplings, Prior: nn.Prior(*f.prior),
		Inducing: *f.inducing, Kernels: *f.kernels}
	found := false
	for _, k := range modelKinds {
		found = found || k == s.Kind
	}
	if !found {
		return s, usageError{fmt.Sprintf("-model %q: want one of %s", s.Kind, strings.Join(modelKinds, ", "))}
	}
	act, err := nn.ParseActivation(*f.act)
	if err != nil {
		return s, usageError{fmt.Sprintf("-act: %v", err)}
	}
	s.Act = act
	if s.Kind == kindResNet {
		// The ResNet's own defaults (3 blocks of 32 channels: trains on two
		// cores) unless the flags are given.
		given := map[string]bool{}
		f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
		if !given["width"] {
			s.Width = 32
		}
		if !given["depth"] {
			s.Depth = 3
		}
	}
	if s.Prior != nn.GaussianPrior && s.Prior != nn.LogisticPrior {
		return s, usageError{fmt.Sprintf("-prior %q: want gaussian or logistic", *f.prior)}
	}
	if s.Dim < 1 || s.Dim > maxDim || (s.Kind == kindNICE && s.Dim < 2) {
		return s, fmt.Errorf("-model %s cannot take data of %d columns", s.Kind, s.Dim)
	}
	if s.Kind == kindResNet && imageSide(s.Dim) < 4 {
		return s, fmt.Errorf("-model resnet takes square images of side 4 or more (784 pixels for MNIST), not data of %d columns", s.Dim)
	}
	if err := s.validate(); err != nil {
		return s, usageError{"-" + err.Error()}
	}
	return s, nil
}

// weightFlags are the flags with which loss, sample, eval and energy read a
// PyTorch-style state_dict (-model M.safetensors) instead of a checkpoint:
// the tensors give the layer widths and the input dimension d, the flags the
// rest of the architecture, and (sample, eval, energy) what a checkpoint
// would record about the data. One code path, weightFlags.build, serves all
// four commands.
type weightFlags struct {
	fs                            *flag.FlagSet
	path, prefix, act, dtype      *string
	transform, mean, std, columns *string // nil for loss, which takes arrays in the model's space
}

// weightModelHelp is the -model flag's help, shared by the four commands.
const weightModelHelp = "MLP weights as safetensors (F32, F64, F16 or BF16, read as -dtype): P<i>.weight [out, in] and P<i>.bias for one prefix P, as PyTorch names an nn.Sequential of Linear layers (0.weight, 2.weight, …; model.net.0.weight; module. under DataParallel; fdsm's layers.0.weight), layers in index order, their widths and the input dimension d read from the shapes; a last layer of width 1 is an energy (log p = −E), of width d a score network. MLPs only: a ResNet's state_dict is not read"

// weightHelp is the paragraph of the sample, eval and energy help on
// -model.
const weightHelp = `With -model M.safetensors instead of -ckpt, the model is an MLP read from
a PyTorch state_dict (an nn.Sequential of Linear layers, see -model): layer
widths and d from the tensors' shapes, the activation from -act, the dtype
from -dtype (-prefix picks one module of a larger state_dict). A state_dict
records nothing about the data, so rows go into the model as they are
(-transform none) unless -transform standardize (with -mean and -std) or
logit says otherwise, a CSV's columns are all of its columns unless
-columns names them, and there is no objective or step to report.`

// addWeightFlags registers -model, -prefix, -act and -dtype, and with data
// the flags that say how data rows map into the model's space (-transform,
// -mean, -std, -columns), which a checkpoint records and a state_dict does
// not.
func addWeightFlags(fs *flag.FlagSet, data bool) *weightFlags {
	f := &weightFlags{fs: fs}
	with := "" // loss requires -model; the others take it or -ckpt
	if data {
		with = "with -model: "
	}
	f.path = fs.String("model", "", weightModelHelp)
	f.prefix = fs.String("prefix", "", with+"use only the tensors whose names start with this prefix (e.g. energy.), the prefix removed: one module of a larger state_dict")
	f.act = fs.String("act", "softplus", with+"the activation between the Linear layers: softplus, elu, tanh, swish or sigmoid")
	f.dtype = fs.String("dtype", "float32", with+"compute in float32 or float64")
	if data {
		f.transform = fs.String("transform", transformNone, "with -model: how data rows map into the model's space: none (rows go in as they are, in the data's units), standardize ((x − mean)/std per column, with -mean and -std) or logit (of pixels in [0, 1], λ = 1e-6 as fdsm train's)")
		f.mean = fs.String("mean", "", "with -model -transform standardize: the column means, comma-separated or a .npy vector of d values")
		f.std = fs.String("std", "", "with -model -transform standardize: the column standard deviations (positive), comma-separated or a .npy vector of d values")
		f.columns = fs.String("columns", "", "with -model: the CSV columns the model takes, comma-separated, in order (empty: every column)")
	}
	return f
}

// given lists the flags of f set on the command line other than -model.
func (f *weightFlags) given() []string {
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
// in the dtype of -dtype; flag mistakes are usage errors.
func (f *weightFlags) build() (*model, tensor.DType, error) {
	act, err := nn.ParseActivation(*f.act)
	if err != nil {
		return nil, 0, usageError{"-act: " + err.Error()}
	}
	dt, err := tensor.ParseDType(*f.dtype)
	if err != nil {
		return nil, 0, usageError{"-dtype: " + err.Error()}
	}
	path := *f.path
	weights, md, err := tensor.LoadSafetensors(path)
	if err != nil {
		return nil, 0, err
	}
	hint := "" // for a checkpoint of fdsm train given to -model
	if md["model"] != "" {
		hint = fmt.Sprintf(" (the file is a checkpoint of a %s model: give it to -ckpt)", infile.Cut(md["model"]))
	}
	if *f.prefix != "" {
		if weights, err = nn.SelectPrefix(weights, *f.prefix); err != nil {
			return nil, 0, fmt.Errorf("%s: -prefix: %w", path, err)
		}
	}
	if err := checkFiniteParams(path, weights); err != nil {
		return nil, 0, err
	}
	mlp, err := nn.MLPFromTensors(weights, act, dt)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w%s", path, err, hint)
	}
	widths := []int{mlp.Layers[0].W.Dim(1)}
	for k, l := range mlp.Layers {
		if l.W.Len() == 0 {
			return nil, 0, fmt.Errorf("%s: layer %d's weight is %v: want at least one input and one output", path, k, l.W.Shape())
		}
		widths = append(widths, l.W.Dim(0))
	}
	d, out := widths[0], widths[len(widths)-1]
	if d > maxDim {
		return nil, 0, fmt.Errorf("%s: the first layer takes %d inputs, more than the %d this tool takes", path, d, maxDim)
	}
	s := modelSpec{Kind: kindMLP, Dim: d, Depth: len(mlp.Layers) - 1, Act: act}
	for _, w := range widths[1 : len(widths)-1] {
		s.Width = max(s.Width, w)
	}
	m := &model{spec: s, mod: mlp}
	switch {
	case out == 1:
		m.energy = mlp
	case out == d:
		m.spec.Kind = kindScoreMLP
		m.score = sm.ScoreFunc(mlp.Score)
	default:
		return nil, 0, fmt.Errorf("%s: the last layer's weight is %v: want 1 output (an energy) or %d, its input dimension (a score network)", path, mlp.Layers[len(mlp.Layers)-1].W.Shape(), d)
	}
	return m, dt, nil
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
func (f *weightFlags) load() (*loaded, error) {
	m, dt, err := f.build()
	if err != nil {
		return nil, err
	}
	tr, err := f.transformFor(m.spec.Dim)
	if err != nil {
		return nil, err
	}
	meta := nn.Metadata{Model: describeMLP(m.spec.Kind, m.mod.(*nn.MLP)), DType: dt, Extra: map[string]string{}}
	return &loaded{model: m, path: *f.path, meta: meta, tr: tr}, nil
}

// transformFor reads -transform, -mean, -std and -columns for a model of d
// inputs.
func (f *weightFlags) transformFor(d int) (transform, error) {
	// Pixels of -data mnist are dequantised, as for a model train fitted to
	// MNIST: a density's log-likelihood (and bits/dim) is of continuous
	// values.
	t := transform{kind: *f.transform, dequant: true}
	switch t.kind {
	case transformNone, transformLogit:
		if *f.mean != "" || *f.std != "" {
			return t, usageError{fmt.Sprintf("-mean and -std are for -transform standardize, not %s", t.kind)}
		}
	case transformStandardize:
		var err error
		if t.mean, err = readVector("-mean", *f.mean, d); err != nil {
			return t, err
		}
		if t.std, err = readVector("-std", *f.std, d); err != nil {
			return t, err
		}
		for j, s := range t.std {
			if !(s > 0) {
				return t, usageError{fmt.Sprintf("-std: value %d is %g: want positive standard deviations", j+1, s)}
			}
		}
	default:
		return t, usageError{fmt.Sprintf("-transform %q: want none, standardize or logit", infile.Cut(t.kind))}
	}
	if *f.columns != "" {
		t.columns = strings.Split(*f.columns, ",")
		if len(t.columns) != d {
			return t, usageError{fmt.Sprintf("-columns: %d names, but the model takes %d inputs", len(t.columns), d)}
		}
	}
	return t, nil
}

// readVector reads d finite numbers given to flag name: a comma-separated
// list, or a .npy file holding a vector.
func readVector(name, s string, d int) ([]float64, error) {
	if s == "" {
		return nil, usageError{fmt.Sprintf("-transform standardize needs %s (%d values)", name, d)}
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
		if v, err = parseFloats(s); err != nil {
			return nil, usageError{fmt.Sprintf("%s: %v", name, err)}
		}
		if len(v) != d {
			return nil, usageError{fmt.Sprintf("%s: %d values, but the model takes %d inputs", name, len(v), d)}
		}
	}
	for j, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%s %s: value %d is %g: want finite numbers", name, infile.Cut(s), j+1, x)
		}
	}
	return v, nil
}

// openModel loads the model of -ckpt or of -model (exactly one is given) for
// sample, eval and energy.
func openModel(ckpt string, f *weightFlags) (*loaded, error) {
	switch {
	case ckpt != "" && *f.path != "":
		return nil, usageError{"-ckpt and -model are alternatives: give one (a checkpoint of fdsm train, or a state_dict)"}
	case ckpt == "" && *f.path == "":
		return nil, usageError{"-ckpt or -model is required"}
	case ckpt != "":
		if g := f.given(); len(g) > 0 {
			return nil, usageError{fmt.Sprintf("%s: only with -model (a checkpoint records its own architecture and data transform)", strings.Join(g, ", "))}
		}
		return loadModel(ckpt)
	}
	return f.load()
}
