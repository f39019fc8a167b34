package tensor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// npyFile assembles a .npy file of the given version from a header (already
// padded, '\n' included) and data.
func npyFile(major byte, header string, data []byte) []byte {
	out := []byte("\x93NUMPY")
	out = append(out, major, 0)
	if major == 1 {
		out = binary.LittleEndian.AppendUint16(out, uint16(len(header)))
	} else {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(header)))
	}
	out = append(out, header...)
	return append(out, data...)
}

// npyHeader pads dict as numpy 1.0 files with 16-byte alignment used to
// (numpy before 1.14): not the current 64, to check that any padding reads.
func npyHeader(dict string) string {
	n := len(dict) + 1
	for (10+n)%16 != 0 {
		n++
	}
	return dict + strings.Repeat(" ", n-len(dict)-1) + "\n"
}

func encodeNpyBytes(t *testing.T, x *Tensor) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := EncodeNpy(&b, x); err != nil {
		t.Fatalf("EncodeNpy: %v", err)
	}
	return b.Bytes()
}

func TestNpyRoundTrip(t *testing.T) {
	for _, dt := range []DType{Float32, Float64} {
		for _, shape := range ioTestShapes {
			x := ioTestTensor(dt, shape)
			data := encodeNpyBytes(t, x)
			if start := len(data) - x.Bytes(); start%64 != 0 {
				t.Errorf("%v %v: data starts at %d, not a multiple of 64", dt, shape, start)
			}
			if data[len(data)-x.Bytes()-1] != '\n' {
				t.Errorf("%v %v: header does not end in a newline", dt, shape)
			}
			got, err := DecodeNpy(data)
			if err != nil {
				t.Fatalf("%v %v: DecodeNpy: %v", dt, shape, err)
			}
			if !sameTensor(got, x) {
				t.Errorf("%v %v: round trip gave %v, want %v", dt, shape, got, x)
			}
		}
	}
}

// TestNpyNumpyBytes pins compatibility with numpy: the expected files are what
// np.save writes (numpy ≥ 1.14, format 1.0), written out here by hand.
//
// Layout: "\x93NUMPY", version 1 0, uint16 LE header length 118 (0x76), then
// the dict (keys sorted), 21 − len(str(shape[0])) spaces that numpy reserves
// for the first dimension to grow, more spaces so that 10 + 118 = 128 is a
// multiple of 64, '\n', and the data at byte 128.
func TestNpyNumpyBytes(t *testing.T) {
	tests := []struct {
		name string
		x    *Tensor
		want []byte
	}{
		{
			// np.save(f, np.arange(6, dtype=np.float32).reshape(2, 3)):
			// a 59-byte dict, 20 growth + 38 alignment spaces, '\n'.
			name: "arange(6) float32 (2,3)",
			x:    FromFloat32([]float32{0, 1, 2, 3, 4, 5}, 2, 3),
			want: slices.Concat(
				[]byte("\x93NUMPY\x01\x00\x76\x00"),
				[]byte("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"+strings.Repeat(" ", 58)+"\n"),
				[]byte{
					0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40, // 0, 1, 2
					0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x80, 0x40, 0x00, 0x00, 0xa0, 0x40, // 3, 4, 5
				}),
		},
		{
			// np.save(f, np.float64(-2.5)): shape (), so no growth spaces:
			// a 55-byte dict, 62 alignment spaces, '\n'.
			name: "scalar float64",
			x:    Scalar(Float64, -2.5),
			want: slices.Concat(
				[]byte("\x93NUMPY\x01\x00\x76\x00"),
				[]byte("{'descr': '<f8', 'fortran_order': False, 'shape': (), }"+strings.Repeat(" ", 62)+"\n"),
				[]byte{0, 0, 0, 0, 0, 0, 0x04, 0xc0}), // -2.5 = 0xc004000000000000
		},
		{
			// np.save(f, np.array([1.0])): shape (1,), a 57-byte dict,
			// 20 growth + 40 alignment spaces.
			name: "vector float64",
			x:    FromFloat64(Float64, []float64{1}),
			want: slices.Concat(
				[]byte("\x93NUMPY\x01\x00\x76\x00"),
				[]byte("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }"+strings.Repeat(" ", 60)+"\n"),
				[]byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := encodeNpyBytes(t, tc.x); !bytes.Equal(got, tc.want) {
				t.Errorf("EncodeNpy:\n got %q\nwant %q", got, tc.want)
			}
			got, err := DecodeNpy(tc.want)
			if err != nil {
				t.Fatalf("DecodeNpy: %v", err)
			}
			if !sameTensor(got, tc.x) {
				t.Errorf("DecodeNpy = %v, want %v", got, tc.x)
			}
		})
	}
}

// TestDecodeNpyVariants reads headers other writers produce: old 16-byte
// alignment, Python 2 longs, double quotes, other key orders, no trailing
// comma, versions 2.0 and 3.0.
func TestDecodeNpyVariants(t *testing.T) {
	f64 := binary.LittleEndian.AppendUint64(nil, math.Float64bits(7))
	f32x2 := binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, math.Float32bits(1)), math.Float32bits(2))
	tests := []struct {
		name  string
		data  []byte
		dt    DType
		shape []int
	}{
		{"numpy 1.13 16-byte alignment", npyFile(1, npyHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }"), f64), Float64, []int{1}},
		{"python 2 longs", npyFile(1, npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1L, 2L), }"), f32x2), Float32, []int{1, 2}},
		{"double quotes, other order, no trailing comma", npyFile(1, npyHeader(`{"shape": (2,), "fortran_order": False, "descr": "<f4"}`), f32x2), Float32, []int{2}},
		{"whitespace everywhere", npyFile(1, " {\n 'shape' :( 2 , 1 , ) ,'descr':'<f4' ,\t'fortran_order' : False }\n", f32x2), Float32, []int{2, 1}},
		{"no padding, no newline", npyFile(1, "{'descr':'<f8','fortran_order':False,'shape':()}", f64), Float64, []int{}},
		{"version 2.0", npyFile(2, npyHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (), }"), f64), Float64, []int{}},
		{"version 3.0", npyFile(3, npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"), f32x2), Float32, []int{2}},
		{"empty", npyFile(1, npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }"), nil), Float32, []int{0, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, err := DecodeNpy(tc.data)
			if err != nil {
				t.Fatalf("DecodeNpy: %v", err)
			}
			if x.DType() != tc.dt || !shapeEq(x.Shape(), tc.shape) {
				t.Errorf("got %v %v, want %v %v", x.DType(), x.Shape(), tc.dt, tc.shape)
			}
		})
	}
}

func TestDecodeNpyErrors(t *testing.T) {
	f4 := make([]byte, 4)
	h := func(dict string) []byte { return npyFile(1, npyHeader(dict), f4) }
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a .npy file"},
		{"wrong magic", []byte("\x93NUMPZ\x01\x00\x00\x00"), "not a .npy file"},
		{"safetensors file", stFile("{}", nil), "not a .npy file"},
		{"no version", []byte("\x93NUMPY\x01"), "truncated in the version"},
		{"no header length", []byte("\x93NUMPY\x01\x00\x10"), "truncated in the header length"},
		{"no header length v2", []byte("\x93NUMPY\x02\x00\x10\x00"), "truncated in the header length"},
		{"version 4", []byte("\x93NUMPY\x04\x00\x00\x00\x00\x00"), "unsupported format version 4.0"},
		{"version 1.1", []byte("\x93NUMPY\x01\x01\x00\x00"), "unsupported format version 1.1"},
		{"header past end", []byte("\x93NUMPY\x01\x00\xff\x00{}"), "header length 255 past the end of data (2 bytes"},
		{"header past end v2", []byte("\x93NUMPY\x02\x00\xff\xff\xff\xff{}"), "header length 4294967295 past the end"},
		{"empty header", npyFile(1, "", nil), "header is not a dict"},
		{"header a list", h("['descr', '<f4']"), "header is not a dict"},
		{"unterminated dict", h("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), "), "expected a string key, got end of header"},
		{"missing close paren", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, }", f4), "unexpected '}'"},
		{"missing colon", h("{'descr' '<f4', 'fortran_order': False, 'shape': (1,)}"), "expected ':' after key \"descr\""},
		{"missing comma", h("{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}"), "expected ',' or '}'"},
		{"double comma", h("{'descr': '<f4',, 'fortran_order': False, 'shape': (1,)}"), "expected a string key, got ','"},
		{"unquoted key", h("{descr: '<f4', 'fortran_order': False, 'shape': (1,)}"), "expected a string key"},
		{"non-literal", h("{'descr': dtype('<f4'), 'fortran_order': False, 'shape': (1,)}"), `unexpected name "dtype"`},
		{"unterminated string", h("{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}"), "expected ',' or '}', got 'f'"},
		{"string runs to the end", npyFile(1, "{'descr': '<f4", f4), "unterminated string"},
		{"bad escape", h(`{'descr': '<f\4', 'fortran_order': False, 'shape': (1,)}`), `unsupported escape \4`},
		{"garbage after dict", h("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x"), "unexpected 'x' after the dict"},
		{"two dicts", h("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}{}"), "after the dict"},
		{"duplicate key", h("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}"), `duplicate key "descr"`},
		{"missing descr", h("{'fortran_order': False, 'shape': (1,)}"), "missing key 'descr'"},
		{"missing fortran_order", h("{'descr': '<f4', 'shape': (1,)}"), "missing key 'fortran_order'"},
		{"missing shape", h("{'descr': '<f4', 'fortran_order': False}"), "missing key 'shape'"},
		{"extra key", h("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}"), `unexpected key "x"`},
		{"big-endian f4", h("{'descr': '>f4', 'fortran_order': False, 'shape': (1,)}"), "big-endian dtype '>f4' not supported"},
		{"big-endian f8", h("{'descr': '>f8', 'fortran_order': False, 'shape': ()}"), "big-endian dtype '>f8' not supported"},
		{"not-applicable order", h("{'descr': '|f4', 'fortran_order': False, 'shape': (1,)}"), "byte order must be '<'"},
		{"native order", h("{'descr': '=f8', 'fortran_order': False, 'shape': (1,)}"), "byte order must be '<'"},
		{"int32", h("{'descr': '<i4', 'fortran_order': False, 'shape': (1,)}"), "dtype '<i4' not supported (want '<f4' or '<f8')"},
		{"float16", h("{'descr': '<f2', 'fortran_order': False, 'shape': (2,)}"), "dtype '<f2' not supported"},
		{"structured", h("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,)}"), "descr is a list: structured dtypes not supported"},
		{"fortran order", h("{'descr': '<f4', 'fortran_order': True, 'shape': (1,)}"), "fortran_order True not supported"},
		{"fortran order not bool", h("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}"), "fortran_order is a integer"},
		{"shape list", h("{'descr': '<f4', 'fortran_order': False, 'shape': [1]}"), "shape is a list, want a tuple"},
		{"shape parenthesized int", h("{'descr': '<f4', 'fortran_order': False, 'shape': (1)}"), "shape is a integer, want a tuple"},
		{"shape string", h("{'descr': '<f4', 'fortran_order': False, 'shape': '1'}"), "shape is a string"},
		{"shape float", h("{'descr': '<f4', 'fortran_order': False, 'shape': (1.0,)}"), "only decimal integers are allowed"},
		{"shape hex", h("{'descr': '<f4', 'fortran_order': False, 'shape': (0x1,)}"), "only decimal integers are allowed"},
		{"shape leading zero", h("{'descr': '<f4', 'fortran_order': False, 'shape': (01,)}"), "leading zero"},
		{"shape bool", h("{'descr': '<f4', 'fortran_order': False, 'shape': (True,)}"), "shape element 0 is a bool"},
		{"shape negative", h("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}"), "negative dimension -1"},
		{"shape too large", h("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}"), "is too large"},
		{"shape overflows", h("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}"), "overflows: too many elements"},
		{"bare sign", h("{'descr': '<f4', 'fortran_order': False, 'shape': (-,)}"), "expected digits"},
		{"deep nesting", h("{'descr': '<f4', 'fortran_order': False, 'shape': " + strings.Repeat("(", 100) + "}"), "nested deeper than 32"},
		{"truncated data", npyFile(1, npyHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}"), make([]byte, 15)), "data truncated: shape [2] of float64 needs 16 bytes, got 15"},
		{"missing data", npyFile(1, npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)}"), nil), "needs 48 bytes, got 0"},
		{"trailing data", npyFile(1, npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': ()}"), make([]byte, 5)), "1 bytes of trailing data"},
		{"v3 invalid utf8", npyFile(3, npyHeader("{'descr': '<f4\xff', 'fortran_order': False, 'shape': ()}"), f4), "not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, err := DecodeNpy(tc.data)
			if err == nil {
				t.Fatalf("DecodeNpy succeeded (%v), want error containing %q", x, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "npy: ") {
				t.Errorf("error %q, want it to start with \"npy: \" and contain %q", err, tc.want)
			}
		})
	}
}

func TestEncodeNpyErrors(t *testing.T) {
	for _, x := range []*Tensor{nil, {}} {
		var b bytes.Buffer
		if err := EncodeNpy(&b, x); err == nil || !strings.HasPrefix(err.Error(), "npy: ") {
			t.Errorf("EncodeNpy(%#v) error = %v, want an npy: error", x, err)
		}
		if b.Len() != 0 {
			t.Errorf("EncodeNpy(%#v) wrote %d bytes before failing", x, b.Len())
		}
	}
}

// TestEncodeNpyVersion2 checks that a header too long for format 1.0's
// uint16 length is written as 2.0, and still aligned.
func TestEncodeNpyVersion2(t *testing.T) {
	shape := make([]int, 30000) // "1, " × 30000: 90 kB of header
	for i := range shape {
		shape[i] = 1
	}
	x := Full(Float32, 3, shape...)
	data := encodeNpyBytes(t, x)
	if data[6] != 2 || data[7] != 0 {
		t.Fatalf("version %d.%d, want 2.0", data[6], data[7])
	}
	if (len(data)-4)%64 != 0 {
		t.Errorf("data starts at %d, not a multiple of 64", len(data)-4)
	}
	got, err := DecodeNpy(data)
	if err != nil {
		t.Fatal(err)
	}
	if !sameTensor(got, x) {
		t.Errorf("round trip changed the tensor")
	}
}

func TestSaveLoadNpy(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.npy")
	for _, x := range []*Tensor{ioTestTensor(Float32, []int{2, 3}), ioTestTensor(Float64, []int{})} {
		if err := SaveNpy(path, x); err != nil {
			t.Fatalf("SaveNpy: %v", err)
		}
		got, err := LoadNpy(path)
		if err != nil {
			t.Fatalf("LoadNpy: %v", err)
		}
		if !sameTensor(got, x) {
			t.Errorf("LoadNpy = %v, want %v", got, x)
		}
	}
	assertOnlyFiles(t, dir, "x.npy")

	old, _ := os.ReadFile(path)
	if err := SaveNpy(path, nil); err == nil || !strings.HasPrefix(err.Error(), path+": npy: nil tensor") {
		t.Errorf("SaveNpy(nil) error %v, want one starting with %q", err, path+": npy: nil tensor")
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, old) {
		t.Errorf("failed SaveNpy changed the old file")
	}
	assertOnlyFiles(t, dir, "x.npy")

	missing := filepath.Join(dir, "missing.npy")
	if _, err := LoadNpy(missing); err == nil || !strings.HasPrefix(err.Error(), missing+": open: ") || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadNpy(missing) error %v, want a not-exist error starting with the path", err)
	}
	bad := filepath.Join(dir, "bad.npy")
	os.WriteFile(bad, npyFile(1, npyHeader("{'descr': '>f8', 'fortran_order': False, 'shape': ()}"), make([]byte, 8)), 0o644)
	if _, err := LoadNpy(bad); err == nil || !strings.HasPrefix(err.Error(), bad+": npy: big-endian dtype '>f8'") {
		t.Errorf("LoadNpy(bad) error %v, want it to start with the path and name the problem", err)
	}
}

func FuzzDecodeNpy(f *testing.F) {
	for _, dt := range []DType{Float32, Float64} {
		for _, shape := range ioTestShapes {
			var b bytes.Buffer
			EncodeNpy(&b, ioTestTensor(dt, shape))
			v := b.Bytes()
			f.Add(v)
			f.Add(v[:len(v)-1])               // truncated data
			f.Add(v[:70])                     // truncated header
			f.Add(append(slices.Clone(v), 0)) // trailing byte
			c := slices.Clone(v)
			c[8]-- // header length off by one
			f.Add(c)
		}
	}
	f.Add([]byte{})
	f.Add(npyFile(1, npyHeader(`{"shape": (1L, 2L), "fortran_order": False, "descr": "<f4"}`), make([]byte, 8)))
	f.Add(npyFile(3, npyHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (0,), }"), nil))
	f.Add(npyFile(2, npyHeader("{'descr': [('x', '<f4')], 'fortran_order': True, 'shape': ([{}],), }"), nil))
	f.Add(npyFile(1, npyHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }"), make([]byte, 4)))

	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := DecodeNpy(data)
		if err != nil {
			if x != nil {
				t.Fatalf("DecodeNpy returned a tensor with error %v", err)
			}
			return
		}
		var b bytes.Buffer
		if err := EncodeNpy(&b, x); err != nil {
			t.Fatalf("EncodeNpy of a decoded file: %v", err)
		}
		y, err := DecodeNpy(b.Bytes())
		if err != nil {
			t.Fatalf("DecodeNpy of a re-encoded file: %v", err)
		}
		if !sameTensor(x, y) {
			t.Fatalf("round trip changed the tensor: %v → %v", x, y)
		}
	})
}
