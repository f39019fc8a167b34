package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"go/build"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/tensor"
)

// idxFile builds an IDX file: the magic number, the dimensions, the payload.
func idxFile(magic uint32, dims []uint32, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, magic)
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, payload...)
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// sampleImages is two 3×2 images; sampleLabels their labels.
var (
	sampleImages = idxFile(idxImagesMagic, []uint32{2, 3, 2}, []byte{0, 255, 51, 102, 153, 204, 1, 2, 3, 4, 5, 254})
	sampleLabels = idxFile(idxLabelsMagic, []uint32{2}, []byte{7, 3})
)

func TestReadIDX(t *testing.T) {
	for _, enc := range []struct {
		name string
		f    func([]byte) []byte
	}{{"raw", func(b []byte) []byte { return b }}, {"gzip", gzipped}} {
		for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64} {
			x, rows, cols, err := ReadIDXImages(bytes.NewReader(enc.f(sampleImages)), dt)
			if err != nil {
				t.Fatalf("%s %v: %v", enc.name, dt, err)
			}
			if rows != 3 || cols != 2 || x.DType() != dt || x.Dim(0) != 2 || x.Dim(1) != 6 {
				t.Fatalf("%s %v: %v %v, %d×%d", enc.name, dt, x.DType(), x.Shape(), rows, cols)
			}
			for i, p := range sampleImages[16:] {
				if want := tensor.FromFloat64(dt, []float64{float64(p) / 255}).At(0); x.At(i) != want {
					t.Errorf("%s %v: pixel %d = %v, want %v", enc.name, dt, i, x.At(i), want)
				}
			}
		}
		l, err := ReadIDXLabels(bytes.NewReader(enc.f(sampleLabels)))
		if err != nil || len(l) != 2 || l[0] != 7 || l[1] != 3 {
			t.Errorf("%s labels: %v, %v", enc.name, l, err)
		}
	}
	// No items is a valid (empty) file.
	x, _, _, err := ReadIDXImages(bytes.NewReader(idxFile(idxImagesMagic, []uint32{0, 28, 28}, nil)), tensor.Float32)
	if err != nil || x.Dim(0) != 0 || x.Dim(1) != 784 {
		t.Errorf("empty image file: %v, %v", x, err)
	}
}

// idxErrorCases are malformed IDX inputs and their errors; the fuzz target
// starts from them too.
var idxErrorCases = []struct {
	name   string
	in     []byte
	labels bool
	want   string
}{
	{"empty", nil, false, "idx: reading the magic number: file too short"},
	{"short magic", []byte{0, 0, 8}, false, "idx: reading the magic number: file too short"},
	{"labels as images", sampleLabels, false, "idx: magic number 0x00000801, want 0x00000803 (IDX images: unsigned bytes, 3 dimensions): this is a label file"},
	{"images as labels", sampleImages, true, "idx: magic number 0x00000803, want 0x00000801 (IDX labels: unsigned bytes, 1 dimensions): this is an image file"},
	{"float elements", idxFile(0x00000d03, []uint32{1, 1, 1}, make([]byte, 4)), false, "idx: magic number 0x00000d03, want 0x00000803 (IDX images: unsigned bytes, 3 dimensions)"},
	{"text", []byte("hello, world"), false, "idx: magic number 0x68656c6c, want 0x00000803 (IDX images: unsigned bytes, 3 dimensions)"},
	{"short dimensions", idxFile(idxImagesMagic, []uint32{2, 3}, nil)[:11], false, "idx: reading dimension 2 of 3: file too short"},
	{"zero rows", idxFile(idxImagesMagic, []uint32{2, 0, 2}, nil), false, "idx: dimension 2 is 0"},
	{"huge item", idxFile(idxImagesMagic, []uint32{1, 1 << 31, 1 << 31}, nil), false, "idx: header declares items of more than 268435456 bytes"},
	{"huge count", idxFile(idxImagesMagic, []uint32{1 << 31, 28, 28}, nil), false, "idx: header declares more than 268435456 bytes"},
	{"truncated", sampleImages[:len(sampleImages)-1], false, "idx: header declares [2 3 2] (12 bytes of data), file has 11"},
	{"lying count", idxFile(idxImagesMagic, []uint32{60000, 28, 28}, make([]byte, 10)), false, "idx: header declares [60000 28 28] (47040000 bytes of data), file has 10"},
	{"trailing", append(sampleLabels[:len(sampleLabels):len(sampleLabels)], 0), true, "idx: trailing data after the 2 bytes the header [2] declares"},
	{"gzip header", []byte{0x1f, 0x8b, 0}, false, "idx: gzip: unexpected EOF"},
	{"gzip truncated header", gzipped(sampleImages)[:20], false, "idx: gzip: reading dimension 2 of 3: file too short"},
	{"gzip truncated trailer", func() []byte { g := gzipped(sampleImages); return g[:len(g)-4] }(), false, "idx: gzip: reading the data: unexpected EOF"},
	{"gzip lying count", gzipped(idxFile(idxLabelsMagic, []uint32{1000}, []byte{1, 2})), true, "idx: header declares [1000] (1000 bytes of data), file has 2"},
	{"gzip trailing", gzipped(append(sampleLabels[:len(sampleLabels):len(sampleLabels)], 1, 2, 3)), true, "idx: trailing data after the 2 bytes the header [2] declares"},
	{"gzip bad checksum", func() []byte {
		g := gzipped(sampleLabels)
		g[len(g)-8] ^= 1 // the CRC-32 of the trailer
		return g
	}(), true, "idx: gzip: reading the data: gzip: invalid checksum"},
}

func readIDXAny(in []byte, labels bool) error {
	if labels {
		_, err := ReadIDXLabels(bytes.NewReader(in))
		return err
	}
	_, _, _, err := ReadIDXImages(bytes.NewReader(in), tensor.Float32)
	return err
}

func TestReadIDXErrors(t *testing.T) {
	for _, c := range idxErrorCases {
		if err := readIDXAny(c.in, c.labels); err == nil || err.Error() != c.want {
			t.Errorf("%s: error %v, want\n\t%s", c.name, err, c.want)
		}
	}
}

// TestReadIDXLyingHeaderAllocation: a header that claims 2 GiB while the
// file holds a few bytes, raw or as a gzip bomb (10 MB of zeros after a
// header that claims one byte), must cost memory in proportion to the data
// read, not to the claim. The bound of 4 MB is far below either.
func TestReadIDXLyingHeaderAllocation(t *testing.T) {
	bomb := gzipped(append(idxFile(idxLabelsMagic, []uint32{1}, []byte{0}), make([]byte, 10<<20)...))
	for _, c := range []struct {
		name   string
		in     []byte
		labels bool
	}{
		{"raw", idxFile(idxImagesMagic, []uint32{1 << 21, 32, 32}, make([]byte, 100)), false},
		{"gzip", gzipped(idxFile(idxImagesMagic, []uint32{1 << 21, 32, 32}, make([]byte, 100))), false},
		{"gzip bomb", bomb, true},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := readIDXAny(c.in, c.labels)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Fatalf("%s: no error", c.name)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
			t.Errorf("%s: reading allocated %d bytes", c.name, got)
		}
	}
}

func TestLoadMNIST(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("train-images-idx3-ubyte.gz", gzipped(sampleImages))
	write("train-labels-idx1-ubyte", sampleLabels) // raw also works
	x, l, err := LoadMNIST(dir, true, tensor.Float32)
	if err != nil || x.Dim(0) != 2 || len(l) != 2 {
		t.Fatalf("LoadMNIST: %v, %v, %v", x, l, err)
	}
	_, _, err = LoadMNIST(dir, false, tensor.Float32)
	if want := dir + ": no t10k-images-idx3-ubyte.gz or t10k-images-idx3-ubyte (run FetchMNIST, or `fdsm data mnist`)"; err == nil || err.Error() != want {
		t.Errorf("missing test set: %v, want %s", err, want)
	}
	write("t10k-images-idx3-ubyte.gz", gzipped(sampleImages))
	write("t10k-labels-idx1-ubyte.gz", gzipped(idxFile(idxLabelsMagic, []uint32{3}, []byte{1, 2, 3})))
	_, _, err = LoadMNIST(dir, false, tensor.Float32)
	lbl, img := filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"), filepath.Join(dir, "t10k-images-idx3-ubyte.gz")
	if want := lbl + ": 3 labels for the 2 images of " + img; err == nil || err.Error() != want {
		t.Errorf("count mismatch: %v, want %s", err, want)
	}
	write("t10k-images-idx3-ubyte.gz", sampleLabels)
	_, _, err = LoadMNIST(dir, false, tensor.Float32)
	if err == nil || !strings.HasPrefix(err.Error(), img+": idx: magic number 0x00000801") {
		t.Errorf("labels in place of images: %v", err)
	}
}

// TestLoadMNISTFromModuleCache reads the real test set if a FetchMNIST (or
// any go mod download of the module) has put it in the module cache; it
// never touches the network.
func TestLoadMNISTFromModuleCache(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 10000 images")
	}
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		cache = filepath.Join(filepath.SplitList(build.Default.GOPATH)[0], "pkg", "mod")
	}
	dir := filepath.Join(cache, "github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63", "data")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("MNIST not in the module cache: %v", err)
	}
	x, l, err := LoadMNIST(dir, false, tensor.Float32)
	if err != nil {
		t.Fatal(err)
	}
	if x.Dim(0) != 10000 || x.Dim(1) != 784 || len(l) != 10000 {
		t.Fatalf("MNIST test set: %v, %d labels", x.Shape(), len(l))
	}
	var counts [10]int
	for _, v := range l {
		counts[v]++
	}
	// The test set's label counts (LeCun et al.): 980 zeros … 1009 nines.
	if counts != [10]int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009} {
		t.Errorf("label counts %v", counts)
	}
	xs := x.Float32s()
	var lo, hi float32 = 1, 0
	for _, v := range xs {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo != 0 || hi != 1 {
		t.Errorf("pixels span [%v, %v], want [0, 1]", lo, hi)
	}
}

// FuzzIDX checks that the IDX readers never panic, that a lying header is an
// error, and that accepted image files survive re-encoding.
func FuzzIDX(f *testing.F) {
	f.Add(sampleImages)
	f.Add(sampleLabels)
	f.Add(gzipped(sampleImages))
	f.Add(gzipped(sampleLabels))
	for _, c := range idxErrorCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		l, err := ReadIDXLabels(bytes.NewReader(in))
		if err == nil && (len(in) < 8 || (in[0] != 0x1f && len(l) != len(in)-8)) {
			t.Fatalf("%d labels from %d bytes", len(l), len(in))
		}
		x, rows, cols, err := ReadIDXImages(bytes.NewReader(in), tensor.Float32)
		if err != nil {
			if x != nil || !strings.HasPrefix(err.Error(), "idx: ") {
				t.Fatalf("ReadIDXImages: %v with error %q", x, err)
			}
			return
		}
		if x.Rank() != 2 || x.Dim(1) != rows*cols || rows < 1 || cols < 1 {
			t.Fatalf("images %v of %d×%d", x.Shape(), rows, cols)
		}
		payload := make([]byte, x.Len())
		for i, v := range x.Float32s() {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("pixel %d = %v", i, v)
			}
			payload[i] = byte(v*255 + 0.5)
		}
		re := idxFile(idxImagesMagic, []uint32{uint32(x.Dim(0)), uint32(rows), uint32(cols)}, payload)
		y, _, _, err := ReadIDXImages(bytes.NewReader(re), tensor.Float32)
		if err != nil || !y.SameShape(x) {
			t.Fatalf("re-encoded file: %v, %v", y, err)
		}
		for i, v := range y.Float32s() {
			if v != x.Float32s()[i] {
				t.Fatalf("re-encoding changed pixel %d: %v → %v", i, x.Float32s()[i], v)
			}
		}
	})
}
