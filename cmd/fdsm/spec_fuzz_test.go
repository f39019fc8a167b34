package main

import "testing"

// FuzzParseModelSpec feeds arbitrary checkpoint "model" metadata to the
// parser: it must return an error or a specification that validates and
// that its String form reads back to the same specification, never panic.
func FuzzParseModelSpec(f *testing.F) {
	for _, s := range []string{
		"mlp d=2 width=64 depth=2 act=softplus",
		"score-mlp d=784 width=512 depth=2 act=elu",
		"nice d=784 width=1000 depth=5 act=softplus couplings=4 prior=logistic",
		"quadratic d=11 width=30 depth=2 act=tanh",
		"dkef d=11 width=30 depth=2 act=softplus inducing=100 kernels=3",
		"resnet d=784 width=32 depth=3 act=softplus",
		"resnet d=783 width=32 depth=3 act=softplus",
		"resnet d=1024 width=99999 depth=3 act=softplus",
		"mlp d=2 width=8 depth=2 act=softplus d=3",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := parseModelSpec(s)
		if err != nil {
			return
		}
		if err := spec.validate(); err != nil {
			t.Fatalf("%q parsed but does not validate: %v", s, err)
		}
		again, err := parseModelSpec(spec.String())
		if err != nil || again != spec {
			t.Fatalf("%q → %q → %+v, %v (want %+v)", s, spec.String(), again, err, spec)
		}
	})
}
