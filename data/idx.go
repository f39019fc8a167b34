package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/fdsm/fdsm/internal/infile"
	"github.com/fdsm/fdsm/tensor"
)

// IDX is the format of the MNIST files (LeCun et al., "THE MNIST DATABASE of
// handwritten digits"): a big-endian magic number 0x0000TTNN (TT the element
// type, 08 for unsigned bytes; NN the number of dimensions), NN big-endian
// uint32 sizes, then the elements in row-major order.
const (
	idxImagesMagic = 0x00000803 // unsigned bytes, 3 dimensions: count, rows, columns
	idxLabelsMagic = 0x00000801 // unsigned bytes, 1 dimension: count
)

// maxIDXBytes bounds the element count a header may declare: 256 MiB, 5.7
// times MNIST's 47 MB of training images (60000 × 784 bytes), which as
// float32 pixels take 1 GiB. It keeps a small gzip file that inflates to a
// huge valid one from taking all memory, and the size arithmetic below from
// overflowing.
const maxIDXBytes = 1 << 28

// ReadIDXImages reads an IDX image file (raw or gzip-compressed, detected by
// the gzip magic bytes 1f 8b) and returns the images as an [N, rows·cols]
// tensor of dtype dt with pixels scaled from 0…255 to [0, 1], and the image
// size. It reads at most the number of bytes the header declares plus one,
// and allocates only for bytes actually read, so a lying header can neither
// exhaust memory nor inflate a gzip bomb.
func ReadIDXImages(r io.Reader, dt tensor.DType) (x *tensor.Tensor, rows, cols int, err error) {
	dims, payload, err := readIDX(r, idxImagesMagic, "images")
	if err != nil {
		return nil, 0, 0, err
	}
	n, rows, cols := dims[0], dims[1], dims[2]
	// Straight into the dtype wanted, by way of the float64 k/255 (the same
	// bits as before), without a float64 copy of a float32 result.
	x = tensor.Zeros(dt, n, rows*cols)
	if dt == tensor.Float32 {
		v := x.Float32s()
		for i, p := range payload {
			v[i] = float32(float64(p) / 255)
		}
	} else {
		v := x.Float64s()
		for i, p := range payload {
			v[i] = float64(p) / 255
		}
	}
	return x, rows, cols, nil
}

// ReadIDXLabels reads an IDX label file (raw or gzip-compressed), one byte
// per item.
func ReadIDXLabels(r io.Reader) ([]uint8, error) {
	_, payload, err := readIDX(r, idxLabelsMagic, "labels")
	return payload, err
}

// LoadIDXImages reads an IDX image file with ReadIDXImages; errors start with
// path. Only a regular file is read.
func LoadIDXImages(path string, dt tensor.DType) (x *tensor.Tensor, rows, cols int, err error) {
	f, _, err := infile.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	x, rows, cols, err = ReadIDXImages(f, dt)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	return x, rows, cols, nil
}

// LoadIDXLabels reads an IDX label file with ReadIDXLabels; errors start with
// path. Only a regular file is read.
func LoadIDXLabels(path string) ([]uint8, error) {
	f, _, err := infile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l, err := ReadIDXLabels(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// readIDX reads an IDX file of unsigned bytes with the given magic number and
// returns its dimensions and its elements.
func readIDX(r io.Reader, magic uint32, what string) ([]int, []byte, error) {
	br := bufio.NewReader(r)
	var src io.Reader = br
	gz := ""
	if head, _ := br.Peek(2); bytes.Equal(head, []byte{0x1f, 0x8b}) {
		gz = "gzip: "
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("idx: gzip: %w", err)
		}
		defer zr.Close()
		src = zr
	}

	var m [4]byte
	if _, err := io.ReadFull(src, m[:]); err != nil {
		return nil, nil, fmt.Errorf("idx: %sreading the magic number: %w", gz, eofAsTruncated(err))
	}
	got := binary.BigEndian.Uint32(m[:])
	if got != magic {
		return nil, nil, fmt.Errorf("idx: magic number 0x%08x, want 0x%08x (IDX %s: unsigned bytes, %d dimensions)%s",
			got, magic, what, magic&0xff, magicHint(got))
	}
	dims := make([]int, magic&0xff)
	var raw [4]uint64
	for i := range dims {
		var b [4]byte
		if _, err := io.ReadFull(src, b[:]); err != nil {
			return nil, nil, fmt.Errorf("idx: %sreading dimension %d of %d: %w", gz, i+1, len(dims), eofAsTruncated(err))
		}
		raw[i] = uint64(binary.BigEndian.Uint32(b[:]))
		if i > 0 && raw[i] == 0 {
			return nil, nil, fmt.Errorf("idx: dimension %d is 0", i+1)
		}
	}
	// The size of one item first, then of all: every factor is below 2³² and
	// every partial product is checked against maxIDXBytes ≤ 2³², so no
	// product overflows a uint64, nor an int once checked.
	item := uint64(1)
	for i := 1; i < len(dims); i++ {
		item *= raw[i]
		if item > maxIDXBytes {
			return nil, nil, fmt.Errorf("idx: header declares items of more than %d bytes", uint64(maxIDXBytes))
		}
	}
	size := raw[0] * item
	if size > maxIDXBytes {
		return nil, nil, fmt.Errorf("idx: header declares more than %d bytes", uint64(maxIDXBytes))
	}
	for i := range dims {
		dims[i] = int(raw[i])
	}
	// Read one byte more than declared to detect trailing data; io.ReadAll
	// grows its buffer with what arrives, not with what the header claims,
	// and the limit stops gzip decompression there.
	payload, err := io.ReadAll(io.LimitReader(src, int64(size)+1))
	if err != nil {
		return nil, nil, fmt.Errorf("idx: %sreading the data: %w", gz, err)
	}
	switch {
	case uint64(len(payload)) < size:
		return nil, nil, fmt.Errorf("idx: header declares %v (%d bytes of data), file has %d", dims, size, len(payload))
	case uint64(len(payload)) > size:
		return nil, nil, fmt.Errorf("idx: trailing data after the %d bytes the header %v declares", size, dims)
	}
	return dims, payload, nil
}

// eofAsTruncated turns the EOF of a short header into a readable error.
func eofAsTruncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("file too short")
	}
	return err
}

// magicHint names the other MNIST file kind when the magic is swapped.
func magicHint(got uint32) string {
	switch got {
	case idxImagesMagic:
		return ": this is an image file"
	case idxLabelsMagic:
		return ": this is a label file"
	}
	return ""
}

// MNIST file names, as distributed by LeCun et al. and in GoMNIST's data/.
var mnistFiles = []string{
	"train-images-idx3-ubyte.gz",
	"train-labels-idx1-ubyte.gz",
	"t10k-images-idx3-ubyte.gz",
	"t10k-labels-idx1-ubyte.gz",
}

// MNISTFiles returns the names of the four MNIST files LoadMNIST reads and
// FetchMNIST fetches: training and test (t10k) images and labels, gzip.
func MNISTFiles() []string { return slices.Clone(mnistFiles) }

// LoadMNIST reads the MNIST training set (60000 images) or, if train is
// false, the test set (10000) from dir: images as [N, 784] in [0, 1] and
// their labels. It takes the gzip files FetchMNIST puts there, or the same
// names without ".gz". A set of no images is an error.
func LoadMNIST(dir string, train bool, dt tensor.DType) (*tensor.Tensor, []uint8, error) {
	prefix := "t10k"
	if train {
		prefix = "train"
	}
	imgPath, err := findFile(dir, prefix+"-images-idx3-ubyte")
	if err != nil {
		return nil, nil, err
	}
	lblPath, err := findFile(dir, prefix+"-labels-idx1-ubyte")
	if err != nil {
		return nil, nil, err
	}
	x, _, _, err := LoadIDXImages(imgPath, dt)
	if err != nil {
		return nil, nil, err
	}
	labels, err := LoadIDXLabels(lblPath)
	if err != nil {
		return nil, nil, err
	}
	if x.Dim(0) == 0 {
		return nil, nil, fmt.Errorf("%s: no images (the header's count is 0)", imgPath)
	}
	if len(labels) != x.Dim(0) {
		return nil, nil, fmt.Errorf("%s: %d labels for the %d images of %s", lblPath, len(labels), x.Dim(0), imgPath)
	}
	return x, labels, nil
}

// findFile returns dir/base.gz or dir/base, whichever exists.
func findFile(dir, base string) (string, error) {
	for _, name := range []string{base + ".gz", base} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: no %s.gz or %s (run FetchMNIST, or `fdsm data mnist`)", dir, base, base)
}
