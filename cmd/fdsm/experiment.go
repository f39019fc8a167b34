package main

import (
	"errors"
	"fmt"
	"github.com/fdsm/fdsm/bench/experiment"
	"io"
	"strings"
)

func init() {
	register("experiment", "rerun one of the paper's experiments at CPU scale: uci, nice, ood, toys or ebm", cmdExperiment)
}

// experiments maps a NAME of fdsm experiment to its command and summary.
var experiments = map[string]command{
	"uci":  {"DKEF on the UCI wine data by SSM, SSM-VR and FD-SSM: test log-likelihood, exact SM loss, ms/step", expUCI},
	"nice": {"NICE on MNIST by SSM, SSM-VR, DSM, FD-SSM and MLE: exact test log-likelihood, SM loss, ms/step, memory, learning curve", expNICE},
	"ood":  {"MNIST energy trained by DSM and FD-DSM: AUROC against OOD sets made from MNIST", expOOD},
	"ebm":  {"MNIST energy by MDSM, DSM, SSM and their FD versions for equal wall-clock: FID-MNIST of 1000 samples, SM loss, ms/step, memory", expEBM},
	"toys": {"every energy objective on three 2-D distributions: density images and log-likelihoods", expToys},
}

func experimentUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: fdsm experiment NAME [flags]

Reruns an experiment of Pang et al. (NeurIPS 2020) at a size a CPU finishes in
minutes. Results go to standard output as a markdown table (-json for one JSON
object), figures into -out DIR (default ./fdsm-out/NAME; a directory that
holds files is refused unless -force), progress to standard error.
EXPERIMENTS.md records the commands, sizes and results.

Experiments:
`)
	printIndex(w, experiments, 5)
	fmt.Fprint(w, "\nRun 'fdsm experiment NAME -h' for an experiment's flags.\n")
}

func cmdExperiment(args []string, out, errw io.Writer) error {
	if len(args) == 0 {
		return usageError{"which experiment? want uci, nice, ood, toys or ebm"}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		var b strings.Builder
		experimentUsage(&b)
		return helpText(b.String())
	}
	e, ok := experiments[args[0]]
	if !ok {
		return usageError{fmt.Sprintf("unknown experiment %q (want uci, nice, ood, toys or ebm)", args[0])}
	}
	return e.run(args[1:], out, errw)
}

// splitList splits a comma-separated flag value into its trimmed items.
func splitList(s string) []string {
	items := strings.Split(s, ",")
	for i := range items {
		items[i] = strings.TrimSpace(items[i])
	}
	return items
}

// configError turns an experiment's *experiment.ConfigError into a usage
// error: its Usage names the flag at fault.
func configError(err error) error {
	var ce *experiment.ConfigError
	if errors.As(err, &ce) {
		return usageError{ce.Usage}
	}
	return err
}
