"""The registry's section: group rates (suppressed by their numerators), the DiD table, the
trends and event-study figures, the pre-trend tests, and the parallel-trends sensitivity
subsection (:mod:`evaluation_pipeline.report.sensitivity_report`)."""

from __future__ import annotations

import pandas as pd

from .. import figures as F
from .. import sensitivity_report as sens
from ..html import Section
from ..labels import t
from ..tables import registry_did_table
from .context import ReportContext, fig, not_estimated


def add_tables(ctx: ReportContext, group_rates: pd.DataFrame | None,
               effects: pd.DataFrame, has: set[str]) -> None:
    """``group_rates``: already suppressed (:func:`publishable_tables`); ``effects``: the
    suppressed effects."""
    if group_rates is not None:
        ctx.add("registry_group_rates", group_rates, source=ctx.src["registry"])
    did_table = registry_did_table(effects[effects["group"].isin(
        ["all", "network", "comparison"])], ctx.ind_labels) if "registry" in has else []
    if len(did_table):
        ctx.add("registry_did", did_table, source=ctx.src["registry"],
                method=t("tab_registry_did", ctx.lang))


def add_sensitivity_table(ctx: ReportContext, breakdown: pd.DataFrame | None,
                          effects: pd.DataFrame) -> pd.DataFrame | None:
    """The breakdown table of the sensitivity analysis; returns the breakdown rows shown."""
    if breakdown is not None and len(breakdown):
        breakdown = _visible_breakdown(breakdown, effects)
        ctx.add("registry_breakdown", sens.breakdown_table(breakdown, ctx.lang).assign(
            suppressed=False), source=ctx.src["registry"],
            method=t("method_registry_breakdown", ctx.lang), kinds=sens.TABLE_KINDS)
    return breakdown


def trend_figures(ctx: ReportContext, reference: pd.DataFrame | None) -> dict[str, tuple]:
    """The group rates over the years (with the country and fylke ``reference``)."""
    study = ctx.study
    if "registry_group_rates" in ctx.tabs and len(ctx.tabs["registry_group_rates"].frame):
        return {"registry_trends": fig(F.registry_trends,
            ctx.tabs["registry_group_rates"].frame, ctx.ind_labels,
            list(study.network.values()),
            breaks={i: v.breaks for i, v in study.registry.indicators.items()},
            reference=reference, language=ctx.lang, synthetic=study.synthetic)}
    return {}


def figures(ctx: ReportContext, has: set[str], event_study: pd.DataFrame | None,
            sensitivity: pd.DataFrame | None, breakdown: pd.DataFrame | None
            ) -> dict[str, tuple]:
    """The event study and one sensitivity figure per indicator with a breakdown."""
    syn = {"language": ctx.lang, "synthetic": ctx.study.synthetic}
    figs: dict[str, tuple] = {}
    if "registry" in has and event_study is not None and len(event_study):
        figs["registry_event_study"] = fig(F.event_study, event_study, ctx.ind_labels, **syn)
    if "registry_breakdown" in ctx.tabs and sensitivity is not None and len(sensitivity):
        for ind in breakdown.loc[breakdown["status"] == "ok", "indicator"]:
            rows = sensitivity[sensitivity["indicator"] == ind].reset_index(drop=True)
            if len(rows):
                bd = breakdown.loc[breakdown["indicator"] == ind, "breakdown_rm"].iloc[0]
                figs[sens.figure_name(ind)] = fig(sens.sensitivity_figure, rows,
                                                  ctx.ind_labels.get(ind, ind),
                                                  breakdown=float(bd), **syn)
    return figs


def sections(ctx: ReportContext, raw_effects: pd.DataFrame, pretrend: pd.DataFrame | None,
             breakdown: pd.DataFrame | None) -> list[Section]:
    """The registry's section and, with a breakdown table, its sensitivity subsection."""
    lang, ind_labels = ctx.lang, ctx.ind_labels
    out = [Section(
        t("registry", lang), anchor="registry",
        paragraphs=_pretrend_paragraphs(pretrend, ind_labels, lang, ctx.tabs["effects"].frame)
        + not_estimated(ctx, raw_effects, "registry"),
        figures=ctx.figs_of("registry_trends", "registry_event_study"),
        tables=[ctx.table("registry_did")] if "registry_did" in ctx.tabs else [])]
    if "registry_breakdown" in ctx.tabs:
        out.append(Section(
            t("sens_title", lang), anchor="registry-sensitivity", level=3,
            paragraphs=sens.sensitivity_paragraphs(breakdown, ind_labels, lang),
            figures=[(f"{ind_labels.get(i, i)}: {t('fig_registry_sensitivity', lang)}",
                      ctx.previews[sens.figure_name(i)])
                     for i in breakdown["indicator"]
                     if sens.figure_name(i) in ctx.previews],
            tables=[ctx.table("registry_breakdown")]))
    return out


def break_paragraphs(study, labels: dict[str, str], lang: str) -> list[str]:
    if not study.registry:
        return []
    br = [f"{labels.get(i, i)} ({', '.join(map(str, v.breaks))})"
          for i, v in study.registry.indicators.items() if v.breaks]
    return [t("breaks_caveat", lang) + " " + "; ".join(br) + "."] if br else []


def _pretrend_paragraphs(pretrend: pd.DataFrame | None, labels: dict[str, str], lang: str,
                         effects: pd.DataFrame | None = None):
    """One sentence with the joint pre-trend test of every indicator; a test that could not
    be computed (no event time before joining inside the window, or a missing statistic)
    says "not computed" and why, never ``F(0, 8) = nan``. Indicators whose published
    registry effects are all suppressed are left out."""
    if pretrend is None or pretrend.empty:
        return []
    hidden = set()
    if effects is not None and "suppressed" in effects and len(effects):
        reg = effects[effects["source"] == "registry"]
        sup = reg.groupby("outcome")["suppressed"].all()
        hidden = set(sup[sup].index)
    dec = "," if lang == "nb" else "."
    parts = []
    for r in pretrend.itertuples():
        if r.indicator in hidden:
            continue
        name = labels.get(r.indicator, r.indicator)
        df1 = pd.to_numeric(r.df1, errors="coerce")
        stat, p = (pd.to_numeric(x, errors="coerce") for x in (r.statistic, r.p_value))
        if pd.isna(df1) or df1 < 1:
            parts.append(f"{name}: {t('not_computed', lang)} ({t('pretrend_no_pre', lang)})")
        elif pd.isna(stat) or pd.isna(p) or pd.isna(r.df2):
            parts.append(f"{name}: {t('not_computed', lang)} "
                         f"({t('pretrend_no_stat', lang)})")
        else:
            parts.append(f"{name}: F({int(df1)}, {int(r.df2)}) = "
                         f"{f'{stat:.2f}'.replace('.', dec)}, "
                         f"p = {f'{p:.3f}'.replace('.', dec)}")
    return [t("pretrend", lang) + " " + "; ".join(parts) + "."] if parts else []


def _visible_breakdown(breakdown: pd.DataFrame, effects: pd.DataFrame) -> pd.DataFrame:
    """The breakdown rows of indicators whose published registry effects are not all
    suppressed (as the pre-trend sentence)."""
    if "suppressed" not in effects or not len(effects):
        return breakdown
    reg = effects[effects["source"] == "registry"]
    sup = reg.groupby("outcome")["suppressed"].all()
    return breakdown[~breakdown["indicator"].isin(set(sup[sup].index))].reset_index(drop=True)
