package infile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCut(t *testing.T) {
	short := strings.Repeat("a", CutLimit)
	if Cut(short) != short {
		t.Errorf("Cut shortened %d bytes", CutLimit)
	}
	if got := Cut(short + "b"); got != short+"..." {
		t.Errorf("Cut(%d bytes) = %q", CutLimit+1, got)
	}
	// A two-byte character across the limit is dropped whole.
	s := strings.Repeat("a", CutLimit-1) + "é" + "z"
	if got := Cut(s); got != strings.Repeat("a", CutLimit-1)+"..." {
		t.Errorf("Cut split a character: %q", got)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("12345"), 0o666)
	f, n, err := Open(p)
	if err != nil || n != 5 {
		t.Fatalf("Open: size %d, %v", n, err)
	}
	f.Close()
	if _, _, err := Open(dir); err == nil || err.Error() != dir+": not a regular file (a directory): refusing to read it, as its size is unknown" {
		t.Errorf("Open(dir): %v", err)
	}
	if _, _, err := Open(filepath.Join(dir, "missing")); err == nil || !strings.HasPrefix(err.Error(), filepath.Join(dir, "missing")+": open: ") {
		t.Errorf("Open(missing): %v", err)
	}
}
