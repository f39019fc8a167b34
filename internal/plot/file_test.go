package plot

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "density.png")
	render := func(w io.Writer) error {
		return Heatmap(w, []float64{0, 1, 2, 3}, 2, 2, HeatmapOptions{Scale: 3})
	}
	if err := WriteFile(path, render); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	decode(t, bytes.NewBuffer(data), 6, 6)

	// A failing render leaves the old picture and no temporary file.
	boom := errors.New("boom")
	err = WriteFile(path, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, data) {
		t.Error("failed render changed the file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d entries in the directory, want 1", len(entries))
	}
	// An error from the plot itself comes back too.
	if err := WriteFile(filepath.Join(dir, "x.png"), func(w io.Writer) error {
		return Heatmap(w, nil, 1, 1, HeatmapOptions{})
	}); err == nil {
		t.Error("no error for a bad heatmap")
	}
	if _, err := os.Stat(filepath.Join(dir, "x.png")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("x.png exists after a failed render: %v", err)
	}
}
