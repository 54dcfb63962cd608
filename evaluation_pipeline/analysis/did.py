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

The fixed-effect demeaning, the fits, the CR1 covariance and the wild cluster bootstrap are in
:mod:`.linear_model` (shared with the survey network DiD, :mod:`.survey_did`).
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
from .linear_model import (
    FEW_CLUSTERS,
    FEW_TREATED_CLUSTERS,
    MIN_DRAWS,
    ols_cr1,
    t_inference,
    twfe_design,
    twfe_fwl,
    wild_cluster_bootstrap,
)

__all__ = ["did_twfe", "event_study", "EventStudyResult"]


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
    est, se, lo, hi, p_value = twfe_fwl(
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
    X = twfe_design(dummies, d, unit, time)
    y = d[outcome].astype(float)
    groups = pd.factorize(d[cluster or unit])[0]
    G = int(groups.max() + 1)
    if G < 2:
        raise AnalysisError(f"event_study({outcome}): fewer than 2 clusters")
    fit = ols_cr1(y, X, groups)
    names = [f"ev_{e}" for e in estimated]
    cov = fit.cov_params().loc[names, names]
    rows = []
    for e in times:
        if e == reference:
            rows.append((e, 0.0, math.nan, math.nan, math.nan, math.nan, n_at[e]))
        elif e not in estimated:
            rows.append((e, math.nan, math.nan, math.nan, math.nan, math.nan, 0))
        else:
            b = float(fit.params[f"ev_{e}"])
            s = math.sqrt(float(cov.loc[f"ev_{e}", f"ev_{e}"]))
            lo, hi, p = t_inference(b, s, G - 1, alpha)
            rows.append((e, b, s, lo, hi, p, n_at[e]))
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
