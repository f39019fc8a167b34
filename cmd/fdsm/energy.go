package main

import (
	"fmt"
	"github.com/fdsm/fdsm/internal/evalrun"
	"github.com/fdsm/fdsm/internal/rundir"
	"github.com/fdsm/fdsm/internal/samplerun"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

func init() {
	register("energy", "print the energy of each row of a CSV or .npy file (anomaly scores)", cmdEnergy)
}

const energySynopsis = `energy -ckpt DIR|FILE|-model M.safetensors -in FILE.csv|FILE.npy [-out FILE]

Prints E(x), the energy of the model of a checkpoint, for each row x of the
input, one number per line (or writes them as a .npy vector): low energy is
typical of the training data, high energy is an anomaly. Rows are in the
data's units and go through the transform the model was trained with; a CSV
needs a header row and, for a model trained on a CSV, the columns it was
trained on (others are ignored). The energy is that of the model's space, so
it differs from −log p(x) in the data's units by log Z and, under a
transform, by the transform's log-determinant.

` + rundir.WeightHelp + `

Flags:`

func cmdEnergy(args []string, out, errw io.Writer) error {
	fs := newFlags("energy", energySynopsis, errw)
	ckpt := fs.String("ckpt", "", "checkpoint: a file, or the -out directory of fdsm train (this or -model)")
	wf := rundir.AddWeightFlags(fs, true)
	in := fs.String("in", "", "input rows: a .csv file with a header, or a 2-D .npy array [N, d] (required)")
	outPath := fs.String("out", "", "output: a .npy file, or any other name for text, one energy per line (empty: standard output; never the -in file or the checkpoint)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *in == "" {
		return usageError{"-in is required"}
	}
	inExt := samplerun.Ext(*in)
	if inExt != ".csv" && inExt != ".npy" {
		return usageError{fmt.Sprintf("-in %s: want a .csv or .npy file", *in)}
	}
	inputs := []string{*in}
	if *ckpt != "" {
		inputs = append(inputs, *ckpt, filepath.Join(*ckpt, nn.CheckpointName))
	}
	if wf.Path() != "" {
		inputs = append(inputs, wf.Path())
	}
	if err := rundir.RefuseInputAsOutput(*outPath, inputs...); err != nil {
		return err
	}
	m, err := rundir.OpenModel(*ckpt, wf)
	if err != nil {
		return flagError(err)
	}
	if m.IsScore() {
		return fmt.Errorf("%s: the model is a score network (%s), which has no energy: score rows with `fdsm eval -ood` instead", m.Path, m.Spec.Kind)
	}
	dt := m.Meta.DType
	if dt == 0 {
		dt = tensor.Float32
	}
	var x *tensor.Tensor
	if inExt == ".csv" {
		t, err := data.LoadCSV(*in, &data.CSVOptions{Columns: m.Transform.Columns})
		if err != nil {
			return err
		}
		x = t.Data
	} else {
		if x, err = tensor.LoadNpy(*in); err != nil {
			return err
		}
		if x.Rank() == 1 && x.Dim(0) == m.Spec.Dim {
			x = x.Reshape(1, m.Spec.Dim)
		}
	}
	if err := data.CheckDim(*in, x, m.Spec.Dim); err != nil {
		return err
	}
	if x, err = data.FiniteAs(*in, x, dt); err != nil {
		return err
	}
	if m.Transform.Kind == data.TransformLogit {
		if err := data.CheckUnit(*in, x); err != nil {
			return err
		}
	}
	y, _ := m.Transform.Apply(x)
	if err := data.CheckFiniteRows(fmt.Sprintf("%s (after the %s transform of %s)", *in, m.Transform.Kind, m.Path), y); err != nil {
		return err
	}
	e := m.Energies(y)
	if err := evalrun.CheckFiniteEnergies(m.Path, *in, e); err != nil {
		return err
	}

	if samplerun.Ext(*outPath) == ".npy" {
		return tensor.SaveNpy(*outPath, tensor.WrapFloat64(e, len(e)))
	}
	var b strings.Builder
	for _, v := range e {
		b.WriteString(strconv.FormatFloat(v, 'g', 9, 64))
		b.WriteByte('\n')
	}
	if *outPath == "" {
		_, err := io.WriteString(out, b.String())
		return err
	}
	return tensor.WriteFileAtomic(*outPath, func(w io.Writer) error {
		_, err := io.WriteString(w, b.String())
		return err
	})
}
