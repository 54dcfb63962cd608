"""What every Rambachan & Roth sensitivity method shares: the coefficient split and target
weights l, the original CI under exact parallel trends, the joint pre-trend Wald test, and
the bisection for a breakdown value (:mod:`.rm`, :mod:`.flci`)."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

#: M̄ values of the relative-magnitudes table and figure
MBAR_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)


# ---------------------------------------------------------------------------------------------
# Basics


def split_estimates(betahat, sigma, n_pre: int, n_post: int):
    b = np.asarray(betahat, dtype=float).ravel()
    S = np.asarray(sigma, dtype=float)
    if b.size != n_pre + n_post or S.shape != (b.size, b.size):
        raise ValueError(f"betahat has {b.size} entries and sigma shape {S.shape}; expected "
                         f"{n_pre} pre + {n_post} post periods")
    if n_pre < 1 or n_post < 1:
        raise ValueError("need at least one pre-period and one post-period coefficient")
    return b, S


def target_weights(l_vec, n_post: int) -> np.ndarray:
    if l_vec is None:
        return np.full(n_post, 1.0 / n_post)
    lv = np.asarray(l_vec, dtype=float).ravel()
    if lv.size != n_post:
        raise ValueError(f"l_vec has {lv.size} entries, expected {n_post}")
    return lv


def original_ci(betahat, sigma, n_pre: int, n_post: int, l_vec=None,
                alpha: float = 0.05) -> tuple[float, float]:
    """l'β̂_post ± z_{1−α/2}·sd: the CI under exact parallel trends (HonestDiD's
    ``constructOriginalCS``)."""
    b, S = split_estimates(betahat, sigma, n_pre, n_post)
    lv = target_weights(l_vec, n_post)
    est = float(lv @ b[n_pre:])
    sd = math.sqrt(float(lv @ S[n_pre:, n_pre:] @ lv))
    z = stats.norm.ppf(1 - alpha / 2)
    return est - z * sd, est + z * sd


def pretrend_wald(betahat, sigma, n_pre: int) -> dict[str, float]:
    """Joint Wald test that every pre-period coefficient is 0: W = β̂_pre'Σ_pre⁻¹β̂_pre,
    χ²(n_pre) p-value (a pseudo-inverse if Σ_pre is singular; then df is its rank)."""
    b = np.asarray(betahat, dtype=float).ravel()[:n_pre]
    S = np.asarray(sigma, dtype=float)[:n_pre, :n_pre]
    if n_pre < 1:
        return {"statistic": math.nan, "df": 0, "p_value": math.nan}
    stat = float(b @ np.linalg.pinv(S) @ b)
    df = int(np.linalg.matrix_rank(S))
    return {"statistic": stat, "df": df, "p_value": float(stats.chi2.sf(stat, df))}


# ---------------------------------------------------------------------------------------------
# Breakdown values


def excludes_zero(lb: float, ub: float) -> bool:
    return bool(np.isfinite(lb) and np.isfinite(ub) and (lb > 0 or ub < 0))


def bisect_breakdown(excludes, known: dict[float, bool], tol: float, start: float,
               limit: float) -> float:
    """The largest M at which ``excludes(M)`` holds, by bisection between the largest known
    M where it holds and the smallest where it does not (doubling ``start`` until it fails,
    up to ``limit``: then ``inf``). NaN if it fails at 0."""
    if not known.get(0.0, excludes(0.0)):
        return math.nan
    good = max((m for m, ok in known.items() if ok), default=0.0)
    bads = [m for m, ok in known.items() if not ok and m > good]
    bad = min(bads) if bads else None
    step = max(start, good)
    while bad is None:
        m = good + step
        if m > limit:
            return math.inf
        if excludes(m):
            good = m
        else:
            bad = m
        step *= 2
    while bad - good > tol:
        m = 0.5 * (good + bad)
        if excludes(m):
            good = m
        else:
            bad = m
    return good
