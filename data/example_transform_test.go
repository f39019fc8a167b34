package data_test

import (
	"fmt"
	"math"

	"github.com/fdsm/fdsm/data"
	"github.com/fdsm/fdsm/tensor"
)

// Standardize a table, record the transform and the held-out split in
// checkpoint metadata, and read both back as a later command does.
func ExampleTransform() {
	x := tensor.FromFloat64(tensor.Float64, []float64{1, 10, 2, 20, 3, 30, 4, 40, 5, 50}, 5, 2)
	split := data.Holdout{Frac: 0.2, Seed: 1, Rows: x.Dim(0)}
	train := split.Pick(x, false)
	t := data.Transform{Kind: data.TransformStandardize, Columns: []string{"a", "b"}}
	t.Mean, t.Std = data.FitStandardize(train)

	extra := map[string]string{}
	t.Store(extra)
	split.Store(extra)
	back, err := data.TransformFromMeta(extra, 2)
	if err != nil {
		panic(err)
	}
	sp, found, err := data.HoldoutFromMeta(extra)
	if err != nil || !found {
		panic(err)
	}
	y, _ := back.Apply(train)
	fmt.Println("held out:", sp.HeldCount(), "of", sp.Rows)
	fmt.Println("training rows:", train.Dim(0))
	z, w := back.Invert(y).ToFloat64(), train.ToFloat64()
	var worst float64
	for i := range z {
		worst = max(worst, math.Abs(z[i]-w[i]))
	}
	fmt.Println("inverse recovers the rows:", worst < 1e-12)
	// Output:
	// held out: 1 of 5
	// training rows: 4
	// inverse recovers the rows: true
}
