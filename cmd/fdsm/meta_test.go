package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/tensor"
)

// TestCheckpointMetaRefused checks that sample, eval and energy refuse the
// same bad checkpoint metadata alike, exit 1 with an error naming the
// checkpoint and the key. Before rundir.LoadModel, extra.data.dequantize
// took any value, extra.data.columns could name a column twice, sample and
// energy ignored a bad extra.data, and extra.train.energy_mean,
// extra.data.holdout and the objective were checked by eval alone, if at
// all, and only on the paths that used them.
func TestCheckpointMetaRefused(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "d.csv"), []byte("a,b\n1,2\n2,1\n3,5\n0,0\n4,4\n"), 0o666)
	os.WriteFile(filepath.Join(dir, "x.csv"), []byte("a,b\n0.5,1\n"), 0o666)
	ok(t, dir, "train", "-data", "csv:d.csv", "-holdout", "0.2", "-width", "4", "-steps", "2", "-batch", "4", "-out", "run")
	ck := filepath.Join(dir, "run", nn.CheckpointName)
	orig := filepath.Join(dir, "orig.safetensors")
	copyFile(t, ck, orig)
	commands := [][]string{
		{"sample", "-ckpt", "run", "-n", "3", "-steps", "2"},
		{"eval", "-ckpt", "run", "-rows", "4"},
		{"energy", "-ckpt", "run", "-in", "x.csv"},
	}
	// The unedited checkpoint passes, so each refusal below is its edit's.
	for _, args := range commands {
		ok(t, dir, args...)
	}
	for _, c := range []struct{ key, val, want string }{
		{"extra.data.dequantize", "yes", `"yes": want true or false`},
		{"extra.data.columns", `["a","a"]`, `column "a" twice`},
		{"extra.data.columns", `["a"]`, "want a JSON list of 2 column names"},
		{"extra.data", "bogus:x", "want toy:NAME, csv:PATH or mnist[:DIR]"},
		{"extra.data", "toy:frobnicate", "unknown toy distribution"},
		{"extra.train.energy_mean", "NaN", "want one finite number"},
		{"extra.data.holdout", "2", "is not a fraction"},
		{"extra.data.rows", "0", "is not a positive row count"},
		{"extra.data.mean", "NaN,NaN", "mean NaN is not finite"},
		{"extra.data.transform", "square", `unknown transform "square"`},
		{"objective", "frobnicate", `unknown objective "frobnicate"`},
	} {
		copyFile(t, orig, ck)
		editCheckpoint(t, ck, func(_ map[string]*tensor.Tensor, md map[string]string) { md[c.key] = c.val })
		for _, args := range commands {
			fails(t, dir, []string{filepath.Join("run", nn.CheckpointName), `metadata "` + c.key + `"`, c.want}, args...)
		}
	}
}
