package data

import (
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/tensor"
)

func table(rows [][]float64) *tensor.Tensor {
	var flat []float64
	for _, r := range rows {
		flat = append(flat, r...)
	}
	return tensor.FromFloat64(tensor.Float64, flat, len(rows), len(rows[0]))
}

func TestMedianGaps(t *testing.T) {
	x := table([][]float64{
		{1, 5, 0.1, 2},
		{1, 5, 0.2, 4},
		{2, 5, 0.4, 4},
		{4, 5, 0.7, 9},
		{1, 5, 0.3, 10},
	})
	// Column 0: distinct 1, 2, 4 → gaps 1, 2 → 1.5 (even count: the mean).
	// Column 1: constant → 0. Column 2: gaps 0.1 ×3, 0.3 → 0.1.
	// Column 3: distinct 2, 4, 9, 10 → gaps 2, 5, 1 → 2.
	want := []float64{1.5, 0, 0.1, 2}
	got := MedianGaps(x)
	for j := range want {
		if math.Abs(got[j]-want[j]) > 1e-15 {
			t.Errorf("column %d: median gap %v, want %v", j, got[j], want[j])
		}
	}
}

func TestDequantize(t *testing.T) {
	r := newRand(7)
	rows := make([][]float64, 2000)
	for i := range rows {
		// A feature on a 0.1 grid, a constant, and integers.
		rows[i] = []float64{math.Round(10*r.NormFloat64()) / 10, 3, float64(r.IntN(5))}
	}
	x := table(rows)
	orig := x.ToFloat64()
	gaps := MedianGaps(x)
	y := Dequantize(x, newRand(8))
	if !slices.Equal(x.ToFloat64(), orig) {
		t.Fatal("Dequantize modified its input")
	}
	if again := Dequantize(x, newRand(8)); !slices.Equal(again.ToFloat64(), y.ToFloat64()) {
		t.Fatal("Dequantize is not reproducible from the seed")
	}
	ys := y.ToFloat64()
	var sum [3]float64
	for i := range rows {
		for j := range 3 {
			d := ys[3*i+j] - orig[3*i+j]
			if math.Abs(d) > gaps[j] {
				t.Fatalf("row %d column %d: noise %v beyond ±%v", i, j, d, gaps[j])
			}
			sum[j] += d
		}
	}
	// The noise is U(−δ, δ): mean 0, standard deviation δ/√3; 5 standard
	// errors of the mean.
	for j := range 3 {
		if se := gaps[j] / math.Sqrt(3*float64(len(rows))); math.Abs(sum[j]/float64(len(rows))) > 5*se+1e-15 {
			t.Errorf("column %d: mean noise %v, want 0 ± %v", j, sum[j]/float64(len(rows)), 5*se)
		}
	}
	if gaps[1] != 0 || ys[1] != 3 {
		t.Errorf("constant column: gap %v, value %v", gaps[1], ys[1])
	}
	if math.Abs(gaps[0]-0.1) > 1e-12 || gaps[2] != 1 {
		t.Errorf("gaps %v, want [0.1 0 1]", gaps)
	}
	if f := Dequantize(x.AsType(tensor.Float32), newRand(8)); f.DType() != tensor.Float32 {
		t.Errorf("Dequantize changed the dtype to %v", f.DType())
	}
}

func TestDequantizePixels(t *testing.T) {
	px := make([]float64, 256)
	for k := range px {
		px[k] = float64(k) / 255
	}
	for _, dt := range []tensor.DType{tensor.Float64, tensor.Float32} {
		x := tensor.FromFloat64(dt, px, 1, 256)
		y := DequantizePixels(x, newRand(9))
		if y.DType() != dt || !y.SameShape(x) {
			t.Fatalf("%v: got %v %v", dt, y.DType(), y.Shape())
		}
		for k := range px {
			if v := y.At(k); !(v >= float64(k)/256 && v <= float64(k+1)/256) {
				t.Errorf("%v: pixel %d → %v, want in [%v, %v)", dt, k, v, float64(k)/256, float64(k+1)/256)
			}
		}
	}
}

// TestLogit checks the transform against its formula, the log-determinant
// against finite differences of each coordinate's map (relative step 1e-6,
// so errors near 1e-6 per coordinate), and the inverse.
func TestLogit(t *testing.T) {
	const lam = LogitLambda
	xs := []float64{0, 1e-9, 0.01, 0.3, 0.5, 0.77, 0.99, 1}
	x := tensor.FromFloat64(tensor.Float64, xs, 2, 4)
	y, logDet := Logit(x, lam)
	for i, v := range xs {
		p := lam + (1-2*lam)*v
		if want := math.Log(p / (1 - p)); math.Abs(y.At(i)-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Errorf("logit(%v) = %v, want %v", v, y.At(i), want)
		}
	}
	if !(y.At(0) > -14 && y.At(7) < 14) { // logit(1e-6) ≈ −13.8
		t.Errorf("ends map to %v and %v, want finite values near ∓13.8", y.At(0), y.At(7))
	}
	f := func(v float64) float64 { p := lam + (1-2*lam)*v; return math.Log(p) - math.Log1p(-p) }
	for row := range 2 {
		var want float64
		for j := range 4 {
			v := xs[4*row+j]
			// A step small against the distance of p from 0 and 1, where
			// the map's curvature lives; one-sided at the ends of [0, 1].
			p := lam + (1-2*lam)*v
			h := 1e-6 * math.Min(p, 1-p)
			lo, hi := math.Max(v-h, 0), math.Min(v+h, 1)
			want += math.Log((f(hi) - f(lo)) / (hi - lo))
		}
		if math.Abs(logDet[row]-want) > 1e-4 {
			t.Errorf("row %d: log-det %v, finite differences %v", row, logDet[row], want)
		}
	}
	back := InvLogit(y, lam)
	for i, v := range xs {
		if math.Abs(back.At(i)-v) > 1e-9 {
			t.Errorf("InvLogit(Logit(%v)) = %v", v, back.At(i))
		}
	}
	y32, _ := Logit(x.AsType(tensor.Float32), lam)
	if y32.DType() != tensor.Float32 {
		t.Errorf("Logit of float32 gave %v", y32.DType())
	}
}

// TestSymEigen reconstructs random symmetric matrices and checks the
// eigenvectors' orthonormality, to a tolerance of 100·n·ε·‖A‖ (the Jacobi
// method is backward stable: Golub and Van Loan, §8.5).
func TestSymEigen(t *testing.T) {
	r := newRand(10)
	for _, n := range []int{0, 1, 2, 3, 5, 10, 40} {
		a := make([]float64, n*n)
		for i := range n {
			for j := i; j < n; j++ {
				v := r.NormFloat64()
				a[i*n+j], a[j*n+i] = v, v
			}
		}
		orig := slices.Clone(a)
		vals, vecs := SymEigen(a, n)
		if !slices.Equal(a, orig) {
			t.Fatalf("n=%d: SymEigen modified its input", n)
		}
		var norm float64
		for _, v := range a {
			norm += v * v
		}
		tol := 100 * float64(n) * 0x1p-52 * math.Max(math.Sqrt(norm), 1)
		for k := 1; k < n; k++ {
			if vals[k] > vals[k-1] {
				t.Errorf("n=%d: eigenvalues not decreasing: %v", n, vals)
			}
		}
		for i := range n {
			for j := range n {
				var rec, dot float64
				for k := range n {
					rec += vecs[i*n+k] * vals[k] * vecs[j*n+k]
					dot += vecs[k*n+i] * vecs[k*n+j]
				}
				if math.Abs(rec-a[i*n+j]) > tol {
					t.Fatalf("n=%d: (VΛVᵀ)[%d][%d] = %v, want %v", n, i, j, rec, a[i*n+j])
				}
				want := 0.0
				if i == j {
					want = 1
				}
				if math.Abs(dot-want) > 100*float64(n)*0x1p-52 {
					t.Fatalf("n=%d: (VᵀV)[%d][%d] = %v", n, i, j, dot)
				}
			}
		}
	}
	// Closed forms: [[2 1] [1 2]] has eigenvalues 3 and 1 with eigenvectors
	// (1, 1)/√2 and (1, −1)/√2; a diagonal matrix is its own decomposition;
	// the identity's repeated eigenvalue is fine.
	vals, vecs := SymEigen([]float64{2, 1, 1, 2}, 2)
	if math.Abs(vals[0]-3) > 1e-15 || math.Abs(vals[1]-1) > 1e-15 || math.Abs(math.Abs(vecs[0])-math.Sqrt2/2) > 1e-15 || vecs[0]*vecs[2] < 0 {
		t.Errorf("[[2 1] [1 2]]: %v, %v", vals, vecs)
	}
	vals, _ = SymEigen([]float64{1, 0, 0, 0, -2, 0, 0, 0, 5}, 3)
	if !slices.Equal(vals, []float64{5, 1, -2}) {
		t.Errorf("diagonal: %v", vals)
	}
	vals, _ = SymEigen([]float64{1, 0, 0, 1}, 2)
	if !slices.Equal(vals, []float64{1, 1}) {
		t.Errorf("identity: %v", vals)
	}
	// Only the upper triangle is read.
	vals, _ = SymEigen([]float64{2, 1, 99, 2}, 2)
	if math.Abs(vals[0]-3) > 1e-15 {
		t.Errorf("upper triangle: %v", vals)
	}
}

// correlated returns n rows of a 3-D Gaussian with a full covariance and a
// nonzero mean.
func correlated(n int, seed uint64) *tensor.Tensor {
	r := newRand(seed)
	rows := make([][]float64, n)
	for i := range rows {
		a, b, c := r.NormFloat64(), r.NormFloat64(), r.NormFloat64()
		rows[i] = []float64{10 + 3*a, -2 + a + 0.5*b, 0.01*c + 0.02*a}
	}
	return table(rows)
}

func TestPCA(t *testing.T) {
	x := correlated(500, 11)
	p, err := FitPCA(x)
	if err != nil {
		t.Fatal(err)
	}
	y := p.Whiten(x)
	// Whitened training data: mean 0 and covariance I, to rounding.
	n, d := y.Dim(0), y.Dim(1)
	ys := y.ToFloat64()
	for a := range d {
		var m float64
		for i := range n {
			m += ys[i*d+a] / float64(n)
		}
		if math.Abs(m) > 1e-12 {
			t.Errorf("whitened mean[%d] = %v", a, m)
		}
		for b := range d {
			var c float64
			for i := range n {
				c += ys[i*d+a] * ys[i*d+b] / float64(n)
			}
			want := 0.0
			if a == b {
				want = 1
			}
			if math.Abs(c-want) > 1e-10 {
				t.Errorf("whitened covariance[%d][%d] = %v", a, b, c)
			}
		}
	}
	// LogDet = −½ log det Σ, with det Σ by cofactor expansion rather than
	// from the eigenvalues.
	var cov [3][3]float64
	xs := x.ToFloat64()
	for a := range 3 {
		for b := range 3 {
			for i := range n {
				cov[a][b] += (xs[i*3+a] - p.Mean[a]) * (xs[i*3+b] - p.Mean[b]) / float64(n)
			}
		}
	}
	det := cov[0][0]*(cov[1][1]*cov[2][2]-cov[1][2]*cov[2][1]) - cov[0][1]*(cov[1][0]*cov[2][2]-cov[1][2]*cov[2][0]) + cov[0][2]*(cov[1][0]*cov[2][1]-cov[1][1]*cov[2][0])
	if want := -0.5 * math.Log(det); math.Abs(p.LogDet()-want) > 1e-8 {
		t.Errorf("LogDet = %v, want %v", p.LogDet(), want)
	}
	// Unwhiten inverts Whiten, for other data too.
	z := correlated(20, 12)
	back := p.Unwhiten(p.Whiten(z)).ToFloat64()
	for i, v := range z.ToFloat64() {
		if math.Abs(back[i]-v) > 1e-9*math.Max(1, math.Abs(v)) {
			t.Fatalf("Unwhiten(Whiten(x))[%d] = %v, want %v", i, back[i], v)
		}
	}
	if w := p.Whiten(z.AsType(tensor.Float32)); w.DType() != tensor.Float32 {
		t.Errorf("Whiten of float32 gave %v", w.DType())
	}
	if e := p.Whiten(tensor.GatherRows(z, nil)); e.Dim(0) != 0 || e.Dim(1) != 3 {
		t.Errorf("Whiten of no rows gave %v", e.Shape())
	}
}

func TestFitPCAErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		x    *tensor.Tensor
		want string
	}{
		{"one row", table([][]float64{{1, 2}}), "data: FitPCA needs at least 2 rows, got 1"},
		{"constant column", table([][]float64{{1, 2}, {3, 2}, {4, 2}}), "data: FitPCA: the covariance is singular (eigenvalues from 1.55555555555555"}, // 14/9; the last digit depends on FMA use in GEMM
		{"collinear", table([][]float64{{1, 2}, {2, 4}, {4, 8}}), "data: FitPCA: the covariance is singular"},
	} {
		if _, err := FitPCA(c.x); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %s", c.name, err, c.want)
		}
	}
}

func TestSplits(t *testing.T) {
	for _, c := range []struct{ n, train, val, test int }{
		{1599, 1296, 144, 159}, // red wine
		{4898, 3969, 440, 489}, // white wine
		{20000, 18000, 1000, 1000},
		{15, 13, 1, 1},
		{9, 9, 0, 0},
		{0, 0, 0, 0},
	} {
		tr, va, te := UCISplitSizes(c.n)
		if tr != c.train || va != c.val || te != c.test {
			t.Errorf("UCISplitSizes(%d) = %d, %d, %d, want %d, %d, %d", c.n, tr, va, te, c.train, c.val, c.test)
		}
		a, b, d := SplitIndices(c.n, newRand(13))
		if len(a) != tr || len(b) != va || len(d) != te {
			t.Errorf("SplitIndices(%d) sizes %d, %d, %d", c.n, len(a), len(b), len(d))
		}
		all := slices.Sorted(slices.Values(slices.Concat(a, b, d)))
		for i, v := range all {
			if v != i {
				t.Fatalf("SplitIndices(%d) is not a partition of 0…n−1", c.n)
			}
		}
		a2, _, _ := SplitIndices(c.n, newRand(13))
		if !slices.Equal(a, a2) {
			t.Errorf("SplitIndices(%d) is not reproducible from the seed", c.n)
		}
	}
}

// checkWhitened checks that the training split has mean 0 and covariance I.
func checkWhitened(t *testing.T, x *tensor.Tensor, tol float64) {
	t.Helper()
	n, d := x.Dim(0), x.Dim(1)
	xs := x.ToFloat64()
	for a := range d {
		for b := range d {
			var c float64
			for i := range n {
				c += xs[i*d+a] * xs[i*d+b] / float64(n)
			}
			want := 0.0
			if a == b {
				want = 1
			}
			if math.Abs(c-want) > tol {
				t.Fatalf("training covariance[%d][%d] = %v", a, b, c)
			}
		}
	}
}

func TestPrepareUCI(t *testing.T) {
	// Quantised synthetic data: the file need not be present.
	raw := correlated(300, 14).ToFloat64()
	for i := range raw {
		raw[i] = math.Round(raw[i]*100) / 100
	}
	tab := &Table{Columns: []string{"a", "b", "c"}, Data: tensor.FromFloat64(tensor.Float64, raw, 300, 3)}
	s, err := PrepareUCI(tab, newRand(15), tensor.Float32)
	if err != nil {
		t.Fatal(err)
	}
	if s.Train.Dim(0) != 243 || s.Val.Dim(0) != 27 || s.Test.Dim(0) != 30 || s.Train.DType() != tensor.Float32 {
		t.Fatalf("splits %v %v %v of %v", s.Train.Shape(), s.Val.Shape(), s.Test.Shape(), s.Train.DType())
	}
	checkWhitened(t, s.Train, 1e-5) // float32 rounding
	s2, _ := PrepareUCI(tab, newRand(15), tensor.Float32)
	if !slices.Equal(s.Test.Float32s(), s2.Test.Float32s()) {
		t.Error("PrepareUCI is not reproducible from the seed")
	}
	// A constant feature cannot be whitened.
	for i := range 300 {
		raw[3*i+1] = 7
	}
	_, err = PrepareUCI(&Table{Columns: tab.Columns, Data: tensor.FromFloat64(tensor.Float64, raw, 300, 3)}, newRand(15), tensor.Float64)
	if err == nil || !strings.HasPrefix(err.Error(), "data: FitPCA: the covariance is singular") {
		t.Errorf("constant feature: %v", err)
	}
}

func TestLoadUCI(t *testing.T) {
	needWine(t)
	s, err := LoadUCI(wineRed, newRand(16), tensor.Float64)
	if err != nil {
		t.Fatal(err)
	}
	if s.Train.Dim(0) != 1296 || s.Val.Dim(0) != 144 || s.Test.Dim(0) != 159 || s.Train.Dim(1) != 11 || len(s.Columns) != 11 {
		t.Fatalf("red wine splits %v %v %v, columns %v", s.Train.Shape(), s.Val.Shape(), s.Test.Shape(), s.Columns)
	}
	checkWhitened(t, s.Train, 1e-9)
	if s.Test.HasNaNOrInf() || s.Val.HasNaNOrInf() {
		t.Error("non-finite values")
	}
	// A table without a quality column is not a wine table.
	path := t.TempDir() + "/x.csv"
	os.WriteFile(path, []byte("a,b\n1,2\n3,4\n"), 0o644)
	if _, err := LoadUCI(path, newRand(16), tensor.Float64); err == nil || err.Error() != path+`: drop: unknown column "quality" (the header has "a", "b")` {
		t.Errorf("LoadUCI without quality: %v", err)
	}
}

func TestPadImages(t *testing.T) {
	// Two 2×3 images, padded by 1: 4×5 each, the original in the middle.
	x := tensor.FromFloat64(tensor.Float32, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 2, 6)
	y := PadImages(x, 2, 3, 1)
	if y.Dim(0) != 2 || y.Dim(1) != 20 || y.DType() != tensor.Float32 {
		t.Fatalf("PadImages shape %v %v, want float32 [2 20]", y.DType(), y.Shape())
	}
	want := []float64{
		0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 7, 8, 9, 0, 0, 10, 11, 12, 0, 0, 0, 0, 0, 0,
	}
	for i, v := range y.ToFloat64() {
		if v != want[i] {
			t.Fatalf("PadImages element %d = %v, want %v (got %v)", i, v, want[i], y.ToFloat64())
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("PadImages of 6 columns as 2×2 images did not panic")
		}
	}()
	PadImages(x, 2, 2, 1)
}
