package sm

import (
	"fmt"
	"math/rand/v2"
	"strings"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// Model is a model of nn (built from an nn.ModelSpec, or read from a
// checkpoint by nn.LoadModel) with the views the objectives and samplers of
// this package take: an Energy, or for a score network (nn.KindScoreMLP) a
// Score. It lives here rather than in nn because it speaks of Objective;
// sm imports nn, nn does not import sm.
type Model struct {
	Spec   nn.ModelSpec
	Module nn.Module
	Energy Energy   // nil for a score network
	Score  Score    // set for a score network only
	NICE   *nn.NICE // set for NICE, which also has an exact log-likelihood
	DKEF   *nn.DKEF // set for DKEF, whose α is fitted to a batch
}

// NewModel creates the model of spec s with fresh parameters drawn from rng.
func NewModel(s nn.ModelSpec, dt tensor.DType, rng *rand.Rand) *Model {
	return WrapModel(s, s.Build(dt, rng))
}

// WrapModel wraps mod, a model nn.ModelSpec.Build (or nn.LoadModel) made
// for s. It panics if mod is neither an energy nor a score network.
func WrapModel(s nn.ModelSpec, mod nn.Module) *Model {
	m := &Model{Spec: s, Module: mod}
	switch v := mod.(type) {
	case *nn.MLP:
		if s.Kind == nn.KindScoreMLP {
			m.Score = ScoreFunc(v.Score)
		} else {
			m.Energy = v
		}
	case *nn.NICE:
		m.Energy, m.NICE = v, v
	case *nn.DKEF:
		m.Energy, m.DKEF = v, v
	case Energy:
		m.Energy = v
	default:
		panic(fmt.Sprintf("fdsm: model %T is neither an energy nor a score network", mod))
	}
	return m
}

// LoadModel reads the checkpoint at path (nn.LoadModel: the model rebuilt
// from its metadata, finite parameters) and wraps its model. The
// checkpoint's metadata says what the model was trained on: see
// data.TransformFromMeta for the map from data rows into its space.
func LoadModel(path string) (*Model, *nn.Checkpoint, error) {
	mod, spec, ck, err := nn.LoadModel(path)
	if err != nil {
		return nil, nil, err
	}
	return WrapModel(spec, mod), ck, nil
}

// IsScore reports whether the model is a score network.
func (m *Model) IsScore() bool { return m.Energy == nil }

// Compatible checks that objective obj can train the model, with a message
// that says what would.
func (m *Model) Compatible(obj Objective) error {
	switch {
	case m.IsScore() && obj.Score == nil:
		return fmt.Errorf("objective %s needs an energy model (-model %s, %s, %s, %s or %s); %s is a score network, trained by %s",
			obj.Name, nn.KindMLP, nn.KindNICE, nn.KindQuadratic, nn.KindDKEF, nn.KindResNet, m.Spec.Kind, strings.Join(ObjectiveNames(func(o Objective) bool { return o.Score != nil }), " or "))
	case !m.IsScore() && obj.Energy == nil:
		return fmt.Errorf("objective %s needs a score network (-model %s); %s is an energy model", obj.Name, nn.KindScoreMLP, m.Spec.Kind)
	}
	return nil
}

// ObjectiveNames lists the names of the registered objectives keep accepts
// (all of them if keep is nil), in the order of Objectives.
func ObjectiveNames(keep func(Objective) bool) []string {
	var names []string
	for _, o := range Objectives() {
		if keep == nil || keep(o) {
			names = append(names, o.Name)
		}
	}
	return names
}

// Loss evaluates objective obj on batch x.
func (m *Model) Loss(obj Objective, x *tensor.Tensor, o *Options) *ad.Value {
	if m.IsScore() {
		return obj.Score(m.Score, x, o)
	}
	return obj.Energy(m.Energy, x, o)
}

// Sampler returns what Langevin takes: the energy or the score network.
func (m *Model) Sampler() any {
	if m.IsScore() {
		return m.Score
	}
	return m.Energy
}

// evalChunk is the rows per forward pass of Energies and ScoreNorms: small
// enough that a ResNet's patch matrices (9·channels floats per pixel) stay
// in the tens of megabytes.
const evalChunk = 256

// Energies returns E(x) for each row of x, in chunks, as float64.
func (m *Model) Energies(x *tensor.Tensor) []float64 {
	out := make([]float64, 0, x.Dim(0))
	for lo := 0; lo < x.Dim(0); lo += evalChunk {
		hi := min(lo+evalChunk, x.Dim(0))
		out = append(out, m.Energy.Energy(ad.Const(tensor.SliceRows(x, lo, hi))).T().ToFloat64()...)
	}
	return out
}

// ScoreNorms returns ‖s(x)‖² for each row of x: the anomaly score of a
// score network, which has no energy.
func (m *Model) ScoreNorms(x *tensor.Tensor) []float64 {
	out := make([]float64, 0, x.Dim(0))
	d := x.Dim(1)
	for lo := 0; lo < x.Dim(0); lo += evalChunk {
		hi := min(lo+evalChunk, x.Dim(0))
		s := m.Score.Score(ad.Const(tensor.SliceRows(x, lo, hi))).T().ToFloat64()
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
