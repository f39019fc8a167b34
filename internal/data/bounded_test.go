package data

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/internal/infile"
	"github.com/fdsm/fdsm/tensor"
)

// TestLoadRefusesNonRegularFiles checks that the file loaders refuse a
// device and a directory by their kind: /dev/zero was read as CSV until
// memory ran out.
func TestLoadRefusesNonRegularFiles(t *testing.T) {
	paths := []string{t.TempDir()}
	if st, err := os.Stat("/dev/zero"); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		paths = append(paths, "/dev/zero")
	}
	for _, p := range paths {
		_, err1 := LoadCSV(p, nil)
		_, _, _, err2 := LoadIDXImages(p, tensor.Float32)
		_, err3 := LoadIDXLabels(p)
		for _, err := range []error{err1, err2, err3} {
			if err == nil || !strings.HasPrefix(err.Error(), p+": not a regular file") {
				t.Errorf("%s: got %v, want \"not a regular file\"", p, err)
			}
		}
	}
}

// TestCSVErrorsCutQuotedInput checks that a long field is cut in the
// message: a 200 MB field printed a 200 MB error.
func TestCSVErrorsCutQuotedInput(t *testing.T) {
	long := strings.Repeat("x", 10000)
	for _, c := range []struct {
		in   string
		opts *CSVOptions
	}{
		{"a\n" + long + "\n", nil},           // the value
		{long + "\n1\n2\n" + long, nil},      // a ragged row: no quote
		{long + ",b\n" + long + ",1\n", nil}, // the column name
		{"a\n1\n", &CSVOptions{Columns: []string{long}}},
		{long + "\n1\n", &CSVOptions{Columns: []string{"zz"}}}, // the header list
	} {
		_, err := ReadCSV(strings.NewReader(c.in), "f.csv", c.opts)
		if err == nil {
			t.Fatalf("accepted %.20q…", c.in)
		}
		if n := len(err.Error()); n > 4*infile.CutLimit+100 {
			t.Errorf("a %d-byte error message: %.120s…", n, err)
		}
	}
}

// TestCSVHeaderCRLF checks that a header name of encoding/csv's "\r\r\n",
// which reads as "\r\n", reads as a name that writes back as itself (the
// fuzzer's testdata/fuzz/FuzzCSV/crlf-header).
func TestCSVHeaderCRLF(t *testing.T) {
	tab, err := ReadCSV(strings.NewReader("\"a\r\r\nb\",c\n1,2\n"), "f.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Columns[0] != "a\nb" {
		t.Errorf("column %q, want %q", tab.Columns[0], "a\nb")
	}
	again, err := ReadCSV(bytes.NewReader(writeCSV(tab)), "f.csv", nil)
	if err != nil || !sameTable(tab, again) {
		t.Errorf("written and read again: %q, %v", again.Columns, err)
	}
	if got := dropCRBeforeLF("\r\r\r\nx\r\ry\r\n\r"); got != "\nx\r\ry\n\r" {
		t.Errorf("dropCRBeforeLF: %q", got)
	}
}

// TestIDXGzipBomb checks that a small gzip file whose header declares more
// than maxIDXBytes of images is refused: 400000 blank 28×28 images, 313 MB
// in a file of some 300 KB, took 2.8 GB of float64s.
func TestIDXGzipBomb(t *testing.T) {
	const n = 400000 // images: 400000·784 bytes > maxIDXBytes
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	w.Write(idxFile(idxImagesMagic, []uint32{n, 28, 28}, nil))
	zero := make([]byte, 1<<20)
	for left := n * 784; left > 0; left -= len(zero) {
		w.Write(zero[:min(left, len(zero))])
	}
	w.Close()
	p := filepath.Join(t.TempDir(), "bomb-images-idx3-ubyte.gz")
	os.WriteFile(p, b.Bytes(), 0o666)
	_, _, _, err := LoadIDXImages(p, tensor.Float32)
	if err == nil || !strings.Contains(err.Error(), "header declares more than") {
		t.Errorf("a %d-byte gzip of %d images: got %v", b.Len(), n, err)
	}
}

// TestMNISTNoImages checks that an image file of 0 images is refused, by
// name: `fdsm train` panicked drawing a batch from it.
func TestMNISTNoImages(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte"), idxFile(idxImagesMagic, []uint32{0, 28, 28}, nil), 0o666)
	os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), idxFile(idxLabelsMagic, []uint32{0}, nil), 0o666)
	_, _, err := LoadMNIST(dir, false, tensor.Float32)
	if err == nil || !strings.Contains(err.Error(), "t10k-images-idx3-ubyte: no images") {
		t.Errorf("got %v, want the image file named", err)
	}
}
