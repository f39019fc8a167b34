package experiment

import (
	"flag"
	"fmt"
	"github.com/fdsm/fdsm/internal/numeric"
	"github.com/fdsm/fdsm/internal/rundir"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/plot"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// OODObjectives returns the objectives the ood experiment accepts: dsm,
// fd-dsm, sliced-dsm (FD-DSM's gradient-based counterpart, same
// directions), ssm, fd-ssm, mdsm and fd-mdsm.
func OODObjectives() []string {
	return []string{"dsm", "fd-dsm", "sliced-dsm", "ssm", "fd-ssm", "mdsm", "fd-mdsm"}
}

// OODConfig holds the settings of OOD. DefaultOODConfig gives those of
// `fdsm experiment ood`, RegisterFlags its flags.
type OODConfig struct {
	MNIST       string    // MNIST directory (fetched if missing)
	Steps       int       // training steps per objective
	Projections int       // projections per sample of the objectives that draw them (sliced-dsm, fd-dsm, ssm, fd-ssm, fd-mdsm)
	Points      int       // evaluations of the AUROC curve after the one before training
	CurveRows   int       // images of the test set and of each OOD set in the AUROC curve
	Width       int       // hidden width of the 784-w-w-1 softplus MLP energy
	Batch       int       // rows per step
	LR          float64   // Adam learning rate, annealed by a cosine to LR/10
	Sigma       float64   // DSM noise level σ (pixels in [0, 1])
	Rows        int       // images in the in-distribution test set and in each OOD set
	Seed        uint64    // seed of the initialisation, minibatches, noise and OOD sets
	JSON        bool      // print one JSON object instead of the tables
	Objectives  []string  // the objectives, some of OODObjectives, in table order
	In          []uint8   // the in-distribution digits
	Out         string    // the output directory ("": ./fdsm-out/ood); refused if it holds files, unless Force
	Force       bool      // write into Out even when it holds files
	Progress    io.Writer // progress and per-run lines (nil: none)
}

// DefaultOODConfig returns the defaults of `fdsm experiment ood`.
func DefaultOODConfig() OODConfig {
	return OODConfig{MNIST: data.DefaultDir("mnist"), Steps: 2000, Projections: 1, Points: 20, CurveRows: 500, Width: 512,
		Batch: 128, LR: 1e-3, Sigma: sm.DefaultSigma, Rows: 2000, Seed: 1,
		Objectives: []string{"dsm", "fd-dsm"}, In: []uint8{0, 1, 2, 3, 4}}
}

// RegisterFlags defines on fs the flags of `fdsm experiment ood` that set
// c's scalar fields, with c's values as their defaults (the command reads
// -objectives and -in as lists itself).
func (c *OODConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.MNIST, "mnist", c.MNIST, "MNIST directory (fetched if missing)")
	fs.IntVar(&c.Steps, "steps", c.Steps, "training steps per objective")
	fs.IntVar(&c.Projections, "m", c.Projections, "projections per sample of the objectives that draw them (sliced-dsm, fd-dsm, ssm, fd-ssm, fd-mdsm); DSM and MDSM draw none and ignore it")
	fs.IntVar(&c.Points, "points", c.Points, "evaluations of the AUROC curve after the one before training")
	fs.IntVar(&c.CurveRows, "curve-rows", c.CurveRows, "images of the test set and of each OOD set in the AUROC curve")
	fs.IntVar(&c.Width, "width", c.Width, "hidden width of the 784-w-w-1 softplus MLP energy")
	fs.IntVar(&c.Batch, "batch", c.Batch, "rows per step")
	fs.Float64Var(&c.LR, "lr", c.LR, "Adam learning rate, annealed by a cosine to lr/10")
	fs.Float64Var(&c.Sigma, "sigma", c.Sigma, "DSM noise level σ (pixels in [0, 1])")
	fs.IntVar(&c.Rows, "rows", c.Rows, "images in the in-distribution test set and in each OOD set")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of the initialisation, minibatches, noise and OOD sets")
	fs.BoolVar(&c.JSON, "json", c.JSON, "print one JSON object instead of the tables")
	outFlags(fs, &c.Out, &c.Force, "ood", "ood-sets.png")
}

// Validate returns a *ConfigError for the first field of c out of bounds.
func (c OODConfig) Validate() error {
	k := checker{config: "OODConfig"}
	k.check(len(c.In) > 0, "In", "-in: no digits given")
	for i, v := range c.In {
		k.check(v <= 9 && !slices.Contains(c.In[:i], v), "In", "-in %q: want distinct digits 0…9, comma-separated", digitList(c.In))
	}
	k.objectives(c.Objectives, OODObjectives())
	k.atLeast("Steps", "steps", c.Steps, 1)
	k.within("Width", "width", c.Width, 1, 4096)
	k.within("Batch", "batch", c.Batch, 1, 1<<14)
	k.learningRate(c.LR)
	k.noiseLevel(c.Sigma)
	k.atLeast("Rows", "rows", c.Rows, 1)
	k.check(c.Projections >= 1 && c.Projections <= 1024, "Projections", "-m %d: want 1…1024 projections per sample", c.Projections)
	k.atLeast("Points", "points", c.Points, 1)
	k.atLeast("CurveRows", "curve-rows", c.CurveRows, 1)
	return k.result()
}

// OOD runs the experiment `fdsm experiment ood` with the settings of c,
// once Validate accepts them, writing its report (a markdown table, or one
// JSON object if c.JSON) to out and the figures into c.Out.
func OOD(c OODConfig, out io.Writer) error {
	if err := c.Validate(); err != nil {
		return err
	}
	errw := progressWriter(c.Progress)
	list := c.Objectives
	inDigits := c.In
	outDigits := c.outDigits()
	start := time.Now()
	const dt = tensor.Float32
	trainAll, trainLabels, testAll, testLabels, err := data.MNISTSplits(c.MNIST, errw, dt)
	if err != nil {
		return err
	}
	const side = 28 // MNIST images are 28×28
	d := side * side
	trainX, _ := data.SelectClasses(trainAll, trainLabels, inDigits)
	if trainX.Dim(0) == 0 {
		return fmt.Errorf("%s: no training images of digits %s", c.MNIST, digitList(inDigits))
	}
	outDir, err := rundir.PrepareOutDir(c.Out, "ood", c.Force)
	if err != nil {
		return err
	}

	// The evaluation sets, dequantised once with a fixed seed.
	r := rand.New(rand.NewPCG(c.Seed, 40))
	first := func(x *tensor.Tensor) *tensor.Tensor { return tensor.SliceRows(x, 0, min(c.Rows, x.Dim(0))) }
	testIn, _ := data.SelectClasses(testAll, testLabels, inDigits)
	testIn = data.DequantizePixels(first(testIn), r)
	pixMean, pixStd := numeric.MeanStd(trainX.ToFloat64())
	type oodSet struct {
		name string
		x    *tensor.Tensor
	}
	sets := []oodSet{{name: "held-out digits " + digitList(outDigits)}}
	if len(outDigits) > 0 {
		held, _ := data.SelectClasses(testAll, testLabels, outDigits)
		sets[0].x = data.DequantizePixels(first(held), r)
	} else {
		sets = sets[1:]
	}
	n := testIn.Dim(0)
	sets = append(sets,
		oodSet{"uniform noise", data.UniformImages(dt, r, n, d)},
		oodSet{fmt.Sprintf("Gaussian noise N(%.2f, %.2f²)", pixMean, pixStd), data.GaussianImages(dt, r, n, d, pixMean, pixStd)},
		oodSet{"inverted 1 − x", data.Invert(testIn)},
		oodSet{"flipped left-right", data.FlipHorizontal(testIn, side, side)},
		oodSet{"flipped upside-down", data.FlipVertical(testIn, side, side)},
		oodSet{"rotated 90°", data.Rotate90(testIn, side)},
	)

	// Ē's training images, the same for every objective.
	ref := rand.New(rand.NewPCG(c.Seed, 43))
	refIdx := ref.Perm(trainX.Dim(0))[:min(2000, trainX.Dim(0))]
	refX := data.DequantizePixels(tensor.GatherRows(trainX, refIdx), ref)
	// aurocs scores every set against the in-distribution test images, each
	// cut to its first k rows.
	aurocs := func(mm *sm.Model, k int) []float64 {
		cut := func(x *tensor.Tensor) *tensor.Tensor { return tensor.SliceRows(x, 0, min(k, x.Dim(0))) }
		eBar := numeric.Mean(mm.Energies(cut(refX)))
		scoreIn := numeric.AbsDev(mm.Energies(cut(testIn)), eBar)
		a := make([]float64, len(sets))
		for i, s := range sets {
			a[i] = sm.AUROC(scoreIn, numeric.AbsDev(mm.Energies(cut(s.x)), eBar))
		}
		return a
	}

	type result struct {
		name   string // the objective
		label  string // name, with ×M if it draws -m = M > 1 projections per sample
		proj   int    // projections per sample it draws (0 for DSM and MDSM)
		st     runStats
		aurocs []float64
		// The AUROC curve: after curveSteps[i] steps (curveSec[i] seconds
		// of training), curve[i] holds the AUROC of each set.
		curveSteps []int
		curveSec   []float64
		curve      [][]float64
	}
	var res []*result
	every := max(1, c.Steps/c.Points)
	for _, name := range list {
		m := nn.NewMLP(dt, []int{d, c.Width, c.Width, 1}, nn.Softplus, rand.New(rand.NewPCG(c.Seed, 41)))
		mm := &sm.Model{Energy: m}
		obj := energyObjective(name)
		rr := &result{name: name, label: name}
		if name != "dsm" && name != "mdsm" {
			rr.proj = c.Projections
			if rr.proj > 1 {
				rr.label = fmt.Sprintf("%s ×%d", name, rr.proj)
			}
		}
		record := func(done int, sec float64) {
			a := aurocs(mm, c.CurveRows)
			rr.curveSteps, rr.curveSec, rr.curve = append(rr.curveSteps, done), append(rr.curveSec, sec), append(rr.curve, a)
			fmt.Fprintf(errw, "  step %d (%.0f s): mean AUROC %.3f, per set %.3f\n", done, sec, numeric.Mean(a), a)
		}
		record(0, 0)
		arena := new(tensor.Arena)
		rr.st, err = trainRun(runSpec{
			name:     fmt.Sprintf("ood %s: MLP %d-%d-%d-1 on digits %s, %d steps", rr.label, d, c.Width, c.Width, digitList(inDigits), c.Steps),
			model:    m,
			schedule: nn.Cosine(c.LR, c.LR/10, 0),
			steps:    c.Steps,
			source:   rand.NewPCG(c.Seed, 42), // the same minibatches for every objective
			release:  true,
			arena:    arena,
			loss: func(_ int, rg *rand.Rand) *ad.Value {
				idx := make([]int, c.Batch)
				for i := range idx {
					idx[i] = rg.IntN(trainX.Dim(0))
				}
				x := arena.Add(data.DequantizePixels(arena.Add(tensor.GatherRows(trainX, idx)), rg))
				return obj(m, x, &sm.Options{Rand: rg, Sigma: c.Sigma, Arena: arena, M: c.Projections})
			},
			probe: func(done int, sec float64) {
				if done%every == 0 {
					record(done, sec)
				}
			},
		}, errw)
		if err != nil {
			return err
		}
		if last := rr.curveSteps[len(rr.curveSteps)-1]; last < rr.st.Steps {
			record(rr.st.Steps, rr.st.Seconds) // a diverged run, or -steps not a multiple of -points
		}
		rr.aurocs = aurocs(mm, max(c.Rows, refX.Dim(0))) // every row of every set, Ē from all of refX
		fmt.Fprintf(errw, "  AUROC %v, %.2f ms/step\n", rr.aurocs, rr.st.MsPerStep)
		res = append(res, rr)
	}

	// Examples of each set.
	// One row per set, in the table's order after the in-distribution test
	// images, each of the same number of images (8, or fewer if a set has
	// fewer) so that the rows line up with their labels.
	shown := append([]oodSet{{"test digits " + digitList(inDigits), testIn}}, sets...)
	per := 8
	for _, s := range shown {
		per = min(per, s.x.Dim(0))
	}
	var imgs [][]float64
	var labels []string
	for _, s := range shown {
		v := s.x.ToFloat64()
		for i := range per {
			imgs = append(imgs, v[i*d:(i+1)*d])
		}
		labels = append(labels, s.name)
	}
	pic := filepath.Join(outDir, "ood-sets.png")
	if err := plot.WriteFile(pic, func(w io.Writer) error {
		caption := fmt.Sprintf("the OOD sets: %d images of each, the in-distribution test digits first", per)
		return plot.ImageGrid(w, imgs, side, side, per, plot.ImageGridOptions{Scale: 2, Caption: caption, RowLabels: labels})
	}); err != nil {
		return err
	}

	// The AUROC curve, averaged over the OOD sets.
	var series []plot.Series
	for _, r := range res {
		x := make([]float64, len(r.curve))
		y := make([]float64, len(r.curve))
		for i, a := range r.curve {
			x[i], y[i] = float64(r.curveSteps[i]), numeric.Mean(a)
		}
		series = append(series, plot.Series{Name: strings.ToUpper(r.label), X: x, Y: y})
	}
	curvePath := filepath.Join(outDir, "auroc-steps.svg")
	nCurve := min(c.CurveRows, n)
	if err := plot.WriteFile(curvePath, func(w io.Writer) error {
		return plot.LineChart(w, series, plot.ChartOptions{
			// A title of about 60 runes fits the 640-unit chart at 15 px.
			Title:  fmt.Sprintf("OOD detection on MNIST (in: digits %s), %d OOD sets", digitList(inDigits), len(sets)),
			XLabel: fmt.Sprintf("training steps (batch %d)", c.Batch), YLabel: "mean AUROC of |E − Ē| (½ chance, 1 perfect)"})
	}); err != nil {
		return err
	}
	files := []string{pic, curvePath}

	if c.JSON {
		var jrows []map[string]any
		for _, r := range res {
			row := map[string]any{"objective": r.name, "projections": r.proj, "steps": r.st.Steps, "diverged_at": r.st.Diverged,
				"ms_per_step": r.st.MsPerStep, "peak_tensor_mb": r.st.PeakMB, "train_seconds": r.st.Seconds,
				"curve_steps": r.curveSteps, "curve_seconds": r.curveSec}
			curveMean := make([]float64, len(r.curve))
			for i, a := range r.curve {
				curveMean[i] = numeric.Mean(a)
			}
			row["curve_mean_auroc"] = curveMean
			for i, s := range sets {
				row["auroc "+s.name] = r.aurocs[i]
				c := make([]float64, len(r.curve))
				for k, a := range r.curve {
					c[k] = a[i]
				}
				row["curve_auroc "+s.name] = c
			}
			jrows = append(jrows, row)
		}
		return printJSON(out, map[string]any{"experiment": "ood", "in_digits": inDigits, "curve_rows": nCurve, "rows": jrows, "files": files,
			"seconds": time.Since(start).Seconds()})
	}
	proj := ""
	if c.Projections > 1 {
		proj = fmt.Sprintf(", %d projections per sample (the objectives marked ×%d)", c.Projections, c.Projections)
	}
	fmt.Fprintf(out, "OOD detection, MLP energy %d-%d-%d-1 softplus (float32) trained on MNIST digits %s (%d images), %d Adam steps of %d, σ = %g%s, seed %d;\n",
		d, c.Width, c.Width, digitList(inDigits), trainX.Dim(0), c.Steps, c.Batch, c.Sigma, proj, c.Seed)
	fmt.Fprintf(out, "AUROC of |E(x) − mean training energy| against %d in-distribution test images (digits %s)\n\n", n, digitList(inDigits))
	head := []string{"OOD set"}
	for _, r := range res {
		head = append(head, strings.ToUpper(r.label))
	}
	t := mdTable{head: head}
	for i, s := range sets {
		row := []string{s.name}
		for _, r := range res {
			row = append(row, fmt.Sprintf("%.3f", r.aurocs[i]))
		}
		t.add(row...)
	}
	t.write(out)
	fmt.Fprintln(out)
	t2 := mdTable{head: []string{"objective", "steps", "ms/step", "peak MB", "train s"}}
	for _, r := range res {
		steps := fmt.Sprint(r.st.Steps)
		if r.st.Diverged > 0 {
			steps += fmt.Sprintf(" (diverged at %d)", r.st.Diverged)
		}
		t2.add(strings.ToUpper(r.label), steps, fmt.Sprintf("%.2f", r.st.MsPerStep), fmt.Sprintf("%.2f", r.st.PeakMB), fmt.Sprintf("%.1f", r.st.Seconds))
	}
	t2.write(out)
	fmt.Fprintf(out, "\nThe AUROC curve (%s): mean AUROC over the %d OOD sets, %d images each, against training steps\n\n", curvePath, len(sets), nCurve)
	t3 := mdTable{head: []string{"step"}}
	for _, r := range res {
		t3.head = append(t3.head, strings.ToUpper(r.label))
	}
	// Every run evaluates at the same steps unless one diverged; a run
	// without a point at a step shows "–".
	var at []int
	for _, r := range res {
		for _, s := range r.curveSteps {
			if !slices.Contains(at, s) {
				at = append(at, s)
			}
		}
	}
	slices.Sort(at)
	for _, s := range at {
		row := []string{fmt.Sprint(s)}
		for _, r := range res {
			cell := "–"
			if i := slices.Index(r.curveSteps, s); i >= 0 {
				cell = fmt.Sprintf("%.3f", numeric.Mean(r.curve[i]))
			}
			row = append(row, cell)
		}
		t3.add(row...)
	}
	t3.write(out)
	fmt.Fprintf(out, "\nWrote %s and %s (%.0f s in all).\n", pic, curvePath, time.Since(start).Seconds())
	return nil
}

// outDigits returns the digits 0…9 not in c.In: the held-out digits.
func (c OODConfig) outDigits() []uint8 {
	var out []uint8
	for v := range uint8(10) {
		if !slices.Contains(c.In, v) {
			out = append(out, v)
		}
	}
	return out
}

// digitList formats digits comma-separated, as -in takes them.
func digitList(v []uint8) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(int(x))
	}
	return strings.Join(s, ",")
}
