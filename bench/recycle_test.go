package bench

import (
	"testing"

	ad "github.com/fdsm/fdsm/autodiff"
	"github.com/fdsm/fdsm/internal/kernel/bufpool"
	"github.com/fdsm/fdsm/nn"
	"github.com/fdsm/fdsm/sm"
	"github.com/fdsm/fdsm/tensor"
)

// TestRecycledStepsMatch: a training step through nn.Update (ReleaseGraph,
// whose walk hands buffers back to the pool that the next allocations
// reuse) leaves the same parameters, bit for bit, as one through a plain
// Grad and Step, which recycles nothing, over several steps of every
// objective, float32 (stable FD) and float64, on an MLP and a small ResNet,
// and of the score-network objectives on the MLP. A buffer recycled while
// still in use would change the numbers; with the pool poisoned, it reads
// NaNs, and a buffer handed back twice panics.
func TestRecycledStepsMatch(t *testing.T) {
	defer bufpool.SetPoison(bufpool.SetPoison(true))
	cfgs := []Config{
		{Name: "mlp", Sizes: []int{192, 256, 256, 1}, Batch: 24}, // inputs and hidden activations above bufpool.MinLen
		{Name: "resnet", Sizes: []int{64}, Batch: 6, ResNet: &ResNetSpec{C: 1, H: 8, W: 8, Net: nn.ResNetConfig{Channels: 4, Blocks: 2}}},
	}
	for _, cfg := range cfgs {
		for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64} {
			for _, o := range sm.Objectives() {
				score := o.Energy == nil
				if (score && cfg.ResNet != nil) || (o.Name == "sm" && cfg.ResNet != nil) {
					continue
				}
				newStep := NewStep
				if score {
					newStep = NewScoreStep
				}
				a, err := newStep(cfg, o.Name, dt, 3)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := newStep(cfg, o.Name, dt, 3)
				b.Options.Arena = nil
				for step := range 3 {
					a.Run()
					var loss *ad.Value
					if score {
						loss = b.Objective.Score(b.model.(sm.Score), b.x, &b.Options)
					} else {
						loss = b.Objective.Energy(b.model, b.x, &b.Options)
					}
					gs := ad.Grad(loss, b.params)
					grads := make([]*tensor.Tensor, len(gs))
					for i, g := range gs {
						grads[i] = g.T()
					}
					b.opt.Step(b.model.Params(), grads, b.LR)
					pa, pb := a.model.Params(), b.model.Params()
					for i := range pa {
						x, y := pa[i].Value.T().ToFloat64(), pb[i].Value.T().ToFloat64()
						for j := range x {
							if x[j] != y[j] {
								t.Fatalf("%s %v %s step %d: %s[%d] = %v with recycling, %v without", cfg.Name, dt, o.Name, step, pa[i].Name, j, x[j], y[j])
							}
						}
					}
				}
			}
		}
	}
}
