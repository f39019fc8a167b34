package tensor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadRefusesNonRegularFiles checks that the loaders refuse a device and
// a directory by their kind, before reading: /dev/zero has no end, and was
// read until memory ran out.
func TestLoadRefusesNonRegularFiles(t *testing.T) {
	paths := []string{t.TempDir()}
	if st, err := os.Stat("/dev/zero"); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		paths = append(paths, "/dev/zero")
	}
	for _, p := range paths {
		_, err := LoadNpy(p)
		_, _, err2 := LoadSafetensors(p)
		for _, e := range []error{err, err2} {
			if e == nil || !strings.HasPrefix(e.Error(), p+": not a regular file") {
				t.Errorf("%s: got %v, want \"not a regular file\"", p, e)
			}
		}
	}
}

// TestLoadReadsHeaderFirst checks that a corrupt header is refused without
// reading the rest: the files are sparse, a terabyte long (far more than the
// memory of any machine these tests run on), and were read whole before.
func TestLoadReadsHeaderFirst(t *testing.T) {
	const huge = 1 << 40
	dir := t.TempDir()
	cases := []struct {
		name, want string
		head       []byte
		load       func(string) error
	}{
		{"bad.npy", "unexpected key", npyFile(1, npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}"), nil),
			func(p string) error { _, err := LoadNpy(p); return err }},
		{"bad.safetensors", "missing field shape", stFile(`{"a":{"dtype":"F32","data_offsets":[0,4]}}`, nil),
			func(p string) error { _, _, err := LoadSafetensors(p); return err }},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.name)
		if err := os.WriteFile(p, c.head, 0o666); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, huge); err != nil {
			t.Skipf("no sparse file of %d bytes here: %v", int64(huge), err)
		}
		if err := c.load(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

// TestDecodeRefusesHugeEmptyShapes checks that an empty tensor may not have
// a dimension larger than its file: (10¹², 0) holds no element, yet asked
// `fdsm loss` for 16 TB.
func TestDecodeRefusesHugeEmptyShapes(t *testing.T) {
	_, err := DecodeNpy(npyFile(1, npyHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 0), }"), nil))
	if err == nil || !strings.Contains(err.Error(), "dimension 0 is 1000000000000") {
		t.Errorf(".npy: got %v, want the dimension refused", err)
	}
	_, _, err = DecodeSafetensors(stFile(`{"a":{"dtype":"F64","shape":[0,1000000000000],"data_offsets":[0,0]}}`, nil))
	if err == nil || !strings.Contains(err.Error(), "dimension 1 is 1000000000000") {
		t.Errorf("safetensors: got %v, want the dimension refused", err)
	}
	// Small empty shapes still read.
	if x, err := DecodeNpy(npyFile(1, npyHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 0), }"), nil)); err != nil || x.Dim(0) != 3 {
		t.Errorf("(3, 0): %v", err)
	}
}
