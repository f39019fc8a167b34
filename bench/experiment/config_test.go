package experiment

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigValidation checks that every entry point refuses a config with
// one field out of bounds, before it reads data or writes a file, with a
// *ConfigError naming that field and, in Usage, its flag: the configs are a
// Go API, and cmd/fdsm relies on these checks for its flags.
//
// The base configs are tiny and their data is missing (an MNIST directory
// that does not exist, with the module proxy off, and no UCI files), so that
// without a check the run fails fast, with another error, or finishes a
// few steps: either way the case fails.
func TestConfigValidation(t *testing.T) {
	t.Setenv("GOPROXY", "off") // a missing MNIST is not fetched
	t.Setenv("GOFLAGS", "-modcacherw")
	t.Setenv("GOMODCACHE", t.TempDir())
	dir := t.TempDir()
	mnist := filepath.Join(dir, "no-mnist")
	out := filepath.Join(dir, "out")

	toys := func(f func(*ToysConfig)) func() error {
		return func() error {
			c := ToysConfig{Steps: 1, Width: 2, Batch: 2, LR: 1e-2, Sigma: 0.1, Panel: 8, Grid: 2, Seed: 1,
				Objectives: []string{"ssm"}, Toys: []string{"rings"}, Out: out, Force: true}
			f(&c)
			return Toys(c, io.Discard)
		}
	}
	demo := func(f func(*DemoConfig)) func() error {
		return func() error {
			c := DemoConfig{Toy: "rings", Width: 2, Steps: 1, Batch: 2, LR: 1e-2, Seed: 1, Sigma: 0.1, Quick: true, HighDimSteps: 1,
				Out: out, Force: true}
			f(&c)
			return Demo(c, io.Discard)
		}
	}
	nice := func(f func(*NICEConfig)) func() error {
		return func() error {
			c := DefaultNICEConfig()
			c.MNIST, c.Out = mnist, out
			f(&c)
			return NICE(c, io.Discard)
		}
	}
	ood := func(f func(*OODConfig)) func() error {
		return func() error {
			c := DefaultOODConfig()
			c.MNIST, c.Out = mnist, out
			f(&c)
			return OOD(c, io.Discard)
		}
	}
	ebm := func(f func(*EBMConfig)) func() error {
		return func() error {
			c := DefaultEBMConfig()
			c.MNIST, c.Out = mnist, out
			f(&c)
			return EBM(c, io.Discard)
		}
	}
	uci := func(f func(*UCIConfig)) func() error {
		return func() error {
			c := DefaultUCIConfig()
			c.Dir = filepath.Join(dir, "no-uci")
			f(&c)
			return UCI(c, io.Discard)
		}
	}
	inf, nan := math.Inf(1), math.NaN()
	cases := []struct {
		field, flag string // the field the error must name, and its flag
		run         func() error
	}{
		{"ToysConfig.Objectives", "-objectives", toys(func(c *ToysConfig) { c.Objectives = nil })},
		{"ToysConfig.Objectives", "-objectives", toys(func(c *ToysConfig) { c.Objectives = []string{"mle"} })},
		{"ToysConfig.Objectives", "-objectives", toys(func(c *ToysConfig) { c.Objectives = []string{"ssm", "ssm"} })},
		{"ToysConfig.Toys", "-toys", toys(func(c *ToysConfig) { c.Toys = nil })},
		{"ToysConfig.Toys", "-toys", toys(func(c *ToysConfig) { c.Toys = []string{"moons"} })}, // no known density
		{"ToysConfig.Steps", "-steps", toys(func(c *ToysConfig) { c.Steps = 0 })},
		{"ToysConfig.Width", "-width", toys(func(c *ToysConfig) { c.Width = 4097 })},
		{"ToysConfig.Batch", "-batch", toys(func(c *ToysConfig) { c.Batch = 0 })},
		{"ToysConfig.LR", "-lr", toys(func(c *ToysConfig) { c.LR = inf })},
		{"ToysConfig.Sigma", "-sigma", toys(func(c *ToysConfig) { c.Sigma = nan })},
		{"ToysConfig.Panel", "-panel", toys(func(c *ToysConfig) { c.Panel = 7 })},
		{"ToysConfig.Grid", "-grid", toys(func(c *ToysConfig) { c.Grid = 1 })},

		{"DemoConfig.Width", "-width", demo(func(c *DemoConfig) { c.Width = 0 })},
		{"DemoConfig.Steps", "-steps", demo(func(c *DemoConfig) { c.Steps = 0 })},
		{"DemoConfig.Batch", "-batch", demo(func(c *DemoConfig) { c.Batch = 1<<16 + 1 })},
		{"DemoConfig.Sigma", "-sigma", demo(func(c *DemoConfig) { c.Sigma = 0 })},
		{"DemoConfig.LR", "-lr", demo(func(c *DemoConfig) { c.LR = -1 })},
		{"DemoConfig.HighDimSteps", "-highdim-steps", demo(func(c *DemoConfig) { c.HighDimSteps = 0 })},
		{"DemoConfig.Toy", "-toy", demo(func(c *DemoConfig) { c.Toy = "moons" })},

		{"NICEConfig.Objectives", "-objectives", nice(func(c *NICEConfig) { c.Objectives = []string{"sliced-dsm"} })},
		{"NICEConfig.Steps", "-steps", nice(func(c *NICEConfig) { c.Steps = 0 })},
		{"NICEConfig.Minutes", "-minutes", nice(func(c *NICEConfig) { c.Minutes = -1 })},
		{"NICEConfig.Width", "-width", nice(func(c *NICEConfig) { c.Width = 0 })},
		{"NICEConfig.Depth", "-depth", nice(func(c *NICEConfig) { c.Depth = 17 })},
		{"NICEConfig.Couplings", "-couplings", nice(func(c *NICEConfig) { c.Couplings = 0 })},
		{"NICEConfig.Batch", "-batch", nice(func(c *NICEConfig) { c.Batch = 1<<14 + 1 })},
		{"NICEConfig.LR", "-lr", nice(func(c *NICEConfig) { c.LR = 0 })},
		{"NICEConfig.Sigma", "-sigma", nice(func(c *NICEConfig) { c.Sigma = inf })},
		{"NICEConfig.SMRows", "-sm-rows", nice(func(c *NICEConfig) { c.SMRows = 0 })},
		{"NICEConfig.CurveRows", "-curve-rows", nice(func(c *NICEConfig) { c.CurveRows = 0 })},
		{"NICEConfig.Points", "-points", nice(func(c *NICEConfig) { c.Points = 1 })},

		{"OODConfig.In", "-in", ood(func(c *OODConfig) { c.In = nil })},
		{"OODConfig.In", "-in", ood(func(c *OODConfig) { c.In = []uint8{1, 10} })},
		{"OODConfig.In", "-in", ood(func(c *OODConfig) { c.In = []uint8{1, 1} })},
		{"OODConfig.Objectives", "-objectives", ood(func(c *OODConfig) { c.Objectives = []string{"mle"} })},
		{"OODConfig.Steps", "-steps", ood(func(c *OODConfig) { c.Steps = 0 })},
		{"OODConfig.Width", "-width", ood(func(c *OODConfig) { c.Width = 0 })},
		{"OODConfig.Batch", "-batch", ood(func(c *OODConfig) { c.Batch = 0 })},
		{"OODConfig.LR", "-lr", ood(func(c *OODConfig) { c.LR = nan })},
		{"OODConfig.Sigma", "-sigma", ood(func(c *OODConfig) { c.Sigma = -1 })},
		{"OODConfig.Rows", "-rows", ood(func(c *OODConfig) { c.Rows = 0 })},
		{"OODConfig.Projections", "-m", ood(func(c *OODConfig) { c.Projections = 1025 })},
		{"OODConfig.Points", "-points", ood(func(c *OODConfig) { c.Points = 0 })},
		{"OODConfig.CurveRows", "-curve-rows", ood(func(c *OODConfig) { c.CurveRows = 0 })},

		{"EBMConfig.Objectives", "-objectives", ebm(func(c *EBMConfig) { c.Objectives = []string{"nice"} })},
		{"EBMConfig.Steps", "-steps", ebm(func(c *EBMConfig) { c.Steps = 0 })},
		{"EBMConfig.Minutes", "-minutes", ebm(func(c *EBMConfig) { c.Minutes = inf })},
		{"EBMConfig.Width", "-width", ebm(func(c *EBMConfig) { c.Width = 4097 })},
		{"EBMConfig.Depth", "-depth", ebm(func(c *EBMConfig) { c.Depth = 9 })},
		{"EBMConfig.Batch", "-batch", ebm(func(c *EBMConfig) { c.Batch = 0 })},
		{"EBMConfig.LR", "-lr", ebm(func(c *EBMConfig) { c.LR = 0 })},
		{"EBMConfig.Sigma", "-sigma", ebm(func(c *EBMConfig) { c.Sigma = 0 })},
		{"EBMConfig.N", "-n", ebm(func(c *EBMConfig) { c.N = 1 })}, // a Fréchet distance needs two samples
		{"EBMConfig.WalkSteps", "-walk-steps", ebm(func(c *EBMConfig) { c.WalkSteps = -1 })},
		{"EBMConfig.WalkSize", "-walk-size", ebm(func(c *EBMConfig) { c.WalkSize = inf })},
		{"EBMConfig.SMRows", "-sm-rows", ebm(func(c *EBMConfig) { c.SMRows = 0 })},
		{"EBMConfig.CurveRows", "-curve-rows", ebm(func(c *EBMConfig) { c.CurveRows = 0 })},
		{"EBMConfig.Points", "-points", ebm(func(c *EBMConfig) { c.Points = 1 })},
		{"EBMConfig.WalkTemperature", "-walk-temperature", ebm(func(c *EBMConfig) { c.WalkTemperature = "hot" })},

		{"UCIConfig.Tables", "-data", uci(func(c *UCIConfig) { c.Tables = nil })},
		{"UCIConfig.Tables", "-data", uci(func(c *UCIConfig) { c.Tables = []string{"rosé"} })},
		{"UCIConfig.Objectives", "-objectives", uci(func(c *UCIConfig) { c.Objectives = []string{"mdsm"} })},
		{"UCIConfig.Seeds", "-seeds", uci(func(c *UCIConfig) { c.Seeds = 101 })},
		{"UCIConfig.Steps", "-steps", uci(func(c *UCIConfig) { c.Steps = 0 })},
		{"UCIConfig.Batch", "-batch", uci(func(c *UCIConfig) { c.Batch = 1 })}, // α is fitted on a batch: two rows at least
		{"UCIConfig.LR", "-lr", uci(func(c *UCIConfig) { c.LR = inf })},
		{"UCIConfig.Inducing", "-inducing", uci(func(c *UCIConfig) { c.Inducing = 0 })},
		{"UCIConfig.Width", "-width", uci(func(c *UCIConfig) { c.Width = 0 })},
		{"UCIConfig.ISSamples", "-is-samples", uci(func(c *UCIConfig) { c.ISSamples = 1 })},
	}
	for _, c := range cases {
		err := func() (err error) {
			// Without its check a bad field may panic further in: that
			// fails the case, not the rest of the table.
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("panic: %v", p)
				}
			}()
			return c.run()
		}()
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != c.field || !strings.Contains(ce.Usage, c.flag) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s out of bounds: error %v, want a *ConfigError naming %s and, in Usage, %s", c.field, err, c.field, c.flag)
		}
	}
}

// TestDefaultConfigsValid checks that the defaults of each experiment
// (those of fdsm experiment NAME) pass its validation.
func TestDefaultConfigsValid(t *testing.T) {
	for name, err := range map[string]error{
		"toys": DefaultToysConfig().Validate(), "demo": DefaultDemoConfig().Validate(), "nice": DefaultNICEConfig().Validate(),
		"ood": DefaultOODConfig().Validate(), "ebm": DefaultEBMConfig().Validate(), "uci": DefaultUCIConfig().Validate(),
	} {
		if err != nil {
			t.Errorf("the defaults of %s: %v", name, err)
		}
	}
}
