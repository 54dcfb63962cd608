"""The linear-model machinery shared by the registry DiD (:mod:`.did`) and the survey network
DiD (:mod:`.survey_did`): the one place where fixed effects are partialled out, least squares
fitted and cluster-robust inference computed.

- Fixed effects: the unit and time dummy design (:func:`twfe_design`, for statsmodels), two-way
  demeaning by alternating projections (:func:`demean_twoway`, Frisch–Waugh–Lovell) and
  one-way demeaning within groups (:func:`demean_oneway`).
- Fits: ``y ~ beta·x + unit FE + time FE`` with CR1 SE and t(G-1) inference
  (:func:`twfe_fwl`), OLS with a CR1 cluster-robust covariance (:func:`ols_cr1`, statsmodels),
  weighted least squares coefficients (:func:`wls`).
- Cluster-robust inference: the CR1 small-sample factor G/(G-1)·(N-1)/(N-K)
  (:func:`cr1_factor`; Cameron & Miller 2015), t(df) intervals and p-values
  (:func:`t_inference`), and the restricted wild cluster bootstrap (WCR) of one coefficient in
  a TWFE model (:func:`wild_cluster_bootstrap`; Cameron, Gelbach & Miller 2008; MacKinnon &
  Webb 2017; Roodman, MacKinnon, Nielsen & Webb 2019) with its weights
  (:func:`bootstrap_weight_matrix`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import AnalysisError

__all__ = ["twfe_design", "demean_twoway", "demean_oneway", "twfe_fwl", "ols_cr1", "wls",
           "cr1_factor", "t_inference", "wild_cluster_bootstrap", "bootstrap_weight_matrix",
           "fe_basis", "cluster_sums"]

#: below this many clusters, or ...
FEW_CLUSTERS = 50
#: ... below this many treated clusters, cluster-robust SEs over-reject: ``did_twfe`` and
#: the survey ``network_effect`` add the wild cluster bootstrap.
FEW_TREATED_CLUSTERS = 10
#: below this many clusters the default bootstrap weights are Webb's six-point distribution.
WEBB_BELOW = 12
#: the fewest bootstrap draws ``did_twfe`` accepts
MIN_DRAWS = 999

_WEBB_POINTS = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0,
                         math.sqrt(1.5)])


# ---------------------------------------------------------------------------------------------
# Cluster-robust inference


def cr1_factor(n_clusters: int, n: int, k: int) -> float:
    """The CR1 small-sample factor G/(G-1)·(N-1)/(N-K) of a cluster-robust covariance (G
    clusters, N rows, K columns of the design; statsmodels' ``cov_type="cluster"``, Stata)."""
    G = n_clusters
    return G / (G - 1) * (n - 1) / (n - k)


def t_inference(estimate: float, se: float, df: float, alpha: float
                ) -> tuple[float, float, float]:
    """(ci_low, ci_high, p_value) of ``estimate`` with standard error ``se`` on t(``df``): the
    (1 - alpha) interval estimate ± t_{1-alpha/2}(df)·se and the two-sided p-value (NaN when
    se is not positive)."""
    q = stats.t.ppf(1 - alpha / 2, df)
    p = float(2 * stats.t.sf(abs(estimate / se), df)) if se > 0 else math.nan
    return estimate - q * se, estimate + q * se, p


# ---------------------------------------------------------------------------------------------
# Fixed effects and least squares


def twfe_design(regressors: pd.DataFrame, d: pd.DataFrame, unit: str, time: str) -> pd.DataFrame:
    """Constant, ``regressors`` and unit and time dummies (first level of each dropped)."""
    X = pd.concat(
        [
            regressors,
            pd.get_dummies(d[unit], prefix="u", drop_first=True, dtype=float),
            pd.get_dummies(d[time], prefix="t", drop_first=True, dtype=float),
        ],
        axis=1,
    )
    import statsmodels.api as sm  # imported on use: ~1 s per process

    return sm.add_constant(X, has_constant="add")


def demean_twoway(M: np.ndarray, unit_codes: np.ndarray, time_codes: np.ndarray,
                   w: np.ndarray, *, tol: float = 1e-14, max_iter: int = 100_000
                   ) -> np.ndarray:
    """The columns of ``M`` with unit and time fixed effects partialled out (weighted), by
    alternating projections (method of alternating projections, Guimarães & Portugal 2010;
    what fixest and pyfixest do). A balanced panel converges in one sweep; an unbalanced one
    iterates until no unit mean is left above ``tol`` relative to the data."""
    X = np.array(M, dtype=float, copy=True)
    wu = np.bincount(unit_codes, weights=w)
    wt = np.bincount(time_codes, weights=w)
    scale = max(float(np.abs(X).max()), 1.0)
    for _ in range(max_iter):
        for j in range(X.shape[1]):
            X[:, j] -= (np.bincount(unit_codes, weights=w * X[:, j]) / wu)[unit_codes]
            X[:, j] -= (np.bincount(time_codes, weights=w * X[:, j]) / wt)[time_codes]
        left = max(float(np.abs(np.bincount(unit_codes, weights=w * X[:, j]) / wu).max())
                   for j in range(X.shape[1]))
        if left <= tol * scale:
            return X
    raise AnalysisError("two-way demeaning did not converge (a badly connected panel?)")

def demean_oneway(M: np.ndarray, codes: np.ndarray, w: np.ndarray, n_groups: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the columns of ``M`` minus their weighted means within the groups ``codes``, those
    group means (``n_groups`` × columns), the groups' summed weights): one-way fixed effects
    partialled out. A group whose weights are all 0 has mean 0."""
    wc = np.bincount(codes, weights=w, minlength=n_groups)
    means = np.column_stack([np.bincount(codes, weights=w * M[:, j], minlength=n_groups)
                             for j in range(M.shape[1])])
    means = np.divide(means, wc[:, None], out=np.zeros_like(means), where=wc[:, None] > 0)
    return M - means[codes], means, wc


def wls(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, int]:
    """(coefficients, rank of the design) of the weighted least squares fit of ``y`` on ``X``
    with weights ``w``: ``numpy.linalg.lstsq`` on the rows scaled by sqrt(w)."""
    sw = np.sqrt(w)
    coef, _, rank, _ = np.linalg.lstsq(sw[:, None] * X, sw * y, rcond=None)
    return coef, rank


def ols_cr1(y: pd.Series, X: pd.DataFrame, groups: np.ndarray):
    """statsmodels' OLS of ``y`` on ``X`` with the CR1 cluster-robust covariance, clustered by
    ``groups``, and t inference (the fitted results: ``params``, ``cov_params()``, ...)."""
    import statsmodels.api as sm  # imported on use: ~1 s per process

    return sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)


def twfe_fwl(y: np.ndarray, x: np.ndarray, unit_codes: np.ndarray, time_codes: np.ndarray,
              groups: np.ndarray, w: np.ndarray | None, alpha: float, outcome: str
              ) -> tuple[float, float, float, float, float]:
    """``y ~ beta·x + unit FE + time FE`` (weighted with ``w``) by Frisch–Waugh–Lovell:
    estimate, CR1 SE, CI and p-value with t(G-1), exactly statsmodels' OLS/WLS on the dummy
    design with ``cov_type="cluster"`` (small-sample factor G/(G-1)·(N-1)/(N-K), K the
    number of columns of that design: constant, x, U-1 unit and T-1 time dummies), without
    building the dummies (the dense design costs N × (U+T) memory and a QR of it)."""
    n = len(y)
    w = np.ones(n) if w is None else w
    yx = demean_twoway(np.column_stack([y, x]), unit_codes, time_codes, w)
    yt, xt = yx[:, 0], yx[:, 1]
    A = float(np.sum(w * xt * xt))
    if A <= 1e-12 * max(float(np.sum(w * x * x)), 1e-300):
        raise AnalysisError(f"did_twfe({outcome}): the treatment is collinear with the unit "
                            "and year fixed effects")
    beta = float(np.sum(w * xt * yt)) / A
    e = yt - beta * xt
    G = int(groups.max()) + 1
    k = 2 + (int(unit_codes.max()) + 1 - 1) + (int(time_codes.max()) + 1 - 1)
    scores = np.bincount(groups, weights=w * xt * e, minlength=G)
    c = cr1_factor(G, n, k)
    se = math.sqrt(c * float(scores @ scores)) / A
    lo, hi, p = t_inference(beta, se, G - 1, alpha)
    return beta, se, lo, hi, p


# ---------------------------------------------------------------------------------------------
# Wild cluster bootstrap (restricted, WCR) for the coefficient of one regressor in a TWFE model




def bootstrap_weight_matrix(
    draws: int, n_clusters: int, kind: str, seed: int
) -> tuple[np.ndarray, bool]:
    """The ``draws × n_clusters`` matrix of wild bootstrap weights and whether it is a full
    enumeration (Rademacher with 2^G <= draws: every sign vector once, in binary order).

    Random weights come from ``numpy.random.default_rng(seed)``: Rademacher ±1 as
    ``2 * rng.integers(0, 2, (draws, G)) - 1``, Webb as six equally likely points
    ±sqrt(1/2), ±1, ±sqrt(3/2) indexed by ``rng.integers(0, 6, (draws, G))``.
    """
    if kind == "rademacher":
        if n_clusters <= 30 and 2 ** n_clusters <= draws:
            codes = np.arange(2 ** n_clusters)[:, None] >> np.arange(n_clusters)[::-1]
            return (2.0 * (codes & 1) - 1.0), True
        rng = np.random.default_rng(seed)
        return 2.0 * rng.integers(0, 2, size=(draws, n_clusters)) - 1.0, False
    if kind == "webb":
        rng = np.random.default_rng(seed)
        return _WEBB_POINTS[rng.integers(0, 6, size=(draws, n_clusters))], False
    raise ValueError(f"unknown bootstrap weights {kind!r}")


def fe_basis(unit_codes: np.ndarray, time_codes: np.ndarray, sw: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the column space of sqrt(w)·[1, unit dummies, time dummies]."""
    n = len(unit_codes)
    nu, nt = int(unit_codes.max()) + 1, int(time_codes.max()) + 1
    Z = np.zeros((n, nu + nt))
    Z[np.arange(n), unit_codes] = 1.0
    Z[np.arange(n), nu + time_codes] = 1.0
    Z *= sw[:, None]
    U, s, _ = np.linalg.svd(Z, full_matrices=False)
    tol = s.max() * max(Z.shape) * np.finfo(float).eps
    return U[:, s > tol]


def cluster_sums(M: np.ndarray, codes: np.ndarray, G: int) -> np.ndarray:
    out = np.zeros((G,) + M.shape[1:])
    np.add.at(out, codes, M)
    return out


def wild_cluster_bootstrap(
    y: np.ndarray,
    x: np.ndarray,
    unit: np.ndarray,
    time: np.ndarray,
    cluster: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    draws: int = 9999,
    bootstrap_weights: str | None = None,
    seed: int = 20131,
    alpha: float = 0.05,
    chunk: int = 4096,
) -> dict[str, Any]:
    """Restricted wild cluster bootstrap (WCR) of H0: beta = beta0 for ``y ~ beta·x + unit FE +
    time FE`` with CR1 cluster-robust t-statistics; p-value for beta0 = 0 and CI by inversion.

    Clusters are numbered in sorted order of ``cluster`` (``numpy.unique``), which is the column
    order of :func:`bootstrap_weight_matrix`. Returns ``boot_p``, ``boot_ci``, ``draws``,
    ``weights``, ``enumerated``, ``ci_method``, ``t_stat``, ``estimate``, ``se`` and
    ``t_boot`` (the bootstrap t-statistics for beta0 = 0).

    Algebra (Frisch–Waugh–Lovell): with M the residual maker of the fixed effects, x~ = Mx and
    u~(beta0) = M(y - beta0·x) = u0 - beta0·x~ (the restricted residuals), draw b gives
    beta*_b - beta0 = sum_g v_bg S_g / A with S_g = x~_g'u~_g, A = x~'x~, and cluster scores of
    the bootstrap residuals (H v_b)_g with H[g, h] = x~_g'(M u~^(h))_g - x~_g'x~_g S_h / A,
    where u~^(h) is u~ outside cluster h set to 0. Both S and H are linear in beta0, so every
    beta0 costs O(draws) once five per-draw sums are stored: the CI by test inversion is cheap.
    """
    y = np.asarray(y, float)
    x = np.asarray(x, float)
    n = len(y)
    sw = np.ones(n) if weights is None else np.sqrt(np.asarray(weights, float))
    unit_codes = np.unique(unit, return_inverse=True)[1].ravel()
    time_codes = np.unique(time, return_inverse=True)[1].ravel()
    codes = np.unique(cluster, return_inverse=True)[1].ravel()
    G = int(codes.max()) + 1
    kind = bootstrap_weights or ("webb" if G < WEBB_BELOW else "rademacher")

    Q = fe_basis(unit_codes, time_codes, sw)
    yw, xw = sw * y, sw * x
    xt = xw - Q @ (Q.T @ xw)
    u0 = yw - Q @ (Q.T @ yw)
    A = float(xt @ xt)
    if A <= 1e-12 * max(float(xw @ xw), 1e-300):
        raise AnalysisError("wild cluster bootstrap: the treatment is collinear with the "
                            "fixed effects")
    beta = float(xt @ u0) / A
    k = Q.shape[1] + 1
    c = cr1_factor(G, n, k)

    a = cluster_sums(xt * xt, codes, G)            # x~_g'x~_g
    S0 = cluster_sums(xt * u0, codes, G)           # x~_g'u0_g
    Px = cluster_sums(xt[:, None] * Q, codes, G)   # G × r: sum_{i in g} x~_i Q_i
    Pu = cluster_sums(u0[:, None] * Q, codes, G)
    H0 = np.diag(S0) - Px @ Pu.T - np.outer(a, S0) / A
    H1 = np.diag(a) - Px @ Px.T - np.outer(a, a) / A

    # observed CR1 statistic (unrestricted residuals u^ = u0 - beta·x~)
    score = S0 - beta * a
    se = math.sqrt(c * float(score @ score)) / A

    V, enumerated = bootstrap_weight_matrix(draws, G, kind, seed)
    B = V.shape[0]
    n0, n1 = V @ S0, V @ a
    q0, q01, q1 = np.empty(B), np.empty(B), np.empty(B)
    for start in range(0, B, chunk):
        sl = slice(start, start + chunk)
        D0, D1 = V[sl] @ H0.T, V[sl] @ H1.T
        q0[sl] = np.einsum("bg,bg->b", D0, D0)
        q01[sl] = np.einsum("bg,bg->b", D0, D1)
        q1[sl] = np.einsum("bg,bg->b", D1, D1)

    def t_boot(beta0: float) -> np.ndarray:
        num = n0 - beta0 * n1
        den = np.clip(c * (q0 - 2 * beta0 * q01 + beta0 * beta0 * q1), 0.0, None)
        with np.errstate(divide="ignore", invalid="ignore"):
            return num / np.sqrt(den)

    def pvalue(beta0: float) -> float:
        t_obs = abs(beta - beta0) / se
        tb = np.abs(t_boot(beta0))
        return float(np.mean(tb >= t_obs * (1 - 1e-10)))

    ci = (invert_pvalue(pvalue, beta, se, alpha, -1),
          invert_pvalue(pvalue, beta, se, alpha, +1))
    return {
        "boot_p": pvalue(0.0), "boot_ci": ci, "draws": int(B), "weights": kind,
        "enumerated": enumerated, "ci_method": "test inversion (WCR)",
        "t_stat": beta / se, "estimate": beta, "se": se, "t_boot": t_boot(0.0),
    }


def invert_pvalue(pvalue, beta: float, se: float, alpha: float, side: int) -> float:
    """The end of {beta0: p(beta0) > alpha} on ``side`` of beta (p(beta) = 1): step outward
    (first step 2·se, doubling) until a rejected beta0 is found, then bisect between it and
    the last accepted one to 1e-9·se; ±inf when nothing is rejected within 60 doublings. The
    CI by test inversion of the wild cluster bootstrap and of the collaboration network's
    randomization inference."""
    inside = beta
    step = se * 2.0
    outside = None
    for _ in range(60):
        cand = beta + side * step
        if pvalue(cand) <= alpha:
            outside = cand
            break
        inside = cand
        step *= 2.0
    if outside is None:
        return side * math.inf
    tol = 1e-9 * max(se, 1e-300)
    while abs(outside - inside) > tol:
        mid = 0.5 * (inside + outside)
        if pvalue(mid) <= alpha:
            outside = mid
        else:
            inside = mid
    return 0.5 * (inside + outside)
