"""Multiplicity: the one home for adjusting p-values across a family of tests and for the
confidence intervals that go with the adjustment.

Methods (``method``; :data:`METHODS`)

============= =========================================================================
``holm``      Holm (1979) step-down: controls the family-wise error rate (FWER) at
              ``alpha``; never rejects less than Bonferroni. The default.
``bonferroni`` Bonferroni: ``min(1, m p)``; controls the FWER.
``fdr_bh``    Benjamini & Hochberg (1995) step-up: controls the **false discovery
              rate** (the expected share of false verdicts among the rejected), not the
              FWER, and gives **no simultaneous confidence intervals**.
``none``      no adjustment: ``p_adjusted = p``.
============= =========================================================================

Adjusted p-values are those of ``statsmodels.stats.multitest.multipletests``; a test with a
NaN p-value keeps a NaN adjusted p and does not count in the family (``m`` counts the tests
with a p-value).

Simultaneous confidence intervals (:func:`simultaneous_level`)

For ``bonferroni`` and ``holm`` the intervals are Bonferroni intervals at level
``1 - alpha/m``: by Bonferroni's inequality all ``m`` cover their parameters together with
probability at least ``1 - alpha``. A Bonferroni interval excludes 0 exactly when the
Bonferroni-adjusted p is below ``alpha`` (when interval and test come from the same pivot).
Holm rejects everything Bonferroni rejects and possibly more; intervals that match Holm's
step-down test exactly exist (Strassburger & Bretz 2008, Stat. Med. 27:4914-4927) but, for
a rejected hypothesis, they only bound the parameter away from 0 (the interval is ``[0,
inf)``-like, not informative about its size), so the report shows the Bonferroni intervals
and the verdict follows Holm's adjusted p. Where Holm rejects but the Bonferroni interval
still includes 0 the logic chain says so in the note. ``none``: the ordinary ``1 - alpha``
interval. ``fdr_bh``: none (:func:`simultaneous_level` returns ``None``).

How an interval is re-computed at another level depends on how it was built:
:func:`wald_interval` rescales a symmetric Wald interval (``estimate ± q se``, normal or
Student t: the degrees of freedom are recovered from the printed interval); intervals that
are not Wald intervals (Newcombe's hybrid score interval, a bootstrap interval by test
inversion) are recomputed by their own code or not at all.
"""

from __future__ import annotations

import difflib
import gc
import math
from dataclasses import replace

import numpy as np
from scipy import stats

from .effects import Effect

#: the adjustment methods (``inference.method`` in study.yaml)
METHODS = ("holm", "bonferroni", "fdr_bh", "none")
#: the families of the logic chain's verdicts (``inference.family`` in study.yaml)
FAMILIES = ("logic_chain", "element", "source", "none")
#: the names of the methods in words
METHOD_NAMES = {"holm": "Holm", "bonferroni": "Bonferroni", "fdr_bh": "Benjamini-Hochberg",
                "none": "unadjusted"}


def check_method(method: str) -> str:
    """``method`` if it is one of :data:`METHODS`, else a ValueError naming the choices (and
    the nearest one)."""
    if method not in METHODS:
        near = difflib.get_close_matches(str(method), METHODS, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise ValueError(f"unknown multiplicity method {method!r}: use one of "
                         f"{', '.join(METHODS)}{hint}")
    return method


def adjusted_p(p, method: str = "holm") -> np.ndarray:
    """Adjusted p-values of one family (``multipletests``); NaN p-values stay NaN and do not
    count in the family."""
    check_method(method)
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if not ok.any():
        return out
    if method == "none":
        out[ok] = p[ok]
        return out
    from statsmodels.stats.multitest import multipletests

    # statsmodels' Holm branch ends with gc.collect(): a full collection over every object of
    # the process (~0.3 s once great-expectations and matplotlib are loaded, paid once per
    # family). Objects frozen before the call are skipped by that collection; they go back to
    # the collector afterwards (freeze/unfreeze only move list heads).
    gc.freeze()
    try:
        out[ok] = multipletests(p[ok], method=method)[1]
    finally:
        gc.unfreeze()
    return out


def adjust_p(effects: list[Effect], method: str = "holm") -> list[Effect]:
    """The Effects with ``p_adjusted`` filled in across the whole list (:func:`adjusted_p`:
    ``"holm"`` -- Holm 1979, family-wise error -- ``"bonferroni"``, ``"fdr_bh"`` --
    Benjamini & Hochberg 1995, false discovery rate -- or ``"none"``). Effects with a NaN
    p-value keep a NaN ``p_adjusted`` and do not count in the family.

    Pass one family per call. In a study the family is the study's outcomes for one contrast:
    every scale × follow-up wave of, e.g., the network-vs-comparison DiD (as
    :func:`~.survey_did.network_effects` does) or of the network kommuner's pre/post change;
    per-kommune rows are descriptive and belong to a family of their own, if adjusted at all.
    """
    adjusted = adjusted_p([e.p_value for e in effects], method)
    return [replace(e, p_adjusted=float(a)) for e, a in zip(effects, adjusted, strict=True)]


def simultaneous_level(m: int, method: str = "holm", alpha: float = 0.05) -> float | None:
    """The confidence level of each of ``m`` intervals that are simultaneous at ``1 - alpha``
    under ``method``: ``1 - alpha/m`` (Bonferroni intervals) for ``holm`` and ``bonferroni``,
    ``1 - alpha`` for ``none``, ``None`` for ``fdr_bh`` (the FDR has no simultaneous
    intervals)."""
    check_method(method)
    if method == "fdr_bh":
        return None
    if method == "none" or m <= 1:
        return 1 - alpha
    return 1 - alpha / m


def wald_interval(estimate: float, se: float, ci_low: float, ci_high: float, level: float,
                  *, printed_level: float = 0.95) -> tuple[float, float] | None:
    """The interval ``estimate ± q se`` at ``level`` for an estimate whose printed
    ``printed_level`` interval ``[ci_low, ci_high]`` is a Wald interval: symmetric about the
    estimate with half-width ``q0 se``. ``q0`` equal to the normal quantile gives a normal
    interval; a larger one a Student t interval whose degrees of freedom solve
    ``t_{df}^{-1}((1 + printed_level)/2) = q0``. ``None`` when the printed interval is not
    such a Wald interval (asymmetric, no SE) or a number is missing."""
    vals = (estimate, se, ci_low, ci_high)
    if any(v is None or not math.isfinite(float(v)) for v in vals) or float(se) <= 0:
        return None
    estimate, se, ci_low, ci_high = map(float, vals)
    half = (ci_high - ci_low) / 2
    if half <= 0 or abs((ci_low + ci_high) / 2 - estimate) > 1e-6 * max(1.0, half):
        return None
    q0 = half / se
    z0 = stats.norm.ppf((1 + printed_level) / 2)
    if abs(q0 - z0) <= 1e-4 * z0 or q0 < z0:
        if q0 < z0 * (1 - 1e-3):
            return None  # narrower than normal: not a Wald interval of this SE
        q = stats.norm.ppf((1 + level) / 2)
    else:
        tail = (1 + printed_level) / 2
        try:
            from scipy.optimize import brentq

            df = brentq(lambda d: stats.t.ppf(tail, d) - q0, 0.05, 1e8)
        except ValueError:
            return None
        q = stats.t.ppf((1 + level) / 2, df)
    return estimate - q * se, estimate + q * se


def method_words(method: str) -> str:
    """``"Holm-adjusted"``, ``"Bonferroni-adjusted"``, ``"Benjamini-Hochberg-adjusted"`` or
    ``"unadjusted"``."""
    return "unadjusted" if method == "none" else f"{METHOD_NAMES[method]}-adjusted"
