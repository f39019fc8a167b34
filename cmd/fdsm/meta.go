package main

import (
	"fmt"
	"math"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/infile"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
)

// ckptMeta is what the commands read from a checkpoint's metadata beyond
// the model and its parameters: what fdsm train recorded about the data.
// parseCheckpointMeta parses and validates all of it at once, when loadModel
// reads the checkpoint, so that sample, eval and energy refuse a bad value
// alike (exit 1, naming the checkpoint and the key) and no command reads a
// key of its own.
type ckptMeta struct {
	trainData  *data.Spec     // extra.data; nil when not recorded
	tr         data.Transform // extra.data.transform, .mean, .std, .columns, .dequantize
	energyMean *float64       // extra.train.energy_mean; nil when not recorded
	split      *data.Holdout  // extra.data.holdout, .holdout_seed, .rows; nil when not recorded
}

// parseCheckpointMeta reads the metadata of the checkpoint at path, of a
// model of specification spec. Errors name path and the key at fault.
func parseCheckpointMeta(path string, meta nn.Metadata, spec nn.ModelSpec) (ckptMeta, error) {
	var c ckptMeta
	bad := func(key, why string) error { return fmt.Errorf("%s: metadata %q: %s", path, key, why) }
	if meta.Objective != "" {
		if _, err := sm.Lookup(meta.Objective); err != nil {
			return c, bad("objective", fmt.Sprintf("unknown objective %q", infile.Cut(meta.Objective)))
		}
	}
	extra := meta.Extra
	if s, ok := extra[nn.ExtraData]; ok {
		ds, err := parseDataSpec(s)
		if err != nil {
			return c, bad("extra."+nn.ExtraData, err.Error())
		}
		c.trainData = &ds
	}
	var err error
	if c.tr, err = data.TransformFromMeta(extra, spec.Dim); err != nil {
		return c, fmt.Errorf("%s: %v", path, err)
	}
	if s, ok := extra[nn.ExtraEnergyMean]; ok {
		v, err := data.ParseFloats(s)
		if err != nil || len(v) != 1 || math.IsNaN(v[0]) || math.IsInf(v[0], 0) {
			return c, bad("extra."+nn.ExtraEnergyMean, fmt.Sprintf("%q: want one finite number, the mean energy of the training rows", infile.Cut(s)))
		}
		c.energyMean = &v[0]
	}
	sp, found, err := data.HoldoutFromMeta(extra)
	if err != nil {
		return c, fmt.Errorf("%s: %v", path, err)
	}
	if found {
		c.split = &sp
	}
	return c, nil
}
