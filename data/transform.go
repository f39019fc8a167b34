package data

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/fdsm/fdsm/internal/infile"
	"github.com/fdsm/fdsm/tensor"
)

// The kinds of Transform.
const (
	TransformNone        = "none"        // rows go into the model as they are
	TransformStandardize = "standardize" // (x − mean)/std per column
	TransformLogit       = "logit"       // Logit of pixels in [0, 1], λ = LogitLambda
)

// Keys of checkpoint metadata (nn.Metadata.Extra) under which
// Transform.Store records a transform.
const (
	MetaTransform  = "data.transform"  // none, standardize or logit
	MetaMean       = "data.mean"       // standardize: column means
	MetaStd        = "data.std"        // standardize: column standard deviations
	MetaColumns    = "data.columns"    // CSV: the columns used, in order, as a JSON list
	MetaDequantize = "data.dequantize" // MNIST: "true" to dequantise pixels when evaluating
)

// Transform maps data rows into the space a model was trained in. It is
// chosen at training time and stored in the checkpoint (Store), so that
// every later use of the model applies the same map (TransformFromMeta).
type Transform struct {
	Kind       string    // TransformNone, TransformStandardize or TransformLogit
	Mean, Std  []float64 // standardize: per column
	Columns    []string  // CSV columns the model was trained on (nil otherwise)
	Dequantize bool      // dequantise pixels (k/255 → (k+u)/256) in Prepare
}

// FitStandardize returns the column means and sample standard deviations
// (divisor n − 1) of x, which needs at least 2 rows; a constant column gets
// standard deviation 1, so that it is only centred.
func FitStandardize(x *tensor.Tensor) (mean, std []float64) {
	n, c := x.Dim(0), x.Dim(1)
	v := x.ToFloat64()
	mean, std = make([]float64, c), make([]float64, c)
	for j := range c {
		var s, q float64
		for i := range n {
			s += v[i*c+j]
		}
		m := s / float64(n)
		for i := range n {
			q += (v[i*c+j] - m) * (v[i*c+j] - m)
		}
		sd := math.Sqrt(q / float64(n-1))
		if !(sd > 0) {
			sd = 1 // a constant column: only centred
		}
		mean[j], std[j] = m, sd
	}
	return mean, std
}

// Apply maps rows of data x into the model's space and returns, per row,
// log|det ∂y/∂x|, which converts a log-density of y into one of x.
func (t Transform) Apply(x *tensor.Tensor) (*tensor.Tensor, []float64) {
	n, c := x.Dim(0), x.Dim(1)
	logDet := make([]float64, n)
	switch t.Kind {
	case TransformStandardize:
		v := x.ToFloat64()
		var ld float64
		for j := range c {
			ld -= math.Log(t.Std[j])
		}
		for i := range n {
			for j := range c {
				v[i*c+j] = (v[i*c+j] - t.Mean[j]) / t.Std[j]
			}
			logDet[i] = ld
		}
		return tensor.FromFloat64(x.DType(), v, n, c), logDet
	case TransformLogit:
		y, ld := Logit(x, LogitLambda)
		return y, ld
	}
	return x, logDet
}

// Invert maps rows of the model's space back to the data's units (samples).
func (t Transform) Invert(y *tensor.Tensor) *tensor.Tensor {
	switch t.Kind {
	case TransformStandardize:
		n, c := y.Dim(0), y.Dim(1)
		v := y.ToFloat64()
		for i := range n {
			for j := range c {
				v[i*c+j] = v[i*c+j]*t.Std[j] + t.Mean[j]
			}
		}
		return tensor.FromFloat64(y.DType(), v, n, c)
	case TransformLogit:
		return InvLogit(y, LogitLambda)
	}
	return y
}

// Prepare turns data rows into model inputs as Apply does, dequantising
// pixels first when t.Dequantize is set and rng is given.
func (t Transform) Prepare(x *tensor.Tensor, rng *rand.Rand) (*tensor.Tensor, []float64) {
	if t.Dequantize && rng != nil {
		x = DequantizePixels(x, rng)
	}
	return t.Apply(x)
}

// Store writes the transform into checkpoint metadata.
func (t Transform) Store(extra map[string]string) {
	extra[MetaTransform] = t.Kind
	if t.Kind == TransformStandardize {
		extra[MetaMean], extra[MetaStd] = FormatFloats(t.Mean), FormatFloats(t.Std)
	}
	if t.Columns != nil {
		b, _ := json.Marshal(t.Columns)
		extra[MetaColumns] = string(b)
	}
	if t.Dequantize {
		extra[MetaDequantize] = "true"
	}
}

// TransformFromMeta reads what Store writes, for a model of d inputs; no
// MetaTransform key means TransformNone. An error names the key at fault.
func TransformFromMeta(extra map[string]string, d int) (Transform, error) {
	t := Transform{Kind: extra[MetaTransform]}
	if t.Kind == "" {
		t.Kind = TransformNone
	}
	bad := func(key, why string) error { return fmt.Errorf("metadata %q: %s", "extra."+key, why) }
	switch v, ok := extra[MetaDequantize]; {
	case !ok || v == "false":
	case v == "true":
		t.Dequantize = true
	default:
		return t, bad(MetaDequantize, fmt.Sprintf("%q: want true or false", infile.Cut(v)))
	}
	switch t.Kind {
	case TransformNone, TransformLogit:
	case TransformStandardize:
		var err error
		if t.Mean, err = ParseFloats(extra[MetaMean]); err != nil || len(t.Mean) != d {
			return t, bad(MetaMean, fmt.Sprintf("want %d column means", d))
		}
		for _, m := range t.Mean {
			if math.IsNaN(m) || math.IsInf(m, 0) {
				return t, bad(MetaMean, fmt.Sprintf("mean %g is not finite", m))
			}
		}
		if t.Std, err = ParseFloats(extra[MetaStd]); err != nil || len(t.Std) != d {
			return t, bad(MetaStd, fmt.Sprintf("want %d column standard deviations", d))
		}
		for _, s := range t.Std {
			if !(s > 0) || math.IsInf(s, 0) {
				return t, bad(MetaStd, fmt.Sprintf("standard deviation %g is not positive and finite", s))
			}
		}
	default:
		return t, bad(MetaTransform, fmt.Sprintf("unknown transform %q", infile.Cut(t.Kind)))
	}
	if c, ok := extra[MetaColumns]; ok {
		if err := json.Unmarshal([]byte(c), &t.Columns); err != nil || len(t.Columns) != d {
			return t, bad(MetaColumns, fmt.Sprintf("want a JSON list of %d column names", d))
		}
		for i, n := range t.Columns {
			if slices.Contains(t.Columns[:i], n) {
				return t, bad(MetaColumns, fmt.Sprintf("column %q twice", infile.Cut(n)))
			}
		}
	}
	return t, nil
}

// FormatFloats writes floats comma-separated so that they read back
// exactly: the form checkpoint metadata stores number lists in.
func FormatFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}

// ParseFloats reads what FormatFloats writes ("" is no numbers).
func ParseFloats(s string) ([]float64, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]float64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", infile.Cut(p))
		}
		out[i] = v
	}
	return out, nil
}
