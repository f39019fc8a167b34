package tensor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// WriteFileAtomic writes a file at path through write so that readers (and a
// crash at any moment) see either the old contents or the complete new ones,
// never a torn file.
//
// The bytes go to a temporary file in the same directory (a rename is only
// atomic within one file system), which is flushed, synced to disk, closed and
// then renamed over path. If write or any of these steps fails, or write
// panics, the temporary file is removed and an existing file at path is left
// untouched. A new file gets mode 0666 before the umask; a replaced file keeps
// its permission bits. If path is a symbolic link, the link itself is replaced.
//
// Errors start with path. The io.Writer given to write is buffered; write need
// not buffer again.
func WriteFileAtomic(path string, write func(io.Writer) error) error {
	f, tmp, err := createTempBeside(path)
	if err != nil {
		return fmt.Errorf("%s: create temporary file: %w", path, unwrapPathError(err))
	}
	done := false
	defer func() {
		// Runs on errors and on panics from write, so no temporary file is left behind.
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if fi, statErr := os.Stat(path); statErr == nil && fi.Mode().IsRegular() {
		if err := f.Chmod(fi.Mode().Perm()); err != nil {
			return fmt.Errorf("%s: %w", path, unwrapPathError(err))
		}
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := write(bw); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%s: write: %w", path, unwrapPathError(err))
	}
	// Sync before rename: otherwise a crash could leave the new name pointing
	// at a file whose data never reached the disk.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%s: sync: %w", path, unwrapPathError(err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: close: %w", path, unwrapPathError(err))
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		done = true
		return fmt.Errorf("%s: rename: %w", path, unwrapPathError(err))
	}
	done = true
	// Best effort: syncing the directory makes the rename itself durable. If it
	// fails (some file systems and platforms do not support it), a crash can
	// at worst bring back the complete old file, so it is not reported.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// RemoveOrphanTemps removes the temporary files that WriteFileAtomic calls for
// path left behind when the process was killed between creating and renaming
// them, and returns their names. Only names of its own pattern
// (".BASE.tmpDIGITS" beside path) are touched. The caller must know that no
// other process is writing path (it holds a lock on the directory).
func RemoveOrphanTemps(path string) ([]string, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, unwrapPathError(err))
	}
	var removed []string
	for _, e := range entries {
		digits, ok := strings.CutPrefix(e.Name(), "."+base+".tmp")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		// Exactly what createTempBeside writes: a uint32 in decimal.
		if n, err := strconv.ParseUint(digits, 10, 32); err != nil || strconv.FormatUint(n, 10) != digits {
			continue
		}
		name := filepath.Join(dir, e.Name())
		if err := os.Remove(name); err != nil {
			return removed, fmt.Errorf("%s: %w", name, unwrapPathError(err))
		}
		removed = append(removed, name)
	}
	return removed, nil
}

// createTempBeside creates a new file next to path. Unlike os.CreateTemp it
// uses mode 0666 (before the umask), the mode os.Create would give the file.
func createTempBeside(path string) (*os.File, string, error) {
	dir, base := filepath.Split(path)
	for range 1000 {
		name := filepath.Join(dir, "."+base+".tmp"+strconv.FormatUint(uint64(rand.Uint32()), 10))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", errors.New("too many existing temporary files")
}

// unwrapPathError drops the path from an *fs.PathError, whose message would
// otherwise repeat the (temporary) file name after the path the caller
// already put first; the operation and the cause are kept.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
