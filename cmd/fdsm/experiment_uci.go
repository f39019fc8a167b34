package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

const uciSynopsis = `experiment uci [-data red|white|both] [-seeds N] [-steps N] [-objectives LIST] [-json]

Density estimation on the UCI wine tables with a deep kernel exponential
family (DKEF, nn.DKEF), as in the paper's DKEF table. Each seed prepares the
data the paper's way (data.LoadUCI: drop "quality", dequantise, shuffle and
split off test = min(1000, N/10) and validation rows, whiten with a PCA
fitted on the training rows), builds one initialisation (inducing points
copied from training rows, bandwidths by the median heuristic), and trains it
once per objective on the same minibatches: each step fits α in closed form
on one batch and takes an Adam step on the objective of another (the
two-batch scheme of Wenliang et al., 2019). After training α is refitted on
up to 2000 training rows.

Reported, as mean ± standard deviation over the seeds: the test
log-likelihood in the whitened space, with log Z by importance sampling from
N(0, 4I) (the mean of the seeds' standard errors beside it); the exact SM
loss on the test split; and the median time of a training step (fit, loss,
backward pass and update). The validation split is not used (no early
stopping): every run trains for -steps.

Flags:`

// uciDim is the number of features of the wine tables (11 physico-chemical
// measurements; "quality" is dropped).
const uciDim = 11

// uciSource is where the UCI repository serves the wine tables (one
// winequality-COLOUR.csv each, semicolon-separated with quoted names).
const uciSource = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/"

// uciFiles maps -data names to the files in -dir.
var uciFiles = map[string]string{"red": "winequality-red.csv", "white": "winequality-white.csv"}

func expUCI(args []string, out, errw io.Writer) error {
	fs := newFlags("experiment uci", uciSynopsis, errw)
	which := fs.String("data", "both", "wine table: red, white or both")
	dir := fs.String("dir", defaultDataDir("uci"), "directory holding winequality-red.csv and winequality-white.csv, comma-separated (EXPERIMENTS.md: The UCI data)")
	seeds := fs.Int("seeds", 3, "number of seeds (data split, initialisation and minibatches each)")
	seed := fs.Uint64("seed", 1, "first seed; the runs use seed, seed+1, …")
	steps := fs.Int("steps", 500, "training steps per run")
	batch := fs.Int("batch", 100, "rows per step, for the loss and again for fitting α")
	lr := fs.Float64("lr", 1e-2, "Adam learning rate, annealed by a cosine to lr/10")
	objs := fs.String("objectives", "ssm,ssm-vr,fd-ssm", "comma-separated objectives: some of ssm, ssm-vr, fd-ssm, sm, dsm, fd-dsm")
	inducing := fs.Int("inducing", 100, "DKEF inducing points")
	width := fs.Int("width", 30, "width of the two hidden layers of DKEF's feature network")
	isSamples := fs.Int("is-samples", 100000, "importance samples for log Z (the paper's code draws 10⁶)")
	dtName := fs.String("dtype", "float32", "float32 or float64")
	fdModeName := fs.String("fd-mode", "auto", "FD evaluation: auto (stable in float32), naive or stable")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the tables")
	if err := parse(fs, args); err != nil {
		return err
	}
	dt, err := tensor.ParseDType(*dtName)
	if err != nil {
		return usageError{fmt.Sprintf("-dtype %q: want float32 or float64", *dtName)}
	}
	fdMode, err := sm.ParseFDMode(*fdModeName)
	if err != nil {
		return usageError{fmt.Sprintf("-fd-mode: %v", err)}
	}
	var tables []string
	switch *which {
	case "red", "white":
		tables = []string{*which}
	case "both":
		tables = []string{"red", "white"}
	default:
		return usageError{fmt.Sprintf("-data %q: want red, white or both", *which)}
	}
	list, err := parseObjectiveList("objectives", *objs, []string{"ssm", "ssm-vr", "fd-ssm", "sm", "dsm", "fd-dsm"})
	if err != nil {
		return err
	}
	switch {
	case *seeds < 1 || *seeds > 100:
		return usageError{fmt.Sprintf("-seeds %d: want 1…100", *seeds)}
	case *steps < 1:
		return usageError{fmt.Sprintf("-steps %d: want at least 1", *steps)}
	case *batch < 2 || *batch > 1<<16:
		return usageError{fmt.Sprintf("-batch %d: want 2…%d", *batch, 1<<16)}
	case !(*lr > 0) || math.IsInf(*lr, 0):
		return usageError{fmt.Sprintf("-lr %g: want a positive learning rate", *lr)}
	case *inducing < 1 || *inducing > nn.MaxModelInducing:
		return usageError{fmt.Sprintf("-inducing %d: want 1…%d", *inducing, nn.MaxModelInducing)}
	case *width < 1 || *width > 4096:
		return usageError{fmt.Sprintf("-width %d: want 1…4096", *width)}
	case *isSamples < 2:
		return usageError{fmt.Sprintf("-is-samples %d: want at least 2", *isSamples)}
	}
	start := time.Now()

	// results[table][objective] holds one value per seed.
	type acc struct {
		ll, se, exact, ms, ess []float64
		diverged               int
	}
	results := map[string]map[string]*acc{}
	var rows []map[string]any
	for _, tab := range tables {
		results[tab] = map[string]*acc{}
		for _, o := range list {
			results[tab][o] = &acc{}
		}
		path := filepath.Join(*dir, uciFiles[tab])
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: no such file: download it from %s, convert it to commas (EXPERIMENTS.md: The UCI data) and give its directory with -dir", path, uciSource)
		}
		for _, s := range seedList(*seed, *seeds) {
			sp, err := data.LoadUCI(path, rand.New(rand.NewPCG(s, 20)), dt)
			if err != nil {
				return err
			}
			n, d := sp.Train.Dim(0), sp.Train.Dim(1)
			if n < *inducing || n < 2 {
				return fmt.Errorf("%s: %d training rows, fewer than the %d inducing points", path, n, *inducing)
			}
			for _, name := range list {
				// The same initialisation for every objective of a seed.
				m := newUCIModel(dt, d, *inducing, *width, sp.Train, s)
				obj := energyObjective(name)
				pick := func(r *rand.Rand, k int) *tensor.Tensor {
					idx := make([]int, k)
					for i := range idx {
						idx[i] = r.IntN(n)
					}
					return tensor.GatherRows(sp.Train, idx)
				}
				arena := new(tensor.Arena)
				st, err := train(runSpec{
					name:     fmt.Sprintf("uci %s seed %d %s: DKEF, %d steps", tab, s, name, *steps),
					model:    m,
					schedule: nn.Cosine(*lr, *lr/10, 0),
					steps:    *steps,
					source:   rand.NewPCG(s, 22), // the same minibatches for every objective
					arena:    arena,
					loss: func(_ int, r *rand.Rand) *ad.Value {
						m.Fit(pick(r, *batch))
						return obj(m, pick(r, *batch), &sm.Options{Rand: r, FDMode: fdMode, Arena: arena})
					},
				}, errw)
				if err != nil {
					return err
				}
				// α from more rows, as a constant: evaluation needs no graph.
				fitRows := tensor.SliceRows(sp.Train, 0, min(n, 2000))
				m.Alpha = ad.Const(m.Fit(fitRows).T())
				var ess float64
				ll, _, se := sm.LogLikelihoodIS(m, sp.Test, *isSamples, 2000, rand.New(rand.NewPCG(s, 23)), sm.ReportESS(&ess))
				if !(ess >= sm.MinESS) {
					fmt.Fprintf(errw, "fdsm experiment uci: warning: %s seed %d %s: the importance weights have an effective sample size of %.3g of %d (below %d): that log-likelihood is unreliable; try more -is-samples\n",
						tab, s, name, ess, *isSamples, sm.MinESS)
				}
				exact := sm.ExactSMLoss(m, sp.Test, 500)
				a := results[tab][name]
				if st.Diverged > 0 {
					a.diverged++
				}
				a.ll, a.se, a.exact, a.ms, a.ess = append(a.ll, ll), append(a.se, se), append(a.exact, exact), append(a.ms, st.MsPerStep), append(a.ess, ess)
				rows = append(rows, map[string]any{"data": tab, "seed": s, "objective": name, "steps": st.Steps, "diverged_at": st.Diverged,
					"test_loglik": ll, "loglik_stderr": se, "loglik_ess": ess, "exact_sm": exact, "ms_per_step": st.MsPerStep,
					"train_seconds": st.Seconds, "test_rows": sp.Test.Dim(0)})
				fmt.Fprintf(errw, "  test log-likelihood %.3f ± %.3f (ESS %.3g), exact SM loss %.4g, %.2f ms/step\n", ll, se, ess, exact, st.MsPerStep)
			}
		}
	}
	if *asJSON {
		return printJSON(out, map[string]any{"experiment": "uci", "rows": rows, "seeds": *seeds, "steps": *steps,
			"seconds": time.Since(start).Seconds()})
	}
	for _, tab := range tables {
		fmt.Fprintf(out, "UCI %s wine: DKEF (%d inducing points, features %d-%d-%d softplus, 3 kernels), %s, %d Adam steps of %d rows;\n",
			tab, *inducing, uciDim, *width, *width, dt, *steps, *batch)
		fmt.Fprintf(out, "mean ± std over %d seed(s) from %d; log-likelihood in the whitened space, log Z from %d importance samples\n\n", *seeds, *seed, *isSamples)
		t := mdTable{head: []string{"objective", "test log-likelihood", "IS stderr (mean)", "IS ESS (min)", "exact SM loss (test)", "ms/step"}}
		for _, name := range list {
			a := results[tab][name]
			se, _ := meanStd(a.se)
			label := strings.ToUpper(name)
			if a.diverged > 0 {
				label += fmt.Sprintf(" (%d run(s) diverged)", a.diverged)
			}
			t.add(label, pm(a.ll, 3), fmt.Sprintf("%.3f", se), fmt.Sprintf("%.3g", slices.Min(a.ess)), pm(a.exact, 3), pm(a.ms, 2))
		}
		t.write(out)
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "%.0f s in all.\n", time.Since(start).Seconds())
	return nil
}

// newUCIModel builds the DKEF of seed s for whitened training rows x:
// inducing points copied from random rows (the start NewDKEF's comment
// recommends) and bandwidths by the median heuristic on 300 rows.
func newUCIModel(dt tensor.DType, d, inducing, width int, x *tensor.Tensor, s uint64) *nn.DKEF {
	r := rand.New(rand.NewPCG(s, 21))
	m := nn.NewDKEF(dt, d, &nn.DKEFConfig{Inducing: inducing, Hidden: []int{width, width}}, r)
	perm := r.Perm(x.Dim(0))
	m.Inducing.T().CopyFrom(tensor.GatherRows(x, perm[:inducing]))
	m.MedianBandwidths(tensor.GatherRows(x, perm[:min(300, len(perm))]))
	return m
}
