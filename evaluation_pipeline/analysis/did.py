"""Two-way fixed-effects difference-in-differences and event studies.

``did_twfe`` is the two-way fixed-effects DiD estimator (unit and time fixed effects, OLS via
statsmodels) with cluster-robust CR1 standard errors and t(G-1) inference (Cameron & Miller
2015, "A Practitioner's Guide to Cluster-Robust Inference"). Under staggered adoption with
heterogeneous effects TWFE can be biased (Goodman-Bacon 2021); group-time estimators are in
``staggered``.
"""

from __future__ import annotations

import pandas as pd
import statsmodels.api as sm

from ..errors import AnalysisError
from .effects import Effect


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
) -> Effect:
    """Two-way fixed-effects DiD: ``outcome ~ treated + unit FE + time FE``.

    ``treated`` is 0/1 "network member and after joining". Standard errors are cluster-robust
    (CR1: small-sample factor G/(G-1)·(N-1)/(N-K)), clustered by ``cluster`` (default: unit),
    with t(G-1) p-values and confidence intervals. Rows with a missing outcome are dropped.
    """
    cols = [outcome, unit, time, treated] + [c for c in (cluster, weights) if c]
    d = panel[cols].dropna(subset=[outcome]).copy()
    if d[treated].nunique() < 2:
        raise AnalysisError(f"did_twfe({outcome}): '{treated}' has no variation")
    X = pd.concat(
        [
            d[[treated]].astype(float),
            pd.get_dummies(d[unit], prefix="u", drop_first=True, dtype=float),
            pd.get_dummies(d[time], prefix="t", drop_first=True, dtype=float),
        ],
        axis=1,
    )
    X = sm.add_constant(X, has_constant="add")
    y = d[outcome].astype(float)
    groups = pd.factorize(d[cluster or unit])[0]
    n_clusters = int(groups.max() + 1)
    model = sm.WLS(y, X, weights=d[weights].astype(float)) if weights else sm.OLS(y, X)
    fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    est = float(fit.params[treated])
    se = float(fit.bse[treated])
    lo, hi = fit.conf_int(alpha).loc[treated]
    treated_units = d.loc[d[treated] == 1, unit].nunique()
    note = f"{n_clusters} clusters ({cluster or unit}); CR1 SE, t({n_clusters - 1}) inference"
    if n_clusters < 50:
        note += "; fewer than 50 clusters: cluster-robust SEs may over-reject"
    return Effect(
        source="registry",
        outcome=label or outcome,
        contrast="network - comparison (after joining)",
        estimator="TWFE DiD (unit and year FE, cluster-robust CR1)",
        estimate=est,
        se=se,
        ci_low=float(lo),
        ci_high=float(hi),
        p_value=float(fit.pvalues[treated]),
        n_treated=int(treated_units),
        n_control=int(d[unit].nunique() - treated_units),
        n_obs=int(len(d)),
        note=note,
    )
