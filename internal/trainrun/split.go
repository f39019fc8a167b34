package trainrun

import (
	"fmt"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/nn"
)

// Held-out rows of CSV data: train keeps a seeded fraction of a table's rows
// out of training (data.Holdout) and records the rule in the checkpoint, so
// that eval and -resume rebuild the same split from the same file.

// Split returns the split train uses for a table of rows rows: the
// one checkpoint prev (at ckpt) records when resuming, else -holdout frac
// drawn by seed. A resumed run keeps its split: a -holdout given again must
// match it, and the file must still have its rows.
func Split(file string, rows int, frac float64, seed uint64, given bool, prev *nn.Checkpoint, ckpt string) (data.Holdout, error) {
	s := data.Holdout{Frac: frac, Seed: seed, Rows: rows}
	if prev != nil {
		rec, found, err := data.HoldoutFromMeta(prev.Meta.Extra)
		if err != nil {
			return s, fmt.Errorf("%s: %v", ckpt, err)
		}
		if !found {
			// Written before -holdout: it trained on every row.
			rec = data.Holdout{Frac: 0, Seed: seed, Rows: rows}
		}
		if err := rec.Check(file, rows); err != nil {
			return s, err
		}
		if given && frac != rec.Frac {
			return s, fmt.Errorf("%s: the checkpoint held out %g of the rows of %s; -holdout %g would change its training rows", ckpt, rec.Frac, file, frac)
		}
		s = rec
	}
	if rows-s.HeldCount() < 1 {
		return s, fmt.Errorf("%s: -holdout %g leaves none of its %d rows to train on", file, s.Frac, rows)
	}
	return s, nil
}
