package fd

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// rats parses rational literals such as "-49/18".
func rats(t *testing.T, ss ...string) []*big.Rat {
	t.Helper()
	out := make([]*big.Rat, len(ss))
	for i, s := range ss {
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("bad rational %q", s)
		}
		out[i] = r
	}
	return out
}

func ratsEqual(a, b []*big.Rat) bool {
	return slices.EqualFunc(a, b, func(x, y *big.Rat) bool { return x.Cmp(y) == 0 })
}

func ratStrings(rs []*big.Rat) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.RatString()
	}
	return "[" + strings.Join(s, " ") + "]"
}

// centralTable is the central-difference table of the Wikipedia article
// "Finite difference coefficient" (derivatives 1–6; it reproduces Fornberg
// 1988, Table 1), keyed by {derivative, accuracy}; weights on nodes −p..p.
var centralTable = map[[2]int][]string{
	{1, 2}: {"-1/2", "0", "1/2"},
	{1, 4}: {"1/12", "-2/3", "0", "2/3", "-1/12"},
	{1, 6}: {"-1/60", "3/20", "-3/4", "0", "3/4", "-3/20", "1/60"},
	{1, 8}: {"1/280", "-4/105", "1/5", "-4/5", "0", "4/5", "-1/5", "4/105", "-1/280"},
	{2, 2}: {"1", "-2", "1"},
	{2, 4}: {"-1/12", "4/3", "-5/2", "4/3", "-1/12"},
	{2, 6}: {"1/90", "-3/20", "3/2", "-49/18", "3/2", "-3/20", "1/90"},
	{2, 8}: {"-1/560", "8/315", "-1/5", "8/5", "-205/72", "8/5", "-1/5", "8/315", "-1/560"},
	{3, 2}: {"-1/2", "1", "0", "-1", "1/2"},
	{3, 4}: {"1/8", "-1", "13/8", "0", "-13/8", "1", "-1/8"},
	{3, 6}: {"-7/240", "3/10", "-169/120", "61/30", "0", "-61/30", "169/120", "-3/10", "7/240"},
	{4, 2}: {"1", "-4", "6", "-4", "1"},
	{4, 4}: {"-1/6", "2", "-13/2", "28/3", "-13/2", "2", "-1/6"},
	{4, 6}: {"7/240", "-2/5", "169/60", "-122/15", "91/8", "-122/15", "169/60", "-2/5", "7/240"},
	{5, 2}: {"-1/2", "2", "-5/2", "0", "5/2", "-2", "1/2"},
	{5, 4}: {"1/6", "-3/2", "13/3", "-29/6", "0", "29/6", "-13/3", "3/2", "-1/6"},
	{5, 6}: {"-13/288", "19/36", "-87/32", "13/2", "-323/48", "0", "323/48", "-13/2", "87/32", "-19/36", "13/288"},
	{6, 2}: {"1", "-6", "15", "-20", "15", "-6", "1"},
	{6, 4}: {"-1/4", "3", "-13", "29", "-75/2", "29", "-13", "3", "-1/4"},
	{6, 6}: {"13/240", "-19/24", "87/16", "-39/2", "323/8", "-1023/20", "323/8", "-39/2", "87/16", "-19/24", "13/240"},
}

// forwardTable is the forward-difference table of the same article
// (derivatives 1–4), keyed by {derivative, accuracy}; weights on nodes 0, 1, ….
var forwardTable = map[[2]int][]string{
	{1, 1}: {"-1", "1"},
	{1, 2}: {"-3/2", "2", "-1/2"},
	{1, 3}: {"-11/6", "3", "-3/2", "1/3"},
	{1, 4}: {"-25/12", "4", "-3", "4/3", "-1/4"},
	{1, 5}: {"-137/60", "5", "-5", "10/3", "-5/4", "1/5"},
	{1, 6}: {"-49/20", "6", "-15/2", "20/3", "-15/4", "6/5", "-1/6"},
	{2, 1}: {"1", "-2", "1"},
	{2, 2}: {"2", "-5", "4", "-1"},
	{2, 3}: {"35/12", "-26/3", "19/2", "-14/3", "11/12"},
	{2, 4}: {"15/4", "-77/6", "107/6", "-13", "61/12", "-5/6"},
	{2, 5}: {"203/45", "-87/5", "117/4", "-254/9", "33/2", "-27/5", "137/180"},
	{2, 6}: {"469/90", "-223/10", "879/20", "-949/18", "41", "-201/10", "1019/180", "-7/10"},
	{3, 1}: {"-1", "3", "-3", "1"},
	{3, 2}: {"-5/2", "9", "-12", "7", "-3/2"},
	{3, 3}: {"-17/4", "71/4", "-59/2", "49/2", "-41/4", "7/4"},
	{3, 4}: {"-49/8", "29", "-461/8", "62", "-307/8", "13", "-15/8"},
	{3, 5}: {"-967/120", "638/15", "-3929/40", "389/3", "-2545/24", "268/5", "-1849/120", "29/15"},
	{3, 6}: {"-801/80", "349/6", "-18353/120", "2391/10", "-1457/6", "4891/30", "-561/8", "527/30", "-469/240"},
	{4, 1}: {"1", "-4", "6", "-4", "1"},
	{4, 2}: {"3", "-14", "26", "-24", "11", "-2"},
	{4, 3}: {"35/6", "-31", "137/2", "-242/3", "107/2", "-19", "17/6"},
	{4, 4}: {"28/3", "-111/2", "142", "-1219/6", "176", "-185/2", "82/3", "-7/2"},
	{4, 5}: {"1069/80", "-1316/15", "15289/60", "-2144/5", "10993/24", "-4772/15", "2803/20", "-536/15", "967/240"},
}

func TestCentralMatchesTable(t *testing.T) {
	for key, ws := range centralTable {
		order, acc := key[0], key[1]
		s, err := Central(order, acc)
		if err != nil {
			t.Fatalf("Central(%d, %d): %v", order, acc, err)
		}
		want := rats(t, ws...)
		p := len(want) / 2
		var nodes []float64
		var wantW []*big.Rat
		for i, w := range want {
			if order%2 == 1 && i == p {
				// Central drops the centre node of odd orders: its table weight is 0.
				if w.Sign() != 0 {
					t.Fatalf("table {%d,%d}: centre weight %v, want 0", order, acc, w)
				}
				continue
			}
			nodes = append(nodes, float64(i-p))
			wantW = append(wantW, w)
		}
		if !slices.Equal(s.Nodes(), nodes) || !ratsEqual(s.RatWeights(), wantW) {
			t.Errorf("Central(%d, %d) = nodes %v weights %s, want %v %s", order, acc, s.Nodes(), ratStrings(s.RatWeights()), nodes, ratStrings(wantW))
		}
		if s.Order() != order || s.Accuracy() != acc {
			t.Errorf("Central(%d, %d): order %d accuracy %d", order, acc, s.Order(), s.Accuracy())
		}
		for i, w := range s.RatWeights() {
			if f, _ := w.Float64(); f != s.Weights()[i] {
				t.Errorf("Central(%d, %d): float weight %d is %v, not the rounding of %v", order, acc, i, s.Weights()[i], w)
			}
		}
	}
}

func TestForwardBackwardMatchTable(t *testing.T) {
	for key, ws := range forwardTable {
		order, acc := key[0], key[1]
		want := rats(t, ws...)
		f, err := Forward(order, acc)
		if err != nil {
			t.Fatalf("Forward(%d, %d): %v", order, acc, err)
		}
		if !ratsEqual(f.RatWeights(), want) {
			t.Errorf("Forward(%d, %d) = %s, want %s", order, acc, ratStrings(f.RatWeights()), ratStrings(want))
		}
		if f.Accuracy() != acc {
			t.Errorf("Forward(%d, %d): accuracy %d", order, acc, f.Accuracy())
		}
		for i, g := range f.Nodes() {
			if g != float64(i) {
				t.Fatalf("Forward(%d, %d) nodes %v", order, acc, f.Nodes())
			}
		}
		// The article's rule: backward weights are the forward ones on the
		// mirrored nodes, with the sign flipped for odd derivatives.
		b, err := Backward(order, acc)
		if err != nil {
			t.Fatalf("Backward(%d, %d): %v", order, acc, err)
		}
		k := len(want)
		wantB := make([]*big.Rat, k)
		for i := range wantB {
			wantB[i] = new(big.Rat).Set(want[k-1-i])
			if order%2 == 1 {
				wantB[i].Neg(wantB[i])
			}
		}
		if !ratsEqual(b.RatWeights(), wantB) || b.Accuracy() != acc {
			t.Errorf("Backward(%d, %d) = %s accuracy %d, want %s", order, acc, ratStrings(b.RatWeights()), b.Accuracy(), ratStrings(wantB))
		}
		for i, g := range b.Nodes() {
			if g != float64(i-k+1) || (g == 0 && math.Signbit(g)) {
				t.Fatalf("Backward(%d, %d) nodes %v", order, acc, b.Nodes())
			}
		}
	}
}

// The lowest-accuracy forward stencil of order T is the T-th forward
// difference, whose weights are (−1)^{T−k}·C(T, k); the minimal central
// stencil of even order is the same difference centred. This checks orders
// 0..12, beyond the published tables.
func TestBinomialDifferences(t *testing.T) {
	for order := 0; order <= 12; order++ {
		want := make([]*big.Rat, order+1)
		for k := range want {
			c := new(big.Int).Binomial(int64(order), int64(k))
			if (order-k)%2 == 1 {
				c.Neg(c)
			}
			want[k] = new(big.Rat).SetInt(c)
		}
		f := Must(Forward(order, 1))
		if !ratsEqual(f.RatWeights(), want) {
			t.Errorf("Forward(%d, 1) = %s, want %s", order, ratStrings(f.RatWeights()), ratStrings(want))
		}
		if order%2 == 0 && order > 0 {
			c := Must(Central(order, 2))
			if !ratsEqual(c.RatWeights(), want) || c.Accuracy() != 2 {
				t.Errorf("Central(%d, 2) = %s accuracy %d, want %s", order, ratStrings(c.RatWeights()), c.Accuracy(), ratStrings(want))
			}
		}
	}
}

// Fornberg 1988, Table 2: centred approximations at a half-way point (nodes
// at odd multiples of ½), for interpolation and the first derivative.
func TestStaggeredMatchesFornbergTable2(t *testing.T) {
	cases := []struct {
		nodes []float64
		order int
		want  []string
		acc   int
	}{
		{[]float64{-0.5, 0.5}, 0, []string{"1/2", "1/2"}, 2},
		{[]float64{-1.5, -0.5, 0.5, 1.5}, 0, []string{"-1/16", "9/16", "9/16", "-1/16"}, 4},
		{[]float64{-2.5, -1.5, -0.5, 0.5, 1.5, 2.5}, 0, []string{"3/256", "-25/256", "75/128", "75/128", "-25/256", "3/256"}, 6},
		{[]float64{-0.5, 0.5}, 1, []string{"-1", "1"}, 2},
		{[]float64{-1.5, -0.5, 0.5, 1.5}, 1, []string{"1/24", "-9/8", "9/8", "-1/24"}, 4},
		{[]float64{-2.5, -1.5, -0.5, 0.5, 1.5, 2.5}, 1, []string{"-3/640", "25/384", "-75/64", "75/64", "-25/384", "3/640"}, 6},
	}
	for _, c := range cases {
		s, err := New(c.nodes, c.order)
		if err != nil {
			t.Fatal(err)
		}
		if want := rats(t, c.want...); !ratsEqual(s.RatWeights(), want) || s.Accuracy() != c.acc {
			t.Errorf("New(%v, %d) = %s accuracy %d, want %s accuracy %d", c.nodes, c.order, ratStrings(s.RatWeights()), s.Accuracy(), ratStrings(want), c.acc)
		}
	}
}

// vandermondeRat solves Σ_i w_i γ_i^t = order!·δ_{t,order}, t < K, by exact
// Gaussian elimination: an independent check on the Fornberg recurrence.
func vandermondeRat(nodes []float64, order int) []*big.Rat {
	k := len(nodes)
	a := make([][]*big.Rat, k)
	for t := range a {
		a[t] = make([]*big.Rat, k+1)
		for i, g := range nodes {
			p := big.NewRat(1, 1)
			gr := new(big.Rat).SetFloat64(g)
			for range t {
				p.Mul(p, gr)
			}
			a[t][i] = p
		}
		a[t][k] = new(big.Rat)
		if t == order {
			a[t][k].SetInt(new(big.Int).MulRange(1, int64(order)))
		}
	}
	for col := range k {
		piv := col
		for a[piv][col].Sign() == 0 {
			piv++
		}
		a[col], a[piv] = a[piv], a[col]
		for r := range k {
			if r == col || a[r][col].Sign() == 0 {
				continue
			}
			f := new(big.Rat).Quo(a[r][col], a[col][col])
			for c := col; c <= k; c++ {
				a[r][c].Sub(a[r][c], new(big.Rat).Mul(f, a[col][c]))
			}
		}
	}
	w := make([]*big.Rat, k)
	for i := range w {
		w[i] = new(big.Rat).Quo(a[i][k], a[i][i])
	}
	return w
}

func TestNewMatchesVandermonde(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		// Distinct dyadic nodes in [−4, 4] (multiples of 1/8), unsorted, and
		// for some trials arbitrary doubles, whose exact rational values have
		// 2^50-size denominators (fewer nodes there: the exact elimination
		// grows expensive).
		arbitrary := trial%4 == 0
		k := 1 + r.IntN(9)
		if arbitrary {
			k = 1 + r.IntN(5)
		}
		order := r.IntN(k)
		var nodes []float64
		for len(nodes) < k {
			g := float64(r.IntN(65)-32) / 8
			if arbitrary {
				g = 8*r.Float64() - 4
			}
			if !slices.Contains(nodes, g) {
				nodes = append(nodes, g)
			}
		}
		s, err := New(nodes, order)
		if err != nil {
			t.Fatalf("New(%v, %d): %v", nodes, order, err)
		}
		if want := vandermondeRat(nodes, order); !ratsEqual(s.RatWeights(), want) {
			t.Fatalf("New(%v, %d) = %s, Vandermonde %s", nodes, order, ratStrings(s.RatWeights()), ratStrings(want))
		}
		if s.Accuracy() < k-order {
			t.Fatalf("New(%v, %d): accuracy %d < K−T = %d", nodes, order, s.Accuracy(), k-order)
		}
	}
}

// ulps returns the distance between a and b in units in the last place of
// the larger magnitude.
func ulps(a, b float64) float64 {
	if a == b {
		return 0
	}
	m := math.Max(math.Abs(a), math.Abs(b))
	return math.Abs(a-b) / (math.Nextafter(m, math.Inf(1)) - m)
}

// The float64 recurrence agrees with the exact weights to a few ulps on the
// tables' node sets (K ≤ 11). The worst case observed on these sets is 10
// ulps; the bound of 16 leaves margin for other compilers' fused
// multiply-adds.
func TestFornbergFloatWithinUlps(t *testing.T) {
	const maxUlps = 16
	for key := range centralTable {
		s := Must(Central(key[0], key[1]))
		for _, st := range []Stencil{s, Must(Forward(key[0], key[1])), Must(Backward(key[0], key[1]))} {
			c, err := Fornberg(0, st.Nodes(), st.Order())
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range st.Weights() {
				if u := ulps(c[st.Order()][i], w); u > maxUlps {
					t.Errorf("Fornberg %v order %d weight %d: %v vs exact %v (%.0f ulps)", st.Nodes(), st.Order(), i, c[st.Order()][i], w, u)
				}
			}
		}
	}
	// Lower rows are the lower derivatives on the same nodes.
	nodes := []float64{-2, -1, 0, 1, 2}
	c, _ := Fornberg(0, nodes, 4)
	for m := 0; m <= 4; m++ {
		want := Must(New(nodes, m)).Weights()
		for i := range want {
			if ulps(c[m][i], want[i]) > maxUlps {
				t.Errorf("Fornberg row %d = %v, want %v", m, c[m], want)
			}
		}
	}
	// Off-centre expansion point: derivatives at x0 = ½ from nodes 0, 1 are
	// the midpoint interpolation and the plain difference.
	c, _ = Fornberg(0.5, []float64{0, 1}, 1)
	if !slices.Equal(c[0], []float64{0.5, 0.5}) || !slices.Equal(c[1], []float64{-1, 1}) {
		t.Errorf("Fornberg(0.5, [0 1], 1) = %v", c)
	}
}

// evalPolyRat returns Σ_j c_j x^j exactly.
func evalPolyRat(c []*big.Rat, x *big.Rat) *big.Rat {
	s := new(big.Rat)
	for j := len(c) - 1; j >= 0; j-- {
		s.Mul(s, x)
		s.Add(s, c[j])
	}
	return s
}

// testStencils is a spread of stencils: orders 0..8, central, one-sided,
// staggered and irregular nodes.
func testStencils(t *testing.T) []Stencil {
	var ss []Stencil
	for order := 0; order <= 8; order++ {
		for _, acc := range []int{2, 4, 6} {
			ss = append(ss, Must(Central(order, acc)))
		}
		for _, acc := range []int{1, 2, 3} {
			ss = append(ss, Must(Forward(order, acc)), Must(Backward(order, acc)))
		}
	}
	for _, n := range [][]float64{{-1.5, -0.5, 0.5, 1.5}, {-0.3, 0.1, 0.7, 2}, {0, 0.25, 1, 3, 3.5}} {
		for order := 0; order < len(n); order++ {
			ss = append(ss, Must(New(n, order)))
		}
	}
	return ss
}

// Exactness in exact arithmetic: Σ w_i p(x + γ_i h)/h^T = p⁽ᵀ⁾(x) for every
// polynomial of degree < T+p, and for the monomial of degree T+p the error is
// exactly C·(T+p)!·h^p: the measured accuracy is neither too low nor too high.
func TestExactOnPolynomialsRational(t *testing.T) {
	x, h := big.NewRat(3, 7), big.NewRat(1, 3)
	for _, s := range testStencils(t) {
		T, p := s.Order(), s.Accuracy()
		top := T + p
		if p == Exact {
			top = T + 12
		}
		w := s.RatWeights()
		hT := new(big.Rat).SetInt64(1)
		for range T {
			hT.Mul(hT, h)
		}
		for deg := 0; deg <= top; deg++ {
			mono := make([]*big.Rat, deg+1)
			for j := range mono {
				mono[j] = new(big.Rat)
			}
			mono[deg].SetInt64(1)
			est := new(big.Rat)
			for i, g := range s.Nodes() {
				xi := new(big.Rat).Add(x, new(big.Rat).Mul(new(big.Rat).SetFloat64(g), h))
				est.Add(est, new(big.Rat).Mul(w[i], evalPolyRat(mono, xi)))
			}
			est.Quo(est, hT)
			// exact T-th derivative of x^deg: deg!/(deg−T)!·x^{deg−T}
			want := new(big.Rat)
			if deg >= T {
				want.SetInt(new(big.Int).MulRange(int64(deg-T+1), int64(deg)))
				if deg == T {
					want.SetInt(new(big.Int).MulRange(1, int64(T)))
				}
				for range deg - T {
					want.Mul(want, x)
				}
			}
			diff := new(big.Rat).Sub(est, want)
			if deg < top || p == Exact {
				if diff.Sign() != 0 {
					t.Errorf("%v: degree %d not exact (error %v)", s, deg, diff.RatString())
				}
				continue
			}
			lead := new(big.Rat).Mul(s.ErrorConstant(), new(big.Rat).SetInt(new(big.Int).MulRange(1, int64(top))))
			for range p {
				lead.Mul(lead, h)
			}
			if diff.Cmp(lead) != 0 || diff.Sign() == 0 {
				t.Errorf("%v: degree %d error %v, want C·(T+p)!·h^p = %v", s, deg, diff.RatString(), lead.RatString())
			}
		}
	}
}

// The same in float64 through Apply, with random polynomial coefficients.
// Tolerance: the weights are rounded (½ulp each), the products and the
// K−1 additions each add at most ½ulp of a partial sum bounded by
// Σ|w_i f_i|, and Horner's rule adds about 2·deg ulps of Σ|c_j||x_i|^j; a
// factor 2 covers the division by h^T and fused multiply-adds.
func TestExactOnPolynomialsFloat(t *testing.T) {
	const u = 0x1p-53 // float64 unit round-off
	r := rand.New(rand.NewPCG(3, 4))
	x, h := 0.3, 0.5
	for _, s := range testStencils(t) {
		T, p := s.Order(), s.Accuracy()
		maxDeg := T + p - 1
		if p == Exact {
			maxDeg = T + 8
		}
		c := make([]float64, maxDeg+1)
		for j := range c {
			c[j] = r.NormFloat64()
		}
		poly := func(x float64) float64 {
			var v float64
			for j := len(c) - 1; j >= 0; j-- {
				v = v*x + c[j]
			}
			return v
		}
		absPoly := func(x float64) float64 {
			var v float64
			for j := len(c) - 1; j >= 0; j-- {
				v = v*math.Abs(x) + math.Abs(c[j])
			}
			return v
		}
		var want float64 // p⁽ᵀ⁾(x) = Σ_j c_j j!/(j−T)! x^{j−T}
		for j := T; j < len(c); j++ {
			f := c[j]
			for i := j - T + 1; i <= j; i++ {
				f *= float64(i)
			}
			want += f * math.Pow(x, float64(j-T))
		}
		var scale float64
		for i, g := range s.Nodes() {
			scale += math.Abs(s.Weights()[i]) * absPoly(x+g*h)
		}
		tol := 2 * float64(s.Len()+2*maxDeg+2) * u * scale / math.Pow(h, float64(T))
		if got := s.Apply(poly, x, h); math.Abs(got-want) > tol {
			t.Errorf("%v: degree %d polynomial: got %v, want %v (|diff| %.3g > tol %.3g)", s, maxDeg, got, want, math.Abs(got-want), tol)
		}
	}
}

func TestErrors(t *testing.T) {
	bad := []struct {
		name  string
		build func() (Stencil, error)
		msg   string
	}{
		{"duplicate", func() (Stencil, error) { return New([]float64{-1, 0, 1, 0}, 1) }, "duplicate"},
		{"signed zeros", func() (Stencil, error) { return New([]float64{0, math.Copysign(0, -1)}, 1) }, "duplicate"},
		{"too few", func() (Stencil, error) { return New([]float64{-1, 1}, 2) }, "at least 3"},
		{"no nodes", func() (Stencil, error) { return New(nil, 0) }, "at least 1"},
		{"negative order", func() (Stencil, error) { return New([]float64{0}, -1) }, "negative"},
		{"NaN", func() (Stencil, error) { return New([]float64{0, math.NaN()}, 1) }, "NaN"},
		{"Inf", func() (Stencil, error) { return New([]float64{math.Inf(1), 0}, 1) }, "Inf"},
		{"central odd accuracy", func() (Stencil, error) { return Central(2, 3) }, "even"},
		{"central zero accuracy", func() (Stencil, error) { return Central(1, 0) }, "even"},
		{"central negative order", func() (Stencil, error) { return Central(-1, 2) }, "negative"},
		{"forward accuracy 0", func() (Stencil, error) { return Forward(1, 0) }, "accuracy"},
		{"backward negative order", func() (Stencil, error) { return Backward(-2, 1) }, "negative"},
	}
	for _, b := range bad {
		_, err := b.build()
		if err == nil || !strings.Contains(err.Error(), b.msg) || !strings.HasPrefix(err.Error(), "fd: ") {
			t.Errorf("%s: error %v, want one containing %q", b.name, err, b.msg)
		}
	}
	if _, err := Fornberg(0, []float64{1, 2, 1}, 1); err == nil {
		t.Error("Fornberg with duplicate nodes: no error")
	}
	if _, err := Fornberg(0, nil, 1); err == nil {
		t.Error("Fornberg with no nodes: no error")
	}
	defer func() {
		if recover() == nil {
			t.Error("Must did not panic")
		}
	}()
	Must(Central(1, 3))
}

// The paper's table (Pang et al. 2020; docs/OBJECTIVES.md): T = 1, nodes ±1,
// weights ±½, error ε²·D³f/6; T = 2, nodes −1, 0, 1, weights 1, −2, 1, error
// ε²·D⁴f/12; T = 3 and 4 with nodes ±1, ±2; and the 5-point O(ε⁴) stencils.
func TestNamedStencils(t *testing.T) {
	cases := []struct {
		s        Stencil
		nodes    []float64
		weights  []float64
		acc      int
		errConst string
	}{
		{D1, []float64{-1, 1}, []float64{-0.5, 0.5}, 2, "1/6"},
		{D2, []float64{-1, 0, 1}, []float64{1, -2, 1}, 2, "1/12"},
		{D3, []float64{-2, -1, 1, 2}, []float64{-0.5, 1, -1, 0.5}, 2, "1/4"},
		{D4, []float64{-2, -1, 0, 1, 2}, []float64{1, -4, 6, -4, 1}, 2, "1/6"},
		// Error constants −1/30 and −1/90 are the classical h⁴f⁽⁵⁾/30 and
		// h⁴f⁽⁶⁾/90 of the 5-point formulas (Abramowitz & Stegun 25.3.6, 25.3.24).
		{D1Acc4, []float64{-2, -1, 1, 2}, []float64{1.0 / 12, -2.0 / 3, 2.0 / 3, -1.0 / 12}, 4, "-1/30"},
		{D2Acc4, []float64{-2, -1, 0, 1, 2}, []float64{-1.0 / 12, 4.0 / 3, -5.0 / 2, 4.0 / 3, -1.0 / 12}, 4, "-1/90"},
	}
	for _, c := range cases {
		if !slices.Equal(c.s.Nodes(), c.nodes) || !slices.Equal(c.s.Weights(), c.weights) || c.s.Accuracy() != c.acc {
			t.Errorf("%v: want nodes %v weights %v accuracy %d", c.s, c.nodes, c.weights, c.acc)
		}
		if got := c.s.ErrorConstant().RatString(); got != c.errConst {
			t.Errorf("%v: error constant %s, want %s", c.s, got, c.errConst)
		}
	}
}

func TestPaperForm(t *testing.T) {
	const eps = 0.1
	g, b, scale := D1.Paper(eps)
	if !slices.Equal(g, []float64{-1, 1}) || !slices.Equal(b, []float64{-0.5, 0.5}) || scale != 1/eps {
		t.Errorf("D1.Paper = %v %v %v", g, b, scale)
	}
	g, b, scale = D2.Paper(eps)
	if !slices.Equal(g, []float64{-1, 0, 1}) || !slices.Equal(b, []float64{0.5, -1, 0.5}) || math.Abs(scale-2/(eps*eps)) > 1e-12*scale {
		t.Errorf("D2.Paper = %v %v %v", g, b, scale)
	}
	// scale·Σβ_i f(x+γ_i ε) is Apply's estimate for every stencil, up to
	// round-off: β_i = w_i/T! is rounded once more, and each form adds K
	// rounded products, so they differ by at most 4K ulps of Σ|w_i f_i|/ε^T.
	const u = 0x1p-53
	for _, s := range testStencils(t) {
		g, b, scale := s.Paper(eps)
		var sum, mag float64
		for i := range g {
			f := math.Exp(0.2 + g[i]*eps)
			sum += b[i] * f
			mag += math.Abs(s.Weights()[i] * f)
		}
		got, want := scale*sum, s.Apply(math.Exp, 0.2, eps)
		if tol := 4 * float64(s.Len()) * u * mag / math.Pow(eps, float64(s.Order())); math.Abs(got-want) > tol {
			t.Errorf("%v: paper form %v, Apply %v (tol %.3g)", s, got, want, tol)
		}
	}
}

func TestAccessorsCopyAndMisc(t *testing.T) {
	s := Must(Central(2, 4))
	s.Nodes()[0] = 99
	s.Weights()[0] = 99
	s.RatWeights()[0].SetInt64(99)
	s.ErrorConstant().SetInt64(99)
	if s.Nodes()[0] != -2 || s.Weights()[0] != -1.0/12 || s.RatWeights()[0].RatString() != "-1/12" || s.ErrorConstant().RatString() != "-1/90" {
		t.Errorf("accessors returned shared storage: %v", s)
	}
	nodes := []float64{1, 0, -1}
	s2 := Must(New(nodes, 2))
	nodes[0] = 5
	if s2.Nodes()[0] != 1 || s2.Len() != 3 || s2.Order() != 2 {
		t.Errorf("New kept the caller's slice: %v", s2)
	}
	// D2's moments: M_0 = M_1 = M_3 = 0, M_2 = 2! and M_4 = 2 (so C = 2/4! = 1/12).
	for tt, want := range []string{"0", "0", "2", "0", "2"} {
		if got := D2.Moment(tt).RatString(); got != want {
			t.Errorf("D2.Moment(%d) = %s, want %s", tt, got, want)
		}
	}
	if D2.Index(1) != 2 || D2.Index(0) != 1 || D2.Index(0.5) != -1 {
		t.Errorf("D2.Index wrong")
	}
	if got, want := D2.String(), "order 2, accuracy 2: nodes [-1 0 1], weights [1 -2 1]"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	id := Must(Central(0, 2))
	if id.Accuracy() != Exact || id.ErrorConstant().Sign() != 0 || !strings.Contains(id.String(), "exact") {
		t.Errorf("Central(0, 2) = %v", id)
	}
	if id := Must(New([]float64{1, 0, 2}, 0)); id.Accuracy() != Exact || id.Weights()[1] != 1 {
		t.Errorf("order 0 with node 0: %v", id)
	}
	if s := Must(New([]float64{1, 2}, 0)); s.Accuracy() != 2 {
		t.Errorf("extrapolation to 0 from nodes 1, 2: %v", s)
	}
}

// TestNewMemoized: asking again for a stencil built before returns it
// without recomputing (no allocation: the exact recurrence makes dozens of
// big.Rat values), and it is the same stencil; a mutated copy of the
// caller's nodes does not reach the memo.
func TestNewMemoized(t *testing.T) {
	nodes := []float64{-2, -1, 1, 2.5}
	a, err := New(nodes, 1)
	if err != nil {
		t.Fatal(err)
	}
	nodes[3] = 3 // the memo keeps its own copy
	if allocs := testing.AllocsPerRun(10, func() { New([]float64{-2, -1, 1, 2.5}, 1) }); allocs > 1 {
		t.Errorf("New of a memoized stencil allocates %v times", allocs)
	}
	b, _ := New([]float64{-2, -1, 1, 2.5}, 1)
	if !slices.Equal(a.Weights(), b.Weights()) || !slices.Equal(a.Nodes(), b.Nodes()) {
		t.Errorf("memoized stencil %v differs from %v", b, a)
	}
	c, _ := New(nodes, 1)
	if slices.Equal(c.Nodes(), a.Nodes()) {
		t.Error("changed nodes returned the memoized stencil")
	}
}
