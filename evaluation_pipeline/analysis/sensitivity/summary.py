"""Everything for one event study: :func:`sensitivity_analysis` runs the original CI, the
Δ^RM and Δ^SD robust CIs over their grids, both breakdown values and the pre-trend Wald test,
and returns a :class:`SensitivityResult`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from .core import (
    MBAR_GRID,
    excludes_zero,
    original_ci,
    pretrend_wald,
    split_estimates,
    target_weights,
)
from .flci import sd_breakdown, sd_flci, sd_m_upper
from .rm import rm_breakdown, rm_ci


@dataclass
class SensitivityResult:
    """:func:`sensitivity_analysis`' output. ``table``: kind (``original``, ``RM``, ``SD``),
    m (M̄ or M; NaN for the original CI), lb, ub, method. ``breakdown_rm`` (M̄) and
    ``breakdown_sd`` (M): NaN when the original CI already includes 0, inf when the CI
    excludes 0 at every M tried. ``pretrend``: :func:`pretrend_wald`."""

    table: pd.DataFrame
    estimate: float
    original: tuple[float, float]
    breakdown_rm: float
    breakdown_sd: float
    pretrend: dict[str, float]
    m_scale: float
    n_pre: int
    n_post: int
    notes: list[str] = field(default_factory=list)


def sensitivity_analysis(betahat, sigma, n_pre: int, n_post: int, l_vec=None,
                         alpha: float = 0.05, *, mbar_grid=MBAR_GRID, m_grid=None,
                         method: str = "C-LF", seed: int = 0) -> SensitivityResult:
    """Rambachan & Roth sensitivity of θ = l'τ_post (default: the average post-period
    effect): the original CI, robust CIs under Δ^RM(M̄) for ``mbar_grid`` (``method``
    C-LF or ARP, refined grid) and under Δ^SD(M) (FLCI) for ``m_grid`` (default: 9 values
    from 0 to :func:`sd_m_upper`, or, with one pre-period, to the sd of the pre-period
    coefficient), both breakdown values and the pre-trend Wald test.

    With one BLAS thread: its matrices are tiny (at most the moments × 1000 simulation
    draws), and OpenBLAS's threads would only spin (twice the CPU time on two cores). It
    also makes the FLCI ends independent of the machine's thread count: a different
    summation order moves SLSQP's path and the ends by up to ~1e-5 relative."""
    with threadpool_limits(limits=1, user_api="blas"):
        return _analyse(betahat, sigma, n_pre, n_post, l_vec, alpha, mbar_grid, m_grid,
                        method, seed)


def _analyse(betahat, sigma, n_pre, n_post, l_vec, alpha, mbar_grid, m_grid, method,
             seed) -> SensitivityResult:
    b, S = split_estimates(betahat, sigma, n_pre, n_post)
    lv = target_weights(l_vec, n_post)
    notes = []
    orig = original_ci(b, S, n_pre, n_post, lv, alpha)
    rows = [{"kind": "original", "m": math.nan, "lb": orig[0], "ub": orig[1],
             "method": "parallel trends"}]
    rm_known = {}
    for mb in mbar_grid:
        lo, hi = rm_ci(b, S, n_pre, n_post, lv, float(mb), alpha, method, grid_points=30,
                       refine=True, seed=seed)
        rm_known[float(mb)] = (lo, hi)
        rows.append({"kind": "RM", "m": float(mb), "lb": lo, "ub": hi, "method": method})
    if m_grid is None:
        if n_pre >= 2:
            scale = max(sd_m_upper(b, S, n_pre, alpha), 0.0)
        else:
            scale = 0.0
        if scale <= 0:
            scale = math.sqrt(S[n_pre - 1, n_pre - 1])
            notes.append("M grid scaled by the sd of the last pre-period coefficient")
        m_grid = np.linspace(0, scale, 9)
    else:
        scale = float(max(m_grid)) or 1.0
    sd_known = {}
    for m in m_grid:
        r = sd_flci(b, S, n_pre, n_post, lv, float(m), alpha)
        sd_known[float(m)] = (r["lb"], r["ub"])
        rows.append({"kind": "SD", "m": float(m), "lb": r["lb"], "ub": r["ub"],
                     "method": "FLCI"})
    bd_rm = rm_breakdown(b, S, n_pre, n_post, lv, alpha, method, known=rm_known, seed=seed)
    bd_sd = sd_breakdown(b, S, n_pre, n_post, lv, alpha, scale=scale, known=sd_known)
    if not excludes_zero(*orig):
        bd_rm = bd_sd = math.nan
        notes.append("the CI under parallel trends already includes 0: no breakdown value")
    return SensitivityResult(
        table=pd.DataFrame(rows), estimate=float(lv @ b[n_pre:]), original=orig,
        breakdown_rm=bd_rm, breakdown_sd=bd_sd, pretrend=pretrend_wald(b, S, n_pre),
        m_scale=scale, n_pre=n_pre, n_post=n_post, notes=notes)
