"""The report's opening sections -- design and data (the kommuner, the waves, the panel and
the interview rounds), validation -- and the effects table every source's estimates go to."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..html import Section
from ..labels import t
from ..tables import PublishedTable
from .context import ReportContext, num


def add_tables(ctx: ReportContext, validation: pd.DataFrame | None,
               effects: pd.DataFrame) -> None:
    """The kommuner of the design, the validation summary and the (suppressed) effects."""
    study, lang, src, knames = ctx.study, ctx.lang, ctx.src, ctx.knames
    ctx.add("kommuner", pd.DataFrame(
        [{"code": c, "name": knames[c], "group": "network", "join_year": y}
         for c, y in study.network.items()]
        + [{"code": c, "name": knames[c], "group": "comparison", "join_year": np.nan}
           for c in study.comparison]).assign(suppressed=False),
        source=src["design"], kinds={"code": "text", "name": "text"})
    if validation is not None and len(validation):
        ctx.add("validation", validation.assign(suppressed=False), source=src["contracts"],
                method=t("method_validation", lang), kinds={"wave": "text", "rules": "text"})
    eff_cols = [c for c in effects.columns if c not in ("_estimate",)]
    ctx.add("effects", effects[eff_cols], source=src["all"],
            method=t("method_effects", lang))


def sections(ctx: ReportContext) -> list[Section]:
    """Design and data; validation."""
    lang = ctx.lang
    return [
        Section(t("design", lang), anchor="design",
                paragraphs=_design_paragraphs(ctx.study, ctx.tabs, ctx.knames, lang),
                tables=[ctx.table("kommuner")]),
        Section(t("validation", lang), anchor="validation",
                paragraphs=[t("validation_text", lang)],
                tables=[ctx.table("validation")] if "validation" in ctx.tabs else []),
    ]


def _design_paragraphs(study, tabs: dict[str, PublishedTable], knames: dict[str, str],
                       lang: str) -> list[str]:
    net = ", ".join(f"{knames[c]} ({y})" for c, y in study.network.items())
    comp = ", ".join(knames[c] for c in study.comparison)
    out = [f"{t('network', lang)} ({len(study.network)}; {t('joined_year', lang)}): {net}.",
           f"{t('comparison', lang)} ({len(study.comparison)}): {comp}."]
    if "survey_response" in tabs:
        r = tabs["survey_response"].frame
        tot = r[r["kommune"] == "Total"]
        out.append(f"{t('waves', lang)}: " + ", ".join(
            f"{w} (n = {num(n, 0, lang)})" for w, n in zip(tot["wave"], tot["respondents"],
                                                          strict=True)) + ".")
    if "survey_panel_retention" in tabs:
        p = tabs["survey_panel_retention"].frame
        p = p[p["kommune"] == "all"]
        out.append(t("retention_text", lang) + " " + "; ".join(
            f"{r.followup}: {num(r.retained, 0, lang)} "
            f"({num(r.share_of_baseline, 1, lang)} %)" for r in p.itertuples()) + ".")
    th = tabs["interview_theme_counts"].frame if "interview_theme_counts" in tabs else \
        pd.DataFrame()
    if len(th):
        per_round = th.groupby("wave", sort=False)["sources_in_group"].max()
        # a hidden count is said in words, never "n = :"
        out.append(f"{t('interviews', lang)}: " + ", ".join(
            f"{w} (n = {num(n, 0, lang)})" if pd.notna(n)
            else f"{w} (n < {study.small_cell_threshold})"
            for w, n in per_round.items()) + ".")
    return out
