"""Parallel-trends sensitivity of an event study: Rambachan & Roth (2023, "A More Credible
Approach to Parallel Trends", Review of Economic Studies 90(5)).

The event study gives coefficients ``betahat`` = (β_pre, β_post) with covariance ``sigma``:
``n_pre`` pre-period coefficients (the reference period, normalised to 0, is not among them)
followed by ``n_post`` post-period coefficients (event time 0 = the first year in the network
is the first post period). The target is θ = l'τ_post, by default the average post-period
effect (``l_vec`` = 1/n_post each). Writing β = τ + δ (δ: the difference in trends that
parallel trends assumes away, δ_ref = 0), the sensitivity analysis asks which θ are
consistent with the data when δ is only known to lie in a set Δ:

- **Relative magnitudes** Δ^RM(M̄): every post-period change |δ_{t+1} − δ_t| is at most M̄
  times the largest pre-period change |δ_{s+1} − δ_s|. M̄ = 1: the trend violation after
  joining is no larger than the worst one seen before. Robust CI: the conditional moment-
  inequality test of Andrews, Roth & Pakes (ARP, 2023) with the least-favourable hybrid
  (``"C-LF"``, HonestDiD's default for Δ^RM) or without it (``"ARP"``), inverted over a
  grid of θ, and the union over which pre-period change is the largest and its sign (the
  set is a union of polyhedra).
- **Smoothness** Δ^SD(M): the slope of δ changes by at most M from one period to the next
  (M = 0: a linear trend, extrapolated exactly). Robust CI: the optimal fixed-length CI of
  Armstrong & Kolesár (2018; ``FLCI``, HonestDiD's default for Δ^SD), an affine estimator
  a'β̂ chosen to minimise the CI half-length cv_α(bias/sd)·sd over the worst-case bias on
  Δ^SD(M).
- **Breakdown value**: the largest M̄ (or M) at which the robust CI still excludes 0, found
  by bisection (the sets are nested in M̄, so the CIs are too).
- The **original CI** l'β̂_post ± z·sd (parallel trends exactly) and the **joint pre-trend
  Wald test** β̂_pre'Σ_pre⁻¹β̂_pre ~ χ²(n_pre).

Where it lives: :mod:`.core` (the coefficient split, the original CI, the pre-trend
Wald test, the breakdown bisection), :mod:`.arp` (the ARP test and the least-favourable
critical value; the test statistic from the vertices of its dual polytope, listed once per
M̄, instead of an LP per θ), :mod:`.rm` (Δ^RM: identified set in closed form, robust CI,
breakdown), :mod:`.flci`
(Δ^SD: FLCI, the M scale, breakdown), :mod:`.summary` (:func:`sensitivity_analysis`).

Why our own code: the methods' reference implementation is the R package HonestDiD (and its
Stata port); the only Python port on PyPI (``honestdid``) depends on torch, too heavy for
this pipeline, and no other maintained, torch-free Python package implements them. This
package follows the published algorithms (ARP 2023 §3-5 and Appendix; Rambachan & Roth 2023
§4-5; Armstrong & Kolesár 2018) with scipy's HiGHS LPs and SLSQP. Differences from R, on
purpose: the folded-normal quantile of the FLCI is computed exactly (R simulates 10⁶ draws);
the FLCI's half-length is minimised over the estimator's sd by bounded Brent search (R:
bisection on numerical derivatives); the least-favourable critical value is simulated with
numpy's generator (R: ``set.seed(0)``), so C-LF intervals agree with R's to simulation
error, while ``"ARP"`` intervals on R's grid agree to the grid point. The tests check them
against R's published outputs (``tests/test_sensitivity.py``).
"""

from .core import MBAR_GRID, original_ci, pretrend_wald
from .flci import sd_breakdown, sd_flci, sd_m_upper
from .rm import rm_breakdown, rm_ci, rm_identified_set
from .summary import SensitivityResult, sensitivity_analysis

__all__ = [
    "original_ci", "pretrend_wald", "rm_identified_set", "rm_ci", "sd_flci", "rm_breakdown",
    "sd_breakdown", "sensitivity_analysis", "SensitivityResult", "MBAR_GRID", "sd_m_upper",
]
