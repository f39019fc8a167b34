// Command trainlenet trains the LeNet-5 classifier of package quality on the
// MNIST training set and writes it, with the feature statistics of the test
// set, as the weights file that package embeds:
//
//	nice go run ./internal/quality/trainlenet -out internal/quality/lenet.safetensors
//
// The seed and settings are fixed defaults, so the file is reproducible.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/quality"
	"github.com/fdsm/fdsm/tensor"
)

func main() {
	home, _ := os.UserHomeDir()
	dir := flag.String("mnist", home+"/.cache/fdsm/mnist", "MNIST directory (`fdsm data mnist` fetches it)")
	out := flag.String("out", "lenet.safetensors", "weights file to write")
	epochs := flag.Int("epochs", 6, "passes over the training set")
	bs := flag.Int("batch", 64, "mini-batch size")
	lr := flag.Float64("lr", 2e-3, "peak Adam learning rate (cosine decay to 0)")
	nOut := flag.Int("outliers", 16, "non-digits (noise, shuffled pixels) per batch, trained towards uniform predictions")
	wOut := flag.Float64("outlier-weight", 0.5, "weight of the outliers' loss (Hendrycks et al. 2019)")
	seed := flag.Uint64("seed", 1, "seed of the initialisation and the batch order")
	flag.Parse()
	if err := run(*dir, *out, quality.TrainConfig{Epochs: *epochs, BatchSize: *bs, LR: *lr, Outliers: *nOut, OutlierWeight: *wOut, Seed: *seed, Log: os.Stderr}); err != nil {
		fmt.Fprintln(os.Stderr, "trainlenet:", err)
		os.Exit(1)
	}
}

func run(dir, out string, cfg quality.TrainConfig) error {
	xTrain, yTrain, err := data.LoadMNIST(dir, true, tensor.Float32)
	if err != nil {
		return err
	}
	xTest, yTest, err := data.LoadMNIST(dir, false, tensor.Float32)
	if err != nil {
		return err
	}
	start := time.Now()
	net := quality.Train(xTrain, yTrain, cfg)
	secs := time.Since(start).Seconds()
	o := net.Run(xTest)
	correct := 0
	for i := range o.N {
		if k, _ := o.Predicted(i); k == int(yTest[i]) {
			correct++
		}
	}
	acc := float64(correct) / float64(o.N)
	fmt.Fprintf(os.Stderr, "test accuracy %.4f (%d of %d), trained in %.0f s\n", acc, correct, o.N, secs)
	c := &quality.Classifier{Net: net, Test: quality.FitGaussian(o.Features, o.N, quality.FeatureDim)}
	md := map[string]string{
		"made_by":        "go run ./internal/quality/trainlenet",
		"epochs":         strconv.Itoa(cfg.Epochs),
		"batch":          strconv.Itoa(cfg.BatchSize),
		"lr":             strconv.FormatFloat(cfg.LR, 'g', -1, 64),
		"seed":           strconv.FormatUint(cfg.Seed, 10),
		"outliers":       strconv.Itoa(cfg.Outliers),
		"outlier_weight": strconv.FormatFloat(cfg.OutlierWeight, 'g', -1, 64),
		"test_accuracy":  strconv.FormatFloat(acc, 'f', 4, 64),
	}
	b, err := c.Encode(md)
	if err != nil {
		return err
	}
	return tensor.WriteFileAtomic(out, func(w io.Writer) error { _, err := w.Write(b); return err })
}
