package sm

import (
	"fmt"
	"strings"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/tensor"
)

// Objective describes one training objective by name, for the command line
// and the benchmarks. Exactly the fields for the model kinds it takes are set.
type Objective struct {
	// Name is the command-line name, e.g. "fd-ssm".
	Name string
	// FD reports whether it is a finite-difference objective.
	FD bool
	// Counterpart names the gradient-based objective an FD objective
	// approximates (empty for gradient-based ones).
	Counterpart string
	// Energy evaluates it for an energy model (nil if it takes none).
	Energy func(m Energy, x *tensor.Tensor, o *Options) *ad.Value
	// Score evaluates it for a score network (nil if it takes none).
	Score func(m Score, x *tensor.Tensor, o *Options) *ad.Value
}

var objectives = []Objective{
	{Name: "sm", Energy: func(m Energy, x *tensor.Tensor, _ *Options) *ad.Value { return ExactSM(m, x) }},
	{Name: "ssm", Energy: SSM},
	{Name: "ssm-vr", Energy: SSMVR, Score: ScoreSSMVR},
	{Name: "dsm", Energy: DSM},
	{Name: "mdsm", Energy: MDSM},
	{Name: "fd-ssm", FD: true, Counterpart: "ssm", Energy: FDSSM},
	{Name: "fd-dsm", FD: true, Counterpart: "dsm", Energy: FDDSM},
	{Name: "fd-mdsm", FD: true, Counterpart: "mdsm", Energy: FDMDSM},
	{Name: "fd-ssm-vr", FD: true, Counterpart: "ssm-vr", Score: FDScoreSSMVR},
	// Taylor mode (exact, at FD cost): ssm, the sliced DSM (SlicedDSM, what
	// fd-dsm converges to) and ssm-vr with the same directions.
	{Name: "taylor-ssm", Energy: TaylorSSM},
	{Name: "taylor-dsm", Energy: TaylorSlicedDSM},
	{Name: "taylor-ssm-vr", Energy: TaylorSSMVR, Score: TaylorScoreSSMVR},
}

// Objectives returns every objective: gradient-based, FD, then Taylor-mode.
func Objectives() []Objective { return append([]Objective(nil), objectives...) }

// Lookup finds an objective by name.
func Lookup(name string) (Objective, error) {
	var names []string
	for _, o := range objectives {
		if o.Name == name {
			return o, nil
		}
		names = append(names, o.Name)
	}
	return Objective{}, fmt.Errorf("sm: unknown objective %q (want one of %s)", name, strings.Join(names, ", "))
}
