package bench

import (
	"fmt"
	"math/rand/v2"
	"strings"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// Config is a benchmark configuration: a model and a batch size. The model
// is a softplus MLP energy with layer widths Sizes (the first is the data
// dimension d), or, when ResNet is set, the convolutional energy it
// describes, on d = Sizes[0] = C·H·W inputs.
type Config struct {
	Name   string
	Sizes  []int
	Batch  int
	ResNet *ResNetSpec
}

// ResNetSpec describes an nn.ResNetEnergy on C×H×W images.
type ResNetSpec struct {
	C, H, W int
	Net     nn.ResNetConfig
}

// Configs returns the configurations of the PyTorch peer (bench/peers):
// softplus MLP energies; score networks use the same hidden widths with an
// output of width d. conv-resnet is the paper's deep energy on MNIST padded
// to 32×32 at a size that trains on two cores: nn.NewResNetEnergy's default,
// 3 residual blocks of 32 channels with the quadratic head. conv-resnet-wide
// is closer to the paper's width: 4 blocks of 64 channels (32×32 → 16×16 →
// 8×8 → 4×4), about four times the work, as far as two cores allow a
// 20-step benchmark.
func Configs() []Config {
	return []Config{
		{Name: "toy", Sizes: []int{2, 128, 128, 1}, Batch: 256},
		{Name: "mnist-mlp", Sizes: []int{784, 512, 512, 1}, Batch: 128},
		{Name: "mnist-large", Sizes: []int{784, 1024, 1024, 1024, 1}, Batch: 64},
		{Name: "conv-resnet", Sizes: []int{1024}, Batch: 32, ResNet: &ResNetSpec{C: 1, H: 32, W: 32, Net: nn.ResNetConfig{Channels: 32, Blocks: 3}}},
		{Name: "conv-resnet-wide", Sizes: []int{1024}, Batch: 32, ResNet: &ResNetSpec{C: 1, H: 32, W: 32, Net: nn.ResNetConfig{Channels: 64, Blocks: 4}}},
	}
}

// Model is what a benchmark step trains: an energy with named parameters
// (an MLP also has a Score method, used for score networks).
type Model interface {
	nn.Module
	sm.Energy
}

// NewModel builds cfg's model in dtype dt from rng (PyTorch's
// initialisation); score asks for an MLP score network (output width d),
// which a ResNet configuration does not have.
func (cfg Config) NewModel(dt tensor.DType, score bool, rng *rand.Rand) (Model, error) {
	if cfg.ResNet != nil {
		if score {
			return nil, fmt.Errorf("bench: configuration %s has no score network", cfg.Name)
		}
		r := cfg.ResNet
		net := r.Net
		return nn.NewResNetEnergy(dt, r.C, r.H, r.W, &net, rng), nil
	}
	sizes := append([]int(nil), cfg.Sizes...)
	if score {
		sizes[len(sizes)-1] = sizes[0]
	}
	return nn.NewMLP(dt, sizes, nn.Softplus, rng), nil
}

// LookupConfig finds a configuration by name.
func LookupConfig(name string) (Config, error) {
	var names []string
	for _, c := range Configs() {
		if c.Name == name {
			return c, nil
		}
		names = append(names, c.Name)
	}
	return Config{}, fmt.Errorf("bench: unknown configuration %q (want one of %s)", name, strings.Join(names, ", "))
}

// Step is one objective on one configuration, ready to run training steps.
type Step struct {
	Objective sm.Objective
	Config    Config
	Options   sm.Options
	// LR is the Adam learning rate of the update (default 1e-3).
	LR     float64
	model  Model
	params []*ad.Value
	opt    nn.Optimizer
	x      *tensor.Tensor
	score  bool
}

// NewStep builds the model (seeded, PyTorch initialisation) and a batch of
// standard normal data for an objective on a configuration. Objectives that
// take only score networks get an MLP whose output width is d.
func NewStep(cfg Config, objective string, dt tensor.DType, seed uint64) (*Step, error) {
	obj, err := sm.Lookup(objective)
	if err != nil {
		return nil, err
	}
	return newStep(cfg, obj, obj.Energy == nil, dt, seed)
}

// NewScoreStep is NewStep for a score network (an MLP whose output width is
// d), for the objectives that take one (ssm-vr and fd-ssm-vr).
func NewScoreStep(cfg Config, objective string, dt tensor.DType, seed uint64) (*Step, error) {
	obj, err := sm.Lookup(objective)
	if err != nil {
		return nil, err
	}
	if obj.Score == nil {
		return nil, fmt.Errorf("bench: objective %s takes no score network", objective)
	}
	return newStep(cfg, obj, true, dt, seed)
}

func newStep(cfg Config, obj sm.Objective, score bool, dt tensor.DType, seed uint64) (*Step, error) {
	rng := rand.New(rand.NewPCG(seed, 1))
	m, err := cfg.NewModel(dt, score, rng)
	if err != nil {
		return nil, err
	}
	s := &Step{
		Objective: obj, Config: cfg, model: m, params: nn.Values(m), score: score, LR: 1e-3, opt: nn.NewAdam(),
		x:       tensor.RandN(dt, rng, cfg.Batch, cfg.Sizes[0]),
		Options: sm.Options{Rand: rand.New(rand.NewPCG(seed, 2)), Arena: new(tensor.Arena)},
	}
	return s, nil
}

// Model returns the model being trained.
func (s *Step) Model() Model { return s.model }

// ParamBytes returns the bytes of the model's parameters.
func (s *Step) ParamBytes() int64 {
	var n int64
	for _, p := range s.params {
		n += int64(p.T().Bytes())
	}
	return n
}

// IsScore reports whether the model is a score network (output width d)
// rather than an energy.
func (s *Step) IsScore() bool { return s.score }

// Result is what one training step measured.
type Result struct {
	Loss float64
	// PeakBytes is the peak of graph bytes still held plus cotangents
	// during the backward pass, the parameters included; gradients count
	// until the optimizer has consumed them.
	PeakBytes int64
	// StepBytes is PeakBytes less the parameters: the peak of the tensors
	// the step itself allocates (activations, recorded backward passes,
	// cotangents and gradients not yet consumed). The parameters are the
	// model, alive before and after the step and the same for every
	// objective; this is the figure an objective's memory is judged by.
	StepBytes int64
	// ActivationBytes is the peak of the same total without the parameters
	// and their gradients.
	ActivationBytes int64
}

// Run performs one training step, as the PyTorch peer times it: the
// objective on the batch, the backward pass to the parameters, and an Adam
// update.
func (s *Step) Run() Result { return s.RunOn(s.x) }

// RunOn performs one training step on the given batch. The backward pass
// and the update are nn.Update: each parameter is updated as soon as its
// gradient is final, so the step never holds every gradient at once.
func (s *Step) RunOn(x *tensor.Tensor) Result {
	var loss *ad.Value
	if s.score {
		loss = s.Objective.Score(s.model.(sm.Score), x, &s.Options)
	} else {
		loss = s.Objective.Energy(s.model, x, &s.Options)
	}
	var st ad.GradStats
	nn.Update(loss, s.model.Params(), s.opt, s.LR, ad.TrackStats(&st))
	l := loss.Item()
	s.Options.Arena.Release() // the objective's draws, for the next step to reuse
	return Result{Loss: l, PeakBytes: st.PeakBytes, StepBytes: st.PeakBytes - s.ParamBytes(),
		ActivationBytes: st.PeakActivationBytes}
}
