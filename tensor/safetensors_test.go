package tensor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// ioTestShapes are the shapes every round-trip test covers: scalar, empty,
// vector, matrix, rank 3.
var ioTestShapes = [][]int{{}, {0}, {5}, {2, 3}, {2, 3, 4}}

// ioTestTensor returns a tensor of the given dtype and shape whose elements
// include values that a sloppy writer would mangle: -0, ±Inf, NaN, a
// subnormal, and non-representable fractions.
func ioTestTensor(dt DType, shape []int) *Tensor {
	t := Zeros(dt, shape...)
	special := []float64{math.Copysign(0, -1), math.Inf(1), math.NaN(), math.Inf(-1), 5e-324, 1.0 / 3}
	for i := range t.Len() {
		if i < len(special) && t.Len() > len(special) {
			t.Set(i, special[i])
		} else {
			t.Set(i, float64(i)*0.1-1)
		}
	}
	return t
}

// sameTensor reports whether a and b have the same dtype, shape and element
// bits (so NaN payloads and -0 count).
func sameTensor(a, b *Tensor) bool {
	if a.dtype != b.dtype || !shapeEq(a.shape, b.shape) || a.Len() != b.Len() {
		return false
	}
	for i := range a.f32 {
		if math.Float32bits(a.f32[i]) != math.Float32bits(b.f32[i]) {
			return false
		}
	}
	for i := range a.f64 {
		if math.Float64bits(a.f64[i]) != math.Float64bits(b.f64[i]) {
			return false
		}
	}
	return true
}

func sameTensorMaps(a, b map[string]*Tensor) bool {
	if len(a) != len(b) {
		return false
	}
	for k, t := range a {
		u, ok := b[k]
		if !ok || !sameTensor(t, u) {
			return false
		}
	}
	return true
}

func sameStringMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			return false
		}
	}
	return true
}

// stFile assembles a safetensors file from a header and a data buffer.
func stFile(header string, data []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, data...)
}

func encodeSafetensorsBytes(t *testing.T, tensors map[string]*Tensor, metadata map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := EncodeSafetensors(&b, tensors, metadata); err != nil {
		t.Fatalf("EncodeSafetensors: %v", err)
	}
	return b.Bytes()
}

func TestSafetensorsRoundTrip(t *testing.T) {
	for _, dt := range []DType{Float32, Float64} {
		for _, shape := range ioTestShapes {
			x := ioTestTensor(dt, shape)
			data := encodeSafetensorsBytes(t, map[string]*Tensor{"x": x}, nil)
			if n := binary.LittleEndian.Uint64(data); n%8 != 0 {
				t.Errorf("%v %v: header length %d is not a multiple of 8", dt, shape, n)
			}
			got, md, err := DecodeSafetensors(data)
			if err != nil {
				t.Fatalf("%v %v: DecodeSafetensors: %v", dt, shape, err)
			}
			if md != nil {
				t.Errorf("%v %v: metadata = %v, want nil", dt, shape, md)
			}
			if !sameTensor(got["x"], x) || len(got) != 1 {
				t.Errorf("%v %v: round trip gave %v, want %v", dt, shape, got["x"], x)
			}
		}
	}
}

func TestSafetensorsRoundTripManyTensors(t *testing.T) {
	tensors := map[string]*Tensor{}
	for i, shape := range ioTestShapes {
		tensors["f32."+string(rune('a'+i))] = ioTestTensor(Float32, shape)
		tensors["f64."+string(rune('a'+i))] = ioTestTensor(Float64, shape)
	}
	tensors["layers.0.weight"] = ioTestTensor(Float32, []int{3, 7}) // odd size: F64 data after it is unaligned, which is allowed
	tensors["名前 <&> \"quoted\""] = ioTestTensor(Float64, []int{2})
	metadata := map[string]string{"format": "pt", "step": "1200", "note": "<&> \"é\"\n"}
	data := encodeSafetensorsBytes(t, tensors, metadata)
	got, md, err := DecodeSafetensors(data)
	if err != nil {
		t.Fatalf("DecodeSafetensors: %v", err)
	}
	if !sameTensorMaps(got, tensors) {
		t.Errorf("tensors changed in the round trip")
	}
	if !sameStringMaps(md, metadata) {
		t.Errorf("metadata = %v, want %v", md, metadata)
	}
	// Encoding is deterministic: sorted names, whatever the map order.
	if again := encodeSafetensorsBytes(t, got, md); !bytes.Equal(again, data) {
		t.Errorf("re-encoding the decoded file gave different bytes")
	}
}

// TestSafetensorsReferenceBytes pins compatibility with the reference
// implementation (the Rust crate behind Python's safetensors): the expected
// bytes are those of its own serialization tests, written out by hand here.
func TestSafetensorsReferenceBytes(t *testing.T) {
	f32le := func(vs ...float32) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
		return b
	}
	data := f32le(0, 1, 2, 3, 4, 5) // 0x00000000, 0x3f800000, ... little-endian: 00 00 80 3f for 1.0
	tests := []struct {
		name     string
		tensors  map[string]*Tensor
		metadata map[string]string
		want     []byte
	}{
		{
			// 64 = 0x40 header bytes, no padding needed, then 24 bytes of data.
			name:    "attn.0 F32 [1,2,3]",
			tensors: map[string]*Tensor{"attn.0": FromFloat32([]float32{0, 1, 2, 3, 4, 5}, 1, 2, 3)},
			want: slices.Concat(
				[]byte{64, 0, 0, 0, 0, 0, 0, 0},
				[]byte(`{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}`),
				data),
		},
		{
			// 65 bytes of JSON padded with 7 spaces to 72.
			name:    "attn0 F32 [1,1,2,3]",
			tensors: map[string]*Tensor{"attn0": FromFloat32([]float32{0, 1, 2, 3, 4, 5}, 1, 1, 2, 3)},
			want: slices.Concat(
				[]byte{72, 0, 0, 0, 0, 0, 0, 0},
				[]byte(`{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       `),
				data),
		},
		{
			name: "empty",
			want: []byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '},
		},
		{
			// 35 bytes of JSON padded with 5 spaces to 40.
			name:     "metadata only",
			metadata: map[string]string{"framework": "pt"},
			want: slices.Concat(
				[]byte{40, 0, 0, 0, 0, 0, 0, 0},
				[]byte(`{"__metadata__":{"framework":"pt"}}     `)),
		},
		{
			// What safetensors.torch.save_file({"b": torch.tensor([1.5], dtype=torch.float64)},
			// metadata={"format": "pt"}) writes: __metadata__ first, then the tensor.
			name:     "F64 with metadata",
			tensors:  map[string]*Tensor{"b": FromFloat64(Float64, []float64{1.5})},
			metadata: map[string]string{"format": "pt"},
			want: slices.Concat(
				[]byte{88, 0, 0, 0, 0, 0, 0, 0}, // 85 bytes of JSON and 3 spaces
				[]byte(`{"__metadata__":{"format":"pt"},"b":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}   `),
				[]byte{0, 0, 0, 0, 0, 0, 0xf8, 0x3f}), // 1.5 = 0x3ff8000000000000
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := encodeSafetensorsBytes(t, tc.tensors, tc.metadata)
			if !bytes.Equal(got, tc.want) {
				t.Errorf("EncodeSafetensors:\n got %q\nwant %q", got, tc.want)
			}
			tensors, md, err := DecodeSafetensors(tc.want)
			if err != nil {
				t.Fatalf("DecodeSafetensors: %v", err)
			}
			if !sameTensorMaps(tensors, tc.tensors) || !sameStringMaps(md, tc.metadata) {
				t.Errorf("DecodeSafetensors = %v, %v; want %v, %v", tensors, md, tc.tensors, tc.metadata)
			}
		})
	}
}

// TestDecodeSafetensorsOrderAndSpacing checks files that other writers
// produce: keys in any order, data not in name order, whitespace in the JSON.
func TestDecodeSafetensorsOrderAndSpacing(t *testing.T) {
	header := `{ "b" : { "data_offsets" : [ 0 , 4 ], "shape": [ ], "dtype": "F32" },` +
		"\n\t" + `"a": {"shape": [1], "dtype": "F64", "data_offsets": [4, 12]}, "__metadata__": {}}` + "\n  "
	data := binary.LittleEndian.AppendUint32(nil, math.Float32bits(2.5))
	data = binary.LittleEndian.AppendUint64(data, math.Float64bits(-1))
	tensors, md, err := DecodeSafetensors(stFile(header, data))
	if err != nil {
		t.Fatalf("DecodeSafetensors: %v", err)
	}
	if len(tensors) != 2 || tensors["b"].Item() != 2.5 || tensors["b"].Rank() != 0 || tensors["a"].Item() != -1 || tensors["a"].DType() != Float64 {
		t.Errorf("tensors = %v", tensors)
	}
	if md == nil || len(md) != 0 {
		t.Errorf("metadata = %#v, want an empty map", md)
	}
}

func TestDecodeSafetensorsErrors(t *testing.T) {
	f4 := make([]byte, 4)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "file too short"},
		{"short length", []byte{1, 2, 3}, "file too short"},
		{"absurd header length", binary.LittleEndian.AppendUint64(nil, 1<<62), "header length 4611686018427387904 is absurd"},
		{"header length wraps", binary.LittleEndian.AppendUint64(nil, math.MaxUint64), "is absurd"},
		{"header past end", append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...), "header length 100 past the end of data (2 bytes"},
		{"empty header", stFile("", nil), "does not start with '{'"},
		{"not an object", stFile(`[]`, nil), "does not start with '{'"},
		{"invalid utf8", stFile("{\"\xff\":1}", nil), "not valid UTF-8"},
		{"malformed json", stFile(`{"a":{"dtype":"F32",}}`, nil), "malformed JSON header"},
		{"unterminated", stFile(`{"a":`, nil), "malformed JSON header"},
		{"trailing garbage", stFile(`{}x`, nil), "after the top-level object"},
		{"two objects", stFile(`{} {}`, nil), "after the top-level object"},
		{"nul padding", stFile("{}\x00\x00", nil), "after the top-level object"},
		{"tensor not object", stFile(`{"a":3}`, nil), `tensor "a"`},
		{"missing dtype", stFile(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, f4), `tensor "a": missing field dtype`},
		{"missing shape", stFile(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, f4), "missing field shape"},
		{"missing offsets", stFile(`{"a":{"dtype":"F32","shape":[1]}}`, f4), "missing field data_offsets"},
		{"extra field", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"offsets":[0,4]}}`, f4), `unknown field "offsets"`},
		{"duplicate field", stFile(`{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f4), "duplicate field dtype"},
		{"duplicate name", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), `duplicate name "a"`},
		{"duplicate metadata", stFile(`{"__metadata__":{},"__metadata__":{}}`, nil), `duplicate name "__metadata__"`},
		{"i8", stFile(`{"a":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}}`, f4), "dtype I8 not supported (want F32, F64, F16 or BF16)"},
		{"f16 wrong size", stFile(`{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,4]}}`, f4), "span 4 bytes, but shape [1] of F16 needs 2"},
		{"dtype not string", stFile(`{"a":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}`, f4), "dtype is not a string"},
		{"negative shape", stFile(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, f4), "shape: negative value -1"},
		{"fractional shape", stFile(`{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}`, f4), "is not a non-negative integer"},
		{"exponent shape", stFile(`{"a":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}`, f4), "is not a non-negative integer"},
		{"huge dimension", stFile(`{"a":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,4]}}`, f4), "overflows"},
		{"shape product overflows", stFile(`{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil), "overflows: too many elements"},
		{"byte count overflows", stFile(`{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}}`, nil), "overflows: too many elements"},
		{"shape not array", stFile(`{"a":{"dtype":"F32","shape":1,"data_offsets":[0,4]}}`, f4), "want an array of integers"},
		{"nested shape", stFile(`{"a":{"dtype":"F32","shape":[[1]],"data_offsets":[0,4]}}`, f4), "want an integer"},
		{"offsets one element", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, f4), "data_offsets has 1 elements, want 2"},
		{"offsets three elements", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, f4), "data_offsets has 3 elements"},
		{"offsets reversed", stFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, f4), "end before they begin"},
		{"offsets wrong size", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, f4), "span 4 bytes, but shape [2] of F32 needs 8"},
		{"offsets wrong size f64", stFile(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,4]}}`, f4), "shape [1] of F64 needs 8"},
		{"offsets past end", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f4), "past the end of the 4-byte data buffer"},
		{"offsets far past end", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[9223372036854775800,9223372036854775804]}}`, f4), "data_offsets begin at 9223372036854775800, want 0: a hole"},
		{"hole at start", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "want 0: a hole before it (tensors must cover the data buffer contiguously)"},
		{"hole between", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, make([]byte, 12)), `tensor "b": data_offsets begin at 8, want 4: a hole`},
		{"overlap", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), `tensor "b": data_offsets begin at 4, want 8: it overlaps`},
		{"aliased", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f4), "overlaps"},
		{"trailing data", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 5)), "tensors cover 4 bytes but the data buffer has 5 (trailing data)"},
		{"data without tensors", stFile(`{}`, f4), "tensors cover 0 bytes but the data buffer has 4"},
		{"metadata not object", stFile(`{"__metadata__":[]}`, nil), "must be an object of strings"},
		{"metadata value not string", stFile(`{"__metadata__":{"step":3}}`, nil), `__metadata__["step"] is not a string`},
		{"metadata duplicate key", stFile(`{"__metadata__":{"k":"a","k":"b"}}`, nil), `duplicate key "k"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tensors, md, err := DecodeSafetensors(tc.data)
			if err == nil {
				t.Fatalf("DecodeSafetensors succeeded (%v, %v), want error containing %q", tensors, md, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "safetensors: ") {
				t.Errorf("error %q, want it to start with \"safetensors: \" and contain %q", err, tc.want)
			}
		})
	}
}

func TestEncodeSafetensorsErrors(t *testing.T) {
	ok := FromFloat64(Float32, []float64{1})
	tests := []struct {
		name     string
		tensors  map[string]*Tensor
		metadata map[string]string
		want     string
	}{
		{"nil tensor", map[string]*Tensor{"a": ok, "w": nil}, nil, `tensor "w": nil tensor`},
		{"zero tensor", map[string]*Tensor{"w": {}}, nil, `tensor "w": invalid dtype`},
		{"reserved name", map[string]*Tensor{"__metadata__": ok}, nil, `cannot be named "__metadata__"`},
		{"bad utf8 name", map[string]*Tensor{"\xff": ok}, nil, "not valid UTF-8"},
		{"bad utf8 metadata", map[string]*Tensor{"a": ok}, map[string]string{"k": "\xfe"}, "not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			err := EncodeSafetensors(&b, tc.tensors, tc.metadata)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("EncodeSafetensors error = %v, want one containing %q", err, tc.want)
			}
			if b.Len() != 0 {
				t.Errorf("EncodeSafetensors wrote %d bytes before failing", b.Len())
			}
		})
	}
}

func TestSaveLoadSafetensors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	tensors := map[string]*Tensor{"w": ioTestTensor(Float32, []int{2, 3}), "b": ioTestTensor(Float64, []int{3})}
	for _, md := range []map[string]string{{"step": "1"}, {"step": "2"}} { // the second save replaces the first
		if err := SaveSafetensors(path, tensors, md); err != nil {
			t.Fatalf("SaveSafetensors: %v", err)
		}
		got, gotMD, err := LoadSafetensors(path)
		if err != nil {
			t.Fatalf("LoadSafetensors: %v", err)
		}
		if !sameTensorMaps(got, tensors) || !sameStringMaps(gotMD, md) {
			t.Errorf("LoadSafetensors = %v, %v; want %v, %v", got, gotMD, tensors, md)
		}
	}
	assertOnlyFiles(t, dir, "model.safetensors")
}

// assertOnlyFiles checks that dir holds exactly the named files: no
// temporary file was left behind.
func assertOnlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, names) {
		t.Errorf("directory holds %q, want %q", got, names)
	}
}

// failingWriter accepts n bytes, then fails: a full disk in the middle of a
// save.
type failingWriter struct {
	w io.Writer
	n int
}

var errDiskFull = errors.New("test: disk full")

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k, _ := f.w.Write(p[:f.n])
		f.n = 0
		return k, errDiskFull
	}
	f.n -= len(p)
	return f.w.Write(p)
}

func TestSaveSafetensorsFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.safetensors")
	old := map[string]*Tensor{"w": ioTestTensor(Float64, []int{2, 3})}
	if err := SaveSafetensors(path, old, nil); err != nil {
		t.Fatal(err)
	}
	oldBytes, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Large enough that the data goes through the buffered writer in several
	// flushes, so the failure happens after part of the new file is on disk.
	big := map[string]*Tensor{"w": Zeros(Float32, 300, 1000)}

	check := func(t *testing.T, err error, want string) {
		t.Helper()
		if err == nil {
			t.Fatal("save succeeded, want an error")
		}
		if !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), want) {
			t.Errorf("error %q, want it to start with %q and contain %q", err, path+": ", want)
		}
		if now, err := os.ReadFile(path); err != nil || !bytes.Equal(now, oldBytes) {
			t.Errorf("old file changed (err %v)", err)
		}
		assertOnlyFiles(t, dir, "ckpt.safetensors")
	}

	t.Run("write fails midway", func(t *testing.T) {
		err := saveSafetensors(path, big, nil, func(w io.Writer) io.Writer { return &failingWriter{w: w, n: 200_000} })
		check(t, err, errDiskFull.Error())
		if !errors.Is(err, errDiskFull) {
			t.Errorf("error %v does not wrap the writer's error", err)
		}
	})
	t.Run("invalid tensor", func(t *testing.T) {
		check(t, SaveSafetensors(path, map[string]*Tensor{"w": nil}, nil), `tensor "w": nil tensor`)
	})
	t.Run("write panics", func(t *testing.T) {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			WriteFileAtomic(path, func(w io.Writer) error {
				w.Write(make([]byte, 1<<17))
				panic("test: writer panic")
			})
		}()
		if now, err := os.ReadFile(path); err != nil || !bytes.Equal(now, oldBytes) {
			t.Errorf("old file changed (err %v)", err)
		}
		assertOnlyFiles(t, dir, "ckpt.safetensors")
	})
	t.Run("rename fails", func(t *testing.T) {
		// A directory in the way: the rename fails after the temporary file
		// is complete, and the temporary file must still be removed.
		sub := filepath.Join(dir, "sub")
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, "x"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		err := SaveSafetensors(sub, old, nil)
		if err == nil || !strings.HasPrefix(err.Error(), sub+": rename") {
			t.Errorf("error %v, want one starting with %q", err, sub+": rename")
		}
		os.RemoveAll(sub)
		assertOnlyFiles(t, dir, "ckpt.safetensors")
	})
	t.Run("directory missing", func(t *testing.T) {
		p := filepath.Join(dir, "nope", "x.safetensors")
		err := SaveSafetensors(p, old, nil)
		if err == nil || !strings.HasPrefix(err.Error(), p+": ") || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %v, want a not-exist error starting with %q", err, p)
		}
	})
}

func TestWriteFileAtomicKeepsMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 kept from the replaced file", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("contents %q, want %q", b, "new")
	}
}

func TestLoadSafetensorsErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.safetensors")
	_, _, err := LoadSafetensors(missing)
	if err == nil || !strings.HasPrefix(err.Error(), missing+": open: ") || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadSafetensors(missing) error %v, want a not-exist error starting with the path", err)
	}
	bad := filepath.Join(dir, "bad.safetensors")
	if err := os.WriteFile(bad, stFile(`{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = LoadSafetensors(bad)
	if want := bad + `: safetensors: tensor "a": dtype I64 not supported`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("LoadSafetensors(bad) error %v, want it to start with %q", err, want)
	}
}

func FuzzDecodeSafetensors(f *testing.F) {
	var valid [][]byte
	for _, dt := range []DType{Float32, Float64} {
		for _, shape := range ioTestShapes {
			var b bytes.Buffer
			EncodeSafetensors(&b, map[string]*Tensor{"x": ioTestTensor(dt, shape)}, nil)
			valid = append(valid, b.Bytes())
		}
	}
	var b bytes.Buffer
	EncodeSafetensors(&b, map[string]*Tensor{
		"a": ioTestTensor(Float32, []int{3}), "b": ioTestTensor(Float64, []int{2, 2}), "c": Zeros(Float32, 0, 3),
	}, map[string]string{"format": "pt"})
	valid = append(valid, b.Bytes())
	for _, v := range valid {
		f.Add(v)
		f.Add(v[:len(v)-1])               // truncated data
		f.Add(v[:len(v)/2])               // truncated header
		f.Add(append(slices.Clone(v), 0)) // trailing byte
		c := slices.Clone(v)
		c[0]++ // header length off by one
		f.Add(c)
	}
	f.Add([]byte{})
	f.Add(stFile(`{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add(stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add(stFile(`{"a":{"dtype":"F64","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}`, nil))
	f.Add(stFile(`{"__metadata__":{"k":"v"},"":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}`, make([]byte, 4)))

	f.Fuzz(func(t *testing.T, data []byte) {
		tensors, md, err := DecodeSafetensors(data)
		if err != nil {
			if tensors != nil || md != nil {
				t.Fatalf("DecodeSafetensors returned values with error %v", err)
			}
			return
		}
		var b bytes.Buffer
		if err := EncodeSafetensors(&b, tensors, md); err != nil {
			t.Fatalf("EncodeSafetensors of a decoded file: %v", err)
		}
		tensors2, md2, err := DecodeSafetensors(b.Bytes())
		if err != nil {
			t.Fatalf("DecodeSafetensors of a re-encoded file: %v", err)
		}
		if !sameTensorMaps(tensors, tensors2) || !sameStringMaps(md, md2) {
			t.Fatalf("round trip changed the file: %v %v → %v %v", tensors, md, tensors2, md2)
		}
		// The re-encoded file is canonical: encoding it again changes nothing.
		var b2 bytes.Buffer
		EncodeSafetensors(&b2, tensors2, md2)
		if !bytes.Equal(b.Bytes(), b2.Bytes()) {
			t.Fatalf("encoding is not deterministic")
		}
	})
}
