package main

import (
	"fmt"
	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/jsonout"
	"github.com/fdsm/fdsm/internal/rundir"
	"io"
	"math"
	"math/rand/v2"
	"strings"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/fd"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

func init() {
	register("loss", "evaluate one objective of a PyTorch-style MLP on given arrays (cross-checking)", cmdLoss)
}

func cmdLoss(args []string, out, errw io.Writer) error {
	fs := newFlags("loss", "loss -model M.safetensors -objective NAME -x X.npy [flags]", errw)
	wf := rundir.AddWeightFlags(fs, false)
	objName := fs.String("objective", "fd-ssm", "objective: "+strings.Join(sm.ObjectiveNames(nil), ", "))
	xPath := fs.String("x", "", "the batch, a .npy array [B, d]")
	vPath := fs.String("v", "", "projections, a .npy array [M·B, d] (gradient-based objectives use them as given; FD ones rescale each row to their sphere radius)")
	nPath := fs.String("noise", "", "DSM noise n, a .npy array [B, d] (x̃ = x + σn)")
	eps := fs.Float64("eps", 0, "finite-difference step ε (0: the objective's default)")
	sigma := fs.Float64("sigma", sm.DefaultSigma, "DSM noise level σ")
	m := fs.Int("m", 1, "projections per sample")
	proj := fs.String("proj", "rademacher", "projection distribution for ssm and ssm-vr when -v is not given: rademacher, gaussian or sphere")
	acc := fs.Int("accuracy", 2, "stencil accuracy order for FD objectives: 2 or 4")
	nobatch := fs.Bool("nobatch", false, "evaluate FD stencil points in separate model calls (implies -fd-mode naive)")
	fdMode := fs.String("fd-mode", "auto", "FD evaluation: auto (stable in float32, naive in float64), stable (exact difference propagation) or naive (subtract shifted evaluations)")
	seed := fs.Uint64("seed", 1, "seed for whatever randomness is not given")
	gradPath := fs.String("grad", "", "write the parameter gradients here (safetensors, same names)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	if wf.Path() == "" || *xPath == "" {
		return usageError{"-model and -x are required"}
	}
	obj, err := sm.Lookup(*objName)
	if err != nil {
		return usageError{err.Error()}
	}
	projection, err := sm.ParseProjection(*proj)
	if err != nil {
		return usageError{err.Error()}
	}
	mode, err := sm.ParseFDMode(*fdMode)
	if err != nil {
		return usageError{err.Error()}
	}
	if !(*eps >= 0) || math.IsInf(*eps, 0) {
		return usageError{fmt.Sprintf("-eps %g: want a finite step ≥ 0 (0: the objective's default)", *eps)}
	}
	if !(*sigma > 0) || math.IsInf(*sigma, 0) {
		return usageError{fmt.Sprintf("-sigma %g: want a positive finite noise level", *sigma)}
	}
	if *nobatch && mode == sm.FDStable {
		return usageError{"-nobatch evaluates shifted points separately: it cannot be combined with -fd-mode stable"}
	}
	if *acc != 2 && *acc != 4 {
		return usageError{fmt.Sprintf("-accuracy %d: want 2 or 4", *acc)}
	}
	if *m < 1 || *m > 1<<12 {
		return usageError{fmt.Sprintf("-m %d: want 1…%d projections per sample", *m, 1<<12)}
	}

	net, dt, err := wf.Build()
	if err != nil {
		return flagError(err)
	}
	modelPath := wf.Path()
	x, err := loadBatch(*xPath, dt)
	if err != nil {
		return err
	}
	d := x.Dim(1)
	if net.Spec.Dim != d {
		return fmt.Errorf("%s: the model takes %d inputs but %s has %d columns", modelPath, net.Spec.Dim, *xPath, d)
	}
	opts := &sm.Options{Rand: rand.New(rand.NewPCG(*seed, 0)), Sigma: *sigma, Eps: *eps, M: *m,
		Projection: projection, NonBatched: *nobatch, FDMode: mode}
	if *acc == 4 {
		opts.First, opts.Second = fd.D1Acc4, fd.D2Acc4
	}
	if *vPath != "" {
		if opts.V, err = loadBatch(*vPath, dt); err != nil {
			return err
		}
		if opts.V.Dim(0) != *m*x.Dim(0) || opts.V.Dim(1) != d {
			return fmt.Errorf("%s: shape %v, want [%d %d] (-m × the rows of -x, its columns)", *vPath, opts.V.Shape(), *m*x.Dim(0), d)
		}
	}
	if *nPath != "" {
		if opts.Noise, err = loadBatch(*nPath, dt); err != nil {
			return err
		}
		if !opts.Noise.SameShape(x) {
			return fmt.Errorf("%s: shape %v, want %v (the shape of -x)", *nPath, opts.Noise.Shape(), x.Shape())
		}
	}

	var loss *ad.Value
	switch {
	case !net.IsScore() && obj.Energy != nil:
		loss = obj.Energy(net.Energy, x, opts)
	case net.IsScore() && obj.Score != nil:
		loss = obj.Score(net.Score, x, opts)
	case !net.IsScore():
		return fmt.Errorf("%s: objective %s needs a score network (last layer of width %d), the model is an energy", modelPath, obj.Name, d)
	default:
		return fmt.Errorf("%s: objective %s needs an energy (last layer of width 1), the model is a score network", modelPath, obj.Name)
	}
	if *gradPath != "" {
		ps := net.Module.Params()
		gs := ad.Grad(loss, nn.Values(net.Module))
		named := map[string]*tensor.Tensor{}
		for i, p := range ps {
			named[p.Name] = gs[i].T()
		}
		if err := tensor.SaveSafetensors(*gradPath, named, map[string]string{"objective": obj.Name}); err != nil {
			return err
		}
	}
	if *asJSON {
		nulled, err := jsonout.Write(out, map[string]any{"objective": obj.Name, "loss": loss.Item(), "rows": x.Dim(0)})
		jsonout.WarnNonFinite(errw, "loss", nulled)
		return err
	}
	fmt.Fprintf(out, "%s loss %.10g over %d rows\n", obj.Name, loss.Item(), x.Dim(0))
	return nil
}

// loadBatch reads a 2-D .npy array of finite values as dtype dt.
func loadBatch(path string, dt tensor.DType) (*tensor.Tensor, error) {
	t, err := tensor.LoadNpy(path)
	if err != nil {
		return nil, err
	}
	if t.Rank() != 2 || t.Dim(0) == 0 || t.Dim(1) == 0 {
		return nil, fmt.Errorf("%s: shape %v, want a 2-D array [rows, columns] with at least one row and one column", path, t.Shape())
	}
	return data.FiniteAs(path, t, dt)
}
