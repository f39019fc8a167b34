package bench

import (
	"runtime"
	"testing"

	"github.com/fdsm/fdsm/tensor"
)

// TestStepDeterministicAcrossGOMAXPROCS runs three training steps (objective,
// backward, Adam) of every objective on a small configuration whose kernels
// still split across goroutines (GEMMs above the single-thread threshold,
// elementwise loops above the grain), with GOMAXPROCS 1, 2 and 8, and
// requires bitwise identical losses and parameters: every parallel kernel
// cuts its work at boundaries that depend only on the sizes.
func TestStepDeterministicAcrossGOMAXPROCS(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	cfg := Config{Name: "det", Sizes: []int{64, 256, 256, 1}, Batch: 96}
	run := func(name string, score bool, procs int) ([]float64, []float64) {
		runtime.GOMAXPROCS(procs)
		var s *Step
		var err error
		if score {
			s, err = NewScoreStep(cfg, name, tensor.Float32, 5)
		} else {
			s, err = NewStep(cfg, name, tensor.Float32, 5)
		}
		if err != nil {
			t.Fatal(err)
		}
		var losses []float64
		for range 3 {
			losses = append(losses, s.Run().Loss)
		}
		var params []float64
		for _, p := range s.Model().Params() {
			params = append(params, p.Value.T().ToFloat64()...)
		}
		return losses, params
	}
	cases := []struct {
		name  string
		score bool
	}{{"ssm", false}, {"ssm-vr", false}, {"fd-ssm", false}, {"dsm", false}, {"fd-dsm", false}, {"mdsm", false}, {"fd-mdsm", false}, {"ssm-vr", true}, {"fd-ssm-vr", true}}
	for _, c := range cases {
		l1, p1 := run(c.name, c.score, 1)
		for _, procs := range []int{2, 8} {
			l, p := run(c.name, c.score, procs)
			for i := range l1 {
				if l[i] != l1[i] {
					t.Fatalf("%s (score %v): step %d loss %v with GOMAXPROCS=%d, %v with 1", c.name, c.score, i, l[i], procs, l1[i])
				}
			}
			for i := range p1 {
				if p[i] != p1[i] {
					t.Fatalf("%s (score %v): parameter %d = %v with GOMAXPROCS=%d, %v with 1", c.name, c.score, i, p[i], procs, p1[i])
				}
			}
		}
	}
}
