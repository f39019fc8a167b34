package rundir

import (
	"fmt"
	"math"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/infile"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
)

// Model is a model rebuilt from a checkpoint of fdsm train (or read from a
// state_dict), with what the checkpoint records about the data it was
// trained on. LoadModel parses and validates all of the metadata at once,
// so that sample, eval and energy refuse a bad value alike (naming the
// checkpoint and the key) and no command reads a key of its own.
type Model struct {
	*sm.Model
	Path       string         // the checkpoint (or state_dict) file
	Meta       nn.Metadata    // its metadata
	TrainData  *data.Spec     // extra.data; nil when not recorded
	Transform  data.Transform // extra.data.transform, .mean, .std, .columns, .dequantize
	EnergyMean *float64       // extra.train.energy_mean; nil when not recorded
	Split      *data.Holdout  // extra.data.holdout, .holdout_seed, .rows; nil when not recorded
}

// LoadModel rebuilds the model a checkpoint (file or directory) holds from
// its metadata alone. Parameters and numbers in the metadata must be finite;
// errors name the file and the key at fault.
func LoadModel(ckpt string) (*Model, error) {
	path, err := CheckpointPath(ckpt)
	if err != nil {
		return nil, err
	}
	m, ck, err := sm.LoadModel(path)
	if err != nil {
		return nil, err
	}
	l := &Model{Model: m, Path: path, Meta: ck.Meta}
	bad := func(key, why string) error { return fmt.Errorf("%s: metadata %q: %s", path, key, why) }
	meta := ck.Meta
	if meta.Objective != "" {
		if _, err := sm.Lookup(meta.Objective); err != nil {
			return nil, bad("objective", fmt.Sprintf("unknown objective %q", infile.Cut(meta.Objective)))
		}
	}
	extra := meta.Extra
	if s, ok := extra[nn.ExtraData]; ok {
		ds, err := data.ParseSpec(s)
		if err != nil {
			return nil, bad("extra."+nn.ExtraData, err.Error())
		}
		l.TrainData = &ds
	}
	if l.Transform, err = data.TransformFromMeta(extra, m.Spec.Dim); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if s, ok := extra[nn.ExtraEnergyMean]; ok {
		v, err := data.ParseFloats(s)
		if err != nil || len(v) != 1 || math.IsNaN(v[0]) || math.IsInf(v[0], 0) {
			return nil, bad("extra."+nn.ExtraEnergyMean, fmt.Sprintf("%q: want one finite number, the mean energy of the training rows", infile.Cut(s)))
		}
		l.EnergyMean = &v[0]
	}
	sp, found, err := data.HoldoutFromMeta(extra)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if found {
		l.Split = &sp
	}
	return l, nil
}
