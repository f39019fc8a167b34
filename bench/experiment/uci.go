package experiment

import (
	"errors"
	"flag"
	"fmt"
	"github.com/fdsm/fdsm/internal/numeric"
	"io"
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

// uciDim is the number of features of the wine tables (11 physico-chemical
// measurements; "quality" is dropped).
const uciDim = 11

// UCISource is where the UCI repository serves the wine tables (one
// winequality-COLOUR.csv each, semicolon-separated with quoted names).
const UCISource = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/"

// uciFiles maps -data names to the files in -dir.
var uciFiles = map[string]string{"red": "winequality-red.csv", "white": "winequality-white.csv"}

// UCIObjectives returns the objectives the uci experiment accepts.
func UCIObjectives() []string { return []string{"ssm", "ssm-vr", "fd-ssm", "sm", "dsm", "fd-dsm"} }

// UCIConfig holds the settings of UCI. DefaultUCIConfig gives those of
// `fdsm experiment uci`, RegisterFlags its flags.
type UCIConfig struct {
	Dir        string       // directory holding winequality-red.csv and winequality-white.csv
	Seeds      int          // number of seeds (data split, initialisation and minibatches each)
	Seed       uint64       // first seed; the runs use Seed, Seed+1, …
	Steps      int          // training steps per run
	Batch      int          // rows per step, for the loss and again for fitting α
	LR         float64      // Adam learning rate, annealed by a cosine to LR/10
	Inducing   int          // DKEF inducing points
	Width      int          // width of the two hidden layers of DKEF's feature network
	ISSamples  int          // importance samples for log Z
	JSON       bool         // print one JSON object instead of the tables
	Objectives []string     // the objectives, some of UCIObjectives, in table order
	Tables     []string     // the wine tables: some of red and white
	DType      tensor.DType // the dtype of the model and data
	FDMode     sm.FDMode    // how the FD objectives evaluate their stencils
	Progress   io.Writer    // progress and per-run lines (nil: none)
}

// DefaultUCIConfig returns the defaults of `fdsm experiment uci`.
func DefaultUCIConfig() UCIConfig {
	return UCIConfig{Dir: data.DefaultDir("uci"), Seeds: 3, Seed: 1, Steps: 500, Batch: 100, LR: 1e-2, Inducing: 100, Width: 30,
		ISSamples: 100000, Objectives: []string{"ssm", "ssm-vr", "fd-ssm"}, Tables: []string{"red", "white"}, DType: tensor.Float32}
}

// RegisterFlags defines on fs the flags of `fdsm experiment uci` that set
// c's scalar fields, with c's values as their defaults (the command reads
// -objectives, -data, -dtype and -fd-mode itself).
func (c *UCIConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Dir, "dir", c.Dir, "directory holding winequality-red.csv and winequality-white.csv, comma-separated (EXPERIMENTS.md: The UCI data)")
	fs.IntVar(&c.Seeds, "seeds", c.Seeds, "number of seeds (data split, initialisation and minibatches each)")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "first seed; the runs use seed, seed+1, …")
	fs.IntVar(&c.Steps, "steps", c.Steps, "training steps per run")
	fs.IntVar(&c.Batch, "batch", c.Batch, "rows per step, for the loss and again for fitting α")
	fs.Float64Var(&c.LR, "lr", c.LR, "Adam learning rate, annealed by a cosine to lr/10")
	fs.IntVar(&c.Inducing, "inducing", c.Inducing, "DKEF inducing points")
	fs.IntVar(&c.Width, "width", c.Width, "width of the two hidden layers of DKEF's feature network")
	fs.IntVar(&c.ISSamples, "is-samples", c.ISSamples, "importance samples for log Z (the paper's code draws 10⁶)")
	fs.BoolVar(&c.JSON, "json", c.JSON, "print one JSON object instead of the tables")
}

// Validate returns a *ConfigError for the first field of c out of bounds.
func (c UCIConfig) Validate() error {
	k := checker{config: "UCIConfig"}
	k.check(len(c.Tables) > 0, "Tables", "-data: no table given (want red, white or both)")
	for _, t := range c.Tables {
		k.check(uciFiles[t] != "", "Tables", "-data %q: want red, white or both", t)
	}
	k.objectives(c.Objectives, UCIObjectives())
	k.within("Seeds", "seeds", c.Seeds, 1, 100)
	k.atLeast("Steps", "steps", c.Steps, 1)
	k.within("Batch", "batch", c.Batch, 2, 1<<16)
	k.learningRate(c.LR)
	k.within("Inducing", "inducing", c.Inducing, 1, nn.MaxModelInducing)
	k.within("Width", "width", c.Width, 1, 4096)
	k.atLeast("ISSamples", "is-samples", c.ISSamples, 2)
	return k.result()
}

// UCI runs the experiment `fdsm experiment uci` with the settings of c,
// once Validate accepts them, writing its report (markdown tables, or one
// JSON object if c.JSON) to out.
func UCI(c UCIConfig, out io.Writer) error {
	if err := c.Validate(); err != nil {
		return err
	}
	errw := progressWriter(c.Progress)
	list := c.Objectives
	tables := c.Tables
	dt := c.DType
	fdMode := c.FDMode
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
		path := filepath.Join(c.Dir, uciFiles[tab])
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: no such file: download it from %s, convert it to commas (EXPERIMENTS.md: The UCI data) and give its directory with -dir", path, UCISource)
		}
		for _, s := range seedList(c.Seed, c.Seeds) {
			sp, err := data.LoadUCI(path, rand.New(rand.NewPCG(s, 20)), dt)
			if err != nil {
				return err
			}
			n, d := sp.Train.Dim(0), sp.Train.Dim(1)
			if n < c.Inducing || n < 2 {
				return fmt.Errorf("%s: %d training rows, fewer than the %d inducing points", path, n, c.Inducing)
			}
			for _, name := range list {
				// The same initialisation for every objective of a seed.
				m := newUCIModel(dt, d, c.Inducing, c.Width, sp.Train, s)
				obj := energyObjective(name)
				pick := func(r *rand.Rand, k int) *tensor.Tensor {
					idx := make([]int, k)
					for i := range idx {
						idx[i] = r.IntN(n)
					}
					return tensor.GatherRows(sp.Train, idx)
				}
				arena := new(tensor.Arena)
				st, err := trainRun(runSpec{
					name:     fmt.Sprintf("uci %s seed %d %s: DKEF, %d steps", tab, s, name, c.Steps),
					model:    m,
					schedule: nn.Cosine(c.LR, c.LR/10, 0),
					steps:    c.Steps,
					source:   rand.NewPCG(s, 22), // the same minibatches for every objective
					arena:    arena,
					loss: func(_ int, r *rand.Rand) *ad.Value {
						m.Fit(pick(r, c.Batch))
						return obj(m, pick(r, c.Batch), &sm.Options{Rand: r, FDMode: fdMode, Arena: arena})
					},
				}, errw)
				if err != nil {
					return err
				}
				// α from more rows, as a constant: evaluation needs no graph.
				fitRows := tensor.SliceRows(sp.Train, 0, min(n, 2000))
				m.Alpha = ad.Const(m.Fit(fitRows).T())
				var ess float64
				ll, _, se := sm.LogLikelihoodIS(m, sp.Test, c.ISSamples, 2000, rand.New(rand.NewPCG(s, 23)), sm.ReportESS(&ess))
				if !(ess >= sm.MinESS) {
					fmt.Fprintf(errw, "fdsm experiment uci: warning: %s seed %d %s: the importance weights have an effective sample size of %.3g of %d (below %d): that log-likelihood is unreliable; try more -is-samples\n",
						tab, s, name, ess, c.ISSamples, sm.MinESS)
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
	if c.JSON {
		return printJSON(out, map[string]any{"experiment": "uci", "rows": rows, "seeds": c.Seeds, "steps": c.Steps,
			"seconds": time.Since(start).Seconds()})
	}
	for _, tab := range tables {
		fmt.Fprintf(out, "UCI %s wine: DKEF (%d inducing points, features %d-%d-%d softplus, 3 kernels), %s, %d Adam steps of %d rows;\n",
			tab, c.Inducing, uciDim, c.Width, c.Width, dt, c.Steps, c.Batch)
		fmt.Fprintf(out, "mean ± std over %d seed(s) from %d; log-likelihood in the whitened space, log Z from %d importance samples\n\n", c.Seeds, c.Seed, c.ISSamples)
		t := mdTable{head: []string{"objective", "test log-likelihood", "IS stderr (mean)", "IS ESS (min)", "exact SM loss (test)", "ms/step"}}
		for _, name := range list {
			a := results[tab][name]
			se, _ := numeric.MeanStd(a.se)
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
