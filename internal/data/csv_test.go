package data

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/tensor"
)

// wineRed is the UCI red-wine table, which the tests use when it is there:
// in $FDSM_UCI, else where fdsm experiment uci looks by default (EXPERIMENTS.md,
// "The UCI data", says where to download it).
var wineRed = func() string {
	dir := os.Getenv("FDSM_UCI")
	if dir == "" {
		if c, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(c, "fdsm", "uci")
		}
	}
	return filepath.Join(dir, "winequality-red.csv")
}()

// needWine skips a test when wineRed is absent, saying how to provide it.
func needWine(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(wineRed); err != nil {
		t.Skipf("no UCI wine data (%v): set FDSM_UCI to the directory holding winequality-red.csv (EXPERIMENTS.md, \"The UCI data\")", err)
	}
}

// wineHead is the start of winequality-red.csv, so that tests and fuzz seeds
// do not depend on the file being present.
const wineHead = `fixedacidity,volatileacidity,citricacid,residualsugar,chlorides,freesulfurdioxide,totalsulfurdioxide,density,pH,sulphates,alcohol,quality
7.4,0.7,0,1.9,0.076,11,34,0.9978,3.51,0.56,9.4,5
7.8,0.88,0,2.6,0.098,25,67,0.9968,3.2,0.68,9.8,5
7.8,0.76,0.04,2.3,0.092,15,54,0.997,3.26,0.65,9.8,5
11.2,0.28,0.56,1.9,0.075,17,60,0.998,3.16,0.58,9.8,6
7.4,0.7,0,1.9,0.076,11,34,0.9978,3.51,0.56,9.4,5
`

func TestLoadCSVWine(t *testing.T) {
	needWine(t)
	all, err := LoadCSV(wineRed, nil)
	if err != nil {
		t.Fatal(err)
	}
	if all.Data.Dim(0) != 1599 || all.Data.Dim(1) != 12 || len(all.Columns) != 12 || all.Columns[11] != "quality" {
		t.Fatalf("winequality-red.csv: %v %v, want 1599 rows of 12 columns ending in quality", all.Data.Shape(), all.Columns)
	}
	noQ, err := LoadCSV(wineRed, &CSVOptions{Drop: []string{"quality"}})
	if err != nil {
		t.Fatal(err)
	}
	if noQ.Data.Dim(1) != 11 || noQ.Columns[10] != "alcohol" {
		t.Fatalf("dropping quality left %v", noQ.Columns)
	}
	// The last row of the file: 6,0.31,0.47,3.6,0.067,18,42,0.99549,3.39,0.66,11,6.
	last := all.Data.ToFloat64()[1598*12:]
	if last[0] != 6 || last[7] != 0.99549 || last[11] != 6 {
		t.Errorf("last row %v", last)
	}
}

func TestReadCSV(t *testing.T) {
	for _, c := range []struct {
		name string
		opts *CSVOptions
		cols []string
		data []float64
	}{
		{"all", nil, []string{"fixedacidity", "volatileacidity", "citricacid", "residualsugar", "chlorides", "freesulfurdioxide", "totalsulfurdioxide", "density", "pH", "sulphates", "alcohol", "quality"}, nil},
		{"by name", &CSVOptions{Columns: []string{"pH", "alcohol"}}, []string{"pH", "alcohol"}, []float64{3.51, 9.4, 3.2, 9.8, 3.26, 9.8, 3.16, 9.8, 3.51, 9.4}},
		{"by index", &CSVOptions{Columns: []string{"11", "0"}}, []string{"quality", "fixedacidity"}, []float64{5, 7.4, 5, 7.8, 5, 7.8, 6, 11.2, 5, 7.4}},
		{"drop", &CSVOptions{Columns: []string{"pH", "quality", "alcohol"}, Drop: []string{"quality", "8"}}, []string{"alcohol"}, []float64{9.4, 9.8, 9.8, 9.8, 9.4}},
	} {
		tab, err := ReadCSV(strings.NewReader(wineHead), "wine.csv", c.opts)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if strings.Join(tab.Columns, ",") != strings.Join(c.cols, ",") {
			t.Errorf("%s: columns %v, want %v", c.name, tab.Columns, c.cols)
		}
		if tab.Data.DType() != tensor.Float64 || tab.Data.Dim(0) != 5 || tab.Data.Dim(1) != len(c.cols) {
			t.Fatalf("%s: data %v %v", c.name, tab.Data.DType(), tab.Data.Shape())
		}
		if c.data != nil {
			for i, v := range tab.Data.ToFloat64() {
				if v != c.data[i] {
					t.Errorf("%s: element %d = %v, want %v", c.name, i, v, c.data[i])
				}
			}
		}
	}

	// Only the selected columns need be numeric; a byte-order mark, spaces
	// around numbers, quotes and CRLF line ends are fine; a header name that
	// looks like an index wins over the index.
	in := "\xef\xbb\xbfid,1,x\r\nfoo, 2 ,\"3\"\r\n\r\nbar,4e1,-0.5\r\n"
	tab, err := ReadCSV(strings.NewReader(in), "t.csv", &CSVOptions{Columns: []string{"1", "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := tab.Data.ToFloat64(); len(got) != 4 || got[0] != 2 || got[1] != 3 || got[2] != 40 || got[3] != -0.5 {
		t.Errorf("got %v %v, want [2 3 40 -0.5]", tab.Columns, got)
	}
	if tab.Columns[0] != "1" {
		t.Errorf("columns %q: the byte-order mark or the name lookup went wrong", tab.Columns)
	}
	if _, err := ReadCSV(strings.NewReader(in), "t.csv", &CSVOptions{Columns: []string{"id"}}); err == nil ||
		err.Error() != `t.csv: line 2, column "id": "foo" is not a number` {
		t.Errorf("text column: %v", err)
	}
}

// csvErrorCases are malformed tables and the errors they must give; the
// fuzz target starts from them too.
var csvErrorCases = []struct {
	name, in string
	opts     *CSVOptions
	want     string
}{
	{"empty", "", nil, "t.csv: empty file (want a header row of column names)"},
	{"blank lines", "\n\n\r\n", nil, "t.csv: empty file (want a header row of column names)"},
	{"no header", "1,2,3\n4,5,6\n", nil, "t.csv: line 1: header row missing (the first row holds only numbers)"},
	{"header only", "a,b\n", nil, "t.csv: no data rows after the header"},
	{"not a number", "a,pH\n1,2\n3,abc\n", nil, `t.csv: line 3, column "pH": "abc" is not a number`},
	{"empty field", "a,b\n1,\n", nil, `t.csv: line 2, column "b": "" is not a number`},
	{"NaN", "a,b\n1,NaN\n", nil, `t.csv: line 2, column "b": "NaN" is not a finite number`},
	{"Inf", "a,b\n-inf,1\n", nil, `t.csv: line 2, column "a": "-inf" is not a finite number`},
	{"overflow", "a,b\n1,1e999\n", nil, `t.csv: line 2, column "b": "1e999" is not a finite number`},
	{"short row", "a,b\n1,2\n3\n", nil, "t.csv: line 3: 1 field, but the header has 2"},
	{"long row", "a,b\n1,2,3\n", nil, "t.csv: line 2: 3 fields, but the header has 2"},
	{"line count after a quoted newline", "a,b\n\"1\n\",2\n\n3,x\n", nil, `t.csv: line 5, column "b": "x" is not a number`},
	{"bare quote", "a,b\n1,2\"\n", nil, `t.csv: line 2, character 4: bare " in non-quoted-field`},
	{"unterminated quote", "a,b\n1,\"2\n", nil, `t.csv: line 2, character 6: extraneous or missing " in quoted-field`},
	{"unknown column", "a,b\n1,2\n", &CSVOptions{Columns: []string{"c"}}, `t.csv: unknown column "c" (the header has "a", "b")`},
	{"unknown drop", "a,b\n1,2\n", &CSVOptions{Drop: []string{"quality"}}, `t.csv: drop: unknown column "quality" (the header has "a", "b")`},
	{"index out of range", "a,b\n1,2\n", &CSVOptions{Columns: []string{"2"}}, "t.csv: column index 2 out of range (the header has 2 columns)"},
	{"negative index", "a,b\n1,2\n", &CSVOptions{Columns: []string{"-1"}}, "t.csv: column index -1 out of range (the header has 2 columns)"},
	{"ambiguous", "a,b,a\n1,2,3\n", &CSVOptions{Columns: []string{"a"}}, `t.csv: column name "a" is ambiguous (columns 0 and 2)`},
	{"nothing left", "a,b\n1,2\n", &CSVOptions{Drop: []string{"a", "b"}}, "t.csv: no columns left to read"},
}

func TestReadCSVErrors(t *testing.T) {
	for _, c := range csvErrorCases {
		tab, err := ReadCSV(strings.NewReader(c.in), "t.csv", c.opts)
		if err == nil || err.Error() != c.want || tab != nil {
			t.Errorf("%s: got %v, %v; want the error\n\t%s", c.name, tab, err, c.want)
		}
	}
	// Long headers are shortened in the message.
	var hdr []string
	for i := range 20 {
		hdr = append(hdr, "c"+strconv.Itoa(i))
	}
	_, err := ReadCSV(strings.NewReader(strings.Join(hdr, ",")+"\n"), "t.csv", &CSVOptions{Columns: []string{"z"}})
	if err == nil || !strings.HasSuffix(err.Error(), `"c11", … (8 more))`) {
		t.Errorf("long header: %v", err)
	}
}

func TestLoadCSVErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "winequality-red.csv")
	os.WriteFile(path, []byte(wineHead+strings.Replace(strings.Split(wineHead, "\n")[1], "3.51", "abc", 1)+"\n"), 0o644)
	_, err := LoadCSV(path, nil)
	if want := path + `: line 7, column "pH": "abc" is not a number`; err == nil || err.Error() != want {
		t.Errorf("LoadCSV error %v, want %s", err, want)
	}
	missing := filepath.Join(dir, "missing.csv")
	if _, err := LoadCSV(missing, nil); err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadCSV(missing) error %v, want a not-exist error naming the path", err)
	}
}

// writeCSV formats a table as CSV with the shortest decimal that reads back
// as the same float64. Header names are always quoted: csv.Writer writes a
// lone empty name as a blank line, which readers skip (the fuzzer's
// testdata/fuzz/FuzzCSV/f709ffc7b5ef44ee).
func writeCSV(tab *Table) []byte {
	var b bytes.Buffer
	for j, name := range tab.Columns {
		if j > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + strings.ReplaceAll(name, `"`, `""`) + `"`)
	}
	b.WriteByte('\n')
	w := csv.NewWriter(&b)
	d := len(tab.Columns)
	xs := tab.Data.ToFloat64()
	row := make([]string, d)
	for i := 0; i < len(xs); i += d {
		for j := range d {
			row[j] = strconv.FormatFloat(xs[i+j], 'g', -1, 64)
		}
		w.Write(row)
	}
	w.Flush()
	return b.Bytes()
}

// FuzzCSV checks that ReadCSV never panics, that its errors name the file,
// and that what it accepts is a finite table that survives a write and a
// read, also when the columns are selected by index in reverse order.
func FuzzCSV(f *testing.F) {
	f.Add([]byte(wineHead))
	f.Add([]byte("\xef\xbb\xbfa,b\r\n1,2\r\n"))
	f.Add([]byte("x\n\"1\"\n0x1p-3\n"))
	for _, c := range csvErrorCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		tab, err := ReadCSV(bytes.NewReader(in), "f.csv", nil)
		if err != nil {
			if tab != nil || !strings.HasPrefix(err.Error(), "f.csv: ") {
				t.Fatalf("ReadCSV: table %v with error %q", tab, err)
			}
			return
		}
		n, d := tab.Data.Dim(0), tab.Data.Dim(1)
		if n == 0 || d != len(tab.Columns) || tab.Data.HasNaNOrInf() {
			t.Fatalf("ReadCSV: %d×%d data for columns %q, finite: %v", n, d, tab.Columns, !tab.Data.HasNaNOrInf())
		}
		again, err := ReadCSV(bytes.NewReader(writeCSV(tab)), "f.csv", nil)
		if err != nil {
			t.Fatalf("re-reading a written table: %v", err)
		}
		if !sameTable(tab, again) {
			t.Fatalf("write and read changed the table:\n%q %v\n%q %v", tab.Columns, tab.Data, again.Columns, again.Data)
		}
		// Select every column by index, last first, unless a name looks
		// like an index (names win).
		var rev []string
		for j := d - 1; j >= 0; j-- {
			rev = append(rev, strconv.Itoa(j))
		}
		for _, name := range tab.Columns {
			if _, err := strconv.Atoi(name); err == nil {
				return
			}
		}
		back, err := ReadCSV(bytes.NewReader(in), "f.csv", &CSVOptions{Columns: rev})
		if err != nil {
			t.Fatalf("selecting columns %v: %v", rev, err)
		}
		xs, bs := tab.Data.ToFloat64(), back.Data.ToFloat64()
		for i := range n {
			for j := range d {
				if xs[i*d+j] != bs[i*d+d-1-j] {
					t.Fatalf("row %d: column %d is %v, reversed selection gives %v", i, j, xs[i*d+j], bs[i*d+d-1-j])
				}
			}
		}
	})
}

func sameTable(a, b *Table) bool {
	if strings.Join(a.Columns, "\x00") != strings.Join(b.Columns, "\x00") || !a.Data.SameShape(b.Data) {
		return false
	}
	bs := b.Data.ToFloat64()
	for i, v := range a.Data.ToFloat64() {
		if v != bs[i] && !(v == 0 && bs[i] == 0) || math.Signbit(v) != math.Signbit(bs[i]) {
			return false
		}
	}
	return true
}
