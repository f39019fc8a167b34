package tensor

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// source is what the decoders read a file from: its size, known before a
// byte of it is read, and its bytes a range at a time, so that a header is
// checked against the size before the body is read or storage allocated.
type source interface {
	// size returns the number of bytes.
	size() int64
	// at returns the n bytes at offset off, which the caller has checked
	// lie within size; they are valid until the next call.
	at(off, n int64) ([]byte, error)
}

// memSource is a file held in memory (DecodeNpy, DecodeSafetensors).
type memSource []byte

func (m memSource) size() int64                     { return int64(len(m)) }
func (m memSource) at(off, n int64) ([]byte, error) { return m[off : off+n], nil }

// fileSource reads an open regular file into one buffer, reused.
type fileSource struct {
	f   *os.File
	n   int64
	buf []byte
}

func (s *fileSource) size() int64 { return s.n }

func (s *fileSource) at(off, n int64) ([]byte, error) {
	if int64(cap(s.buf)) < n {
		s.buf = make([]byte, n)
	}
	b := s.buf[:n]
	if _, err := s.f.ReadAt(b, off); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file became shorter while it was read")
		}
		return nil, err
	}
	return b, nil
}

// openSource opens the file at path for a decoder. Only a regular file is
// read: its size bounds what the decoders allocate, and a device or pipe
// (/dev/zero, say) has none. Errors start with path.
func openSource(path string) (*fileSource, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, pathError(path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, pathError(path, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s: not a regular file (%s): refusing to read it, as its size is unknown", path, fileKind(st.Mode()))
	}
	return &fileSource{f: f, n: st.Size()}, func() { f.Close() }, nil
}

// pathError formats err as "path: op: reason" (an *fs.PathError puts the
// operation first).
func pathError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %s: %w", path, pe.Op, pe.Err)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// fileKind names the type of a file that is not regular.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "mode " + m.String()
}
