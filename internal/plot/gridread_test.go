package plot

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestReadImageGridRoundTrip draws grids as `fdsm sample` does (28×28 at
// scale 2, with and without a caption of one to three lines, full and
// ragged last rows, narrower and wider than the caption) and reads them
// back: the images must come back exactly, as multiples of 1/255.
func TestReadImageGridRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	captions := []string{"", "model: x", "model: mlp (ckpt.safetensors)\ntrained by DSM for 4000 steps\nsampler: Langevin, 1000 steps"}
	for _, n := range []int{1, 2, 7, 10, 64} {
		for _, caption := range captions {
			imgs := make([][]float64, n)
			for k := range imgs {
				imgs[k] = make([]float64, 28*28)
				for i := range imgs[k] {
					imgs[k][i] = math.Round(255*rng.Float64()) / 255
				}
			}
			cols := int(math.Ceil(math.Sqrt(float64(n))))
			var buf bytes.Buffer
			if err := ImageGrid(&buf, imgs, 28, 28, cols, ImageGridOptions{Scale: 2, Caption: caption}); err != nil {
				t.Fatal(err)
			}
			pic, err := png.Decode(&buf)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ReadImageGrid(pic, 28, 28, 2)
			if err != nil {
				t.Fatalf("n = %d, caption %q: %v", n, caption, err)
			}
			if len(got) != n {
				t.Fatalf("n = %d, caption %q: read %d images", n, caption, len(got))
			}
			for k := range imgs {
				for i := range imgs[k] {
					if math.Abs(got[k][i]-imgs[k][i]) > 1e-12 {
						t.Fatalf("n = %d, caption %q: image %d pixel %d = %g, want %g", n, caption, k, i, got[k][i], imgs[k][i])
					}
				}
			}
		}
	}
}

// TestReadImageGridRejects: pictures that are no grid, and a NaN pixel.
func TestReadImageGridRejects(t *testing.T) {
	if _, err := ReadImageGrid(image.NewNRGBA(image.Rect(0, 0, 100, 30)), 28, 28, 2); err == nil || !strings.Contains(err.Error(), "100×30 picture is no grid") {
		t.Errorf("blank 100×30 picture: err = %v", err)
	}
	img := make([]float64, 28*28)
	img[5*28+3] = math.NaN()
	var buf bytes.Buffer
	if err := ImageGrid(&buf, [][]float64{img, img}, 28, 28, 2, ImageGridOptions{Scale: 2}); err != nil {
		t.Fatal(err)
	}
	pic, _ := png.Decode(&buf)
	if _, err := ReadImageGrid(pic, 28, 28, 2); err == nil || !strings.Contains(err.Error(), "image 0 (row 0, column 0 of the grid) has a NaN pixel (drawn red) at (5, 3)") {
		t.Errorf("NaN pixel: err = %v", err)
	}
}
