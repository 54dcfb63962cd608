"""Registry effects: network vs comparison kommuner on registry outcomes.

``did_twfe`` is the two-way fixed-effects difference-in-differences estimator (unit and time
fixed effects, OLS via statsmodels) with cluster-robust CR1 standard errors and t(G-1)
inference (Cameron & Miller 2015, "A Practitioner's Guide to Cluster-Robust Inference").
Under staggered adoption with heterogeneous effects TWFE can be biased (Goodman-Bacon 2021);
group-time estimators belong to ``staggered_att``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

from ..errors import AnalysisError
from .effects import Effect


def registry_panel(observations: pd.DataFrame, study, indicator: str) -> pd.DataFrame:
    """The kommune × year panel of one indicator for the study's network and comparison
    kommuner, with ``network`` (0/1), ``join_year`` and ``treated`` (network and year >= join)."""
    obs = observations[
        (observations["indicator"] == indicator) & observations["kommune"].isin(study.kommuner)
    ].copy()
    obs["network"] = obs["kommune"].isin(list(study.network)).astype(int)
    obs["join_year"] = obs["kommune"].map(study.network).astype("Float64")
    obs["treated"] = ((obs["network"] == 1) & (obs["year"] >= obs["join_year"])).astype(int)
    obs["treated"] = obs["treated"].fillna(0).astype(int)
    return obs.sort_values(["kommune", "year"]).reset_index(drop=True)


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


def registry_effects(observations: pd.DataFrame, study) -> list[Effect]:
    """TWFE DiD of every registry indicator of the study (rates as outcome)."""
    effects = []
    for ind in study.registry.indicators:
        panel = registry_panel(observations, study, ind)
        if panel["value"].notna().sum() == 0:
            continue
        effects.append(
            did_twfe(panel, "value", "kommune", "year", "treated", label=ind)
        )
    return effects


def group_means(observations: pd.DataFrame, study) -> pd.DataFrame:
    """Mean rate per indicator × year for network and comparison kommuner (from summed
    numerators and denominators, so larger kommuner weigh more, as a pooled rate should)."""
    obs = observations[observations["kommune"].isin(study.kommuner)].copy()
    obs["group"] = np.where(obs["kommune"].isin(list(study.network)), "network", "comparison")
    ok = obs.dropna(subset=["numerator", "denominator"])
    g = ok.groupby(["indicator", "year", "group"], as_index=False)[
        ["numerator", "denominator"]
    ].sum()
    per = {k: v.per for k, v in study.registry.indicators.items()}
    g["value"] = g["numerator"] / g["denominator"] * g["indicator"].map(per)
    g["n_kommuner"] = (
        ok.groupby(["indicator", "year", "group"])["kommune"].nunique().to_numpy()
    )
    return g
