package main

import (
	"fmt"
	"github.com/fdsm/fdsm/internal/jsonout"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/fdsm/fdsm/bench"
	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/progress"
	"github.com/fdsm/fdsm/tensor"
)

func init() {
	register("bench", "print the poster's SM vs FD-SM table (SM loss, time, memory) for one configuration", cmdBench)
}

// defaultMNISTDir is where `fdsm data mnist` puts MNIST unless told otherwise.
func defaultMNISTDir() string { return data.DefaultDir("mnist") }

func cmdBench(args []string, out, errw io.Writer) error {
	names := make([]string, len(bench.Configs()))
	for i, c := range bench.Configs() {
		names[i] = c.Name
	}
	fs := newFlags("bench", "bench -config NAME [-objectives a,b,…|all] [-steps N] [-json]", errw)
	cfgName := fs.String("config", "toy", "configuration: "+strings.Join(names, ", "))
	objs := fs.String("objectives", "", "comma-separated objectives, or all for "+strings.Join(bench.TableObjectives(), ",")+
		" (if not given: all but exact SM \"sm\" when d > 2, where it costs d backward passes per step, minutes and gigabytes at d = 784)")
	steps := fs.Int("steps", 50, "training steps per objective, from the same initialisation and minibatches")
	seed := fs.Uint64("seed", 1, "seed of the initialisation, minibatches and objective randomness")
	dtName := fs.String("dtype", "float32", "float32 or float64")
	evalRows := fs.Int("eval-rows", 0, "held-out rows for the exact SM loss (0: 512 for toy, 64 at d = 784)")
	lr := fs.Float64("lr", 1e-3, "Adam learning rate")
	mnistDir := fs.String("mnist", defaultMNISTDir(), "MNIST directory for the mnist-* configurations (fetch with 'fdsm data mnist')")
	asJSON := fs.Bool("json", false, "print one JSON object per objective")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := bench.LookupConfig(*cfgName)
	if err != nil {
		return usageError{err.Error()}
	}
	dt, err := tensor.ParseDType(*dtName)
	if err != nil {
		return usageError{err.Error()}
	}
	if *steps < 1 {
		return usageError{fmt.Sprintf("-steps %d: want at least 1", *steps)}
	}
	if !(*lr > 0) || math.IsInf(*lr, 0) {
		return usageError{fmt.Sprintf("-lr %g: want a positive learning rate", *lr)}
	}
	if *evalRows < 0 {
		return usageError{fmt.Sprintf("-eval-rows %d: want 0 (the default) or more", *evalRows)}
	}
	list := benchObjectives(cfg, *objs)
	rng := rand.New(rand.NewPCG(*seed, 9))
	var train, test *tensor.Tensor
	rows := *evalRows
	if cfg.Sizes[0] == 2 {
		toy, err := data.NewToy("8gaussians")
		if err != nil {
			return err
		}
		train, test = toy.Sample(tensor.Float64, rng, 10000), toy.Sample(tensor.Float64, rng, 2000)
		if rows == 0 {
			rows = 512
		}
	} else {
		tr, _, err := data.LoadMNIST(*mnistDir, true, tensor.Float64)
		if err != nil {
			return fmt.Errorf("%w (fetch it with 'fdsm data mnist -dir %s')", err, *mnistDir)
		}
		te, _, err := data.LoadMNIST(*mnistDir, false, tensor.Float64)
		if err != nil {
			return err
		}
		// Dequantised pixels in [0, 1]: a continuous density to match.
		train, test = data.DequantizePixels(tr, rng), data.DequantizePixels(te, rng)
		if rows == 0 {
			rows = 64
		}
		if r := cfg.ResNet; r != nil {
			// MNIST zero-padded to the ResNet's 32×32, as in the paper.
			p := (r.H - 28) / 2
			train, test = data.PadImages(train, 28, 28, p), data.PadImages(test, 28, 28, p)
			if *evalRows == 0 {
				rows = 8 // exact SM: 1024 backward passes through the ResNet per batch
			}
		}
	}
	var bar *progress.Bar
	current := ""
	opts := bench.TableOptions{Objectives: list, Steps: *steps, Seed: *seed, DType: dt, EvalRows: rows, LR: *lr,
		Progress: func(obj string, step int, loss float64) {
			if obj != current {
				if bar != nil {
					bar.Finish()
				}
				fmt.Fprintf(errw, "%s:\n", obj)
				bar = progress.New(errw, *steps, progress.IsTerminal(os.Stderr))
				current = obj
			}
			bar.Update(step+1, loss)
		}}
	table, err := bench.RunTable(cfg, train, test, opts)
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return usageError{err.Error()}
	}
	if *asJSON {
		for _, r := range table {
			nulled, err := jsonout.Write(out, r)
			jsonout.WarnNonFinite(errw, "bench", nulled)
			if err != nil {
				return err
			}
		}
		return nil
	}
	model := fmt.Sprint(cfg.Sizes)
	if r := cfg.ResNet; r != nil {
		model = fmt.Sprintf("ResNet energy on %d×%d×%d, %d blocks × %d channels", r.C, r.H, r.W, r.Net.Blocks, r.Net.Channels)
	}
	fmt.Fprintf(out, "configuration %s (%s, batch %d, %s), %d steps of Adam (lr %g) from the same initialisation; SM loss on %d held-out rows\n\n",
		cfg.Name, model, cfg.Batch, dt, *steps, *lr, rows)
	fmt.Fprintln(out, "| Algorithm | SM loss | Time (ms/step, median) | Mem (step peak MB) | with parameters (MB) | activations (MB) | process peak RSS (MB) | float32 vs float64: grad cosine, loss rel. error (naive float32) |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|")
	for _, r := range table {
		agree := ""
		if a := r.Agreement; a != nil {
			agree = fmt.Sprintf("%.7f, %.1e (naive %.4f, %.1e)", a.StableCos, a.StableLossErr, a.NaiveCos, a.NaiveLossErr)
		}
		fmt.Fprintf(out, "| %s | %.4g | %.2f | %.2f | %.2f | %.2f | %.0f | %s |\n", strings.ToUpper(r.Objective), r.SMLoss, r.MsPerStep,
			float64(r.StepBytes)/(1<<20), float64(r.PeakBytes)/(1<<20), float64(r.ActBytes)/(1<<20), float64(r.PeakRSS)/(1<<20), agree)
	}
	fmt.Fprintln(out, "\nMem: the peak, over the backward pass (which releases the graph and applies each parameter's update as soon")
	fmt.Fprintln(out, "as its gradient is final), of the tensor bytes the step holds beyond the parameters: activations, recorded")
	fmt.Fprintln(out, "backward passes, cotangents and gradients not yet applied. With parameters: the same peak plus the model;")
	fmt.Fprintln(out, "activations: without the gradients too.")
	return nil
}

// benchObjectives turns the -objectives flag into the table's list: the
// configuration's default (bench.DefaultObjectives) if empty, every
// objective for "all", the names given otherwise (RunTable checks them).
func benchObjectives(cfg bench.Config, objs string) []string {
	switch objs {
	case "":
		return bench.DefaultObjectives(cfg)
	case "all":
		return bench.TableObjectives()
	}
	return strings.Split(objs, ",")
}
