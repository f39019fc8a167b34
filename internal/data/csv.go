package data

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/fdsm/fdsm/internal/infile"
	"github.com/fdsm/fdsm/tensor"
)

// CSVOptions selects the columns of a CSV table. A column is named by its
// header name or, if no header matches, by its 0-based index written in
// decimal ("3"). The zero value (or nil) selects every column.
type CSVOptions struct {
	// Columns lists the columns to keep, in the order wanted; empty means
	// all, in file order.
	Columns []string
	// Drop lists columns to leave out (after Columns has selected).
	Drop []string
}

// Table is a numeric table read from CSV.
type Table struct {
	// Columns holds the header names of the selected columns, in order.
	Columns []string
	// Data is a float64 [rows, len(Columns)] tensor.
	Data *tensor.Tensor
}

// LoadCSV reads a CSV file with ReadCSV; errors start with path. Only a
// regular file is read.
func LoadCSV(path string, opts *CSVOptions) (*Table, error) {
	f, _, err := infile.Open(path) // a regular file: a device has no end
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadCSV(f, path, opts)
}

// ReadCSV reads a comma-separated table whose first row is a header of
// column names and whose other rows are numbers, keeping the columns opts
// selects; only those need to be numeric. Every row must have as many fields
// as the header; blank lines are skipped; a UTF-8 byte-order mark is
// ignored. Numbers are parsed by strconv.ParseFloat after trimming spaces,
// and must be finite.
//
// Errors start with name and give the line (and column, where one is at
// fault), e.g. `winequality-red.csv: line 17, column "pH": "abc" is not a
// number`.
func ReadCSV(r io.Reader, name string, opts *CSVOptions) (*Table, error) {
	var o CSVOptions
	if opts != nil {
		o = *opts
	}
	fail := func(format string, args ...any) (*Table, error) {
		return nil, fmt.Errorf("%s: "+format, append([]any{name}, args...)...)
	}
	cr := csv.NewReader(&bomSkipper{r: r})
	cr.FieldsPerRecord = -1 // ragged rows get our message, which names the header's width
	cr.ReuseRecord = true

	header, err := cr.Read()
	if err == io.EOF {
		return fail("empty file (want a header row of column names)")
	}
	if err != nil {
		return nil, csvError(name, err)
	}
	header = append([]string(nil), header...)
	for i, h := range header {
		header[i] = dropCRBeforeLF(h)
	}
	if allNumbers(header) {
		return fail("line 1: header row missing (the first row holds only numbers)")
	}
	cols, err := selectColumns(header, o)
	if err != nil {
		return fail("%v", err)
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = header[c]
	}

	var vals []float64
	rows := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return fail("line %d: %s, but the header has %d", line, plural(len(rec), "field"), len(header))
		}
		for _, c := range cols {
			s := strings.TrimSpace(rec[c])
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
				line, _ := cr.FieldPos(c)
				what := "not a number"
				if err == nil || errors.Is(err, strconv.ErrRange) {
					what = "not a finite number"
				}
				return fail("line %d, column %q: %q is %s", line, infile.Cut(header[c]), infile.Cut(rec[c]), what)
			}
			vals = append(vals, v)
		}
		rows++
	}
	if rows == 0 {
		return fail("no data rows after the header")
	}
	return &Table{Columns: names, Data: tensor.FromFloat64(tensor.Float64, vals, rows, len(cols))}, nil
}

// dropCRBeforeLF removes the carriage returns before each line feed.
// encoding/csv drops one, so a quoted "a\r\r\nb" reads as "a\r\nb", which
// no CSV writer can write back (it reads as "a\nb"); without them a header
// name is the same name once written and read again.
func dropCRBeforeLF(s string) string {
	if !strings.Contains(s, "\r\n") {
		return s
	}
	b := make([]byte, 0, len(s))
	lf := false // s[i+1:] starts with a line feed, after the dropped returns
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\r' && lf {
			continue
		}
		lf = s[i] == '\n'
		b = append(b, s[i])
	}
	slices.Reverse(b)
	return string(b)
}

// csvError reports a syntax error of encoding/csv as "name: line L: …".
func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: line %d, character %d: %w", name, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// allNumbers reports whether every field parses as a number: then the file
// has no header row.
func allNumbers(fields []string) bool {
	for _, f := range fields {
		if _, err := strconv.ParseFloat(strings.TrimSpace(f), 64); err != nil {
			return false
		}
	}
	return true
}

// selectColumns returns the indices of the columns o keeps.
func selectColumns(header []string, o CSVOptions) ([]int, error) {
	var cols []int
	if len(o.Columns) == 0 {
		for i := range header {
			cols = append(cols, i)
		}
	} else {
		for _, spec := range o.Columns {
			c, err := findColumn(header, spec)
			if err != nil {
				return nil, err
			}
			cols = append(cols, c)
		}
	}
	for _, spec := range o.Drop {
		c, err := findColumn(header, spec)
		if err != nil {
			return nil, fmt.Errorf("drop: %w", err)
		}
		kept := cols[:0]
		for _, k := range cols {
			if k != c {
				kept = append(kept, k)
			}
		}
		cols = kept
	}
	if len(cols) == 0 {
		return nil, errors.New("no columns left to read")
	}
	return cols, nil
}

// findColumn resolves a column name, or failing that a decimal index.
func findColumn(header []string, spec string) (int, error) {
	found := -1
	for i, h := range header {
		if h == spec {
			if found >= 0 {
				return 0, fmt.Errorf("column name %q is ambiguous (columns %d and %d)", infile.Cut(spec), found, i)
			}
			found = i
		}
	}
	if found >= 0 {
		return found, nil
	}
	if i, err := strconv.Atoi(spec); err == nil {
		if i < 0 || i >= len(header) {
			return 0, fmt.Errorf("column index %d out of range (the header has %d columns)", i, len(header))
		}
		return i, nil
	}
	return 0, fmt.Errorf("unknown column %q (the header has %s)", infile.Cut(spec), quoteList(header))
}

// quoteList formats names as "a", "b", "c", shortened after a dozen, each
// cut to a few dozen characters.
func quoteList(names []string) string {
	const most = 12
	var b strings.Builder
	for i, n := range names {
		if i == most {
			fmt.Fprintf(&b, ", … (%d more)", len(names)-most)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(infile.Cut(n)))
	}
	return b.String()
}

// bomSkipper drops a leading UTF-8 byte-order mark, which spreadsheet
// programs write and encoding/csv would keep as part of the first name.
type bomSkipper struct {
	r       io.Reader
	checked bool
	pending []byte
}

func (b *bomSkipper) Read(p []byte) (int, error) {
	if !b.checked {
		b.checked = true
		head := make([]byte, 3)
		n, err := io.ReadFull(b.r, head)
		head = head[:n]
		if !bytes.Equal(head, []byte("\xef\xbb\xbf")) {
			b.pending = head
		}
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return 0, err
		}
	}
	if len(b.pending) > 0 {
		n := copy(p, b.pending)
		b.pending = b.pending[n:]
		return n, nil
	}
	return b.r.Read(p)
}

// plural returns "1 field", "2 fields".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
