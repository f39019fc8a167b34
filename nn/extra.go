package nn

// Keys of Metadata.Extra that fdsm train writes besides the model's own
// (ExtraDKEFAlpha) and those of the data transform and split
// (data.MetaTransform, data.MetaHoldout, …), so that a checkpoint says
// what it was trained on and how.
const (
	// ExtraData is the data specification the model was trained on, as
	// fdsm train's -data takes it: toy:NAME, csv:PATH or mnist:DIR, a path
	// made absolute.
	ExtraData = "data"
	// ExtraEnergyMean is the mean energy of 2000 training rows, which
	// out-of-distribution scores |E(x) − Ē| are measured from.
	ExtraEnergyMean = "train.energy_mean"
	// ExtraFlagPrefix prefixes the training flags: Extra["flag.steps"] is
	// fdsm train's -steps, which -resume reads back.
	ExtraFlagPrefix = "flag."
)
