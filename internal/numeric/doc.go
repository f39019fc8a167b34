// Package numeric holds small float64 helpers that several fdsm packages
// need (sm's log-likelihoods, data's mixture densities, the statistics of
// the experiments and of the CLI), so that each is written once.
package numeric
