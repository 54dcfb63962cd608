"""Two-way fixed-effects difference-in-differences and event studies.

``did_twfe`` is the two-way fixed-effects DiD estimator (unit and time fixed effects partialled
out by alternating projections, as fixest/pyfixest do; equal to statsmodels' OLS on the dummy
design, which the tests check) with cluster-robust CR1 standard errors and t(G-1) inference
(Cameron & Miller 2015, "A Practitioner's Guide to Cluster-Robust Inference"). With few
clusters, or few treated clusters, it adds a restricted wild cluster bootstrap (WCR; Cameron,
Gelbach & Miller 2008; MacKinnon & Webb 2017, 2018; Roodman, MacKinnon, Nielsen & Webb 2019):
p-value and confidence interval by test inversion.

``event_study`` estimates leads and lags of adoption in a TWFE regression with binned endpoints
and a cluster-robust pre-trend Wald test (Freyaldenhoven, Hansen, Pérez & Shapiro 2021;
Schmidheiny & Siegloch 2023).

Under staggered adoption with heterogeneous effects TWFE can be biased (Goodman-Bacon 2021) and
event-study leads and lags can be contaminated by effects from other periods (Sun & Abraham
2021); group-time estimators are in ``staggered``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import AnalysisError
from .effects import Effect, effects_frame

__all__ = ["did_twfe", "event_study", "EventStudyResult", "wild_cluster_bootstrap"]

#: below this many clusters, or ...
FEW_CLUSTERS = 50
#: ... below this many treated clusters, ``did_twfe`` adds the wild cluster bootstrap.
FEW_TREATED_CLUSTERS = 10
#: below this many clusters the default bootstrap weights are Webb's six-point distribution.
WEBB_BELOW = 12
MIN_DRAWS = 999

_WEBB_POINTS = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0,
                         math.sqrt(1.5)])


def _twfe_design(regressors: pd.DataFrame, d: pd.DataFrame, unit: str, time: str) -> pd.DataFrame:
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


def _demean_twoway(M: np.ndarray, unit_codes: np.ndarray, time_codes: np.ndarray,
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


def _twfe_fwl(y: np.ndarray, x: np.ndarray, unit_codes: np.ndarray, time_codes: np.ndarray,
              groups: np.ndarray, w: np.ndarray | None, alpha: float, outcome: str
              ) -> tuple[float, float, float, float, float]:
    """``y ~ beta·x + unit FE + time FE`` (weighted with ``w``) by Frisch–Waugh–Lovell:
    estimate, CR1 SE, CI and p-value with t(G-1), exactly statsmodels' OLS/WLS on the dummy
    design with ``cov_type="cluster"`` (small-sample factor G/(G-1)·(N-1)/(N-K), K the
    number of columns of that design: constant, x, U-1 unit and T-1 time dummies), without
    building the dummies (the dense design costs N × (U+T) memory and a QR of it)."""
    n = len(y)
    w = np.ones(n) if w is None else w
    yx = _demean_twoway(np.column_stack([y, x]), unit_codes, time_codes, w)
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
    c = G / (G - 1) * (n - 1) / (n - k)
    se = math.sqrt(c * float(scores @ scores)) / A
    tcrit = stats.t.ppf(1 - alpha / 2, G - 1)
    p = float(2 * stats.t.sf(abs(beta / se), G - 1)) if se > 0 else math.nan
    return beta, se, beta - tcrit * se, beta + tcrit * se, p


def did_twfe(
    panel: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    treated: str,
    cluster: str | None = None,
    weights: str | None = None,
    *,
    alpha: float = 0.05,
    label: str | None = None,
    bootstrap: int | None = 9999,
    bootstrap_weights: str | None = None,
    seed: int = 20131,
    return_details: bool = False,
) -> Effect | tuple[Effect, dict[str, Any]]:
    """Two-way fixed-effects DiD: ``outcome ~ treated + unit FE + time FE``.

    ``treated`` is 0/1 "network member and after joining". Standard errors are cluster-robust
    (CR1: small-sample factor G/(G-1)·(N-1)/(N-K)), clustered by ``cluster`` (default: unit),
    with t(G-1) p-values and confidence intervals. Rows with a missing outcome are dropped.
    The Effect's estimate, SE, CI and p-value are always these CR1 / t(G-1) ones.

    **Wild cluster bootstrap.** With fewer than 50 clusters, or fewer than 10 treated clusters
    (clusters with at least one treated row), cluster-robust SEs over-reject, so a restricted
    wild cluster bootstrap (WCR: the null beta_treated = beta0 imposed on the bootstrap DGP,
    bootstrap t-statistics with the same CR1 variance; Cameron, Gelbach & Miller 2008,
    MacKinnon & Webb 2017) is added to the Effect's note, e.g.
    ``wild cluster bootstrap (WCR, Webb, 9999 draws): p=0.034, 95% CI [0.52, 3.1]``:

    - ``bootstrap`` draws (default 9999; at least 999; ``None`` or 0 switches it off);
      ``seed`` (default 20131) makes the draws reproducible.
    - ``bootstrap_weights``: ``"rademacher"`` or ``"webb"`` (Webb's six-point distribution);
      default ``None``: Webb with fewer than 12 clusters, Rademacher otherwise. With
      Rademacher weights and 2^G <= ``bootstrap`` every one of the 2^G sign vectors is used
      once (full enumeration) instead of random draws.
    - p-value: symmetric, the share of draws with |t*| >= |t| (ties count as exceedances).
    - confidence interval: by **test inversion** — the set of beta0 whose WCR bootstrap
      p-value exceeds ``alpha``, with the same draws for every beta0; the bounds are found by
      bisection to 1e-9·SE. An end is infinite when no beta0 on that side is rejected (possible
      with very few clusters, e.g. Rademacher with G <= 5).

    The bootstrap partials the fixed effects out once (Frisch–Waugh–Lovell, residual maker of
    the unit and time dummies) and computes each draw from G×G cluster-sum matrices
    ("fast and wild", Roodman et al. 2019): 9999 draws on 20 clusters take a few milliseconds.
    Weighted fits (``weights``) bootstrap the sqrt(w)-transformed regression.

    With ``return_details=True`` returns ``(Effect, details)``; ``details`` has ``boot_p``,
    ``boot_ci`` (low, high), ``draws`` (0 when not run), ``weights`` (``"webb"``,
    ``"rademacher"`` or ``None``), ``enumerated``, ``ci_method``, ``t_stat``, ``n_clusters``,
    ``n_treated_clusters`` and ``seed``.
    """
    if bootstrap and bootstrap < MIN_DRAWS:
        raise ValueError(f"did_twfe: bootstrap={bootstrap} draws; use at least {MIN_DRAWS}")
    if bootstrap_weights not in (None, "webb", "rademacher"):
        raise ValueError(
            f"did_twfe: bootstrap_weights={bootstrap_weights!r}; use 'webb' or 'rademacher'")
    cols = list(dict.fromkeys([outcome, unit, time, treated]
                              + [c for c in (cluster, weights) if c]))
    d = panel[cols].dropna(subset=[outcome]).copy()
    if d[treated].nunique() < 2:
        raise AnalysisError(f"did_twfe({outcome}): '{treated}' has no variation")
    groups = pd.factorize(d[cluster or unit])[0]
    n_clusters = int(groups.max() + 1)
    est, se, lo, hi, p_value = _twfe_fwl(
        d[outcome].to_numpy(float), d[treated].to_numpy(float),
        pd.factorize(d[unit])[0], pd.factorize(d[time])[0], groups,
        d[weights].to_numpy(float) if weights else None, alpha, outcome)
    treated_units = d.loc[d[treated] == 1, unit].nunique()
    treated_clusters = int(d.loc[d[treated] == 1, cluster or unit].nunique())
    note = f"{n_clusters} clusters ({cluster or unit}); CR1 SE, t({n_clusters - 1}) inference"
    if n_clusters < FEW_CLUSTERS:
        note += "; fewer than 50 clusters: cluster-robust SEs may over-reject"

    details: dict[str, Any] = {
        "boot_p": math.nan, "boot_ci": (math.nan, math.nan), "draws": 0, "weights": None,
        "enumerated": False, "ci_method": None, "t_stat": est / se if se > 0 else math.nan,
        "n_clusters": n_clusters, "n_treated_clusters": treated_clusters, "seed": seed,
    }
    few = n_clusters < FEW_CLUSTERS or treated_clusters < FEW_TREATED_CLUSTERS
    if bootstrap and few:
        if n_clusters < 2:
            note += "; wild cluster bootstrap not computed: fewer than 2 clusters"
        else:
            w = d[weights].astype(float).to_numpy() if weights else None
            boot = wild_cluster_bootstrap(
                d[outcome].to_numpy(float), d[treated].to_numpy(float),
                d[unit].to_numpy(), d[time].to_numpy(), d[cluster or unit].to_numpy(),
                weights=w, draws=int(bootstrap), bootstrap_weights=bootstrap_weights,
                seed=seed, alpha=alpha,
            )
            details.update(boot)
            note += "; " + _bootstrap_note(boot, alpha)
    effect = Effect(
        source="registry",
        outcome=label or outcome,
        contrast="network - comparison (after joining)",
        estimator="TWFE DiD (unit and year FE, cluster-robust CR1)",
        estimate=est,
        se=se,
        ci_low=lo,
        ci_high=hi,
        p_value=p_value,
        n_treated=int(treated_units),
        n_control=int(d[unit].nunique() - treated_units),
        n_obs=int(len(d)),
        note=note,
    )
    return (effect, details) if return_details else effect


def _bootstrap_note(boot: dict[str, Any], alpha: float) -> str:
    kind = "Webb" if boot["weights"] == "webb" else "Rademacher"
    draws = (f"full enumeration of {boot['draws']} draws" if boot["enumerated"]
             else f"{boot['draws']} draws")
    lo, hi = boot["boot_ci"]
    level = round(100 * (1 - alpha), 6)
    return (f"wild cluster bootstrap (WCR, {kind}, {draws}): p={boot['boot_p']:.4g}, "
            f"{level:g}% CI [{lo:.4g}, {hi:.4g}] (test inversion)")


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


def _fe_basis(unit_codes: np.ndarray, time_codes: np.ndarray, sw: np.ndarray) -> np.ndarray:
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


def _cluster_sums(M: np.ndarray, codes: np.ndarray, G: int) -> np.ndarray:
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

    Q = _fe_basis(unit_codes, time_codes, sw)
    yw, xw = sw * y, sw * x
    xt = xw - Q @ (Q.T @ xw)
    u0 = yw - Q @ (Q.T @ yw)
    A = float(xt @ xt)
    if A <= 1e-12 * max(float(xw @ xw), 1e-300):
        raise AnalysisError("wild cluster bootstrap: the treatment is collinear with the "
                            "fixed effects")
    beta = float(xt @ u0) / A
    k = Q.shape[1] + 1
    c = G / (G - 1) * (n - 1) / (n - k)

    a = _cluster_sums(xt * xt, codes, G)            # x~_g'x~_g
    S0 = _cluster_sums(xt * u0, codes, G)           # x~_g'u0_g
    Px = _cluster_sums(xt[:, None] * Q, codes, G)   # G × r: sum_{i in g} x~_i Q_i
    Pu = _cluster_sums(u0[:, None] * Q, codes, G)
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

    ci = (_invert(pvalue, beta, se, alpha, -1), _invert(pvalue, beta, se, alpha, +1))
    return {
        "boot_p": pvalue(0.0), "boot_ci": ci, "draws": int(B), "weights": kind,
        "enumerated": enumerated, "ci_method": "test inversion (WCR)",
        "t_stat": beta / se, "estimate": beta, "se": se, "t_boot": t_boot(0.0),
    }


def _invert(pvalue, beta: float, se: float, alpha: float, side: int) -> float:
    """The end of {beta0: p(beta0) > alpha} on ``side`` of beta (p(beta) = 1): step outward
    until a rejected beta0 is found, then bisect between it and the last accepted one."""
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


# ---------------------------------------------------------------------------------------------
# Event study


@dataclass
class EventStudyResult:
    """Leads and lags of adoption from :func:`event_study`.

    ``coefficients``: one row per event time in the window (event_time, estimate, se, ci_low,
    ci_high, p_value, n_obs), the reference row included with estimate 0 and NaN se/CI/p;
    ``n_obs`` counts treated-unit rows at that (binned) event time. ``pretrend_test``: the
    joint cluster-robust Wald test that every pre-period coefficient is 0 (statistic, df1,
    df2, p_value). ``effects``: one :class:`Effect` per estimated coefficient (contrast
    ``event time e``; the reference period has no Effect). ``vcov``: the CR1 covariance of
    the estimated coefficients, rows and columns labelled by event time (the parallel-trends
    sensitivity, :mod:`.sensitivity`, needs it).
    """

    coefficients: pd.DataFrame
    pretrend_test: dict[str, float]
    effects: list[Effect] = field(default_factory=list)
    window: tuple[int, int] = (-5, 5)
    reference: int = -1
    n_clusters: int = 0
    n_obs: int = 0
    vcov: pd.DataFrame | None = None

    def to_frame(self) -> pd.DataFrame:
        """The Effects as a DataFrame in the shared shape (:data:`EFFECT_COLUMNS`)."""
        return effects_frame(self.effects)


def event_study(
    panel: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    first_treated: str,
    window: tuple[int, int] = (-5, 5),
    reference: int = -1,
    cluster: str | None = None,
    alpha: float = 0.05,
    *,
    label: str | None = None,
) -> EventStudyResult:
    """TWFE event study: ``outcome ~ sum_{e != reference} beta_e·1[event time = e] + unit FE +
    time FE``, the linear panel event-study design of Freyaldenhoven, Hansen, Pérez & Shapiro
    (2021, "Visualization, identification, and estimation in the linear panel event-study
    design").

    - Event time is ``time - first_treated``. Units with ``first_treated`` 0 or missing are
      never treated: all their event-time dummies are 0 (they are the comparison group).
      ``first_treated`` must be constant within a unit.
    - **Binned endpoints**: event times below ``window[0]`` are put in the ``window[0]``
      dummy and those above ``window[1]`` in the ``window[1]`` dummy (Schmidheiny & Siegloch
      2023), so the end coefficients are averages over "that far or further" and the model
      assumes effects are constant beyond the window. Event times inside the window without
      data get a NaN row.
    - ``reference`` (default -1, the period before adoption) is the omitted dummy: every
      coefficient is relative to it.
    - CR1 cluster-robust covariance, clustered by ``cluster`` (default: unit); t(G-1) CIs and
      p-values. Rows with a missing outcome are dropped.
    - Pre-trend test: F = (R b)'(R V R')^-1 (R b) / k with F(k, G-1) p-value, where b are the
      k pre-period coefficients (event time < 0, reference excluded, binned lead included) and
      V their CR1 covariance. A non-rejection is not proof of parallel trends (low power with
      few clusters; Roth 2022).

    Caveat: with staggered adoption and effects that differ between adoption cohorts, TWFE
    lead/lag coefficients mix effects from other event times and can show spurious pre-trends
    (Sun & Abraham 2021); then use the cohort-specific estimators in ``staggered``.
    """
    lo_w, hi_w = (int(window[0]), int(window[1]))
    if not lo_w <= reference <= hi_w or lo_w >= hi_w:
        raise ValueError(f"event_study: reference {reference} must lie in window {window}")
    cols = list(dict.fromkeys([outcome, unit, time, first_treated]
                              + ([cluster] if cluster else [])))
    d = panel[cols].dropna(subset=[outcome]).copy()
    ft = pd.to_numeric(d[first_treated], errors="coerce")
    ft = ft.where(ft > 0)
    if (ft.fillna(-1).groupby(d[unit]).nunique() > 1).any():
        raise AnalysisError(f"event_study({outcome}): '{first_treated}' varies within a unit")
    ever = ft.notna()
    if not ever.any():
        raise AnalysisError(f"event_study({outcome}): no treated unit in '{first_treated}'")
    rel = (pd.to_numeric(d[time]) - ft).clip(lo_w, hi_w)
    times = list(range(lo_w, hi_w + 1))
    n_at = {e: int((ever & (rel == e)).sum()) for e in times}
    estimated = [e for e in times if e != reference and n_at[e] > 0]
    dummies = pd.DataFrame(
        {f"ev_{e}": (ever & (rel == e)).astype(float) for e in estimated}, index=d.index
    )
    X = _twfe_design(dummies, d, unit, time)
    y = d[outcome].astype(float)
    groups = pd.factorize(d[cluster or unit])[0]
    G = int(groups.max() + 1)
    if G < 2:
        raise AnalysisError(f"event_study({outcome}): fewer than 2 clusters")
    import statsmodels.api as sm

    fit = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    names = [f"ev_{e}" for e in estimated]
    cov = fit.cov_params().loc[names, names]
    q = stats.t.ppf(1 - alpha / 2, G - 1)

    rows = []
    for e in times:
        if e == reference:
            rows.append((e, 0.0, math.nan, math.nan, math.nan, math.nan, n_at[e]))
        elif e not in estimated:
            rows.append((e, math.nan, math.nan, math.nan, math.nan, math.nan, 0))
        else:
            b = float(fit.params[f"ev_{e}"])
            s = math.sqrt(float(cov.loc[f"ev_{e}", f"ev_{e}"]))
            p = float(2 * stats.t.sf(abs(b / s), G - 1)) if s > 0 else math.nan
            rows.append((e, b, s, b - q * s, b + q * s, p, n_at[e]))
    coefs = pd.DataFrame(
        rows, columns=["event_time", "estimate", "se", "ci_low", "ci_high", "p_value", "n_obs"]
    )

    pre = [f"ev_{e}" for e in estimated if e < 0]
    if pre:
        rb = fit.params[pre].to_numpy()
        rvr = cov.loc[pre, pre].to_numpy()
        stat = float(rb @ np.linalg.pinv(rvr) @ rb) / len(pre)
        pretrend = {"statistic": stat, "df1": len(pre), "df2": G - 1,
                    "p_value": float(stats.f.sf(stat, len(pre), G - 1))}
    else:
        pretrend = {"statistic": math.nan, "df1": 0, "df2": G - 1, "p_value": math.nan}

    n_never = int(d.loc[~ever, unit].nunique())
    treated_units = int(d.loc[ever, unit].nunique())
    effects = []
    for r in coefs.itertuples(index=False):
        if r.event_time == reference or r.event_time not in estimated:
            continue
        e = int(r.event_time)
        binned = (" (binned: this far or further)" if e in (lo_w, hi_w) else "")
        effects.append(Effect(
            source="registry",
            outcome=label or outcome,
            contrast=f"event time {e}",
            estimator="TWFE event study (unit and year FE, cluster-robust CR1)",
            estimate=float(r.estimate),
            se=float(r.se),
            ci_low=float(r.ci_low),
            ci_high=float(r.ci_high),
            p_value=float(r.p_value),
            n_treated=int(d.loc[ever & (rel == e), unit].nunique()),
            n_control=n_never,
            n_obs=int(r.n_obs),
            note=(f"relative to event time {reference}{binned}; {G} clusters "
                  f"({cluster or unit}); CR1 SE, t({G - 1}) inference; {len(d)} rows in the "
                  f"regression, {treated_units} treated and {n_never} never-treated units; "
                  f"pre-trend F({pretrend['df1']}, {G - 1}) p={pretrend['p_value']:.3g}"),
        ))
    return EventStudyResult(
        coefficients=coefs, pretrend_test=pretrend, effects=effects, window=(lo_w, hi_w),
        reference=reference, n_clusters=G, n_obs=int(len(d)),
        vcov=pd.DataFrame(cov.to_numpy(), index=estimated, columns=estimated),
    )
