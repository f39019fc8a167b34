package data

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fdsm/fdsm/tensor"
)

// DefaultDir is where fdsm keeps the data set name unless told otherwise:
// fdsm/name in the user's cache directory (~/.cache on Linux), or ./name if
// there is none. `fdsm data mnist` fetches into DefaultDir("mnist").
func DefaultDir(name string) string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "fdsm", name)
	}
	return name
}

// EnsureMNIST fetches MNIST into dir (FetchMNIST, progress on progress)
// when it lacks a file of one of the sets named ("train", "t10k"), as
// torchvision's download=True does; when that fails, the error says how to
// fetch by hand. A directory that holds what is needed is left alone.
func EnsureMNIST(dir string, progress io.Writer, sets ...string) error {
	missing, err := MNISTMissing(dir)
	if err != nil {
		return err
	}
	needed := slices.ContainsFunc(missing, func(name string) bool {
		return slices.ContainsFunc(sets, func(set string) bool { return strings.HasPrefix(name, set+"-") })
	})
	if !needed {
		return nil
	}
	if err := FetchMNIST(dir, progress); err != nil {
		return fmt.Errorf("%s: MNIST is missing and fetching it failed: %w\n%s", dir, err, MNISTByHand(dir, true))
	}
	return nil
}

// MNISTByHand says how to put MNIST into dir without FetchMNIST: with
// `fdsm data mnist` (where the network is reachable; offer says so only
// when that is not the command that failed), or from the module's zip.
func MNISTByHand(dir string, offer bool) string {
	var b strings.Builder
	b.WriteString("To fetch MNIST by hand: ")
	if offer {
		fmt.Fprintf(&b, "run `fdsm data mnist -dir %s` where the Go module proxy is reachable (GOPROXY, GOMODCACHE and the other go settings apply), or ", dir)
	}
	fmt.Fprintf(&b, "download %s and copy the files %s from its data/ folder into %s.", MNISTZipURL(), strings.Join(MNISTFiles(), ", "), dir)
	return b.String()
}

// MNISTSplits fetches MNIST into dir when it is missing (EnsureMNIST) and
// loads its training and test images with their labels: dt rows of 784
// pixels in [0, 1].
func MNISTSplits(dir string, progress io.Writer, dt tensor.DType) (train *tensor.Tensor, trainLabels []uint8, test *tensor.Tensor, testLabels []uint8, err error) {
	if err = EnsureMNIST(dir, progress, "train", "t10k"); err != nil {
		return
	}
	if train, trainLabels, err = LoadMNIST(dir, true, dt); err != nil {
		return
	}
	if test, testLabels, err = LoadMNIST(dir, false, dt); err != nil {
		return
	}
	const pixels = 28 * 28 // MNIST's images
	if train.Dim(1) != pixels || test.Dim(1) != pixels {
		err = fmt.Errorf("%s: images of %d and %d pixels, want %d", dir, train.Dim(1), test.Dim(1), pixels)
	}
	return
}
