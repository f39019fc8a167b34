package experiment

import (
	"flag"
	"fmt"
	"github.com/fdsm/fdsm/internal/rundir"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"time"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/plot"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// ToyObjectives returns every energy objective of the registry.
func ToyObjectives() []string {
	return []string{"sm", "ssm", "ssm-vr", "dsm", "mdsm", "fd-ssm", "fd-dsm", "fd-mdsm"}
}

// ToysConfig holds the settings of Toys. DefaultToysConfig gives those of
// `fdsm experiment toys`, RegisterFlags its flags.
type ToysConfig struct {
	Steps      int       // training steps per objective
	Width      int       // hidden width of the 2-w-w-1 MLP
	Batch      int       // rows per step
	LR         float64   // Adam learning rate, annealed by a cosine to LR/100
	Sigma      float64   // DSM and FD-DSM noise level σ
	Panel      int       // pixels per side of each density panel
	Grid       int       // grid points per axis for the quadrature of log Z
	Seed       uint64    // seed of the data, initialisation, minibatches and objectives' randomness
	JSON       bool      // print one JSON object instead of the table
	Objectives []string  // the objectives, some of ToyObjectives, in table order
	Toys       []string  // the distributions, toys of data with a known density
	Out        string    // the output directory ("": ./fdsm-out/toys); refused if it holds files, unless Force
	Force      bool      // write into Out even when it holds files
	Progress   io.Writer // progress and per-run lines (nil: none)
}

// DefaultToysConfig returns the defaults of `fdsm experiment toys`.
func DefaultToysConfig() ToysConfig {
	return ToysConfig{Steps: 1000, Width: 64, Batch: 128, LR: 1e-2, Sigma: sm.DefaultSigma, Panel: 160, Grid: 200, Seed: 1,
		Objectives: ToyObjectives(), Toys: []string{"8gaussians", "rings", "checkerboard"}}
}

// RegisterFlags defines on fs the flags of `fdsm experiment toys` that set
// c's scalar fields, with c's values as their defaults (the command reads
// -objectives and -toys as lists itself).
func (c *ToysConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.Steps, "steps", c.Steps, "training steps per objective")
	fs.IntVar(&c.Width, "width", c.Width, "hidden width of the 2-w-w-1 MLP")
	fs.IntVar(&c.Batch, "batch", c.Batch, "rows per step")
	fs.Float64Var(&c.LR, "lr", c.LR, "Adam learning rate, annealed by a cosine to lr/100 (as fdsm demo)")
	fs.Float64Var(&c.Sigma, "sigma", c.Sigma, "DSM and FD-DSM noise level σ")
	fs.IntVar(&c.Panel, "panel", c.Panel, "pixels per side of each density panel (its map, inside the axes)")
	fs.IntVar(&c.Grid, "grid", c.Grid, "grid points per axis for the quadrature of log Z")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the data, initialisation, minibatches and objectives' randomness")
	fs.BoolVar(&c.JSON, "json", c.JSON, "print one JSON object instead of the table")
	outFlags(fs, &c.Out, &c.Force, "toys", "the density images")
}

// Validate returns a *ConfigError for the first field of c out of bounds.
func (c ToysConfig) Validate() error {
	k := checker{config: "ToysConfig"}
	k.objectives(c.Objectives, ToyObjectives())
	k.check(len(c.Toys) > 0, "Toys", "-toys: none given")
	for _, name := range c.Toys {
		k.check(knownDensity(name), "Toys", "-toys: %q is not a toy with a known density (want some of 8gaussians, 2gaussians, rings, checkerboard)", name)
	}
	k.atLeast("Steps", "steps", c.Steps, 1)
	k.within("Width", "width", c.Width, 1, 4096)
	k.within("Batch", "batch", c.Batch, 1, 1<<16)
	k.learningRate(c.LR)
	k.noiseLevel(c.Sigma)
	k.within("Panel", "panel", c.Panel, 8, 1000)
	k.within("Grid", "grid", c.Grid, 2, 4000)
	return k.result()
}

// knownDensity reports whether name is a toy of data with a known density.
func knownDensity(name string) bool {
	t, err := data.NewToy(name)
	_, ok := t.(data.Density)
	return err == nil && ok
}

// Toys runs the experiment `fdsm experiment toys` with the settings of c,
// once Validate accepts them, writing its report (a markdown table, or one
// JSON object if c.JSON) to out and the figures into c.Out.
func Toys(c ToysConfig, out io.Writer) error {
	if err := c.Validate(); err != nil {
		return err
	}
	errw := progressWriter(c.Progress)
	list := c.Objectives
	toys := c.Toys
	var dens []data.Density
	for _, name := range toys {
		t, _ := data.NewToy(name)
		dens = append(dens, t.(data.Density))
	}
	outDir, err := rundir.PrepareOutDir(c.Out, "toys", c.Force)
	if err != nil {
		return err
	}
	start := time.Now()
	const dt = tensor.Float32

	// ll[t][o], ms[t][o]; trueLL[t].
	ll := make([][]float64, len(toys))
	ms := make([][]float64, len(toys))
	trueLL := make([]float64, len(toys))
	diverged := map[string]bool{}
	var files []string
	var rows []map[string]any
	for ti, name := range toys {
		toy, _ := data.NewToy(name)
		dataRng := rand.New(rand.NewPCG(c.Seed, 50))
		trainX := toy.Sample(dt, dataRng, 20000)
		held := toy.Sample(dt, dataRng, 2000)
		for _, v := range dens[ti].LogDensity(held) {
			trueLL[ti] += v / float64(held.Dim(0))
		}
		lo, hi := sm.GridBox2D(held)
		plo, phi := sm.BoundingBox2D(trainX, 0.1, 0.1) // the pictures' box
		pts := make([]float64, 0, 2*c.Panel*c.Panel)
		for j := range c.Panel { // bottom row first, as Heatmap takes them
			y := plo[1] + (float64(j)+0.5)*(phi[1]-plo[1])/float64(c.Panel)
			for i := range c.Panel {
				pts = append(pts, plo[0]+(float64(i)+0.5)*(phi[0]-plo[0])/float64(c.Panel), y)
			}
		}
		pgrid := tensor.FromFloat64(dt, pts, c.Panel*c.Panel, 2)
		box := plot.Box{XMin: plo[0], XMax: phi[0], YMin: plo[1], YMax: phi[1]}
		panels := []plot.HeatmapPanel{densityPanel("true density", dens[ti].LogDensity(pgrid), c.Panel, box)}
		for _, oname := range list {
			m := nn.NewMLP(dt, []int{2, c.Width, c.Width, 1}, nn.Softplus, rand.New(rand.NewPCG(c.Seed, 51)))
			obj := energyObjective(oname)
			arena := new(tensor.Arena)
			st, err := trainRun(runSpec{
				name:     fmt.Sprintf("toys %s %s: MLP 2-%d-%d-1, %d steps", name, oname, c.Width, c.Width, c.Steps),
				model:    m,
				schedule: nn.Cosine(c.LR, c.LR/100, c.Steps/20),
				steps:    c.Steps,
				source:   rand.NewPCG(c.Seed, 52), // the same minibatches for every objective
				release:  true,
				arena:    arena,
				loss: func(_ int, r *rand.Rand) *ad.Value {
					idx := make([]int, c.Batch)
					for i := range idx {
						idx[i] = r.IntN(trainX.Dim(0))
					}
					return obj(m, arena.Add(tensor.GatherRows(trainX, idx)), &sm.Options{Rand: r, Sigma: c.Sigma, Arena: arena})
				},
			}, errw)
			if err != nil {
				return err
			}
			if st.Diverged > 0 {
				diverged[oname] = true
			}
			l, _ := sm.LogLikelihoodGrid2D(m, lo, hi, c.Grid, held)
			ll[ti] = append(ll[ti], l)
			ms[ti] = append(ms[ti], st.MsPerStep)
			mm := &sm.Model{Energy: m}
			e := mm.Energies(pgrid)
			for i := range e {
				e[i] = -e[i]
			}
			panels = append(panels, densityPanel(strings.ToUpper(oname), e, c.Panel, box))
			rows = append(rows, map[string]any{"toy": name, "objective": oname, "loglik": l, "ms_per_step": st.MsPerStep,
				"steps": st.Steps, "diverged_at": st.Diverged, "true_loglik": trueLL[ti]})
			fmt.Fprintf(errw, "  log-likelihood %.3f (true %.3f), %.2f ms/step\n", l, trueLL[ti], st.MsPerStep)
		}
		f := filepath.Join(outDir, "density-"+name+".png")
		if err := plot.WriteFile(f, func(w io.Writer) error {
			caption := fmt.Sprintf("%s: the true density and exp(−E) of an MLP 2-%d-%d-1 trained %d steps by each objective; each panel scaled to its maximum", name, c.Width, c.Width, c.Steps)
			return plot.HeatmapGrid(w, panels, 3, caption)
		}); err != nil {
			return err
		}
		files = append(files, f)
	}

	if c.JSON {
		return printJSON(out, map[string]any{"experiment": "toys", "rows": rows, "files": files, "seconds": time.Since(start).Seconds()})
	}
	fmt.Fprintf(out, "2-D toys: MLP 2-%d-%d-1 softplus (float32), %d Adam steps of %d rows, σ = %g, seed %d;\n", c.Width, c.Width, c.Steps, c.Batch, c.Sigma, c.Seed)
	fmt.Fprintf(out, "log-likelihood of 2000 held-out samples (log Z on a %d×%d grid); ms/step the median\n\n", c.Grid, c.Grid)
	head := []string{"objective"}
	for _, name := range toys {
		head = append(head, name+" LL", name+" ms/step")
	}
	t := mdTable{head: head}
	for oi, oname := range list {
		label := strings.ToUpper(oname)
		if diverged[oname] {
			label += " (diverged)"
		}
		row := []string{label}
		for ti := range toys {
			row = append(row, fmt.Sprintf("%.3f", ll[ti][oi]), fmt.Sprintf("%.2f", ms[ti][oi]))
		}
		t.add(row...)
	}
	row := []string{"true density"}
	for ti := range toys {
		row = append(row, fmt.Sprintf("%.3f", trueLL[ti]), "")
	}
	t.add(row...)
	t.write(out)
	fmt.Fprintf(out, "\nWrote %s (%.0f s in all).\n", strings.Join(files, ", "), time.Since(start).Seconds())
	return nil
}

// densityPanel is the titled, framed map of log-densities logp on an n×n
// grid over box: exp(v − max v), so the mode is 1 whatever the
// normalisation.
func densityPanel(title string, logp []float64, n int, box plot.Box) plot.HeatmapPanel {
	return plot.HeatmapPanel{Values: toPanel(logp), NX: n, NY: n, Options: plot.HeatmapOptions{
		Min: 0, Max: 1, Box: box, ValueLabel: "p / max p",
		Frame: &plot.Frame{Title: title, XLabel: "x1", YLabel: "x2"},
	}}
}

// toPanel maps log-densities to exp(v − max v).
func toPanel(logp []float64) []float64 {
	top := math.Inf(-1)
	for _, v := range logp {
		top = max(top, v)
	}
	out := make([]float64, len(logp))
	for i, v := range logp {
		out[i] = math.Exp(v - top)
	}
	return out
}
