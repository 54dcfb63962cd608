"""The survey's section: scale means by group, reliability, response and panel retention, the
answers per category (each suppressed by its rule in :mod:`evaluation_pipeline.publication`),
their figures and the survey's effects."""

from __future__ import annotations

import pandas as pd

from ...publication import (
    suppress_item_distributions,
    suppress_response,
    suppress_retention,
    suppress_small_cells,
)
from .. import figures as F
from ..html import Section
from ..labels import t
from ..tables import PublishedTable
from .context import ReportContext, fig

#: the columns of the survey's effects shown in its section
EFFECT_COLUMNS = ["source", "outcome", "contrast", "group", "estimate", "ci_low", "ci_high",
                  "p_value", "p_adjusted", "n_obs", "estimator"]


def add_tables(ctx: ReportContext, scale_means: pd.DataFrame | None,
               reliability: pd.DataFrame | None, response: pd.DataFrame | None,
               retention: pd.DataFrame | None, item_dist: pd.DataFrame | None) -> None:
    """``scale_means``: already suppressed (:func:`publishable_tables`); the others raw."""
    k, src = ctx.k, ctx.src
    if scale_means is not None:
        ctx.add("survey_scale_means", scale_means, source=src["survey"],
                margins=[{"count": "n", "category": "group", "within": ["scale", "wave"],
                          "total_column": "n_wave"}])
    if reliability is not None and len(reliability):
        rel = reliability[["wave", "scale", "alpha", "alpha_ci_low", "alpha_ci_high", "omega",
                           "n_used"]]
        ctx.add("scale_reliability", suppress_small_cells(
            rel, ["n_used"], k, ["alpha", "alpha_ci_low", "alpha_ci_high", "omega"]),
            source=src["survey"])
    if response is not None and len(response):
        ctx.add("survey_response", suppress_response(response, k), source=src["survey"],
                kinds={"kommune": "text"},
                margins=[{"count": "respondents", "category": "kommune", "within": ["wave"],
                          "total_label": "Total"}])
    if retention is not None and len(retention):
        ctx.add("survey_panel_retention", suppress_retention(retention, k),
                source=src["survey"], kinds={"kommune": "text"},
                margins=[{"count": c, "category": "kommune", "within": ["followup"],
                          "total_label": "all"}
                         for c in ("n_baseline", "n_followup", "retained")])
    if item_dist is not None and len(item_dist):
        ctx.add("survey_item_distributions", suppress_item_distributions(item_dist, k),
                source=src["survey"],
                margins=[{"count": "count", "category": "category",
                          "within": ["wave", "group", "item"], "total_column": "n_answered"}])


def figures(ctx: ReportContext, has: set[str]) -> dict[str, tuple]:
    """Scale means, before and after, the last follow-up per kommune (forest) and the
    network's answers per category."""
    study, scale_labels = ctx.study, ctx.scale_labels
    syn = {"language": ctx.lang, "synthetic": study.synthetic}
    figs: dict[str, tuple] = {}
    means = ctx.frame("survey_scale_means")
    if len(means):
        figs["survey_scale_means"] = fig(F.survey_means, means, scale_labels, **syn)
        if study.survey and study.followup_waves:
            figs["survey_pre_post"] = fig(F.pre_post,
                means, scale_labels, study.baseline_wave, study.followup_waves[-1], **syn)
    e = ctx.tabs["effects"].frame
    if "survey" in has and study.survey and study.followup_waves:
        last = e[(e["source"] == "survey") & (e["group"] != "comparison") & (
            e["contrast"] == f"{study.followup_waves[-1]} - {study.baseline_wave}")]
        per_kommune = last.assign(group=last["group"].replace({"network": "all"}))
        if len(per_kommune.dropna(subset=["estimate"])):
            figs["survey_forest"] = fig(F.forest,
                per_kommune.dropna(subset=["estimate"]), {**ctx.knames, **scale_labels},
                **syn)
    if "survey_item_distributions" in ctx.tabs:
        dist = ctx.tabs["survey_item_distributions"].frame
        items = [i for s in study.survey.scales.values() for i in s.items]
        figs["survey_item_distributions"] = fig(F.item_distributions,
            dist[dist["group"] == "network"], items, study.wave_ids, **syn)
    return figs


def section(ctx: ReportContext) -> Section:
    lang, tabs = ctx.lang, ctx.tabs
    e = tabs["effects"].frame
    effects = PublishedTable("effects_survey", e[e["source"] == "survey"].reset_index(
        drop=True))
    return Section(
        t("survey", lang), anchor="survey",
        paragraphs=[t("suppressed_note", lang, k=ctx.k)],
        figures=ctx.figs_of("survey_scale_means", "survey_pre_post", "survey_forest",
                            "survey_item_distributions"),
        tables=[ctx.table("survey_scale_means", ["scale", "wave", "group", "mean", "sd",
                                                 "ci_low", "ci_high", "n", "n_wave"]),
                ctx.table(effects, EFFECT_COLUMNS, t("tab_effects", lang))]
        + [ctx.table(n) for n in ("scale_reliability", "survey_response",
                                  "survey_panel_retention") if n in tabs])
