package sm

import (
	"cmp"
	"math"
	"slices"
)

// AUROC returns the area under the ROC curve of a detector that flags
// out-of-distribution inputs by high scores (an energy, say): the probability
// that a random out-of-distribution score exceeds a random in-distribution
// one, ties counting ½ — the Mann–Whitney U statistic divided by
// len(scoresIn)·len(scoresOut). 1 is perfect separation, ½ chance, 0 perfect
// but reversed.
//
// It sorts the pooled scores once, O(n log n), and counts in integers, so the
// result is exact up to the final division. It returns NaN if either slice is
// empty or holds a NaN. The inputs are not modified.
func AUROC(scoresIn, scoresOut []float64) float64 {
	if len(scoresIn) == 0 || len(scoresOut) == 0 {
		return math.NaN()
	}
	type scored struct {
		v   float64
		out bool
	}
	all := make([]scored, 0, len(scoresIn)+len(scoresOut))
	for _, v := range scoresIn {
		all = append(all, scored{v, false})
	}
	for _, v := range scoresOut {
		all = append(all, scored{v, true})
	}
	for _, s := range all {
		if math.IsNaN(s.v) {
			return math.NaN()
		}
	}
	slices.SortFunc(all, func(a, b scored) int { return cmp.Compare(a.v, b.v) })
	// Walk groups of equal scores upwards. Each out-score beats the
	// in-scores of all lower groups and ties with those of its own:
	// 2U = Σ_groups outs·(2·inBelow + insInGroup).
	var twiceU, inBelow int64
	for i := 0; i < len(all); {
		j := i
		var ins, outs int64
		for ; j < len(all) && all[j].v == all[i].v; j++ {
			if all[j].out {
				outs++
			} else {
				ins++
			}
		}
		twiceU += outs * (2*inBelow + ins)
		inBelow += ins
		i = j
	}
	return float64(twiceU) / (2 * float64(len(scoresIn)) * float64(len(scoresOut)))
}
