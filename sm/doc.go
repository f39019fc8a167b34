// Package sm turns models into score-matching objectives: the gradient-based
// ones, whose losses contain ∇x log p and so need gradients of gradients, and
// the finite-difference ones of Pang et al. (NeurIPS 2020), which need only
// function evaluations run as one batch and one ordinary backward pass.
//
// Notation: a batch x of B rows in d dimensions; an energy model E with
// log p(x) = −E(x) − log Z, written g = log p (Z drops out of every
// objective); the score s = ∇x g; the Hessian H = ∇x² g. Every loss is the
// mean over the batch (and over M projections per sample) of a per-sample
// loss:
//
//	ExactSM       ½‖s(x)‖² + tr H(x)                       (forward Laplacian, else d recorded backward passes)
//	SSM           ½(vᵀs)² + vᵀHv,   v Rademacher/Gaussian/sphere(√d), E[vvᵀ] = I
//	SSMVR         ½‖s‖² + vᵀHv
//	DSM           ½‖σ²s(x̃) + (x̃ − x)‖²,   x̃ = x + σn, n ~ N(0, I)   (÷σ² optional)
//	MDSM          c·‖(x − x̃)/σ₀² + ∇x E(x̃)‖²/σ_i²,   x̃ = x + σ_i n,
//	              σ_i linear in 0.05…1.2 across the batch, σ₀ = 0.1, c = 1e-4
//	ScoreSSMVR    ½‖s(x)‖² + vᵀ∇x(vᵀs(x))                  (score network s)
//
// and their finite-difference forms, with ‖v‖ = ε (u for FD-DSM has ‖u‖ = ε√d):
//
//	FDSSM         (d/ε²)·[⅛(g(x+v) − g(x−v))² + g(x+v) + g(x−v) − 2g(x)]
//	FDDSM         (σ²·½(g(x̃+u) − g(x̃−u)) + uᵀ(x̃ − x))² / (2ε²)
//	FDMDSM        c·(d/ε²)·(½(g(x̃+v) − g(x̃−v)) + vᵀ(x̃ − x)/σ₀²)² / σ_i²
//	FDScoreSSMVR  ⅛‖s(x+v) + s(x−v)‖² + (d/(2ε²))·(s(x+v) − s(x−v))ᵀv
//
// They rest on g(x+v) − g(x−v) = 2vᵀs + O(ε³) and
// g(x+v) + g(x−v) − 2g(x) = vᵀHv + O(ε⁴): each FD objective equals its
// gradient-based counterpart (SSM with v' = (√d/ε)v, the sliced DSM of
// SlicedDSM, …) up to O(ε²), in value and in parameter gradient, and in
// expectation over the directions equals SSM, DSM or MDSM. The stencils are
// options (Options.First, Options.Second): fd.D1Acc4 and fd.D2Acc4 make the
// error O(ε⁴) at the cost of five evaluations.
//
// In float32 (Options.FDMode, default FDAuto) the FD objectives never
// subtract shifted evaluations: the model is evaluated once and exact
// differences are propagated through it by autodiff.Delta and
// autodiff.Central, each primitive applying a cancellation-free difference
// rule (ΔZ = ΔX·Wᵀ for a layer, the activation's Taylor series in the step,
// log1p/expm1 forms otherwise). FD-SSM carries the pair
// D = (g(x+v) − g(x−v))/2, S = g(x+v) + g(x−v) − 2g(x) through the model, so
// its second difference has a relative error of about κ·u (κ the network's
// condition number, u = 6e-8) instead of u·|g|/ε². FD-DSM, FD-MDSM and
// FD-SSM-VR propagate one difference from x − v. On mnist-mlp and
// mnist-large, for ε from 0.01 to 0.1, the float32 loss is within 1.3e-5 and
// the parameter gradient within 8e-7 of float64, where naive float32 gives
// gradient cosines down to 0.015, at 0.9–1.09× the naive step's cost. FDNaive
// keeps the plain evaluation; float64 uses it by default.
//
// MLE, the batch mean of E, is the maximum-likelihood reference for
// normalised models (NICE): it is not in Objectives, since for an
// unnormalised energy it has no minimum.
//
// Randomness is drawn from Options.Rand (noise first, then projections) or
// passed explicitly (Options.V, Options.Noise), so a loss can be reproduced
// exactly and cross-checked against another framework.
//
// The package also evaluates models: ExactSMLoss (and ExactScoreSMLoss) over
// a data set; log-likelihoods by quadrature on a grid for 2-D models
// (LogLikelihoodGrid2D) and by importance-sampled log Z for unnormalised ones
// (LogZImportance, LogLikelihoodIS, proposal N(0, 4I) as in the reference);
// AUROC for out-of-distribution scores. It samples from them with Langevin,
// AnnealedLangevin (noise levels, Song & Ermon 2019) and TemperedLangevin
// (temperatures; MDSMTemperatures is the MDSM reference schedule), finished
// by the denoising step Denoise, x + σ²∇log p_σ(x); WalkJump is Langevin on
// the σ-smoothed density followed by that jump (Saremi & Hyvärinen 2019).
package sm
