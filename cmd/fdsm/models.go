package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/fdsm/fdsm/internal/rundir"
	"github.com/fdsm/fdsm/nn"
)

// modelFlags are train's flags of the model's architecture.
type modelFlags struct {
	fs                      *flag.FlagSet
	kind, act, prior        *string
	width, depth, couplings *int
	inducing, kernels       *int
}

// addModelFlags defines the model flags on fs.
func addModelFlags(fs *flag.FlagSet) *modelFlags {
	return &modelFlags{
		fs:        fs,
		kind:      fs.String("model", nn.KindMLP, "model: "+strings.Join(nn.ModelKinds(), ", ")+" (score-mlp outputs a score vector, trained by ssm-vr or fd-ssm-vr; the others are energies)"),
		width:     fs.Int("width", 128, "hidden layer width (nice: of each shift network; dkef: of the feature network; resnet: the channels, 32 if not given)"),
		depth:     fs.Int("depth", 2, "number of hidden layers (of each network; resnet: the residual blocks, 3 if not given)"),
		act:       fs.String("act", "softplus", "activation: "+rundir.ActivationList()+" (smooth: ReLU breaks score matching)"),
		couplings: fs.Int("couplings", 4, "nice: number of coupling layers"),
		prior:     fs.String("prior", "gaussian", "nice: latent prior, gaussian or logistic"),
		inducing:  fs.Int("inducing", 100, "dkef: number of inducing points"),
		kernels:   fs.Int("kernels", 3, "dkef: number of Gaussian kernels in the mixture"),
	}
}

// spec turns the flags into a specification for data of dimension d; errors
// are usage errors.
func (f *modelFlags) spec(d int) (nn.ModelSpec, error) {
	s := nn.ModelSpec{Kind: *f.kind, Dim: d, Width: *f.width, Depth: *f.depth, Couplings: *f.couplings, Prior: nn.Prior(*f.prior),
		Inducing: *f.inducing, Kernels: *f.kernels}
	found := false
	for _, k := range nn.ModelKinds() {
		found = found || k == s.Kind
	}
	if !found {
		return s, usageError{fmt.Sprintf("-model %q: want one of %s", s.Kind, strings.Join(nn.ModelKinds(), ", "))}
	}
	act, err := nn.ParseActivation(*f.act)
	if err != nil {
		return s, usageError{fmt.Sprintf("-act: %v", err)}
	}
	s.Act = act
	if s.Kind == nn.KindResNet {
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
	if s.Dim < 1 || s.Dim > nn.MaxModelDim || (s.Kind == nn.KindNICE && s.Dim < 2) {
		return s, fmt.Errorf("-model %s cannot take data of %d columns", s.Kind, s.Dim)
	}
	if s.Kind == nn.KindResNet && nn.ImageSide(s.Dim) < 4 {
		return s, fmt.Errorf("-model resnet takes square images of side 4 or more (784 pixels for MNIST), not data of %d columns", s.Dim)
	}
	if err := s.Validate(); err != nil {
		return s, usageError{"-" + err.Error()}
	}
	return s, nil
}
