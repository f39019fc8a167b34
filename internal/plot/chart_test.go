package plot

import (
	"bytes"
	"encoding/xml"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// node is a generic XML element, for inspecting the SVG.
type node struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []node     `xml:",any"`
	Text     string     `xml:",chardata"`
}

func (n *node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// all returns the elements below n (n included) with the given local name.
func (n *node) all(name string) []*node {
	var out []*node
	var walk func(*node)
	walk = func(m *node) {
		if m.XMLName.Local == name {
			out = append(out, m)
		}
		for i := range m.Children {
			walk(&m.Children[i])
		}
	}
	walk(n)
	return out
}

// group returns the first <g> with the given class.
func (n *node) group(class string) *node {
	for _, g := range n.all("g") {
		if g.attr("class") == class {
			return g
		}
	}
	return nil
}

// texts returns the text of the <text> elements below n.
func (n *node) texts() []string {
	var out []string
	for _, t := range n.all("text") {
		out = append(out, t.Text)
	}
	return out
}

// parseSVG checks that the chart is well-formed XML with an <svg> root.
func parseSVG(t *testing.T, data []byte) *node {
	t.Helper()
	var root node
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	if err := d.Decode(&root); err != nil {
		t.Fatalf("not well-formed XML: %v\n%s", err, data)
	}
	if root.XMLName.Local != "svg" || root.XMLName.Space != "http://www.w3.org/2000/svg" {
		t.Fatalf("root element %v, want svg", root.XMLName)
	}
	return &root
}

// subpaths parses a path's d attribute, "M x y L x y … M x y …", into runs
// of points.
func subpaths(t *testing.T, d string) [][][2]float64 {
	t.Helper()
	var runs [][][2]float64
	f := strings.Fields(d)
	for i := 0; i < len(f); i += 2 {
		if i+1 >= len(f) || len(f[i]) < 2 {
			t.Fatalf("bad path data %q", d)
		}
		cmd := f[i][0]
		x, err1 := strconv.ParseFloat(f[i][1:], 64)
		y, err2 := strconv.ParseFloat(f[i+1], 64)
		if err1 != nil || err2 != nil || (cmd != 'M' && cmd != 'L') || (cmd == 'L' && len(runs) == 0) {
			t.Fatalf("bad path data %q", d)
		}
		if cmd == 'M' {
			runs = append(runs, nil)
		}
		runs[len(runs)-1] = append(runs[len(runs)-1], [2]float64{x, y})
	}
	return runs
}

func TestLineChart(t *testing.T) {
	nasty := `a<b & "c" 'd'`
	series := []Series{
		{Name: "train", X: []float64{0, 10, 20, 30, 40}, Y: []float64{5, 3, 2, 1.5, 1.2}},
		{Name: nasty, X: []float64{0, 10, 20, 30, 40}, Y: []float64{6, 4, math.NaN(), 2, 1.9}},
		{Name: "", X: []float64{25}, Y: []float64{2.5}},
	}
	opts := ChartOptions{Title: "loss <fdsm>", XLabel: "wall-clock time (s)", YLabel: "loss", Width: 500, Height: 300}
	var buf bytes.Buffer
	if err := LineChart(&buf, series, opts); err != nil {
		t.Fatal(err)
	}
	out := buf.Bytes()
	root := parseSVG(t, out)
	if root.attr("width") != "500" || root.attr("height") != "300" {
		t.Errorf("size %s×%s, want 500×300", root.attr("width"), root.attr("height"))
	}

	var clip *node
	for _, c := range root.all("clipPath") {
		clip = c.all("rect")[0]
	}
	num := func(n *node, a string) float64 {
		v, err := strconv.ParseFloat(n.attr(a), 64)
		if err != nil {
			t.Fatalf("attribute %s=%q: %v", a, n.attr(a), err)
		}
		return v
	}
	cx, cy := num(clip, "x"), num(clip, "y")
	cw, ch := num(clip, "width"), num(clip, "height")

	var paths []*node
	for _, p := range root.all("path") {
		if p.attr("class") == "series" {
			paths = append(paths, p)
		}
	}
	if len(paths) != 3 {
		t.Fatalf("%d series paths, want 3", len(paths))
	}
	wantRuns := [][]int{{5}, {2, 2}, {1}} // the NaN breaks series 1
	colours := map[string]bool{}
	for k, p := range paths {
		runs := subpaths(t, p.attr("d"))
		var lens []int
		for _, r := range runs {
			lens = append(lens, len(r))
			for _, q := range r {
				if q[0] < cx-0.01 || q[0] > cx+cw+0.01 || q[1] < cy-0.01 || q[1] > cy+ch+0.01 {
					t.Errorf("series %d: point %v outside the plot area", k, q)
				}
			}
		}
		if !slices.Equal(lens, wantRuns[k]) {
			t.Errorf("series %d: runs of %v points, want %v", k, lens, wantRuns[k])
		}
		colours[p.attr("stroke")] = true
	}
	if len(colours) != 3 {
		t.Errorf("series colours %v are not distinct", colours)
	}
	// Series 0 decreases: larger y is higher on the page, so smaller SVG y.
	r := subpaths(t, paths[0].attr("d"))[0]
	for i := 1; i < len(r); i++ {
		if r[i][0] <= r[i-1][0] || r[i][1] <= r[i-1][1] {
			t.Errorf("series 0 points %v and %v are not ordered right and down", r[i-1], r[i])
		}
	}
	// The single point of series 2 is also drawn as a dot.
	if dots := root.all("circle"); len(dots) != 1 {
		t.Errorf("%d dots, want 1", len(dots))
	}

	legend := root.group("legend")
	if legend == nil {
		t.Fatal("no legend")
	}
	if got, want := legend.texts(), []string{"train", nasty, "series 3"}; !slices.Equal(got, want) {
		t.Errorf("legend %q, want %q", got, want)
	}
	if !bytes.Contains(out, []byte(`a&lt;b &amp; &quot;c&quot; &apos;d&apos;`)) {
		t.Error("legend text not escaped")
	}
	all := strings.Join(root.texts(), "|")
	for _, s := range []string{"loss <fdsm>", "wall-clock time (s)", "|loss|"} {
		if !strings.Contains(all, s) {
			t.Errorf("text %q missing from %q", s, all)
		}
	}
	// The x axis ends on nice values covering [0, 40].
	xt := root.group("xticks").texts()
	if len(xt) < 3 || xt[0] != "0" || xt[len(xt)-1] != "40" {
		t.Errorf("x tick labels %q, want 0 … 40", xt)
	}
}

func TestLineChartLogY(t *testing.T) {
	series := []Series{{Name: "loss", X: []float64{1, 2, 3, 4, 5}, Y: []float64{10, 0.5, 0.002, -1, 0.01}}}
	var buf bytes.Buffer
	if err := LineChart(&buf, series, ChartOptions{LogY: true}); err != nil {
		t.Fatal(err)
	}
	root := parseSVG(t, buf.Bytes())
	if got, want := root.group("yticks").texts(), []string{"0.001", "0.01", "0.1", "1", "10"}; !slices.Equal(got, want) {
		t.Errorf("y tick labels %q, want %q", got, want)
	}
	var d string
	for _, p := range root.all("path") {
		if p.attr("class") == "series" {
			d = p.attr("d")
		}
	}
	runs := subpaths(t, d)
	if len(runs) != 2 || len(runs[0]) != 3 || len(runs[1]) != 1 {
		t.Fatalf("runs %v, want 3 points, then 1 after the skipped y = −1", runs)
	}
	// Equal ratios are equal distances: 10 → 0.5 → 0.002 (factors 20, 250).
	d1 := runs[0][1][1] - runs[0][0][1]
	d2 := runs[0][2][1] - runs[0][1][1]
	// The SVG holds coordinates to 0.01, so compare the ratio to 1e-3.
	if want := math.Log(250) / math.Log(20); math.Abs(d2/d1-want) > 1e-3 {
		t.Errorf("log spacing ratio %g, want %g", d2/d1, want)
	}
}

func TestLineChartOddInput(t *testing.T) {
	// Control characters and invalid UTF-8 cannot appear in XML; nothing
	// drawable; many series. The output must still be well-formed.
	var series []Series
	for k := range 12 {
		series = append(series, Series{Name: "s" + strconv.Itoa(k) + "\x01\xff", X: []float64{math.NaN()}, Y: []float64{1}})
	}
	var buf bytes.Buffer
	if err := LineChart(&buf, series, ChartOptions{Title: "\x00bad\x1b", LogY: true}); err != nil {
		t.Fatal(err)
	}
	root := parseSVG(t, buf.Bytes())
	if got := root.group("legend").texts()[0]; got != "s0\uFFFD\uFFFD" {
		t.Errorf("legend text %q, want s0 and two U+FFFD", got)
	}
	// Twelve series: colours repeat after ten, but dashed.
	styles := map[string]bool{}
	for _, p := range root.all("path") {
		styles[p.attr("stroke")+"/"+p.attr("stroke-dasharray")] = true
	}
	if len(styles) != 12 {
		t.Errorf("%d distinct series styles, want 12", len(styles))
	}
}

func TestLineChartErrors(t *testing.T) {
	ok := []Series{{X: []float64{1}, Y: []float64{1}}}
	tests := []struct {
		name   string
		series []Series
		opts   ChartOptions
		msg    string
	}{
		{"no series", nil, ChartOptions{}, "no series"},
		{"lengths", []Series{{Name: "a", X: []float64{1, 2}, Y: []float64{1}}}, ChartOptions{}, "2 x values and 1 y"},
		{"empty series", []Series{{Name: "a"}}, ChartOptions{}, "is empty"},
		{"negative size", ok, ChartOptions{Width: -5}, "not positive"},
		{"too small", ok, ChartOptions{Width: 30, Height: 30}, "no room"},
		{"too wide", []Series{{X: []float64{-math.MaxFloat64, math.MaxFloat64}, Y: []float64{1, 2}}}, ChartOptions{}, "too wide"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		err := LineChart(&buf, tt.series, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err = %v, want one containing %q", tt.name, err, tt.msg)
		}
	}
}

// TestLineChartLegendAvoidsCurves: the legend goes to the corner of the
// plot the curves leave free, the top right when it is free: a falling
// curve keeps it there, a rising one (through the top right and the bottom
// left) sends it to the top left, and one along the top, with the other
// along the bottom edge, to the bottom right.
func TestLineChartLegendAvoidsCurves(t *testing.T) {
	xs := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	line := func(f func(x float64) float64) []float64 {
		ys := make([]float64, len(xs))
		for i, x := range xs {
			ys[i] = f(x)
		}
		return ys
	}
	cases := []struct {
		name       string
		ys         []float64
		flat       float64 // the level of a second, flat series
		right, top bool
	}{
		{"falling", line(func(x float64) float64 { return 10 - x }), 5, true, true},
		{"rising", line(func(x float64) float64 { return x }), 5, false, true},
		{"along the top", line(func(x float64) float64 { return 7 }), 0, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			opts := ChartOptions{Width: 500, Height: 300}
			if err := LineChart(&buf, []Series{{Name: "curve", X: xs, Y: c.ys}, {Name: "flat", X: []float64{0, 10}, Y: []float64{c.flat, c.flat}}}, opts); err != nil {
				t.Fatal(err)
			}
			root := parseSVG(t, buf.Bytes())
			box := root.group("legend").all("rect")[0]
			frame := root.all("clipPath")[0].all("rect")[0]
			get := func(n *node, a string) float64 {
				v, err := strconv.ParseFloat(n.attr(a), 64)
				if err != nil {
					t.Fatalf("attribute %s=%q: %v", a, n.attr(a), err)
				}
				return v
			}
			mx := get(frame, "x") + get(frame, "width")/2
			my := get(frame, "y") + get(frame, "height")/2
			right, top := get(box, "x") > mx, get(box, "y") < my
			if right != c.right || top != c.top {
				t.Errorf("legend at (%v, %v): right %v top %v, want right %v top %v", box.attr("x"), box.attr("y"), right, top, c.right, c.top)
			}
		})
	}
}
