"""How wrong could parallel trends be before a registry DiD's conclusion goes away?

Per registry indicator, the Rambachan & Roth (2023) sensitivity (:mod:`.sensitivity`) of the
TWFE event study (:func:`.did.event_study`, the one the report draws: window −5..5,
reference year −1 = the year before joining) for the **average effect over the post-periods**.

Which coefficients are used: the pre-periods are the event times before the reference
(−2, −3, ...) and the post-periods event time 0 (the joining year) and after, each run
contiguous from the reference outwards and stopping at an event time without an estimate.
A window end that is binned ("this far or further": some network kommune has observations
beyond it) is left out: Δ^RM and Δ^SD compare changes between consecutive years, which a
binned coefficient (an average over several years) is not. The reference year is normalised
to 0 and is not a coefficient.

Read with care: the CIs treat the CR1 estimates as normal with known covariance (HonestDiD's
assumption), which is optimistic with few kommuner; with staggered joins TWFE leads and lags
can mix cohorts (Sun & Abraham 2021).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from .did import event_study
from .registry import registry_panel, unestimable_reason
from .sensitivity import MBAR_GRID, sensitivity_analysis

__all__ = ["registry_sensitivity", "event_study_periods", "sensitivity_clause",
           "with_sensitivity_notes", "SENSITIVITY_COLUMNS", "BREAKDOWN_COLUMNS"]

#: the columns of :func:`registry_sensitivity`' two frames
SENSITIVITY_COLUMNS = ["indicator", "kind", "m", "lb", "ub", "method"]
BREAKDOWN_COLUMNS = ["indicator", "status", "reason", "pre_periods", "post_periods", "n_pre",
                     "n_post", "estimate", "ci_low", "ci_high", "breakdown_rm", "breakdown_sd",
                     "m_scale", "wald_statistic", "wald_df", "wald_p", "method"]

WINDOW = (-5, 5)
REFERENCE = -1


def event_study_periods(es, panel: pd.DataFrame) -> tuple[list[int], list[int], str]:
    """(pre, post, note): the event times of :func:`.did.event_study` result ``es`` used by
    the sensitivity (see the module docstring); ``panel`` tells whether a window end is
    binned."""
    lo_w, hi_w = es.window
    have = panel.dropna(subset=["value"])
    ft = pd.to_numeric(have["first_treated"], errors="coerce")
    rel = (pd.to_numeric(have["year"]) - ft)[ft > 0]
    drop, notes = set(), []
    if (rel < lo_w).any():
        drop.add(lo_w)
        notes.append(f"event time {lo_w} left out (binned: {lo_w} or earlier)")
    if (rel > hi_w).any():
        drop.add(hi_w)
        notes.append(f"event time {hi_w} left out (binned: {hi_w} or later)")
    est = set(es.vcov.index) if es.vcov is not None else set()
    pre, e = [], es.reference - 1
    while e >= lo_w and e in est and e not in drop:
        pre.insert(0, e)
        e -= 1
    post, e = [], es.reference + 1
    while e <= hi_w and e in est and e not in drop:
        post.append(e)
        e += 1
    return pre, post, "; ".join(notes)


def _span(ts: list[int]) -> str:
    return "" if not ts else (str(ts[0]) if len(ts) == 1 else f"{ts[0]}..{ts[-1]}")


def _empty(columns: list[str]) -> pd.DataFrame:
    text = {"indicator", "kind", "method", "status", "reason", "pre_periods", "post_periods"}
    return pd.DataFrame({c: pd.Series(dtype="object" if c in text else "float64")
                         for c in columns})


def registry_sensitivity(observations: pd.DataFrame, study, *, mbar_grid=MBAR_GRID,
                         method: str = "C-LF", alpha: float = 0.05
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rambachan & Roth sensitivity of every registry indicator's TWFE event study.

    Returns (table: indicator, kind — ``original`` / ``RM`` (M̄) / ``SD`` (M) —, m, lb, ub,
    method; breakdown: one row per indicator, :data:`BREAKDOWN_COLUMNS`: status ``ok`` or
    ``insufficient_data`` with the reason, the periods used, the average post-period effect
    and its CI under parallel trends, the breakdown M̄ and M, the M grid's top (``m_scale``,
    HonestDiD's upper bound for M from the pre-periods) and the joint pre-trend Wald test
    (χ², df = number of pre-periods)). An indicator that cannot be analysed (no estimable
    event study, no pre- or no post-period coefficient, an estimator error) gets a row with
    ``status = insufficient_data`` and the reason; the others are analysed as usual.
    """
    tables, rows = [], []
    for ind in (study.registry.indicators if study.registry else []):
        panel = registry_panel(observations, study, ind)
        base = {c: math.nan for c in BREAKDOWN_COLUMNS}
        base.update(indicator=ind, status="insufficient_data", pre_periods="",
                    post_periods="", method=method)
        reason = unestimable_reason(panel, study, ind)
        if reason is not None:
            rows.append({**base, "reason": reason})
            continue
        try:
            es = event_study(panel, "value", "kommune", "year", "first_treated",
                             window=WINDOW, reference=REFERENCE, label=ind)
        except (AnalysisError, np.linalg.LinAlgError) as err:
            rows.append({**base, "reason": f"registry:{ind}: event study: {err}"})
            continue
        pre, post, note = event_study_periods(es, panel)
        base.update(pre_periods=_span(pre), post_periods=_span(post), n_pre=len(pre),
                    n_post=len(post))
        if not pre or not post:
            what = "no pre-period" if not pre else "no post-period"
            rows.append({**base, "reason": (
                f"registry:{ind}: {what} event-study coefficient next to the reference year "
                f"{REFERENCE}" + (f" ({note})" if note else ""))})
            continue
        times = pre + post
        b = es.coefficients.set_index("event_time").loc[times, "estimate"].to_numpy(float)
        S = es.vcov.loc[times, times].to_numpy(float)
        if not (np.isfinite(b).all() and np.isfinite(S).all()) or \
                np.any(np.diag(S) <= 0):
            rows.append({**base, "reason": f"registry:{ind}: event-study coefficients or "
                                           "their covariance are not finite"})
            continue
        try:
            res = sensitivity_analysis(b, S, len(pre), len(post), None, alpha,
                                       mbar_grid=mbar_grid, method=method)
        except (ValueError, np.linalg.LinAlgError) as err:
            rows.append({**base, "reason": f"registry:{ind}: sensitivity: {err}"})
            continue
        tables.append(res.table.assign(indicator=ind))
        rows.append({**base, "status": "ok", "reason": "; ".join([note, *res.notes]).strip("; "),
                     "estimate": res.estimate, "ci_low": res.original[0],
                     "ci_high": res.original[1], "breakdown_rm": res.breakdown_rm,
                     "breakdown_sd": res.breakdown_sd, "m_scale": res.m_scale,
                     "wald_statistic": res.pretrend["statistic"],
                     "wald_df": float(res.pretrend["df"]), "wald_p": res.pretrend["p_value"]})
    table = (pd.concat(tables, ignore_index=True)[SENSITIVITY_COLUMNS] if tables
             else _empty(SENSITIVITY_COLUMNS))
    summary = pd.DataFrame(rows, columns=BREAKDOWN_COLUMNS) if rows else \
        _empty(BREAKDOWN_COLUMNS)
    return table, summary


def _g(x: float, digits: int = 2) -> str:
    return f"{float(x):.{digits}g}"


def sensitivity_clause(row) -> str:
    """The logic-chain note's clause for one indicator's breakdown row, e.g. ``Rambachan-Roth
    (average post-period effect): breakdown M̄ = 0.8, M = 0.013; pre-trend Wald χ²(3)
    p = 0.41``; for an indicator that could not be analysed ``Rambachan-Roth: insufficient
    data: <why>``; an empty string without a row."""
    if row is None:
        return ""
    if row.get("status") != "ok":
        why = str(row.get("reason") or "")
        why = why.split(": ", 1)[1] if why.startswith("registry:") and ": " in why else why
        return f"Rambachan-Roth: insufficient data: {why}".rstrip(": ")
    bd = row["breakdown_rm"]
    if isinstance(bd, float) and math.isnan(bd):
        rm = "no breakdown M̄, the CI includes 0 under parallel trends"
    elif math.isinf(bd):
        rm = "breakdown M̄ > 20"
    else:
        rm = f"breakdown M̄ = {_g(bd)}"
        sd = row["breakdown_sd"]
        if not math.isnan(sd):
            rm += f", M = {'> ' + _g(1024 * row['m_scale']) if math.isinf(sd) else _g(sd)}"
    text = f"Rambachan-Roth (average post-period effect): {rm}"
    if not math.isnan(row["wald_p"]):
        text += f"; pre-trend Wald χ²({int(row['wald_df'])}) p = {_g(row['wald_p'])}"
    return text


def with_sensitivity_notes(evidence: pd.DataFrame, breakdown: pd.DataFrame | None
                           ) -> pd.DataFrame:
    """The logic-chain evidence with :func:`sensitivity_clause` appended to the note of each
    registry row that has a verdict (not insufficient data)."""
    if breakdown is None or not len(breakdown) or not len(evidence):
        return evidence
    by = {str(r["indicator"]): r for r in breakdown.to_dict("records")}
    out = evidence.copy()
    for i, r in out.iterrows():
        if r["source"] != "registry" or r["verdict"] == "insufficient_data":
            continue
        clause = sensitivity_clause(by.get(str(r["indicator"])))
        if clause:
            out.at[i, "note"] = "; ".join(n for n in (str(r["note"] or ""), clause) if n)
    return out
