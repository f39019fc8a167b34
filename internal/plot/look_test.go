package plot

import (
	"io"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

func TestLook(t *testing.T) {
	dir := os.Getenv("LOOK")
	if dir == "" {
		t.Skip()
	}
	const n = 100
	vals := make([]float64, n*n)
	for j := range n {
		y := -4.4 + 8.8*(float64(j)+0.5)/n
		for i := range n {
			x := -4.4 + 8.8*(float64(i)+0.5)/n
			r := math.Hypot(x, y)
			vals[j*n+i] = math.Exp(-(r-2.5)*(r-2.5)/0.1) / 3.7
		}
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(WriteFile(dir+"/density.png", func(w io.Writer) error {
		return Heatmap(w, vals, n, n, HeatmapOptions{Scale: 4, Frame: &Frame{Title: "density of the FD-SSM model", XLabel: "x1", YLabel: "x2"},
			Box: Box{-4.4, 4.4, -4.4, 4.4}, ValueLabel: "density"})
	}))
	must(WriteFile(dir+"/density-log.png", func(w io.Writer) error {
		return Heatmap(w, vals, n, n, HeatmapOptions{Scale: 4, Log: true, Frame: &Frame{Title: "density (log scale)", XLabel: "x1", YLabel: "x2"},
			Box: Box{-4.4, 4.4, -4.4, 4.4}, ValueLabel: "density"})
	}))
	r := rand.New(rand.NewPCG(1, 2))
	var dx, dy, sx, sy []float64
	for range 1000 {
		a := r.Float64() * 2 * math.Pi
		dx, dy = append(dx, 2.5*math.Cos(a)+0.2*r.NormFloat64()), append(dy, 2.5*math.Sin(a)+0.2*r.NormFloat64())
		a = r.Float64() * 2 * math.Pi
		sx, sy = append(sx, 2.4*math.Cos(a)+0.3*r.NormFloat64()), append(sy, 2.4*math.Sin(a)+0.3*r.NormFloat64())
	}
	must(WriteFile(dir+"/scatter.png", func(w io.Writer) error {
		return Scatter(w, dx, dy, ScatterOptions{Width: 400, Height: 400, Box: Box{-4.4, 4.4, -4.4, 4.4}, X2: sx, Y2: sy, Alpha: 0.4,
			Frame: &Frame{Title: "samples of the FD-SSM model", XLabel: "x1", YLabel: "x2"}, Label: "data", Label2: "samples"})
	}))
	var imgs [][]float64
	for k := range 64 {
		im := make([]float64, 784)
		for p := range im {
			y, x := p/28, p%28
			im[p] = math.Max(0, 1-math.Abs(math.Hypot(float64(x)-14, float64(y)-14)-float64(4+k%6))/2)
		}
		imgs = append(imgs, im)
	}
	must(WriteFile(dir+"/grid.png", func(w io.Writer) error {
		return ImageGrid(w, imgs, 28, 28, 8, ImageGridOptions{Scale: 2,
			Caption: "model mnist-mdsm.ckpt: MLP 784-512-512-1 softplus, MDSM, 2500 steps\nsampler: annealed Langevin, 500 steps, step size 2e-05, σ 1 to 0.01 in 10 levels, seed 1"})
	}))
}
