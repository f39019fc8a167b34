package tensor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The NumPy .npy format (numpy.lib.format):
//
//	6 bytes    magic "\x93NUMPY"
//	2 bytes    version major, minor: 1.0, 2.0 or 3.0
//	2|4 bytes  header length H, little-endian uint16 (1.0) or uint32 (2.0, 3.0)
//	H bytes    a Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
//	           padded with spaces and ended by '\n' so the data starts at a multiple of 64;
//	           latin-1 in 1.0 and 2.0, UTF-8 in 3.0
//	rest       the elements
const npyMagic = "\x93NUMPY"

// npyAlign is where numpy starts the data: a multiple of 64 bytes.
const npyAlign = 64

// npyGrowthDigits is numpy's GROWTH_AXIS_MAX_DIGITS: numpy leaves room in the
// header for the first dimension to grow to 21 digits, so that a file can be
// appended to in place. Writing the same spaces makes our files byte-identical
// to np.save's.
const npyGrowthDigits = 21

// npyMaxDepth bounds the nesting of the header literal, so that a header of
// many '(' cannot exhaust the stack.
const npyMaxDepth = 32

// EncodeNpy writes t to w as a NumPy .npy file (version 1.0, or 2.0 if the
// header does not fit in 1.0), byte for byte what np.save writes for a
// little-endian C-order float32 ('<f4') or float64 ('<f8') array of t's shape.
func EncodeNpy(w io.Writer, t *Tensor) error {
	if err := checkTensorForWrite(t); err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	descr := "<f4"
	if t.dtype == Float64 {
		descr = "<f8"
	}
	var dict strings.Builder
	fmt.Fprintf(&dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, pyShapeRepr(t.shape))
	if len(t.shape) > 0 {
		dict.WriteString(strings.Repeat(" ", max(0, npyGrowthDigits-len(strconv.Itoa(t.shape[0])))))
	}
	// numpy's _wrap_header: the dict, then 1 to 64 spaces and '\n', so that
	// magic + version + length field + header is a multiple of 64.
	var prefix []byte
	for _, lenSize := range []int{2, 4} {
		hlen := dict.Len() + 1
		pad := npyAlign - (len(npyMagic)+2+lenSize+hlen)%npyAlign
		total := hlen + pad
		if lenSize == 2 && total > math.MaxUint16 {
			continue
		}
		if uint64(total) > math.MaxUint32 {
			return fmt.Errorf("npy: shape %v makes a header of %d bytes, too large", t.shape, total)
		}
		prefix = append([]byte(npyMagic), 1, 0)
		if lenSize == 2 {
			prefix = binary.LittleEndian.AppendUint16(prefix, uint16(total))
		} else {
			prefix[6] = 2
			prefix = binary.LittleEndian.AppendUint32(prefix, uint32(total))
		}
		prefix = append(prefix, dict.String()...)
		prefix = append(prefix, bytes.Repeat([]byte{' '}, pad)...)
		prefix = append(prefix, '\n')
		break
	}
	if _, err := w.Write(prefix); err != nil {
		return err
	}
	return writeTensorData(w, t)
}

// pyShapeRepr formats shape as Python's repr of a tuple: (), (5,), (2, 3).
func pyShapeRepr(shape []int) string {
	switch len(shape) {
	case 0:
		return "()"
	case 1:
		return "(" + strconv.Itoa(shape[0]) + ",)"
	}
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// DecodeNpy parses a whole .npy file held in data (versions 1.0, 2.0 and 3.0)
// into a new tensor.
//
// The dtype must be '<f4' or '<f8' (little-endian float32 or float64) and
// fortran_order False; the shape may be () for a scalar. The header dict must
// have exactly the keys descr, fortran_order and shape, in any order, with
// single or double quotes. The data must be exactly as long as the shape
// says. Storage is allocated only after that has been checked.
func DecodeNpy(data []byte) (*Tensor, error) {
	return decodeNpy(memSource(data))
}

// decodeNpy is DecodeNpy reading from src: the fixed prefix, then the
// header, then, once the shape has been checked against src's size, the
// data.
func decodeNpy(src source) (*Tensor, error) {
	size := src.size()
	pre, err := src.at(0, min(size, int64(len(npyMagic))+6))
	if err != nil {
		return nil, fmt.Errorf("npy: reading the magic: %w", err)
	}
	if !bytes.HasPrefix(pre, []byte(npyMagic)) {
		return nil, errors.New(`npy: not a .npy file (missing magic "\x93NUMPY")`)
	}
	if len(pre) < len(npyMagic)+2 {
		return nil, errors.New("npy: file truncated in the version")
	}
	major, minor := pre[6], pre[7]
	var hlen, start int64
	switch {
	case major == 1 && minor == 0:
		if len(pre) < 10 {
			return nil, errors.New("npy: file truncated in the header length")
		}
		hlen, start = int64(binary.LittleEndian.Uint16(pre[8:])), 10
	case (major == 2 || major == 3) && minor == 0:
		if len(pre) < 12 {
			return nil, errors.New("npy: file truncated in the header length")
		}
		hlen, start = int64(binary.LittleEndian.Uint32(pre[8:])), 12
	default:
		return nil, fmt.Errorf("npy: unsupported format version %d.%d (want 1.0, 2.0 or 3.0)", major, minor)
	}
	if hlen > size-start {
		return nil, fmt.Errorf("npy: header length %d past the end of data (%d bytes follow the length)", hlen, size-start)
	}
	header, err := src.at(start, hlen)
	if err != nil {
		return nil, fmt.Errorf("npy: reading the header: %w", err)
	}
	if major == 3 && !utf8.Valid(header) {
		return nil, errors.New("npy: version 3.0 header is not valid UTF-8")
	}
	dt, shape, err := parseNpyHeader(header)
	if err != nil {
		return nil, err
	}
	nbytes, ok := shapeBytes(shape, dt)
	if !ok {
		return nil, fmt.Errorf("npy: shape %v overflows: too many elements", shape)
	}
	if err := checkDims(shape, size); err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	body := size - start - hlen
	if body < int64(nbytes) {
		return nil, fmt.Errorf("npy: data truncated: shape %v of %v needs %d bytes, got %d", shape, dt, nbytes, body)
	}
	if body > int64(nbytes) {
		return nil, fmt.Errorf("npy: %d bytes of trailing data after the %d bytes that shape %v of %v needs", body-int64(nbytes), nbytes, shape, dt)
	}
	b, err := src.at(start+hlen, body)
	if err != nil {
		return nil, fmt.Errorf("npy: reading the data: %w", err)
	}
	t := alloc(dt, shape)
	readTensorData(t, b)
	return t, nil
}

// SaveNpy writes t to the file at path as .npy (see EncodeNpy), atomically
// (see WriteFileAtomic): on error an existing file is left as it was. Errors
// start with path.
func SaveNpy(path string, t *Tensor) error {
	return WriteFileAtomic(path, func(w io.Writer) error { return EncodeNpy(w, t) })
}

// LoadNpy reads the .npy file at path (see DecodeNpy). Only a regular file is
// read, its header before its data, so that what is allocated is bounded by
// the file's size. Errors start with path.
func LoadNpy(path string) (*Tensor, error) {
	src, done, err := openSource(path)
	if err != nil {
		return nil, err
	}
	defer done()
	t, err := decodeNpy(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// parseNpyHeader parses the header dict and checks its three entries.
func parseNpyHeader(header []byte) (DType, []int, error) {
	p := &pyParser{s: header}
	p.skipSpace()
	if p.pos >= len(p.s) || p.s[p.pos] != '{' {
		return 0, nil, p.errorf("header is not a dict")
	}
	v, err := p.value()
	if err != nil {
		return 0, nil, err
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return 0, nil, p.errorf("unexpected %s after the dict", p.describe())
	}
	var descr, order, shape *pyValue
	for i, k := range v.keys {
		switch k {
		case "descr":
			descr = &v.items[i]
		case "fortran_order":
			order = &v.items[i]
		case "shape":
			shape = &v.items[i]
		default:
			return 0, nil, fmt.Errorf("npy: header has unexpected key %q (want descr, fortran_order and shape)", truncateForError([]byte(k)))
		}
	}
	switch {
	case descr == nil:
		return 0, nil, errors.New("npy: header is missing key 'descr'")
	case order == nil:
		return 0, nil, errors.New("npy: header is missing key 'fortran_order'")
	case shape == nil:
		return 0, nil, errors.New("npy: header is missing key 'shape'")
	}

	if descr.kind != pyStr {
		return 0, nil, fmt.Errorf("npy: descr is a %s: structured dtypes not supported (want '<f4' or '<f8')", descr.kind)
	}
	var dt DType
	switch d := descr.s; d {
	case "<f4":
		dt = Float32
	case "<f8":
		dt = Float64
	case ">f4", ">f8":
		return 0, nil, fmt.Errorf("npy: big-endian dtype '%s' not supported (want '<f4' or '<f8')", d)
	case "|f4", "|f8", "=f4", "=f8", "f4", "f8":
		return 0, nil, fmt.Errorf("npy: dtype '%s' not supported: byte order must be '<' (want '<f4' or '<f8')", d)
	default:
		return 0, nil, fmt.Errorf("npy: dtype '%s' not supported (want '<f4' or '<f8')", truncateForError([]byte(d)))
	}

	if order.kind != pyBool {
		return 0, nil, fmt.Errorf("npy: fortran_order is a %s, want True or False", order.kind)
	}
	if order.b {
		return 0, nil, errors.New("npy: fortran_order True not supported (want C order: save np.ascontiguousarray(a))")
	}

	if shape.kind != pyTuple {
		return 0, nil, fmt.Errorf("npy: shape is a %s, want a tuple such as (3, 4), (5,) or ()", shape.kind)
	}
	dims := make([]int, len(shape.items))
	for i, d := range shape.items {
		if d.kind != pyInt {
			return 0, nil, fmt.Errorf("npy: shape element %d is a %s, want an integer", i, d.kind)
		}
		if d.i < 0 {
			return 0, nil, fmt.Errorf("npy: shape has negative dimension %d", d.i)
		}
		dims[i] = d.i
	}
	return dt, dims, nil
}

// pyKind is the type of a parsed Python literal.
type pyKind uint8

const (
	pyStr pyKind = iota + 1
	pyInt
	pyBool
	pyNone
	pyTuple
	pyList
	pyDict
)

func (k pyKind) String() string {
	switch k {
	case pyStr:
		return "string"
	case pyInt:
		return "integer"
	case pyBool:
		return "bool"
	case pyNone:
		return "None"
	case pyTuple:
		return "tuple"
	case pyList:
		return "list"
	case pyDict:
		return "dict"
	}
	return "pyKind(" + strconv.Itoa(int(k)) + ")"
}

// pyValue is a parsed Python literal: the subset that .npy headers use
// (strings, integers, True/False/None, tuples, lists, dicts with string keys).
type pyValue struct {
	kind  pyKind
	s     string    // pyStr
	i     int       // pyInt
	b     bool      // pyBool
	items []pyValue // pyTuple, pyList; the values of a pyDict
	keys  []string  // pyDict
}

// pyParser is a recursive-descent parser for pyValue, strict about syntax so
// that garbage is rejected rather than half-understood.
type pyParser struct {
	s     []byte
	pos   int
	depth int
}

func (p *pyParser) errorf(format string, args ...any) error {
	return fmt.Errorf("npy: malformed header at byte %d: %s", p.pos, fmt.Sprintf(format, args...))
}

// describe names what is at the current position, for errors.
func (p *pyParser) describe() string {
	if p.pos >= len(p.s) {
		return "end of header"
	}
	r, _ := utf8.DecodeRune(p.s[p.pos:])
	return strconv.QuoteRune(r)
}

// skipSpace skips Python whitespace, which may appear anywhere between tokens
// inside brackets (and numpy pads the header with spaces and a '\n').
func (p *pyParser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			p.pos++
		default:
			return
		}
	}
}

func (p *pyParser) value() (pyValue, error) {
	p.skipSpace()
	if p.pos >= len(p.s) {
		return pyValue{}, p.errorf("unexpected end of header")
	}
	switch c := p.s[p.pos]; {
	case c == '\'' || c == '"':
		s, err := p.str()
		return pyValue{kind: pyStr, s: s}, err
	case c == '-' || c == '+' || ('0' <= c && c <= '9'):
		return p.integer()
	case c == '(' || c == '[' || c == '{':
		if p.depth >= npyMaxDepth {
			return pyValue{}, p.errorf("nested deeper than %d", npyMaxDepth)
		}
		p.depth++
		defer func() { p.depth-- }()
		switch c {
		case '(':
			return p.sequence(pyTuple, ')')
		case '[':
			return p.sequence(pyList, ']')
		}
		return p.dict()
	case 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_':
		start := p.pos
		for p.pos < len(p.s) && isPyIdentByte(p.s[p.pos]) {
			p.pos++
		}
		switch word := string(p.s[start:p.pos]); word {
		case "True":
			return pyValue{kind: pyBool, b: true}, nil
		case "False":
			return pyValue{kind: pyBool}, nil
		case "None":
			return pyValue{kind: pyNone}, nil
		default:
			p.pos = start
			return pyValue{}, p.errorf("unexpected name %q (only literals are allowed)", truncateForError([]byte(word)))
		}
	}
	return pyValue{}, p.errorf("unexpected %s", p.describe())
}

func isPyIdentByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_'
}

// str parses a single- or double-quoted string literal on one line. Of the
// escapes it accepts only \\, \', \" and \n, \t, \r: numpy never writes any.
func (p *pyParser) str() (string, error) {
	q := p.s[p.pos]
	start := p.pos
	p.pos++
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == q:
			p.pos++
			return b.String(), nil
		case c == '\n' || c == '\r':
			p.pos = start
			return "", p.errorf("unterminated string")
		case c == '\\':
			if p.pos+1 >= len(p.s) {
				p.pos = start
				return "", p.errorf("unterminated string")
			}
			switch e := p.s[p.pos+1]; e {
			case '\\', '\'', '"':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				return "", p.errorf("unsupported escape \\%c in string", e)
			}
			p.pos += 2
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	p.pos = start
	return "", p.errorf("unterminated string")
}

// integer parses an optionally signed decimal integer that fits in an int.
// A trailing L, which Python 2 wrote for longs ("(3L, 4L)" in old files that
// numpy still reads), is accepted.
func (p *pyParser) integer() (pyValue, error) {
	start := p.pos
	neg := false
	if c := p.s[p.pos]; c == '-' || c == '+' {
		neg = c == '-'
		p.pos++
		p.skipSpace() // Python allows "- 3" as a unary minus
	}
	digits := p.pos
	for p.pos < len(p.s) && '0' <= p.s[p.pos] && p.s[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == digits {
		return pyValue{}, p.errorf("expected digits, got %s", p.describe())
	}
	text := string(p.s[digits:p.pos])
	if len(text) > 1 && text[0] == '0' {
		p.pos = start
		return pyValue{}, p.errorf("integer %s has a leading zero", text)
	}
	if p.pos < len(p.s) && (p.s[p.pos] == 'L' || p.s[p.pos] == 'l') {
		p.pos++
	}
	if p.pos < len(p.s) && (isPyIdentByte(p.s[p.pos]) || p.s[p.pos] == '.') {
		return pyValue{}, p.errorf("unexpected %s in integer (only decimal integers are allowed)", p.describe())
	}
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil || v > math.MaxInt {
		p.pos = start
		return pyValue{}, p.errorf("integer %s is too large", truncateForError([]byte(text)))
	}
	if neg {
		v = -v
	}
	return pyValue{kind: pyInt, i: int(v)}, nil
}

// sequence parses a tuple or list after its opening bracket. Like Python, a
// parenthesized single value without a comma is that value, not a tuple:
// "(3)" is 3, "(3,)" is a tuple.
func (p *pyParser) sequence(kind pyKind, closer byte) (pyValue, error) {
	p.pos++ // the opening bracket
	v := pyValue{kind: kind, items: []pyValue{}}
	comma := false
	for {
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == closer {
			p.pos++
			if kind == pyTuple && len(v.items) == 1 && !comma {
				return v.items[0], nil
			}
			return v, nil
		}
		if len(v.items) > 0 && !comma {
			return pyValue{}, p.errorf("expected ',' or %q, got %s", closer, p.describe())
		}
		item, err := p.value()
		if err != nil {
			return pyValue{}, err
		}
		v.items = append(v.items, item)
		p.skipSpace()
		comma = p.pos < len(p.s) && p.s[p.pos] == ','
		if comma {
			p.pos++
		}
	}
}

// dict parses a dict after its '{'. Keys must be strings, and a repeated key
// is rejected (Python would silently keep the last).
func (p *pyParser) dict() (pyValue, error) {
	p.pos++ // '{'
	v := pyValue{kind: pyDict, items: []pyValue{}, keys: []string{}}
	seen := map[string]bool{}
	comma := false
	for {
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == '}' {
			p.pos++
			return v, nil
		}
		if len(v.keys) > 0 && !comma {
			return pyValue{}, p.errorf("expected ',' or '}', got %s", p.describe())
		}
		if p.pos >= len(p.s) || (p.s[p.pos] != '\'' && p.s[p.pos] != '"') {
			return pyValue{}, p.errorf("expected a string key, got %s", p.describe())
		}
		keyPos := p.pos
		k, err := p.str()
		if err != nil {
			return pyValue{}, err
		}
		if seen[k] {
			p.pos = keyPos
			return pyValue{}, p.errorf("duplicate key %q", truncateForError([]byte(k)))
		}
		seen[k] = true
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != ':' {
			return pyValue{}, p.errorf("expected ':' after key %q, got %s", truncateForError([]byte(k)), p.describe())
		}
		p.pos++
		item, err := p.value()
		if err != nil {
			return pyValue{}, err
		}
		v.keys = append(v.keys, k)
		v.items = append(v.items, item)
		p.skipSpace()
		comma = p.pos < len(p.s) && p.s[p.pos] == ','
		if comma {
			p.pos++
		}
	}
}
