package tensor_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/fdsm/fdsm/tensor"
)

// A safetensors round trip through memory; SaveSafetensors and
// LoadSafetensors do the same with a file, written atomically.
func ExampleEncodeSafetensors() {
	weights := map[string]*tensor.Tensor{
		"layers.0.weight": tensor.FromFloat64(tensor.Float32, []float64{0.1, -0.2, 0.3, 0.4, 0.5, -0.6}, 2, 3),
		"layers.0.bias":   tensor.FromFloat64(tensor.Float64, []float64{1.0 / 3, 2.0 / 3}),
	}
	var buf bytes.Buffer
	if err := tensor.EncodeSafetensors(&buf, weights, map[string]string{"format": "pt"}); err != nil {
		log.Fatal(err)
	}

	got, metadata, err := tensor.DecodeSafetensors(buf.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"layers.0.bias", "layers.0.weight"} {
		t := got[name]
		fmt.Printf("%s %v %v:", name, t.DType(), t.Shape())
		for _, v := range t.ToFloat64() {
			fmt.Printf(" %.3f", v)
		}
		fmt.Println()
	}
	fmt.Println("format:", metadata["format"])
	// Output:
	// layers.0.bias float64 [2]: 0.333 0.667
	// layers.0.weight float32 [2 3]: 0.100 -0.200 0.300 0.400 0.500 -0.600
	// format: pt
}
