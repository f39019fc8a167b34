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

// Config is a benchmark configuration: an MLP's layer widths (the first is
// the data dimension d) and a batch size.
type Config struct {
	Name  string
	Sizes []int
	Batch int
}

// Configs are the configurations of the PyTorch peer (../shared/peers):
// softplus MLP energies; score networks use the same hidden widths with an
// output of width d.
var Configs = []Config{
	{"toy", []int{2, 128, 128, 1}, 256},
	{"mnist-mlp", []int{784, 512, 512, 1}, 128},
	{"mnist-large", []int{784, 1024, 1024, 1024, 1}, 64},
}

// LookupConfig finds a configuration by name.
func LookupConfig(name string) (Config, error) {
	var names []string
	for _, c := range Configs {
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
	model  *nn.MLP
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
	sizes := append([]int(nil), cfg.Sizes...)
	if score {
		sizes[len(sizes)-1] = sizes[0]
	}
	m := nn.NewMLP(dt, sizes, nn.Softplus, rng)
	s := &Step{
		Objective: obj, Config: cfg, model: m, params: nn.Values(m), score: score, LR: 1e-3, opt: nn.NewAdam(),
		x:       tensor.RandN(dt, rng, cfg.Batch, cfg.Sizes[0]),
		Options: sm.Options{Rand: rand.New(rand.NewPCG(seed, 2))},
	}
	return s, nil
}

// Model returns the model being trained.
func (s *Step) Model() *nn.MLP { return s.model }

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
		loss = s.Objective.Score(s.model, x, &s.Options)
	} else {
		loss = s.Objective.Energy(s.model, x, &s.Options)
	}
	var st ad.GradStats
	nn.Update(loss, s.model.Params(), s.opt, s.LR, ad.TrackStats(&st))
	return Result{Loss: loss.Item(), PeakBytes: st.PeakBytes, StepBytes: st.PeakBytes - s.ParamBytes(),
		ActivationBytes: st.PeakActivationBytes}
}
