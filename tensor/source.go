package tensor

import (
	"errors"
	"io"
	"os"

	"github.com/fdsm/fdsm/internal/infile"
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

// openSource opens the file at path for a decoder (see infile.Open: a
// regular file only, whose size bounds what the decoders allocate). Errors
// start with path.
func openSource(path string) (*fileSource, func(), error) {
	f, n, err := infile.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return &fileSource{f: f, n: n}, func() { f.Close() }, nil
}
