package sm

import ad "github.com/fdsm/fdsm/autodiff"

// Energy is an energy-based model: Energy maps a batch [N, d] to one energy
// per row ([N]), with log p(x) = −E(x) − log Z. Rows must not interact.
type Energy interface {
	Energy(x *ad.Value) *ad.Value
}

// Score is a score network: Score maps a batch [N, d] to one vector per row
// ([N, d]) estimating ∇x log p(x). Rows must not interact.
type Score interface {
	Score(x *ad.Value) *ad.Value
}

// EnergyFunc adapts a function to the Energy interface.
type EnergyFunc func(x *ad.Value) *ad.Value

// Energy implements Energy.
func (f EnergyFunc) Energy(x *ad.Value) *ad.Value { return f(x) }

// ScoreFunc adapts a function to the Score interface.
type ScoreFunc func(x *ad.Value) *ad.Value

// Score implements Score.
func (f ScoreFunc) Score(x *ad.Value) *ad.Value { return f(x) }

// logp returns log p(x) + log Z = −E(x), one value per row.
func logp(m Energy, x *ad.Value) *ad.Value { return ad.Neg(m.Energy(x)) }

// scoreOf returns s(x) = ∇x log p(x) for an energy model, recorded so that it
// can be differentiated again (with respect to x or the parameters).
func scoreOf(m Energy, x *ad.Value) *ad.Value {
	return ad.Grad(ad.Sum(logp(m, x)), []*ad.Value{x}, ad.CreateGraph())[0]
}
