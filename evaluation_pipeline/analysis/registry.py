"""Registry effects: network vs comparison kommuner on registry outcomes.

The estimators live in ``did`` (two-way fixed effects, event study) and ``staggered``
(Callaway & Sant'Anna group-time ATT); this module builds the study's panels and runs them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from ..observations import did_weights, indicator_notes
from .did import did_twfe, event_study
from .effects import Effect, effects_frame, insufficient_effect
from .multiplicity import METHOD_NAMES, adjusted_p
from .staggered import staggered_att

__all__ = [
    "did_twfe", "event_study", "staggered_att", "registry_panel", "registry_panels",
    "balanced_panel", "registry_effects", "registry_p_adjusted", "registry_dynamic",
    "group_means", "unreadable_reason",
]


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
    obs["first_treated"] = obs["join_year"].fillna(0).astype(int)
    return obs.sort_values(["kommune", "year"]).reset_index(drop=True)


def registry_panels(observations: pd.DataFrame, study) -> pd.DataFrame:
    """:func:`registry_panel` of every indicator of the study, stacked (no rows, but the
    panel's columns, when there is nothing)."""
    inds = list(study.registry.indicators) if study.registry else []
    if not inds:
        return registry_panel(observations.iloc[:0], study, "")
    return pd.concat([registry_panel(observations, study, ind) for ind in inds],
                     ignore_index=True)


#: the contrast and estimators of the registry Effect rows (also of an indicator that cannot
#: be estimated, so that the logic chain finds its row and its reason)
DID_CONTRAST = "network - comparison (after joining)"
TWFE_ESTIMATOR = "TWFE DiD (unit and year FE, cluster-robust CR1)"
CS_ESTIMATOR = ("Callaway-Sant'Anna group-time DiD, simple aggregation (never-treated "
                "controls)")


def _where(study, indicator: str) -> str:
    """``registry:<indicator> (<file>)``: how a reason names the indicator and its file."""
    cfg = study.registry.indicators.get(indicator) if study.registry else None
    return f"registry:{indicator}" + (f" ({cfg.file})" if cfg is not None else "")


def unestimable_reason(panel: pd.DataFrame, study, indicator: str) -> str | None:
    """Why a network vs comparison DiD of one indicator cannot be estimated from its panel
    (:func:`registry_panel`), naming the indicator, its file and what is missing; None when
    nothing obvious is missing (the estimators may still fail: see :func:`registry_effects`).
    """
    where = _where(study, indicator)
    if not len(panel):
        return f"{where}: no rows for the study's kommuner"
    have = panel.dropna(subset=["value"])
    if not len(have):
        why = ", ".join(sorted({str(v) for v in panel["status"].dropna()})) \
            if "status" in panel else ""
        return f"{where}: every value is missing" + (f" (status {why})" if why else "")
    net = have[have["network"] == 1]
    if not len(net):
        return f"{where}: no value for any network kommune"
    if not len(have[have["network"] == 0]):
        return f"{where}: no value for any comparison kommune"
    first = int(net["join_year"].min())
    joins = sorted({int(y) for y in net["join_year"].dropna()})
    years = sorted(int(y) for y in have["year"].unique())
    # (with staggered joins a year after the first join is still before a later cohort's:
    # the DiD needs some network kommune with a value before it joined)
    if not (net["treated"] == 0).any():
        if years[0] >= first:
            cohorts = "" if len(joins) == 1 else f"; the joins are {', '.join(map(str, joins))}"
            span = str(years[0]) if years[0] == years[-1] else f"{years[0]}–{years[-1]}"
            return (f"{where}: no years before the first join {first} (the file has "
                    f"{span}{cohorts})")
        return (f"{where}: no network kommune has a value before it joined (the network "
                f"kommuner' values are from {int(net['year'].min())} on, the first join is "
                f"{first}): the network's change cannot be told from its level")
    if not (net["treated"] == 1).any():
        return (f"{where}: no years after a network kommune joined (the file has "
                f"{years[0]}–{years[-1]}, the first join is {first})")
    if have["value"].nunique() < 2:
        return f"{where}: the values do not vary"
    return None


def _insufficient(indicator: str, estimator: str, reason: str, panel: pd.DataFrame) -> Effect:
    return insufficient_effect("registry", indicator, DID_CONTRAST, estimator, reason,
                               n_obs=int(panel["value"].notna().sum()) if len(panel) else 0)


def balanced_panel(panel: pd.DataFrame, outcome: str = "value") -> tuple[pd.DataFrame, str]:
    """The largest simple balanced panel for group-time estimators: years where no kommune has
    a value (e.g. not yet published) are dropped, then kommuner missing any remaining year
    (a missing value, or no row at all for that year).
    Returns the panel and a note saying what was dropped (and why: the status symbols, and
    ``no row for some years``)."""
    have = panel.dropna(subset=[outcome])
    years = sorted(have["year"].unique())
    p = panel[panel["year"].isin(years)]
    missing = p[p[outcome].isna()]
    n_years = p.groupby("kommune")["year"].nunique()
    no_row = set(n_years.index[n_years < len(years)])
    drop_units = sorted(set(missing["kommune"].unique()) | no_row)
    out = p[~p["kommune"].isin(drop_units)].reset_index(drop=True)
    notes = []
    dropped_years = sorted(set(panel["year"]) - set(years))
    if dropped_years:
        notes.append(f"years without values dropped: {', '.join(map(str, dropped_years))}")
    if drop_units:
        why = [*sorted({str(s) for s in missing["status"].dropna()})]
        if not why and len(missing):
            why = ["missing"]
        if no_row:
            why.append("no row for some years")
        notes.append(f"kommuner with missing years dropped ({', '.join(why)}): "
                     f"{', '.join(drop_units)}")
    return out, "; ".join(notes)


def unreadable_reason(indicator: str, message: str) -> str:
    """The reason of an indicator whose file could not be read
    (:func:`evaluation_pipeline.observations.read_indicators`' failures): ``registry:<id>
    could not be read: <the reader's message: file, row/column, what to do>``."""
    return f"registry:{indicator} could not be read: {message}"


def registry_effects(observations: pd.DataFrame, study,
                     unreadable: Mapping[str, str] | None = None) -> list[Effect]:
    """Every registry indicator of the study (rates as outcome), two estimators side by side:
    TWFE DiD (with a wild cluster bootstrap when clusters are few) and Callaway & Sant'Anna's
    group-time ATT aggregated over groups and post-joining years (never-joined kommuner as
    controls).

    An indicator that cannot be estimated (no rows, every value missing, no years before the
    first join, no variation, collinear, ...) gets two Effect rows without an estimate whose
    note says ``insufficient data: registry:<indicator> (<file>): <what is missing>``; the
    other indicators are estimated as usual.

    ``unreadable``: indicator -> the reader's message for the indicators whose file could not
    be read (:func:`evaluation_pipeline.observations.read_indicators`); they get the same two
    rows, the note ``insufficient data: registry:<id> could not be read: <message>``."""
    effects = []
    unreadable = dict(unreadable or {})
    for ind, cfg in (study.registry.indicators.items() if study.registry else []):
        panel = registry_panel(observations, study, ind)
        if ind in unreadable:
            reason = unreadable_reason(ind, unreadable[ind])
        else:
            reason = unestimable_reason(panel, study, ind)
        if reason is not None:
            effects += [_insufficient(ind, TWFE_ESTIMATOR, reason, panel),
                        _insufficient(ind, CS_ESTIMATOR, reason, panel)]
            continue
        # weighted or not, rolling averages: said in the notes (observations.did_weights)
        extra = "; ".join([*indicator_notes(observations, ind)])
        try:
            wpanel, wcol, wnote = did_weights(panel, study, ind)
            e = did_twfe(wpanel, "value", "kommune", "year", "treated", weights=wcol,
                         label=ind)
            e = replace(e, note="; ".join(n for n in (e.note, wnote, extra) if n))
            effects.append(_with_break_note(e, panel, cfg.breaks))
        except (AnalysisError, np.linalg.LinAlgError) as err:
            effects.append(_insufficient(ind, TWFE_ESTIMATOR,
                                         f"{_where(study, ind)}: {err}", panel))
        try:
            cs = _staggered(panel, ind).simple
            cs = replace(cs, note="; ".join(n for n in (cs.note, "unweighted", extra) if n))
            effects.append(_with_break_note(cs, panel, cfg.breaks))
        except (AnalysisError, np.linalg.LinAlgError) as err:
            effects.append(_insufficient(ind, CS_ESTIMATOR, f"{_where(study, ind)}: {err}",
                                         panel))
    return registry_p_adjusted(effects)


_WCR_P = re.compile(r"wild cluster bootstrap \([^)]*\): p=([-+0-9.eE]+|nan)")


def registry_p_adjusted(effects: list[Effect], method: str = "holm") -> list[Effect]:
    """The registry Effects with ``p_adjusted``: Holm (default) across the study's registry
    indicators, one family per estimator (TWFE; Callaway & Sant'Anna), like the survey and
    interview tables' families. A TWFE row whose note has the wild cluster bootstrap is
    adjusted from the **bootstrap p** (the p its inference and the logic chain's verdict
    use; the ``p_value`` column keeps the CR1 p), and its note says so."""
    out = list(effects)
    for estimator in dict.fromkeys(e.estimator for e in effects):
        idx = [i for i, e in enumerate(effects) if e.estimator == estimator]
        ps, boot = [], []
        for i in idx:
            m = _WCR_P.search(effects[i].note or "")
            boot.append(m is not None)
            ps.append(float(m[1]) if m else effects[i].p_value)
        adj = adjusted_p(ps, method)
        m_tests = int(np.sum(~np.isnan(np.asarray(ps, dtype=float))))
        for i, a, b in zip(idx, adj, boot, strict=True):
            e = effects[i]
            if np.isnan(a):
                continue
            what = (f"p_adjusted: {METHOD_NAMES[method]} across {m_tests} registry "
                    f"indicator{'s' if m_tests != 1 else ''}"
                    + (", of the wild cluster bootstrap p" if b else ""))
            out[i] = replace(e, p_adjusted=float(a),
                             note="; ".join(n for n in (e.note, what) if n))
    return out


def _staggered(panel: pd.DataFrame, indicator: str):
    """Callaway & Sant'Anna on the balanced panel of one indicator. The effects and the
    dynamic aggregation both need it: the result is kept for the same panel content (the
    estimator is deterministic: its bootstrap is seeded), so one process computes it once."""
    key = (indicator, tuple(panel.columns), hashlib.sha256(
        pd.util.hash_pandas_object(panel, index=False).to_numpy().tobytes()).hexdigest())
    if key in _STAGGERED:
        return _STAGGERED[key]
    bal, note = balanced_panel(panel)
    res = staggered_att(bal, "value", "kommune", "year", "first_treated", control="never")
    res.simple = replace(res.simple, outcome=indicator,
                         note="; ".join(n for n in (res.simple.note, note) if n))
    _STAGGERED[key] = res
    while len(_STAGGERED) > _STAGGERED_SIZE:
        _STAGGERED.pop(next(iter(_STAGGERED)))
    return res


_STAGGERED: dict[tuple, object] = {}
_STAGGERED_SIZE = 64


def _with_break_note(effect: Effect, panel: pd.DataFrame, breaks: list[int]) -> Effect:
    """Say so when the panel straddles a definition break of the indicator."""
    inside = [b for b in breaks if panel["year"].min() < b <= panel["year"].max()]
    if not inside:
        return effect
    note = (f"{effect.note}; definition break in {', '.join(map(str, inside))} inside the "
            "panel: year effects absorb a shift common to all kommuner, not one that differs "
            "between network and comparison")
    return replace(effect, note=note)


def group_means(observations: pd.DataFrame, study) -> pd.DataFrame:
    """Mean rate per indicator × year for network and comparison kommuner (from summed
    numerators and denominators, so larger kommuner weigh more, as a pooled rate should; a
    published rate without counts, ``value:``, as the unweighted mean of the kommuner)."""
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
    # published rates without counts (value:): the unweighted mean of the kommuner's values
    rates = [k for k, v in study.registry.indicators.items() if v.numerator is None]
    r = obs[obs["indicator"].isin(rates)].dropna(subset=["value"])
    if len(r):
        m = r.groupby(["indicator", "year", "group"], as_index=False).agg(
            value=("value", "mean"), n_kommuner=("kommune", "nunique"))
        m["numerator"] = m["denominator"] = np.nan
        g = pd.concat([g, m[g.columns]], ignore_index=True)
    return g


def registry_dynamic(
    observations: pd.DataFrame, study, window: tuple[int, int] = (-5, 5)
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Effects by years since joining for every indicator, two estimators side by side: the
    TWFE event study (binned endpoints, reference: the year before joining) and Callaway &
    Sant'Anna's dynamic aggregation (never-joined controls).

    Returns (coefficients: indicator, estimator, event_time, estimate, se, ci_low, ci_high,
    n_obs; pre-trend tests: indicator, estimator, statistic, df1, df2, p_value).

    An indicator that cannot be estimated (see :func:`unestimable_reason`, or an estimator
    error) has no rows; both frames keep their columns when empty (a warehouse table needs
    them). The reason is in :func:`registry_effects`' rows.
    """
    coefs, tests = [], []
    for ind in (study.registry.indicators if study.registry else []):
        panel = registry_panel(observations, study, ind)
        if unestimable_reason(panel, study, ind) is not None:
            continue
        try:
            es = event_study(panel, "value", "kommune", "year", "first_treated",
                             window=window, label=ind)
        except (AnalysisError, np.linalg.LinAlgError):
            es = None
        if es is not None:
            coefs.append(es.coefficients.assign(indicator=ind, estimator="TWFE"))
            tests.append({"indicator": ind, "estimator": "TWFE", **es.pretrend_test})
        try:
            res = _staggered(panel, ind)
        except (AnalysisError, np.linalg.LinAlgError):
            continue
        dyn = effects_frame(res.dynamic)
        if not len(dyn):
            continue
        dyn["event_time"] = dyn["contrast"].str.extract(r"(-?\d+)$")[0].astype(int)
        dyn = dyn[dyn["event_time"].between(*window)]
        coefs.append(dyn[["event_time", "estimate", "se", "ci_low", "ci_high", "n_obs"]]
                     .assign(indicator=ind, estimator="Callaway-Sant'Anna"))
    out = pd.concat(coefs, ignore_index=True)[EVENT_STUDY_COLUMNS] if coefs else \
        pd.DataFrame({c: pd.Series(dtype="float64" if c not in ("indicator", "estimator")
                                   else "object") for c in EVENT_STUDY_COLUMNS})
    test_frame = pd.DataFrame(tests) if tests else pd.DataFrame(
        {c: pd.Series(dtype="float64" if c not in ("indicator", "estimator") else "object")
         for c in PRETREND_COLUMNS})
    return out, test_frame


#: the columns of :func:`registry_dynamic`'s two frames
EVENT_STUDY_COLUMNS = ["indicator", "estimator", "event_time", "estimate", "se", "ci_low",
                       "ci_high", "n_obs"]
PRETREND_COLUMNS = ["indicator", "estimator", "statistic", "df1", "df2", "p_value"]
