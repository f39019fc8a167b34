package main

import (
	"fmt"
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

const toysSynopsis = `experiment toys [-toys LIST] [-objectives LIST] [-steps N] [-out DIR [-force]] [-json]

Every energy objective on 2-D distributions whose density is known: for
each distribution the same softplus MLP energy 2-w-w-1, from the same
initialisation and on the same minibatches, is trained by each objective.
The table gives the log-likelihood of 2000 held-out samples (log Z by
quadrature on a grid) and the median ms per step; the true density's
log-likelihood is the last row. DIR receives density-TOY.png per
distribution: a grid of panels, the true density first, then exp(−E) of
each objective in the order of -objectives, three to a row, each titled,
with axes in the data's coordinates and a colour bar of p / max p (each
panel scaled to its own maximum). The DSM family fits the data convolved
with N(0, σ²I), so its densities are blurred by σ.

Flags:`

// toyObjectives are every energy objective of the registry.
var toyObjectives = []string{"sm", "ssm", "ssm-vr", "dsm", "mdsm", "fd-ssm", "fd-dsm", "fd-mdsm"}

func expToys(args []string, out, errw io.Writer) error {
	fs := newFlags("experiment toys", toysSynopsis, errw)
	toyList := fs.String("toys", "8gaussians,rings,checkerboard", "comma-separated distributions with a known density: 8gaussians, 2gaussians, rings, checkerboard")
	objs := fs.String("objectives", strings.Join(toyObjectives, ","), "comma-separated objectives: some of "+strings.Join(toyObjectives, ","))
	steps := fs.Int("steps", 1000, "training steps per objective")
	width := fs.Int("width", 64, "hidden width of the 2-w-w-1 MLP")
	batch := fs.Int("batch", 128, "rows per step")
	lr := fs.Float64("lr", 1e-2, "Adam learning rate, annealed by a cosine to lr/100 (as fdsm demo)")
	sigma := fs.Float64("sigma", sm.DefaultSigma, "DSM and FD-DSM noise level σ")
	panel := fs.Int("panel", 160, "pixels per side of each density panel (its map, inside the axes)")
	grid := fs.Int("grid", 200, "grid points per axis for the quadrature of log Z")
	seed := fs.Uint64("seed", 1, "seed of the data, initialisation, minibatches and objectives' randomness")
	outFl := addOutFlags(fs, "toys", "the density images")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the table")
	if err := parse(fs, args); err != nil {
		return err
	}
	list, err := parseObjectiveList("objectives", *objs, toyObjectives)
	if err != nil {
		return err
	}
	var toys []string
	var dens []data.Density
	for _, name := range strings.Split(*toyList, ",") {
		t, err := data.NewToy(strings.TrimSpace(name))
		dn, ok := t.(data.Density)
		if err != nil || !ok {
			return usageError{fmt.Sprintf("-toys: %q is not a toy with a known density (want some of 8gaussians, 2gaussians, rings, checkerboard)", name)}
		}
		toys, dens = append(toys, strings.TrimSpace(name)), append(dens, dn)
	}
	switch {
	case *steps < 1:
		return usageError{fmt.Sprintf("-steps %d: want at least 1", *steps)}
	case *width < 1 || *width > 4096:
		return usageError{fmt.Sprintf("-width %d: want 1…4096", *width)}
	case *batch < 1 || *batch > 1<<16:
		return usageError{fmt.Sprintf("-batch %d: want 1…%d", *batch, 1<<16)}
	case !(*lr > 0) || math.IsInf(*lr, 0):
		return usageError{fmt.Sprintf("-lr %g: want a positive learning rate", *lr)}
	case !(*sigma > 0) || math.IsInf(*sigma, 0):
		return usageError{fmt.Sprintf("-sigma %g: want a positive finite noise level", *sigma)}
	case *panel < 8 || *panel > 1000:
		return usageError{fmt.Sprintf("-panel %d: want 8…1000", *panel)}
	case *grid < 2 || *grid > 4000:
		return usageError{fmt.Sprintf("-grid %d: want 2…4000", *grid)}
	}
	outDir, err := outFl.prepare()
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
		dataRng := rand.New(rand.NewPCG(*seed, 50))
		trainX := toy.Sample(dt, dataRng, 20000)
		held := toy.Sample(dt, dataRng, 2000)
		for _, v := range dens[ti].LogDensity(held) {
			trueLL[ti] += v / float64(held.Dim(0))
		}
		lo, hi := gridBox(held)
		plo, phi := dataBox(trainX, 0.1, 0.1) // the pictures' box
		pts := make([]float64, 0, 2**panel**panel)
		for j := range *panel { // bottom row first, as Heatmap takes them
			y := plo[1] + (float64(j)+0.5)*(phi[1]-plo[1])/float64(*panel)
			for i := range *panel {
				pts = append(pts, plo[0]+(float64(i)+0.5)*(phi[0]-plo[0])/float64(*panel), y)
			}
		}
		pgrid := tensor.FromFloat64(dt, pts, *panel**panel, 2)
		box := plot.Box{XMin: plo[0], XMax: phi[0], YMin: plo[1], YMax: phi[1]}
		panels := []plot.HeatmapPanel{densityPanel("true density", dens[ti].LogDensity(pgrid), *panel, box)}
		for _, oname := range list {
			m := nn.NewMLP(dt, []int{2, *width, *width, 1}, nn.Softplus, rand.New(rand.NewPCG(*seed, 51)))
			obj := energyObjective(oname)
			arena := new(tensor.Arena)
			st, err := train(runSpec{
				name:     fmt.Sprintf("toys %s %s: MLP 2-%d-%d-1, %d steps", name, oname, *width, *width, *steps),
				model:    m,
				schedule: nn.Cosine(*lr, *lr/100, *steps/20),
				steps:    *steps,
				source:   rand.NewPCG(*seed, 52), // the same minibatches for every objective
				release:  true,
				arena:    arena,
				loss: func(_ int, r *rand.Rand) *ad.Value {
					idx := make([]int, *batch)
					for i := range idx {
						idx[i] = r.IntN(trainX.Dim(0))
					}
					return obj(m, arena.Add(tensor.GatherRows(trainX, idx)), &sm.Options{Rand: r, Sigma: *sigma, Arena: arena})
				},
			}, errw)
			if err != nil {
				return err
			}
			if st.Diverged > 0 {
				diverged[oname] = true
			}
			l, _ := sm.LogLikelihoodGrid2D(m, lo, hi, *grid, held)
			ll[ti] = append(ll[ti], l)
			ms[ti] = append(ms[ti], st.MsPerStep)
			mm := &sm.Model{Energy: m}
			e := mm.Energies(pgrid)
			for i := range e {
				e[i] = -e[i]
			}
			panels = append(panels, densityPanel(strings.ToUpper(oname), e, *panel, box))
			rows = append(rows, map[string]any{"toy": name, "objective": oname, "loglik": l, "ms_per_step": st.MsPerStep,
				"steps": st.Steps, "diverged_at": st.Diverged, "true_loglik": trueLL[ti]})
			fmt.Fprintf(errw, "  log-likelihood %.3f (true %.3f), %.2f ms/step\n", l, trueLL[ti], st.MsPerStep)
		}
		f := filepath.Join(outDir, "density-"+name+".png")
		if err := plot.WriteFile(f, func(w io.Writer) error {
			caption := fmt.Sprintf("%s: the true density and exp(−E) of an MLP 2-%d-%d-1 trained %d steps by each objective; each panel scaled to its maximum", name, *width, *width, *steps)
			return plot.HeatmapGrid(w, panels, 3, caption)
		}); err != nil {
			return err
		}
		files = append(files, f)
	}

	if *asJSON {
		return printJSON(out, map[string]any{"experiment": "toys", "rows": rows, "files": files, "seconds": time.Since(start).Seconds()})
	}
	fmt.Fprintf(out, "2-D toys: MLP 2-%d-%d-1 softplus (float32), %d Adam steps of %d rows, σ = %g, seed %d;\n", *width, *width, *steps, *batch, *sigma, *seed)
	fmt.Fprintf(out, "log-likelihood of 2000 held-out samples (log Z on a %d×%d grid); ms/step the median\n\n", *grid, *grid)
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
