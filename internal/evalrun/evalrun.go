package evalrun

import (
	"fmt"
	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/numeric"
	"github.com/fdsm/fdsm/internal/progress"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
	"io"
	"math/rand/v2"
	"os"
)

// Result is what fdsm eval prints (its JSON object with -json).
type Result struct {
	Checkpoint     string   `json:"checkpoint"`
	Model          string   `json:"model"`
	Objective      string   `json:"objective,omitempty"`
	Step           int      `json:"step"`
	Data           string   `json:"data"`
	Rows           int      `json:"rows"`
	Split          string   `json:"split,omitempty"` // which rows: held-out, train, all, test or samples
	ExactSM        float64  `json:"exact_sm"`
	LogLik         *float64 `json:"loglik,omitempty"`
	LogLikStderr   *float64 `json:"loglik_stderr,omitempty"`
	LogLikESS      *float64 `json:"loglik_ess,omitempty"` // importance sampling: Kish's effective sample size
	LogLikMethod   string   `json:"loglik_method"`
	BitsPerDim     *float64 `json:"bits_per_dim,omitempty"`
	TrueLogLik     *float64 `json:"true_loglik,omitempty"`
	OOD            string   `json:"ood,omitempty"`
	OODRows        int      `json:"ood_rows,omitempty"`
	AUROC          *float64 `json:"auroc,omitempty"`
	EnergyInMean   *float64 `json:"energy_mean,omitempty"`
	EnergyOODMean  *float64 `json:"ood_energy_mean,omitempty"`
	TrainEnergyRef *float64 `json:"train_energy_mean,omitempty"`
	Warnings       []string `json:"warnings,omitempty"` // also printed to stderr
}

// Config is one evaluation of fdsm eval: a model, the rows it is evaluated
// on (already in the model's space) and the settings of its figures.
type Config struct {
	Model       *sm.Model
	Transform   data.Transform // the model's: its kind decides whether a toy's true log-likelihood applies
	EnergyMean  *float64       // the checkpoint's mean training energy (nil: none recorded)
	Data        data.Spec      // where X came from
	X           *tensor.Tensor // the rows, in the model's space
	LogDet      []float64      // per row, log|det ∂y/∂x| of the transform
	Batch       int            // rows per exact SM batch
	Grid        int            // d = 2: grid points per axis of the quadrature
	ISSamples   int            // importance samples for log Z
	ProposalStd float64        // of the importance sampling proposal (sm.ProposalStd)
	Rand        *rand.Rand     // importance sampling's draws
	Progress    io.Writer
	// OOD, if set, loads the out-of-distribution rows (after the
	// log-likelihood has drawn from Rand) and names them.
	OOD func() (name string, x *tensor.Tensor, err error)
}

// Run computes into res the exact SM loss of c.X (a batch at a time, with
// a progress bar on c.Progress on a terminal or when d ≥ 256), its
// log-likelihood in the data's units (exact for NICE, by quadrature at
// d = 2, by importance sampling otherwise; none for a score network), the
// true log-likelihood of a toy, and the AUROC of |E − Ē| (‖s‖² for a score
// network) against the rows of c.OOD. Warnings go to res.Warnings.
func Run(c Config, res *Result) error {
	m, x, logDet := c.Model, c.X, c.LogDet
	d := m.Spec.Dim

	// Exact SM loss in the model's space, a batch at a time: one forward-
	// Laplacian sweep for the models its rules cover (MLP energies, NICE),
	// d backward passes otherwise (784 through a ResNet: seconds per row),
	// so a progress bar goes to stderr on a terminal or when d is large.
	n := x.Dim(0)
	var bar *progress.Bar
	if progress.IsTerminal(os.Stderr) || d >= 256 {
		fmt.Fprintf(c.Progress, "exact SM loss on %d rows, batches of %d (a forward-Laplacian sweep where the model's rules allow, else %d backward passes):\n", n, c.Batch, d)
		bar = progress.New(c.Progress, n, progress.IsTerminal(os.Stderr))
		bar.Unit = "row" // the bar counts rows, not training steps
	}
	var total float64
	for lo := 0; lo < n; lo += c.Batch {
		hi := min(lo+c.Batch, n)
		xb := tensor.SliceRows(x, lo, hi)
		var l float64
		if m.IsScore() {
			l = sm.ExactScoreSMLoss(m.Score, xb, c.Batch)
		} else {
			l = sm.ExactSMLoss(m.Energy, xb, c.Batch)
		}
		total += l * float64(hi-lo)
		if bar != nil {
			bar.Update(hi, total/float64(hi))
		}
	}
	if bar != nil {
		bar.Finish()
	}
	res.ExactSM = total / float64(n)

	// Log-likelihood in the model's space, then in the data's units.
	var ll, stderr float64
	switch {
	case m.IsScore():
		res.LogLikMethod = "none (score network)"
	case m.NICE != nil:
		res.LogLikMethod = "exact"
		lp := m.NICE.LogProb(ad.Const(x)).T().ToFloat64()
		for _, v := range lp {
			ll += v
		}
		ll /= float64(len(lp))
	case d == 2:
		res.LogLikMethod = fmt.Sprintf("grid %d×%d", c.Grid, c.Grid)
		lo, hi := sm.GridBox2D(x)
		ll, _ = sm.LogLikelihoodGrid2D(m.Energy, lo, hi, c.Grid, x)
	default:
		res.LogLikMethod = fmt.Sprintf("importance sampling, %d samples", c.ISSamples)
		var ess float64
		ll, _, stderr = sm.LogLikelihoodIS(m.Energy, x, c.ISSamples, 1000, c.Rand, sm.ProposalStd(c.ProposalStd), sm.ReportESS(&ess))
		res.LogLikStderr, res.LogLikESS = &stderr, &ess
		if !(ess >= sm.MinESS) {
			res.Warnings = append(res.Warnings, fmt.Sprintf("the importance weights have an effective sample size of %.3g of %d (below %d): the log-likelihood and its standard error are unreliable; try another -proposal-std or more -is-samples", ess, c.ISSamples, sm.MinESS))
		}
	}
	if !m.IsScore() {
		var ld float64
		for _, v := range logDet {
			ld += v
		}
		ll += ld / float64(len(logDet))
		res.LogLik = &ll
		if c.Data.Kind == "mnist" {
			b := nn.BitsPerDim(ll, d) + 8
			res.BitsPerDim = &b
		}
	}
	if c.Data.Kind == "toy" && c.Transform.Kind == data.TransformNone {
		if dens, ok := mustToy(c.Data).(data.Density); ok {
			var t float64
			for _, v := range dens.LogDensity(x) {
				t += v
			}
			t /= float64(x.Dim(0))
			res.TrueLogLik = &t
		}
	}

	// AUROC against the -ood rows.
	if c.OOD != nil {
		name, xo, err := c.OOD()
		if err != nil {
			return err
		}
		res.OOD, res.OODRows = name, xo.Dim(0)
		var in, outS []float64
		if m.IsScore() {
			in, outS = m.ScoreNorms(x), m.ScoreNorms(xo)
		} else {
			ein, eout := m.Energies(x), m.Energies(xo)
			ref := numeric.Mean(ein)
			if c.EnergyMean != nil {
				ref = *c.EnergyMean
				res.TrainEnergyRef = &ref
			}
			mi, mo := numeric.Mean(ein), numeric.Mean(eout)
			res.EnergyInMean, res.EnergyOODMean = &mi, &mo
			in, outS = numeric.AbsDev(ein, ref), numeric.AbsDev(eout, ref)
		}
		a := sm.AUROC(in, outS)
		res.AUROC = &a
	}

	return nil
}

// mustToy returns the toy of a toy data spec (parseDataSpec has checked it).
func mustToy(s data.Spec) data.Toy {
	t, err := data.NewToy(s.Arg)
	if err != nil {
		panic(err)
	}
	return t
}
