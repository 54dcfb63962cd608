"""Standardized effect sizes and rank tests of the survey's pre/post comparisons: Hedges' g
(independent samples) and g_av (paired) with their CIs, the noncentral-t limits behind the
paired CI, and the Wilcoxon signed-rank p-value (Hedges 1981; Hedges & Olkin 1985; Lakens
2013; Cumming 2012; Steiger & Fouladi 1997).
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def _hedges_j(df: float) -> float:
    """Hedges' small-sample correction J(df) = 1 - 3 / (4 df - 1) (Hedges 1981; Borenstein et
    al. 2009, p. 27): df = n1 + n2 - 2 for two independent groups, n - 1 for n pairs."""
    return 1.0 - 3.0 / (4.0 * df - 1.0)


def _nct_limits(t_obs: float, df: float, alpha: float) -> tuple[float, float]:
    """(1 - alpha) CI for the noncentrality parameter lambda of a t statistic: the lambdas for
    which the observed t is the upper / lower alpha/2 quantile of t(df, lambda)
    (Steiger & Fouladi 1997; Cumming & Finch 2001)."""
    from scipy.optimize import brentq

    def limit(target: float) -> float:
        # nct.cdf(t_obs; df, lambda) falls monotonically in lambda: bracket, then solve
        def f(lam: float) -> float:
            return float(stats.nct.cdf(t_obs, df, lam)) - target

        # lambda's large-sample SD is about s = sqrt(1 + t^2 / (2 df)): widen the bracket in
        # steps of s (far out in the tails scipy's nct.cdf can return NaN)
        s = np.sqrt(1 + t_obs**2 / (2 * df))
        k_lo = k_hi = 3
        while f(t_obs - k_lo * s) < 0 and k_lo < 40:
            k_lo += 1
        while f(t_obs + k_hi * s) > 0 and k_hi < 40:
            k_hi += 1
        return float(brentq(f, t_obs - k_lo * s, t_obs + k_hi * s, xtol=1e-12, rtol=1e-12))

    return limit(1 - alpha / 2), limit(alpha / 2)


def hedges_g(x, y, *, alpha: float = 0.05) -> tuple[float, float, float]:
    """Hedges' g of ``x`` minus ``y`` (independent samples) and its (1 - alpha) CI.

    g = (mean x - mean y) / pooled SD × J(n1 + n2 - 2) (Hedges 1981). CI: the Hedges & Olkin
    (1985, p. 86) large-sample SE sqrt((n1 + n2) / (n1 n2) + g² / (2 (n1 + n2))) with a
    t(n1 + n2 - 2) quantile -- the interval ``pingouin.compute_esci`` gives.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n1, n2 = len(x), len(y)
    sp = np.sqrt(((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / (n1 + n2 - 2))
    if not sp > 0:
        return float("nan"), float("nan"), float("nan")
    g = float((x.mean() - y.mean()) / sp * _hedges_j(n1 + n2 - 2))
    se = np.sqrt((n1 + n2) / (n1 * n2) + g**2 / (2 * (n1 + n2)))
    q = stats.t.ppf(1 - alpha / 2, n1 + n2 - 2)
    return g, float(g - q * se), float(g + q * se)


def hedges_g_av(followup, baseline, *, alpha: float = 0.05) -> tuple[float, float, float]:
    """Hedges' g_av of paired scores (``followup[i]`` and ``baseline[i]`` from one respondent)
    and its (1 - alpha) CI.

    g_av = mean difference / ((SD_followup + SD_baseline) / 2) × J(n - 1): Lakens (2013)'s
    d_av with Hedges' correction, df = n - 1 for n pairs (Borenstein et al. 2009, p. 27).
    CI: the noncentral-t CI of lambda = delta_z sqrt(n) from the paired t statistic, rescaled
    to the SD_av metric by sd_diff / (SD_av sqrt(n)) with that ratio treated as known, then
    times J (Algina & Keselman 2003; Cumming 2012, ch. 11: the approximate interval of ESCI).
    """
    x = np.asarray(followup, float)
    y = np.asarray(baseline, float)
    n = len(x)
    d = x - y
    s_av = (x.std(ddof=1) + y.std(ddof=1)) / 2
    if not s_av > 0:
        return float("nan"), float("nan"), float("nan")
    j = _hedges_j(n - 1)
    g = float(d.mean() / s_av * j)
    sd_d = d.std(ddof=1)
    if not sd_d > 0:
        return g, float("nan"), float("nan")
    t_obs = d.mean() / (sd_d / np.sqrt(n))
    lam_lo, lam_hi = _nct_limits(float(t_obs), n - 1, alpha)
    scale = sd_d / (s_av * np.sqrt(n)) * j
    return g, float(lam_lo * scale), float(lam_hi * scale)


def wilcoxon_p(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired ``x``, ``y``: exactly
    ``scipy.stats.wilcoxon(x, y).pvalue`` (zeros dropped, method "auto"), faster.

    For 13 pairs or fewer with ties or zero differences scipy's "auto" runs an exact
    permutation test over all 2^n sign flips, calling its statistic once per flip (about a
    second per call; a study has one per kommune × scale × wave pair). Here the same
    ``scipy.stats.permutation_test`` gets a vectorised statistic: the signed-rank sum r+
    with the ranks of |d|, which sign flips do not change. Every other case goes to
    ``scipy.stats.wilcoxon`` itself.
    """
    d = np.asarray(x, float) - np.asarray(y, float)
    nonzero = d[d != 0]
    if len(nonzero) == 0:
        raise ValueError("every difference is zero")
    ties = len(np.unique(np.abs(nonzero))) < len(nonzero)
    if len(d) > 13 or not (ties or len(nonzero) < len(d)):
        return float(stats.wilcoxon(x, y).pvalue)
    ranks = np.full(len(d), 0.0)
    ranks[d != 0] = stats.rankdata(np.abs(nonzero))

    def r_plus(flipped: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.sum((flipped > 0) * ranks, axis=axis)

    res = stats.permutation_test((d,), r_plus, permutation_type="samples", vectorized=True,
                                 alternative="two-sided", axis=-1)
    return float(res.pvalue)
