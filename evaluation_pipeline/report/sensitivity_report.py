"""The report's parallel-trends sensitivity (Rambachan & Roth) of the registry DiD: one figure
per indicator (robust CI of the average post-period effect against M̄, the CI under parallel
trends beside M̄ = 0, a line at 0), the table of breakdown values and the text that says how
to read them. The numbers come from
:func:`evaluation_pipeline.analysis.registry_sensitivity.registry_sensitivity`."""

from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .figures import _watermark
from .labels import t
from .style import SEQUENCE, figure_style

#: the columns of the published breakdown table
TABLE_COLUMNS = ["indicator", "pre_periods", "post_periods", "estimate", "ci_low", "ci_high",
                 "breakdown_rm", "breakdown_sd", "wald_statistic", "wald_df", "wald_p", "note"]
TABLE_KINDS = {"pre_periods": "text", "post_periods": "text", "breakdown_rm": "text",
               "breakdown_sd": "text", "wald_statistic": "estimate", "wald_df": "integer",
               "wald_p": "p", "note": "text"}


def figure_name(indicator: str) -> str:
    """The file stem of an indicator's figure (``registry_sensitivity_<indicator>``)."""
    return f"registry_sensitivity_{indicator}"


def sensitivity_figure(table: pd.DataFrame, label: str, *, breakdown: float | None = None,
                       language: str = "nb", synthetic: bool = False) -> plt.Figure:
    """Robust 95 % CIs of the average post-period effect under Δ^RM(M̄) against M̄ (one
    indicator's ``registry_sensitivity`` rows), the CI under parallel trends left of M̄ = 0,
    a horizontal line at 0 and, when there is one inside the plotted range, a dotted line
    at the breakdown M̄. An end that is open (inf) is drawn to the panel's edge."""
    rm = table[table["kind"] == "RM"].sort_values("m")
    orig = table[table["kind"] == "original"]
    with figure_style():
        fig, ax = plt.subplots(figsize=(4.6, 3.0))
        step = float(np.diff(rm["m"]).min()) if len(rm) > 1 else 0.25
        finite = pd.concat([rm[["lb", "ub"]], orig[["lb", "ub"]]]).replace(
            [np.inf, -np.inf], np.nan)
        lo, hi = np.nanmin(finite.to_numpy()), np.nanmax(finite.to_numpy())
        pad = 0.05 * (hi - lo if hi > lo else 1.0)
        lb = rm["lb"].clip(lower=lo - pad)
        ub = rm["ub"].clip(upper=hi + pad)
        ax.vlines(rm["m"], lb, ub, color=SEQUENCE[0], lw=2.2,
                  label=t("sens_robust_ci", language))
        if len(orig):
            o = orig.iloc[0]
            ax.vlines([-0.6 * step], [o["lb"]], [o["ub"]], color=SEQUENCE[1], lw=2.2,
                      label=t("sens_original_ci", language))
        ax.axhline(0, color="black", lw=0.8)
        if breakdown is not None and not _isnan(breakdown) and len(rm) and \
                breakdown <= float(rm["m"].max()):
            ax.axvline(breakdown, color="grey", lw=0.9, ls=":",
                       label=f"{t('sens_breakdown_line', language)} M̄ = "
                             f"{breakdown_text(breakdown, language)}")
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlabel(t("sens_mbar", language))
        ax.set_ylabel(t("sens_effect", language))
        ax.set_title(textwrap.fill(label, 48), loc="left")
        ax.legend(loc="upper left", fontsize="small", frameon=True, framealpha=0.9,
                  edgecolor="none")
        fig.tight_layout()
        if synthetic:
            _watermark(fig, language)
    return fig


def _num(x: float, language: str, digits: int = 2) -> str:
    text = f"{x:.{digits}g}" if abs(x) < 1 else f"{x:.{digits + 1}g}"
    return text.replace(".", ",") if language == "nb" else text


def breakdown_text(x: float, language: str, *, limit: float | None = None) -> str:
    """A breakdown value as published: ``–`` when there is none (the CI includes 0 under
    parallel trends), ``> limit`` when the CI excluded 0 at every bound tried."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return f"> {_num(limit, language)}" if limit else "∞"
    return _num(x, language)


def breakdown_table(breakdown: pd.DataFrame, language: str) -> pd.DataFrame:
    """The published table: one row per indicator (insufficient data: its reason in
    ``note``), breakdown values as text."""
    rows = []
    for r in breakdown.to_dict("records"):
        ok = r["status"] == "ok"
        rows.append({
            "indicator": r["indicator"],
            "pre_periods": r["pre_periods"] or "–", "post_periods": r["post_periods"] or "–",
            "estimate": r["estimate"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
            "breakdown_rm": breakdown_text(r["breakdown_rm"], language, limit=20.0)
            if ok else "–",
            "breakdown_sd": breakdown_text(r["breakdown_sd"], language,
                                           limit=1024 * float(r["m_scale"]))
            if ok else "–",
            "wald_statistic": r["wald_statistic"], "wald_df": r["wald_df"],
            "wald_p": r["wald_p"],
            "note": (r["reason"] or "") if not ok else _note(r, language),
        })
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def _note(r: dict, language: str) -> str:
    """Why a breakdown value is missing: the CI includes 0 under parallel trends, or (M) the
    FLCI includes 0 already at M = 0 (the pre-trend extrapolated linearly)."""
    if _isnan(r["breakdown_rm"]) and _isnan(r["breakdown_sd"]):
        return t("sens_no_breakdown", language)
    if _isnan(r["breakdown_sd"]):
        return t("sens_no_breakdown_sd", language)
    return ""


def _isnan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def sensitivity_paragraphs(breakdown: pd.DataFrame, labels: dict[str, str],
                           language: str) -> list[str]:
    """How to read the section, and a sentence naming each indicator's breakdown M̄."""
    out = [t("sens_text", language)]
    parts = []
    for r in breakdown.to_dict("records"):
        name = labels.get(r["indicator"], r["indicator"])
        if r["status"] != "ok":
            parts.append(f"{name}: {t('sens_insufficient', language)}")
        elif _isnan(r["breakdown_rm"]):
            parts.append(f"{name}: {t('sens_no_breakdown', language)}")
        else:
            parts.append(f"{name}: M̄ = {breakdown_text(r['breakdown_rm'], language, limit=20.0)}")
    if parts:
        out.append(t("sens_breakdowns", language) + " " + "; ".join(parts) + ".")
    return out
