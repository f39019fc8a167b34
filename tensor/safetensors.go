package tensor

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/fdsm/fdsm/internal/infile"
)

// The safetensors format (https://github.com/huggingface/safetensors):
//
//	8 bytes   N, the header length, a little-endian uint64
//	N bytes   a UTF-8 JSON object: tensor name → {"dtype", "shape", "data_offsets"},
//	          plus an optional "__metadata__" object of string → string
//	rest      the data buffer; data_offsets [begin, end) are relative to its start
//
// Elements are little-endian and row-major.

// safetensorsMaxHeader is the reference implementation's limit on N (100 MB);
// a larger value is a corrupt file, and refusing it early bounds the work.
const safetensorsMaxHeader = 100_000_000

const safetensorsMetadataKey = "__metadata__"

// EncodeSafetensors writes tensors, and metadata if it is not empty, to w in
// the safetensors format, readable by Python's safetensors and by
// DecodeSafetensors.
//
// Tensors are written in sorted name order, their data contiguous in that
// order; the JSON header is padded with spaces to a multiple of 8 bytes, as the
// reference implementation does. Names and metadata must be valid UTF-8, and
// no tensor may be named "__metadata__". Nothing is written if the arguments
// are invalid.
func EncodeSafetensors(w io.Writer, tensors map[string]*Tensor, metadata map[string]string) error {
	names := make([]string, 0, len(tensors))
	for name, t := range tensors {
		if name == safetensorsMetadataKey {
			return fmt.Errorf("safetensors: a tensor cannot be named %q", name)
		}
		if !utf8.ValidString(name) {
			return fmt.Errorf("safetensors: tensor name %q is not valid UTF-8", name)
		}
		if err := checkTensorForWrite(t); err != nil {
			return fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	for k, v := range metadata {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("safetensors: metadata %q: %q is not valid UTF-8", k, v)
		}
	}

	var h bytes.Buffer
	h.WriteByte('{')
	if len(metadata) > 0 {
		writeJSONString(&h, safetensorsMetadataKey)
		h.WriteString(":{")
		for i, k := range slices.Sorted(maps.Keys(metadata)) {
			if i > 0 {
				h.WriteByte(',')
			}
			writeJSONString(&h, k)
			h.WriteByte(':')
			writeJSONString(&h, metadata[k])
		}
		h.WriteByte('}')
	}
	offset := 0
	for i, name := range names {
		t := tensors[name]
		if i > 0 || len(metadata) > 0 {
			h.WriteByte(',')
		}
		writeJSONString(&h, name)
		h.WriteString(`:{"dtype":"`)
		h.WriteString(safetensorsDTypeName(t.dtype))
		h.WriteString(`","shape":[`)
		for j, d := range t.shape {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		end := offset + t.Len()*t.dtype.Size()
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, offset, end)
		offset = end
	}
	h.WriteByte('}')
	// Padding keeps the data buffer 8-byte aligned in the file, so readers
	// that map the file can use the floats in place.
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}

	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(h.Len()))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(h.Bytes()); err != nil {
		return err
	}
	for _, name := range names {
		if err := writeTensorData(w, tensors[name]); err != nil {
			return err
		}
	}
	return nil
}

// DecodeSafetensors parses a whole safetensors file held in data and returns
// its tensors (copies, not views of data) and its metadata (nil if the file
// has none).
//
// Only the dtypes F32 and F64 are supported. The file is validated at least
// as strictly as by the reference implementation (which ignores unknown
// fields; this does not): the header must be valid UTF-8 JSON with exactly
// the fields dtype, shape and data_offsets for every tensor, each
// tensor's byte range must match its shape and dtype, and the ranges, sorted,
// must cover the data buffer exactly: no holes, no overlaps, nothing after the
// last tensor. Duplicate names are rejected. Storage is allocated only after
// all of this has been checked, so a corrupt file never causes a large
// allocation.
func DecodeSafetensors(data []byte) (map[string]*Tensor, map[string]string, error) {
	return decodeSafetensors(memSource(data))
}

// decodeSafetensors is DecodeSafetensors reading from src: the header length
// first, then the header, checked against src's size, and only then the
// tensors' bytes, one tensor at a time.
func decodeSafetensors(src source) (map[string]*Tensor, map[string]string, error) {
	size := src.size()
	if size < 8 {
		return nil, nil, fmt.Errorf("safetensors: file too short (%d bytes) to hold the 8-byte header length", size)
	}
	nb, err := src.at(0, 8)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: reading the header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(nb)
	if n > safetensorsMaxHeader {
		return nil, nil, fmt.Errorf("safetensors: header length %d is absurd (limit %d)", n, safetensorsMaxHeader)
	}
	if n > uint64(size-8) {
		return nil, nil, fmt.Errorf("safetensors: header length %d past the end of data (%d bytes follow the length)", n, size-8)
	}
	header, err := src.at(8, int64(n))
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: reading the header: %w", err)
	}
	entries, metadata, err := parseSafetensorsHeader(header)
	if err != nil {
		return nil, nil, err
	}
	bufStart := 8 + int64(n)
	bufLen := size - bufStart

	slices.SortFunc(entries, func(a, b safetensorsEntry) int {
		return cmp.Or(cmp.Compare(a.begin, b.begin), cmp.Compare(a.end, b.end), cmp.Compare(a.name, b.name))
	})
	pos, last := 0, ""
	for _, e := range entries {
		if e.begin != pos {
			what := "a hole before it"
			if e.begin < pos {
				what = "it overlaps the previous tensor"
			}
			return nil, nil, fmt.Errorf("safetensors: tensor %q: data_offsets begin at %d, want %d: %s (tensors must cover the data buffer contiguously)", e.name, e.begin, pos, what)
		}
		if err := checkDims(e.shape, size); err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %w", e.name, err)
		}
		pos, last = e.end, e.name
	}
	if int64(pos) != bufLen {
		if int64(pos) > bufLen {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: data_offsets end at %d, past the end of the %d-byte data buffer", last, pos, bufLen)
		}
		return nil, nil, fmt.Errorf("safetensors: tensors cover %d bytes but the data buffer has %d (trailing data)", pos, bufLen)
	}

	tensors := make(map[string]*Tensor, len(entries))
	for _, e := range entries {
		b, err := src.at(bufStart+int64(e.begin), int64(e.end-e.begin))
		if err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %w", e.name, err)
		}
		t := alloc(e.dtype, e.shape)
		readTensorData(t, b)
		tensors[e.name] = t
	}
	return tensors, metadata, nil
}

// checkDims refuses a shape with a dimension larger than the file's size in
// bytes: no tensor with elements can have one, and it keeps an empty tensor
// of shape (10¹², 0), say, from asking whoever loops over its rows for work
// or memory per row.
func checkDims(shape []int, fileSize int64) error {
	for i, d := range shape {
		if int64(d) > fileSize {
			return fmt.Errorf("shape %v: dimension %d is %d, more than the %d bytes of the file", shape, i, d, fileSize)
		}
	}
	return nil
}

// SaveSafetensors writes tensors and metadata to the file at path in the
// safetensors format (see EncodeSafetensors), atomically (see
// WriteFileAtomic): on error an existing file is left as it was. Errors start
// with path.
func SaveSafetensors(path string, tensors map[string]*Tensor, metadata map[string]string) error {
	return saveSafetensors(path, tensors, metadata, nil)
}

// saveSafetensors is SaveSafetensors with a hook for tests: wrap, if not nil,
// wraps the file's writer (to inject a write failure).
func saveSafetensors(path string, tensors map[string]*Tensor, metadata map[string]string, wrap func(io.Writer) io.Writer) error {
	return WriteFileAtomic(path, func(w io.Writer) error {
		if wrap != nil {
			w = wrap(w)
		}
		return EncodeSafetensors(w, tensors, metadata)
	})
}

// LoadSafetensors reads the safetensors file at path (see DecodeSafetensors).
// Only a regular file is read, its header before its data, so that what is
// allocated is bounded by the file's size. Errors start with path.
func LoadSafetensors(path string) (map[string]*Tensor, map[string]string, error) {
	src, done, err := openSource(path)
	if err != nil {
		return nil, nil, err
	}
	defer done()
	tensors, metadata, err := decodeSafetensors(src)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return tensors, metadata, nil
}

type safetensorsEntry struct {
	name       string
	dtype      DType
	shape      []int
	begin, end int
}

func safetensorsDTypeName(dt DType) string {
	if dt == Float64 {
		return "F64"
	}
	return "F32"
}

// parseSafetensorsHeader parses and checks the JSON header token by token:
// encoding/json's Unmarshal into a map would silently keep the last of two
// duplicate names and accept unknown fields.
func parseSafetensorsHeader(h []byte) ([]safetensorsEntry, map[string]string, error) {
	if !utf8.Valid(h) {
		return nil, nil, errors.New("safetensors: header is not valid UTF-8")
	}
	if len(h) == 0 || h[0] != '{' {
		return nil, nil, errors.New("safetensors: header does not start with '{'")
	}
	dec := json.NewDecoder(bytes.NewReader(h))
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return nil, nil, err
	}
	var entries []safetensorsEntry
	var metadata map[string]string
	seen := map[string]bool{}
	for dec.More() {
		name, err := jsonKey(dec)
		if err != nil {
			return nil, nil, err
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("safetensors: duplicate name %q in header", name)
		}
		seen[name] = true
		if name == safetensorsMetadataKey {
			if metadata, err = parseSafetensorsMetadata(dec); err != nil {
				return nil, nil, err
			}
			continue
		}
		e, err := parseSafetensorsEntry(dec, name)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, nil, err
	}
	// The reference pads with spaces; anything else after the object is garbage.
	if rest := bytes.TrimLeft(h[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, nil, fmt.Errorf("safetensors: malformed JSON header: unexpected %q after the top-level object", truncateForError(rest))
	}
	return entries, metadata, nil
}

func parseSafetensorsMetadata(dec *json.Decoder) (map[string]string, error) {
	tok, err := jsonToken(dec)
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("safetensors: %s is %s, but it must be an object of strings", safetensorsMetadataKey, describeToken(tok))
	}
	md := map[string]string{}
	for dec.More() {
		k, err := jsonKey(dec)
		if err != nil {
			return nil, err
		}
		if _, dup := md[k]; dup {
			return nil, fmt.Errorf("safetensors: duplicate key %q in %s", k, safetensorsMetadataKey)
		}
		tok, err := jsonToken(dec)
		if err != nil {
			return nil, err
		}
		v, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("safetensors: %s[%q] is not a string", safetensorsMetadataKey, k)
		}
		md[k] = v
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	return md, nil
}

func parseSafetensorsEntry(dec *json.Decoder, name string) (safetensorsEntry, error) {
	e := safetensorsEntry{name: name}
	fail := func(format string, args ...any) (safetensorsEntry, error) {
		return safetensorsEntry{}, fmt.Errorf("safetensors: tensor %q: "+format, append([]any{name}, args...)...)
	}
	failArray := func(field string, err error) (safetensorsEntry, error) {
		var se *jsonSyntaxError
		if errors.As(err, &se) {
			return safetensorsEntry{}, err
		}
		return fail("%s: %v", field, err)
	}
	tok, err := jsonToken(dec)
	if err != nil {
		return safetensorsEntry{}, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fail("got %s, want an object with dtype, shape and data_offsets", describeToken(tok))
	}
	var dtypeName string
	var shape, offsets []int
	var haveDType, haveShape, haveOffsets bool
	for dec.More() {
		k, err := jsonKey(dec)
		if err != nil {
			return safetensorsEntry{}, err
		}
		switch k {
		case "dtype":
			if haveDType {
				return fail("duplicate field dtype")
			}
			haveDType = true
			tok, err := jsonToken(dec)
			if err != nil {
				return safetensorsEntry{}, err
			}
			s, ok := tok.(string)
			if !ok {
				return fail("dtype is not a string")
			}
			dtypeName = s
		case "shape":
			if haveShape {
				return fail("duplicate field shape")
			}
			haveShape = true
			if shape, err = jsonIntArray(dec); err != nil {
				return failArray("shape", err)
			}
		case "data_offsets":
			if haveOffsets {
				return fail("duplicate field data_offsets")
			}
			haveOffsets = true
			if offsets, err = jsonIntArray(dec); err != nil {
				return failArray("data_offsets", err)
			}
			if len(offsets) != 2 {
				return fail("data_offsets has %d elements, want 2 ([begin, end])", len(offsets))
			}
		default:
			return fail("unknown field %q (want dtype, shape and data_offsets)", k)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return safetensorsEntry{}, err
	}
	switch {
	case !haveDType:
		return fail("missing field dtype")
	case !haveShape:
		return fail("missing field shape")
	case !haveOffsets:
		return fail("missing field data_offsets")
	}
	switch dtypeName {
	case "F32":
		e.dtype = Float32
	case "F64":
		e.dtype = Float64
	default:
		return fail("dtype %s not supported (want F32 or F64)", truncateForError([]byte(dtypeName)))
	}
	e.shape = shape
	nbytes, ok := shapeBytes(shape, e.dtype)
	if !ok {
		return fail("shape %v overflows: too many elements", shape)
	}
	e.begin, e.end = offsets[0], offsets[1]
	if e.end < e.begin {
		return fail("data_offsets [%d, %d] end before they begin", e.begin, e.end)
	}
	if e.end-e.begin != nbytes {
		return fail("data_offsets [%d, %d] span %d bytes, but shape %v of %s needs %d", e.begin, e.end, e.end-e.begin, shape, safetensorsDTypeName(e.dtype), nbytes)
	}
	return e, nil
}

// shapeBytes returns the storage size of a tensor of this shape and dtype,
// and false if the element count or byte count overflows an int. Like the
// reference, it multiplies left to right and fails on the first overflow, even
// if a later dimension is 0.
func shapeBytes(shape []int, dt DType) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d != 0 && n > math.MaxInt/d {
			return 0, false
		}
		n *= d
	}
	if n > math.MaxInt/dt.Size() {
		return 0, false
	}
	return n * dt.Size(), true
}

// jsonSyntaxError is a malformed-JSON error, already complete, that callers
// pass on without adding context.
type jsonSyntaxError struct{ err error }

func (e *jsonSyntaxError) Error() string {
	return "safetensors: malformed JSON header: " + e.err.Error()
}

func jsonToken(dec *json.Decoder) (json.Token, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, &jsonSyntaxError{err}
	}
	return tok, nil
}

func jsonKey(dec *json.Decoder) (string, error) {
	tok, err := jsonToken(dec)
	if err != nil {
		return "", err
	}
	k, ok := tok.(string)
	if !ok {
		// Token only returns strings in key position; be defensive anyway.
		return "", fmt.Errorf("safetensors: malformed JSON header: unexpected %v where a key belongs", tok)
	}
	return k, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := jsonToken(dec)
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("safetensors: malformed JSON header: got %s, want %q", describeToken(tok), string(want))
	}
	return nil
}

func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '[':
			return "an array"
		case '{':
			return "an object"
		}
		return strconv.Quote(string(v))
	case string:
		return "string " + strconv.Quote(truncateForError([]byte(v)))
	case json.Number:
		return "number " + truncateForError([]byte(v))
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

// jsonIntArray reads an array of non-negative integers that fit in an int.
func jsonIntArray(dec *json.Decoder) ([]int, error) {
	tok, err := jsonToken(dec)
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fmt.Errorf("got %s, want an array of integers", describeToken(tok))
	}
	out := []int{}
	for dec.More() {
		tok, err := jsonToken(dec)
		if err != nil {
			return nil, err
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("got %s, want an integer", describeToken(tok))
		}
		s := string(num)
		if len(s) > 0 && s[0] == '-' {
			return nil, fmt.Errorf("negative value %s", truncateForError([]byte(s)))
		}
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return nil, fmt.Errorf("value %s overflows", truncateForError([]byte(s)))
			}
			return nil, fmt.Errorf("value %s is not a non-negative integer", truncateForError([]byte(s)))
		}
		if v > math.MaxInt {
			return nil, fmt.Errorf("value %d overflows an int", v)
		}
		out = append(out, int(v))
	}
	if _, err := jsonToken(dec); err != nil { // the closing ']'
		return nil, err
	}
	return out, nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	// Marshal never fails on a string; HTML escaping is off to match what
	// Rust's serde_json writes for names with <, > or &.
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	b.Truncate(b.Len() - 1) // Encode appends a newline
}

// truncateForError shortens attacker-controlled text quoted in errors.
func truncateForError(b []byte) string { return infile.Cut(string(b)) }

// checkTensorForWrite checks what a writer relies on, so that a malformed
// *Tensor (a zero Tensor{}, say) gives an error rather than a panic.
func checkTensorForWrite(t *Tensor) error {
	if t == nil {
		return errors.New("nil tensor")
	}
	if t.dtype != Float32 && t.dtype != Float64 {
		return fmt.Errorf("invalid dtype %v", t.dtype)
	}
	nbytes, ok := shapeBytes(t.shape, t.dtype)
	if !ok {
		return fmt.Errorf("invalid shape %v", t.shape)
	}
	if nbytes != t.Len()*t.dtype.Size() || (t.dtype == Float32 && t.f64 != nil) || (t.dtype == Float64 && t.f32 != nil) {
		return fmt.Errorf("shape %v does not match its %d elements", t.shape, t.Len())
	}
	return nil
}

// writeTensorData writes t's elements little-endian, a chunk at a time so a
// large tensor does not need a second full-size buffer.
func writeTensorData(w io.Writer, t *Tensor) error {
	if t.dtype == Float32 {
		return writeFloat32sLE(w, t.f32)
	}
	return writeFloat64sLE(w, t.f64)
}

// ioChunkElems is how many elements writeTensorData converts per Write.
const ioChunkElems = 4096

func writeFloat32sLE(w io.Writer, data []float32) error {
	buf := make([]byte, 4*min(len(data), ioChunkElems))
	for len(data) > 0 {
		k := min(len(data), ioChunkElems)
		for i, v := range data[:k] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		if _, err := w.Write(buf[:4*k]); err != nil {
			return err
		}
		data = data[k:]
	}
	return nil
}

func writeFloat64sLE(w io.Writer, data []float64) error {
	buf := make([]byte, 8*min(len(data), ioChunkElems))
	for len(data) > 0 {
		k := min(len(data), ioChunkElems)
		for i, v := range data[:k] {
			binary.LittleEndian.PutUint64(buf[8*i:], math.Float64bits(v))
		}
		if _, err := w.Write(buf[:8*k]); err != nil {
			return err
		}
		data = data[k:]
	}
	return nil
}

// readTensorData fills t from little-endian bytes b, which must hold exactly
// t.Bytes() bytes. Bits are copied as they are, NaN payloads included.
func readTensorData(t *Tensor, b []byte) {
	if t.dtype == Float32 {
		for i := range t.f32 {
			t.f32[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return
	}
	for i := range t.f64 {
		t.f64[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
}
