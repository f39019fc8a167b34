package main

import (
	"fmt"
	"io"
	"math"
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

const oodSynopsis = `experiment ood [-in DIGITS] [-steps N] [-width W] [-objectives LIST] [-out DIR [-force]] [-json]

Out-of-distribution detection with an MLP energy on MNIST, as in the paper's
OOD table: the same initialisation is trained, on the same minibatches, by
DSM and by FD-DSM on the training images of the -in digits (dequantised
pixels in [0, 1]). A test image x is scored by |E(x) − Ē|, Ē the mean
energy of 2000 training images, and the AUROC measures how well the score
tells each OOD set from the in-distribution test images (1 is perfect, ½
chance). Every OOD set is made offline from MNIST itself:

  held-out digits   test images of the other digits
  uniform noise     pixels from U[0, 1)
  Gaussian noise    pixels from N(m, s²) clipped to [0, 1], m and s the
                    training pixels' mean and standard deviation
  inverted          1 − x of the in-distribution test images
  flipped l-r/u-d   the in-distribution test images mirrored
  rotated 90°       the in-distribution test images turned a quarter

DIR receives ood-sets.png, eight examples of each set, one labelled row per
set in the table's order (the in-distribution images first).

Flags:`

func expOOD(args []string, out, errw io.Writer) error {
	fs := newFlags("experiment ood", oodSynopsis, errw)
	mnistDir := fs.String("mnist", defaultMNISTDir(), "MNIST directory (fetched if missing)")
	in := fs.String("in", "0,1,2,3,4", "comma-separated in-distribution digits; the others are held out")
	objs := fs.String("objectives", "dsm,fd-dsm", "comma-separated objectives: some of dsm, fd-dsm, sliced-dsm (FD-DSM's gradient-based counterpart, same directions), ssm, fd-ssm, mdsm, fd-mdsm")
	steps := fs.Int("steps", 2000, "training steps per objective")
	width := fs.Int("width", 512, "hidden width of the 784-w-w-1 softplus MLP energy")
	batch := fs.Int("batch", 128, "rows per step")
	lr := fs.Float64("lr", 1e-3, "Adam learning rate, annealed by a cosine to lr/10")
	sigma := fs.Float64("sigma", sm.DefaultSigma, "DSM noise level σ (pixels in [0, 1])")
	rows := fs.Int("rows", 2000, "images in the in-distribution test set and in each OOD set")
	seed := fs.Uint64("seed", 1, "seed of the initialisation, minibatches, noise and OOD sets")
	outFl := addOutFlags(fs, "ood", "ood-sets.png")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the tables")
	if err := parse(fs, args); err != nil {
		return err
	}
	var inDigits, outDigits []uint8
	for _, f := range strings.Split(*in, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 0 || v > 9 || slices.Contains(inDigits, uint8(v)) {
			return usageError{fmt.Sprintf("-in %q: want distinct digits 0…9, comma-separated", *in)}
		}
		inDigits = append(inDigits, uint8(v))
	}
	for v := range uint8(10) {
		if !slices.Contains(inDigits, v) {
			outDigits = append(outDigits, v)
		}
	}
	list, err := parseObjectiveList("objectives", *objs, []string{"dsm", "fd-dsm", "sliced-dsm", "ssm", "fd-ssm", "mdsm", "fd-mdsm"})
	if err != nil {
		return err
	}
	switch {
	case *steps < 1:
		return usageError{fmt.Sprintf("-steps %d: want at least 1", *steps)}
	case *width < 1 || *width > 4096:
		return usageError{fmt.Sprintf("-width %d: want 1…4096", *width)}
	case *batch < 1 || *batch > 1<<14:
		return usageError{fmt.Sprintf("-batch %d: want 1…%d", *batch, 1<<14)}
	case !(*lr > 0) || math.IsInf(*lr, 0):
		return usageError{fmt.Sprintf("-lr %g: want a positive learning rate", *lr)}
	case !(*sigma > 0) || math.IsInf(*sigma, 0):
		return usageError{fmt.Sprintf("-sigma %g: want a positive finite noise level", *sigma)}
	case *rows < 1:
		return usageError{fmt.Sprintf("-rows %d: want at least 1", *rows)}
	}
	start := time.Now()
	const dt = tensor.Float32
	if err := ensureMNIST(*mnistDir, errw, "train", "t10k"); err != nil {
		return err
	}
	trainAll, trainLabels, err := data.LoadMNIST(*mnistDir, true, dt)
	if err != nil {
		return err
	}
	testAll, testLabels, err := data.LoadMNIST(*mnistDir, false, dt)
	if err != nil {
		return err
	}
	const side = 28 // MNIST images are 28×28
	if trainAll.Dim(1) != side*side || testAll.Dim(1) != side*side {
		return fmt.Errorf("%s: images of %d pixels, want %d", *mnistDir, trainAll.Dim(1), side*side)
	}
	d := side * side
	trainX, _ := data.SelectClasses(trainAll, trainLabels, inDigits)
	if trainX.Dim(0) == 0 {
		return fmt.Errorf("%s: no training images of digits %s", *mnistDir, *in)
	}
	outDir, err := outFl.prepare()
	if err != nil {
		return err
	}

	// The evaluation sets, dequantised once with a fixed seed.
	r := rand.New(rand.NewPCG(*seed, 40))
	first := func(x *tensor.Tensor) *tensor.Tensor { return tensor.SliceRows(x, 0, min(*rows, x.Dim(0))) }
	testIn, _ := data.SelectClasses(testAll, testLabels, inDigits)
	testIn = data.DequantizePixels(first(testIn), r)
	pixMean, pixStd := meanStd(trainX.ToFloat64())
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

	type result struct {
		name   string
		st     runStats
		aurocs []float64
	}
	var res []*result
	for _, name := range list {
		m := nn.NewMLP(dt, []int{d, *width, *width, 1}, nn.Softplus, rand.New(rand.NewPCG(*seed, 41)))
		obj := energyObjective(name)
		rr := &result{name: name}
		arena := new(tensor.Arena)
		rr.st, err = train(runSpec{
			name:     fmt.Sprintf("ood %s: MLP %d-%d-%d-1 on digits %s, %d steps", name, d, *width, *width, digitList(inDigits), *steps),
			model:    m,
			schedule: nn.Cosine(*lr, *lr/10, 0),
			steps:    *steps,
			source:   rand.NewPCG(*seed, 42), // the same minibatches for every objective
			release:  true,
			arena:    arena,
			loss: func(_ int, rg *rand.Rand) *ad.Value {
				idx := make([]int, *batch)
				for i := range idx {
					idx[i] = rg.IntN(trainX.Dim(0))
				}
				x := arena.Add(data.DequantizePixels(arena.Add(tensor.GatherRows(trainX, idx)), rg))
				return obj(m, x, &sm.Options{Rand: rg, Sigma: *sigma, Arena: arena})
			},
		}, errw)
		if err != nil {
			return err
		}
		mm := &model{energy: m}
		ref := rand.New(rand.NewPCG(*seed, 43))
		refIdx := ref.Perm(trainX.Dim(0))[:min(2000, trainX.Dim(0))]
		eBar := mean(mm.energies(data.DequantizePixels(tensor.GatherRows(trainX, refIdx), ref)))
		scoreIn := absDev(mm.energies(testIn), eBar)
		for _, s := range sets {
			rr.aurocs = append(rr.aurocs, sm.AUROC(scoreIn, absDev(mm.energies(s.x), eBar)))
		}
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

	if *asJSON {
		var jrows []map[string]any
		for _, r := range res {
			row := map[string]any{"objective": r.name, "steps": r.st.Steps, "diverged_at": r.st.Diverged,
				"ms_per_step": r.st.MsPerStep, "peak_tensor_mb": r.st.PeakMB, "train_seconds": r.st.Seconds}
			for i, s := range sets {
				row["auroc "+s.name] = r.aurocs[i]
			}
			jrows = append(jrows, row)
		}
		return printJSON(out, map[string]any{"experiment": "ood", "in_digits": inDigits, "rows": jrows, "files": []string{pic},
			"seconds": time.Since(start).Seconds()})
	}
	fmt.Fprintf(out, "OOD detection, MLP energy %d-%d-%d-1 softplus (float32) trained on MNIST digits %s (%d images), %d Adam steps of %d, σ = %g, seed %d;\n",
		d, *width, *width, digitList(inDigits), trainX.Dim(0), *steps, *batch, *sigma, *seed)
	fmt.Fprintf(out, "AUROC of |E(x) − mean training energy| against %d in-distribution test images (digits %s)\n\n", n, digitList(inDigits))
	head := []string{"OOD set"}
	for _, r := range res {
		head = append(head, strings.ToUpper(r.name))
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
		t2.add(strings.ToUpper(r.name), steps, fmt.Sprintf("%.2f", r.st.MsPerStep), fmt.Sprintf("%.2f", r.st.PeakMB), fmt.Sprintf("%.1f", r.st.Seconds))
	}
	t2.write(out)
	fmt.Fprintf(out, "\nWrote %s (%.0f s in all).\n", pic, time.Since(start).Seconds())
	return nil
}

// digitList formats digits comma-separated, as -in takes them.
func digitList(v []uint8) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(int(x))
	}
	return strings.Join(s, ",")
}
