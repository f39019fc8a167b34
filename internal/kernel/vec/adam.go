package vec

// Adam32 holds the float32 coefficients of one Adam step (see nn.Adam):
//
//	g' = g + L2·p;  m ← B1·m + OB1·g';  v ← B2·v + OB2·g'·g'
//	p ← p·Shrink − (Step·m)/(√v·Inv + Eps)
type Adam32 struct {
	L2, B1, OB1, B2, OB2, Inv, Eps, Shrink, Step float32
}

// Adam applies one Adam step to p, with gradient g and moment buffers m and
// v, in place. All four slices must have the same length.
func Adam(p, g, m, v []float32, c Adam32) {
	n := len(p)
	if len(g) != n || len(m) != n || len(v) != n {
		panic("vec: Adam slices of different lengths")
	}
	done := 0
	if useAVX && n >= 8 {
		done = n &^ 7
		adamAVX(&p[0], &g[0], &m[0], &v[0], done, &c)
	}
	adamGo(p[done:], g[done:], m[done:], v[done:], c)
}

// adamGo is the pure-Go kernel. The float32 conversions round each product
// before its sum, as the assembly does (Go may otherwise fuse a·b + c).
func adamGo(p, g, m, v []float32, c Adam32) {
	for i := range p {
		gi := g[i] + float32(c.L2*p[i])
		mi := float32(c.B1*m[i]) + float32(c.OB1*gi)
		vi := float32(c.B2*v[i]) + float32(float32(c.OB2*gi)*gi)
		m[i], v[i] = mi, vi
		den := float32(sqrt32(vi)*c.Inv) + c.Eps
		p[i] = float32(p[i]*c.Shrink) - float32(c.Step*mi)/den
	}
}
