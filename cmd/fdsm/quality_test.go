package main

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/internal/plot"
	"github.com/fdsm/fdsm/internal/quality"
	"github.com/fdsm/fdsm/tensor"
)

// qualityTestImages loads the MNIST test images kept in internal/quality's
// testdata (the first 500).
func qualityTestImages(t testing.TB) *tensor.Tensor {
	t.Helper()
	x, _, _, err := data.LoadIDXImages(filepath.Join("..", "..", "internal", "quality", "testdata", "t10k-images-first500-idx3-ubyte.gz"), tensor.Float32)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func qualityJSON(t *testing.T, dir, in string) quality.Report {
	t.Helper()
	r := ok(t, dir, "quality", "-in", in, "-json")
	var rep quality.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("quality -json output %q: %v", r.stdout, err)
	}
	for _, f := range []string{`"fid":`, `"confident_frac":`, `"min_class_frac":`, `"n":`} {
		if !strings.Contains(r.stdout, f) {
			t.Errorf("quality -json output lacks %s: %s", f, r.stdout)
		}
	}
	return rep
}

// TestQualityCommand: test images written as .npy score a lower FID and a
// higher confident fraction than uniform noise; the text output names the
// file and the figures.
func TestQualityCommand(t *testing.T) {
	dir := t.TempDir()
	x := qualityTestImages(t)
	tensor.SaveNpy(filepath.Join(dir, "test.npy"), x)
	tensor.SaveNpy(filepath.Join(dir, "noise.npy"), quality.UniformNoise(200, rand.New(rand.NewPCG(1, 2))))
	clean, noise := qualityJSON(t, dir, "test.npy"), qualityJSON(t, dir, "noise.npy")
	if clean.N != 500 || noise.N != 200 {
		t.Errorf("n = %d and %d, want 500 and 200", clean.N, noise.N)
	}
	if !(clean.FID < noise.FID) || !(clean.ConfidentFrac > noise.ConfidentFrac) || clean.MinClassFrac < 0.05 {
		t.Errorf("test images %+v against noise %+v: want lower FID, more confident, every class present", clean, noise)
	}
	// Overshooting pixels are clamped, with a note: the same figures as the
	// clamped images'.
	over := x.Clone()
	for i := range over.Len() {
		over.Set(i, 2*over.At(i)-0.5) // [0, 1] onto [−0.5, 1.5]
	}
	clampedX := over.Clone()
	for i := range clampedX.Len() {
		clampedX.Set(i, min(max(clampedX.At(i), 0), 1))
	}
	tensor.SaveNpy(filepath.Join(dir, "over.npy"), over)
	tensor.SaveNpy(filepath.Join(dir, "clamped.npy"), clampedX)
	if a, b := qualityJSON(t, dir, "over.npy"), qualityJSON(t, dir, "clamped.npy"); a != b {
		t.Errorf("over.npy %+v, clamped.npy %+v: want the same figures", a, b)
	}
	if r := ok(t, dir, "quality", "-in", "over.npy"); !strings.Contains(r.stderr, "over.npy: ") || !strings.Contains(r.stderr, "pixels were outside [0, 1] and are clamped") {
		t.Errorf("no note of the clamped pixels:\n%v", r)
	}
	r := ok(t, dir, "quality", "-in", "test.npy")
	for _, w := range []string{"test.npy: FID-MNIST ", "confident (p ≥ 0.9)", "n = 500", "class shares: 0 "} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("text output lacks %q:\n%s", w, r.stdout)
		}
	}
}

// TestQualityGrid: the PNG grid fdsm sample draws reads back as the samples
// of the .npy written with the same seed, up to the PNG's 1/255 steps.
func TestQualityGrid(t *testing.T) {
	dir := t.TempDir()
	fakeMNIST(t, dir)
	ok(t, dir, "train", "-data", "mnist:mnist", "-width", "8", "-steps", "2", "-batch", "4", "-out", "mlp")
	ok(t, dir, "sample", "-ckpt", "mlp", "-n", "7", "-steps", "2", "-seed", "5", "-out", "s.png")
	ok(t, dir, "sample", "-ckpt", "mlp", "-n", "7", "-steps", "2", "-seed", "5", "-out", "s.npy")
	if rep := qualityJSON(t, dir, "s.png"); rep.N != 7 {
		t.Errorf("s.png: n = %d, want 7", rep.N)
	}
	read := func(name string) []float32 {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		x, _, err := quality.DecodeSamples(name, b)
		if err != nil {
			t.Fatal(err)
		}
		return x.Float32s()
	}
	fromPNG, npy := read("s.png"), read("s.npy")
	if len(fromPNG) != len(npy) {
		t.Fatalf("s.png holds %d pixels, s.npy %d", len(fromPNG), len(npy))
	}
	for i := range npy {
		// The grid clamps to [0, 1] and rounds to 1/255 (plot.ImageGrid).
		if want := min(max(npy[i], 0), 1); math.Abs(float64(fromPNG[i]-want)) > 0.5/255+1e-6 {
			t.Fatalf("pixel %d: %g from the PNG, %g in the .npy", i, fromPNG[i], npy[i])
		}
	}
}

// TestQualityBadInput: each bad input is refused with one line naming the
// file and what is wrong.
func TestQualityBadInput(t *testing.T) {
	dir := t.TempDir()
	save := func(name string, x *tensor.Tensor) { tensor.SaveNpy(filepath.Join(dir, name), x) }
	save("narrow.npy", tensor.Zeros(tensor.Float32, 3, 10))
	save("flat.npy", tensor.Zeros(tensor.Float32, 784))
	save("one.npy", tensor.Zeros(tensor.Float32, 1, 784))
	inf := tensor.Zeros(tensor.Float64, 4, 784)
	inf.Set(2*784+5, math.Inf(1))
	save("inf.npy", inf)
	nan := tensor.Zeros(tensor.Float32, 4, 784)
	nan.Set(3*784, math.NaN())
	save("nan.npy", nan)
	var buf bytes.Buffer
	if err := plot.ImageGrid(&buf, [][]float64{make([]float64, 100)}, 10, 10, 1, plot.ImageGridOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"small.png": buf.Bytes(), "junk.png": []byte("not a png"), "junk.npy": []byte("not a npy")} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o666); err != nil {
			t.Fatal(err)
		}
	}

	fails(t, dir, []string{"narrow.npy", "shape [3 10]", "want [N, 784]"}, "quality", "-in", "narrow.npy")
	fails(t, dir, []string{"flat.npy", "shape [784]"}, "quality", "-in", "flat.npy")
	fails(t, dir, []string{"one.npy", "1 sample, want at least 2"}, "quality", "-in", "one.npy")
	fails(t, dir, []string{"inf.npy", "row 2, pixel 5 is +Inf"}, "quality", "-in", "inf.npy")
	fails(t, dir, []string{"nan.npy", "row 3, pixel 0 is NaN"}, "quality", "-in", "nan.npy")
	fails(t, dir, []string{"small.png", "10×10 picture is no grid of 28×28 images"}, "quality", "-in", "small.png")
	fails(t, dir, []string{"junk.png", "png"}, "quality", "-in", "junk.png")
	fails(t, dir, []string{"junk.npy", "not a .npy file"}, "quality", "-in", "junk.npy")
	fails(t, dir, []string{"absent.npy", "no such file"}, "quality", "-in", "absent.npy")
	usage(t, dir, "-in is required", "quality")
	usage(t, dir, "want a .npy or .png file", "quality", "-in", "s.csv")
}

// FuzzDecodeSamples feeds arbitrary bytes as a .npy or a .png: the reader
// returns rows [N ≥ 2, 784] in [0, 1] or an error naming the file, never
// panics.
func FuzzDecodeSamples(f *testing.F) {
	var npy, grid bytes.Buffer
	x := tensor.RandU(tensor.Float32, rand.New(rand.NewPCG(1, 1)), 0, 1, 3, 784)
	tensor.EncodeNpy(&npy, x)
	imgs := [][]float64{x.ToFloat64()[:784], x.ToFloat64()[784 : 2*784], x.ToFloat64()[2*784:]}
	plot.ImageGrid(&grid, imgs, 28, 28, 2, plot.ImageGridOptions{Scale: 2, Caption: "model: test\nsampler: none"})
	for _, seed := range []struct {
		png bool
		b   []byte
	}{
		{false, npy.Bytes()}, {true, grid.Bytes()},
		{false, npy.Bytes()[:npy.Len()/2]}, {true, grid.Bytes()[:grid.Len()/2]},
		{false, nil}, {true, []byte("\x89PNG\r\n\x1a\n")},
	} {
		f.Add(seed.png, seed.b)
	}
	f.Fuzz(func(t *testing.T, isPNG bool, b []byte) {
		name := "f.npy"
		if isPNG {
			name = "f.png"
		}
		x, _, err := quality.DecodeSamples(name, b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), name+": ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if x.Rank() != 2 || x.Dim(0) < 2 || x.Dim(1) != 784 {
			t.Fatalf("decoded shape %v", x.Shape())
		}
		for i, v := range x.Float32s() {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("value %d is %g", i, v)
			}
		}
	})
}
