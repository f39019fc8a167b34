package jsonout

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"testing"
)

// TestWriteJSON checks the one encoding -json uses for values JSON cannot
// hold: null, with the names of the fields so written returned, and output
// byte for byte encoding/json's when every value is finite.
func TestWriteJSON(t *testing.T) {
	type inner struct {
		X float64 `json:"x"`
	}
	type rec struct {
		A float64   `json:"a"`
		B *float64  `json:"b,omitempty"`
		C []float64 `json:"c"`
		D string    `json:"d"`
		E inner     `json:"e"`
		F *float64  `json:"f,omitempty"`
	}
	inf := math.Inf(-1)
	var buf bytes.Buffer
	nulled, err := Write(&buf, rec{A: math.NaN(), B: &inf, C: []float64{1, math.Inf(1)}, D: "x", E: inner{math.NaN()}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c[1]", "e.x"}; !slices.Equal(nulled, want) {
		t.Errorf("nulled %q, want %q", nulled, want)
	}
	var back map[string]any
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("output %q is not JSON: %v", buf.String(), err)
	}
	if back["a"] != nil || back["b"] != nil || back["c"].([]any)[1] != nil || back["e"].(map[string]any)["x"] != nil {
		t.Errorf("non-finite values not null in %s", buf.String())
	}
	if back["c"].([]any)[0] != 1.0 || back["d"] != "x" {
		t.Errorf("finite values changed in %s", buf.String())
	}
	if _, ok := back["f"]; ok {
		t.Errorf("omitempty nil pointer written in %s", buf.String())
	}

	one := 1.5
	finite := rec{A: 2, B: &one, C: []float64{3}, D: "y", E: inner{4}}
	buf.Reset()
	if nulled, err := Write(&buf, finite); err != nil || nulled != nil {
		t.Fatalf("finite record: nulled %q, err %v", nulled, err)
	}
	want, _ := json.Marshal(finite)
	if got := bytes.TrimSuffix(buf.Bytes(), []byte("\n")); !bytes.Equal(got, want) {
		t.Errorf("finite record written %s, encoding/json writes %s", got, want)
	}
}
