package data

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/fdsm/fdsm/tensor"
)

// Keys of checkpoint metadata (nn.Metadata.Extra) under which Holdout.Store
// records a split, so that evaluation and a resumed run rebuild the same
// split from the same file.
const (
	MetaHoldout     = "data.holdout"      // the fraction of rows held out from training
	MetaHoldoutSeed = "data.holdout_seed" // the seed that chose them
	MetaRows        = "data.rows"         // the table's rows when they were chosen
)

// HoldoutStream is the PCG stream Holdout draws from. fdsm train's streams
// 1–4 are the initialisation, the batches, DKEF's α and the mean energy.
const HoldoutStream = 5

// Holdout is the rule that divides a table's rows into training and
// held-out rows: a seeded fraction, the same on every machine and build.
type Holdout struct {
	Frac float64 // fraction held out, 0 ≤ Frac < 1
	Seed uint64
	Rows int // rows of the table
}

// HeldCount returns how many rows are held out: round(Frac·Rows), at least
// one if Frac > 0.
func (s Holdout) HeldCount() int {
	k := int(math.Round(s.Frac * float64(s.Rows)))
	if s.Frac > 0 {
		k = max(k, 1)
	}
	return min(k, s.Rows)
}

// HeldOut returns, per row, whether it is held out: the HeldCount rows with
// the smallest of one PCG draw per row (ties by position). The draws are
// PCG's Uint64 outputs, a fixed algorithm, rather than rand.Perm, whose
// algorithm a Go release may change: the same seed then holds out the same
// rows on every machine and build.
func (s Holdout) HeldOut() []bool {
	src := rand.NewPCG(s.Seed, HoldoutStream)
	keys := make([]uint64, s.Rows)
	idx := make([]int, s.Rows)
	for i := range keys {
		keys[i], idx[i] = src.Uint64(), i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Or(cmp.Compare(keys[a], keys[b]), cmp.Compare(a, b)) })
	held := make([]bool, s.Rows)
	for _, i := range idx[:s.HeldCount()] {
		held[i] = true
	}
	return held
}

// Pick returns the held-out rows of x (held) or its training rows, in file
// order. x must have s.Rows rows (see Check).
func (s Holdout) Pick(x *tensor.Tensor, held bool) *tensor.Tensor {
	var idx []int
	for i, h := range s.HeldOut() {
		if h == held {
			idx = append(idx, i)
		}
	}
	return tensor.GatherRows(x, idx)
}

// Check reports an error if the table of file no longer has the rows the
// split was drawn over.
func (s Holdout) Check(file string, rows int) error {
	if rows != s.Rows {
		return fmt.Errorf("%s: the checkpoint's held-out split was drawn over %d rows, the file has %d: it has changed since training", file, s.Rows, rows)
	}
	return nil
}

// Store writes the split into checkpoint metadata.
func (s Holdout) Store(extra map[string]string) {
	extra[MetaHoldout] = strconv.FormatFloat(s.Frac, 'g', -1, 64)
	extra[MetaHoldoutSeed] = strconv.FormatUint(s.Seed, 10)
	extra[MetaRows] = strconv.Itoa(s.Rows)
}

// HoldoutFromMeta reads what Store writes; found is false for metadata
// that records no split. An error names the key at fault.
func HoldoutFromMeta(extra map[string]string) (s Holdout, found bool, err error) {
	f, ok := extra[MetaHoldout]
	if !ok {
		return s, false, nil
	}
	bad := func(key, why string) error { return fmt.Errorf("metadata %q: %s", "extra."+key, why) }
	if s.Frac, err = strconv.ParseFloat(f, 64); err != nil || !(s.Frac >= 0 && s.Frac < 1) {
		return s, false, bad(MetaHoldout, fmt.Sprintf("%q is not a fraction 0 ≤ f < 1", f))
	}
	if s.Seed, err = strconv.ParseUint(extra[MetaHoldoutSeed], 10, 64); err != nil {
		return s, false, bad(MetaHoldoutSeed, fmt.Sprintf("%q is not a seed", extra[MetaHoldoutSeed]))
	}
	if s.Rows, err = strconv.Atoi(extra[MetaRows]); err != nil || s.Rows < 1 {
		return s, false, bad(MetaRows, fmt.Sprintf("%q is not a positive row count", extra[MetaRows]))
	}
	return s, true, nil
}
