package quality

import (
	"math"
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/internal/numeric"
	"github.com/fdsm/fdsm/tensor"
)

// TestCrossEntropy checks both losses and their gradients against the
// closed forms: with p = softmax(z), ∂/∂z of the mean over N rows of
// logsumexp(z) − z_y is (p − onehot(y))/N, and of logsumexp(z) − mean(z) it
// is (p − 1/K)/N. The logits include a row of large values, which overflow
// exp without the max shift.
func TestCrossEntropy(t *testing.T) {
	zs := []float64{1, 2, 3, -1, 0, 0.5, 800, 801, 799}
	const n, k = 3, 3
	labels := []uint8{2, 0, 1}
	z := ad.Var(tensor.FromFloat64(tensor.Float64, zs, n, k))
	ce, uce := CrossEntropy(z, labels), UniformCrossEntropy(z)
	var wantCE, wantUCE float64
	wantG, wantUG := make([]float64, n*k), make([]float64, n*k)
	for i := range n {
		row := zs[i*k : (i+1)*k]
		lse := numeric.LogSumExp(row)
		wantCE += (lse - row[labels[i]]) / n
		mean := (row[0] + row[1] + row[2]) / k
		wantUCE += (lse - mean) / n
		for j, v := range row {
			p := math.Exp(v - lse)
			wantUG[i*k+j] = (p - 1.0/k) / n
			if j == int(labels[i]) {
				p--
			}
			wantG[i*k+j] = p / n
		}
	}
	// Float64 throughout: agreement to 1e-12 is rounding of sums of a few terms.
	const tol = 1e-12
	if got := ce.Item(); math.Abs(got-wantCE) > tol {
		t.Errorf("CrossEntropy = %.15g, want %.15g", got, wantCE)
	}
	if got := uce.Item(); math.Abs(got-wantUCE) > tol {
		t.Errorf("UniformCrossEntropy = %.15g, want %.15g", got, wantUCE)
	}
	for _, c := range []struct {
		name string
		loss *ad.Value
		want []float64
	}{{"CrossEntropy", ce, wantG}, {"UniformCrossEntropy", uce, wantUG}} {
		g := ad.GradT(c.loss, z).ToFloat64()
		for i := range g {
			if math.Abs(g[i]-c.want[i]) > tol {
				t.Errorf("%s gradient[%d] = %.15g, want %.15g", c.name, i, g[i], c.want[i])
			}
		}
	}
}
