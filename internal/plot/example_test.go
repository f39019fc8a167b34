package plot_test

import (
	"bytes"
	"fmt"
	"image/png"
	"math"

	"github.com/fdsm/fdsm/internal/plot"
)

func ExampleNiceTicks() {
	fmt.Println(plot.NiceTicks(0, 1, 5))
	fmt.Println(plot.NiceTicks(-3.7, 12.1, 5))
	fmt.Println(plot.NiceTicks(0.1, 0.7, 6))
	// Output:
	// [0 0.2 0.4 0.6 0.8 1]
	// [-5 0 5 10 15]
	// [0.1 0.2 0.3 0.4 0.5 0.6 0.7]
}

func ExampleViridis() {
	for _, t := range []float64{0, 0.5, 1} {
		c := plot.Viridis(t)
		fmt.Printf("%.1f #%02x%02x%02x\n", t, c.R, c.G, c.B)
	}
	// Output:
	// 0.0 #440154
	// 0.5 #21918c
	// 1.0 #fde725
}

func ExampleHeatmap() {
	// The density of a standard normal, exp(−E) with E(x, y) = (x² + y²)/2,
	// on a 64×64 grid over [−3, 3]², drawn 4 pixels per cell.
	const n = 64
	values := make([]float64, n*n)
	for j := range n {
		y := -3 + 6*(float64(j)+0.5)/n
		for i := range n {
			x := -3 + 6*(float64(i)+0.5)/n
			values[j*n+i] = math.Exp(-(x*x + y*y) / 2)
		}
	}
	var buf bytes.Buffer // or plot.WriteFile("density.png", …)
	if err := plot.Heatmap(&buf, values, n, n, plot.HeatmapOptions{Scale: 4}); err != nil {
		panic(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		panic(err)
	}
	fmt.Println(img.Bounds().Size())
	// Output: (256,256)
}
