package plot

import (
	"image"
	"image/color"
	"slices"
	"strings"
	"testing"
)

// render draws s with draw into a blank image of the given size and returns
// its ink as rows of '#' and '.'.
func render(w, h int, draw func(img *image.NRGBA)) []string {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw(img)
	rows := make([]string, h)
	for y := range h {
		var b strings.Builder
		for x := range w {
			if img.NRGBAAt(x, y).A != 0 {
				b.WriteByte('#')
			} else {
				b.WriteByte('.')
			}
		}
		rows[y] = b.String()
	}
	return rows
}

func TestDrawText(t *testing.T) {
	red := color.NRGBA{0xff, 0, 0, 0xff}
	// "F7" is asymmetric both ways, so a mirrored or flipped glyph, or a
	// wrong advance (one blank column between glyphs), shows. The rows are
	// the glyphs drawn for font.go.
	want := []string{
		"#####.#####",
		"#.........#",
		"#........#.",
		"####....#..",
		"#......#...",
		"#......#...",
		"#......#...",
		"...........",
		"...........",
	}
	got := render(11, 9, func(img *image.NRGBA) { drawText(img, 0, 0, "F7", 1, red) })
	if !slices.Equal(got, want) {
		t.Errorf("drawText(\"F7\"):\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if w := textWidth("F7", 1); w != 11 {
		t.Errorf("textWidth(\"F7\", 1) = %d, want 11", w)
	}

	// Turned a quarter turn counter-clockwise, "F" reads upwards: its top
	// row becomes the left column, its left column the bottom row.
	wantUp := []string{
		"#........",
		"#..#.....",
		"#..#.....",
		"#..#.....",
		"#######..",
	}
	got = render(9, 5, func(img *image.NRGBA) { drawTextUp(img, 0, 5, "F", 1, red) })
	if !slices.Equal(got, wantUp) {
		t.Errorf("drawTextUp(\"F\"):\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantUp, "\n"))
	}

	// At scale 2 each font pixel is a 2×2 square.
	got = render(4, 4, func(img *image.NRGBA) { drawText(img, 0, 0, "F", 2, red) })
	if want := []string{"####", "####", "##..", "##.."}; !slices.Equal(got, want) {
		t.Errorf("drawText(\"F\", scale 2) top left:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestFontTable(t *testing.T) {
	// Every printable character but the space has ink, fits in glyphW
	// columns, and differs from every other: a row typed twice or a glyph
	// left out would show here.
	seen := map[glyph]rune{}
	for r := rune(33); r <= 126; r++ {
		g := glyphOf(r)
		if g == (glyph{}) {
			t.Errorf("glyph %q is blank", r)
		}
		for _, bits := range g {
			if bits >= 1<<glyphW {
				t.Errorf("glyph %q is wider than %d columns", r, glyphW)
			}
		}
		if o, ok := seen[g]; ok {
			t.Errorf("glyphs %q and %q are the same", o, r)
		}
		seen[g] = r
	}
	for r, g := range extraGlyphs {
		if o, ok := seen[g]; ok && r != '−' { // − is drawn as -
			t.Errorf("glyphs %q and %q are the same", o, r)
		}
	}
	if glyphOf(' ') != (glyph{}) {
		t.Error("the space has ink")
	}
	if glyphOf('€') != glyphOf('?') || glyphOf('σ') == glyphOf('?') {
		t.Error("a rune outside the font is not drawn as '?', or σ is missing")
	}
}

func TestWrapText(t *testing.T) {
	// A width of 35 pixels holds (35 + 1)/6 = 6 characters at scale 1.
	tests := []struct {
		s     string
		width int
		want  []string
	}{
		{"", 35, nil},
		{"ab cd ef", 35, []string{"ab cd", "ef"}},
		{"abcdef", 35, []string{"abcdef"}},
		{"abcdefghij x", 35, []string{"abcdef", "ghij x"}}, // a long word is cut
		{"ab\ncd", 35, []string{"ab", "cd"}},
		{"ab  cd", 35, []string{"ab cd"}},
		{"σσσ σσ", 35, []string{"σσσ σσ"}}, // runes, not bytes
		{"ab cd", 70, []string{"ab cd"}},
	}
	for _, tt := range tests {
		if got := wrapText(tt.s, tt.width, 1); !slices.Equal(got, tt.want) {
			t.Errorf("wrapText(%q, %d) = %q, want %q", tt.s, tt.width, got, tt.want)
		}
	}
	if got := wrapText("ab cd", 35, 2); !slices.Equal(got, []string{"ab", "cd"}) {
		t.Errorf("wrapText at scale 2 = %q, want [ab cd]", got)
	}
}
