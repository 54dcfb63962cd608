"""The interviews' section: theme counts, theme × role counts (suppressed with both margins),
co-occurrence and intercoder reliability, and their figures."""

from __future__ import annotations

import pandas as pd

from ...publication import suppress_small_cells, suppress_theme_role
from .. import figures as F
from ..html import Section
from ..labels import t
from .context import ReportContext, fig, not_estimated


def add_tables(ctx: ReportContext, theme_counts: pd.DataFrame | None,
               theme_role_freq: pd.DataFrame | None, co_occ: pd.DataFrame | None,
               intercoder: pd.DataFrame | None) -> None:
    """``theme_counts``: the theme frequencies already suppressed (:func:`publishable_tables`);
    the others raw."""
    k, lang, src = ctx.k, ctx.lang, ctx.src
    if theme_counts is not None:
        ctx.add("interview_theme_counts", theme_counts, source=src["interviews"])
    if theme_role_freq is not None and len(theme_role_freq):
        role_tab = suppress_theme_role(theme_role_freq, k)
        left_out = (len(theme_role_freq[["theme", "wave"]].drop_duplicates())
                    - len(role_tab[["theme", "wave"]].drop_duplicates()))
        ctx.add("interview_theme_role", role_tab, source=src["interviews"],
                method=t("tab_interview_theme_role_left_out", lang, n=left_out)
                if left_out else "",
                margins=[{"count": "n_sources", "category": "role",
                          "within": ["theme", "wave"], "total_table": "interview_theme_counts",
                          "total_column": "n_sources"}])
    if co_occ is not None and len(co_occ):
        ctx.add("interview_co_occurrence", suppress_small_cells(
            co_occ, ["n_both", "n_a", "n_b"], k, ["jaccard"]), source=src["interviews"])
    if intercoder is not None and len(intercoder):
        ctx.add("intercoder_reliability", intercoder.assign(suppressed=False),
                source=src["interviews"])


def figures(ctx: ReportContext) -> dict[str, tuple]:
    """Theme shares per round, the shifts between rounds, theme × role (or round) and
    co-occurrence heatmaps."""
    study, lang = ctx.study, ctx.lang
    syn = {"language": lang, "synthetic": study.synthetic}
    figs: dict[str, tuple] = {}
    themes = ctx.frame("interview_theme_counts")
    if len(themes):
        rounds = [r.id for r in study.interviews.rounds] if study.interviews and \
            study.interviews.rounds else sorted(themes["wave"].dropna().unique())
        figs["interview_theme_shares"] = fig(F.theme_shares, themes, rounds, **syn)
    # (a new index: the rows' positions in the effects table move when survey rows are added,
    # and the figure is kept by its inputs, index included)
    e = ctx.tabs["effects"].frame
    shifts = e[(e["source"] == "interviews") & (e["group"] == "all")].dropna(
        subset=["estimate"]).reset_index(drop=True)
    if len(shifts):
        figs["interview_theme_shifts"] = fig(F.forest,
            shifts.assign(group=shifts["outcome"], outcome=t("theme_shift", lang)), {},
            title=t("share_difference", lang), **syn)
    if "interview_theme_role" in ctx.tabs:
        d = ctx.tabs["interview_theme_role"].frame.dropna(subset=["role", "wave"])
        d = d.assign(col=d["role"].astype(str) + " · " + d["wave"].astype(str))
        if d["suppressed"].mean() > 0.5:  # sectors too small to show: rounds only
            d = themes.assign(col=lambda x: x["wave"].astype(str))
        figs["interview_theme_heatmap"] = fig(F.heatmap,
            d, "theme", "col", "share_sources", **syn)
    if "interview_co_occurrence" in ctx.tabs:
        co = ctx.tabs["interview_co_occurrence"].frame
        sym = pd.concat([co, co.rename(columns={"a": "b", "b": "a"})], ignore_index=True)
        figs["interview_co_occurrence"] = fig(F.heatmap,
            sym, "a", "b", "jaccard", fmt="{:.2f}", cmap="Greens", **syn)
    return figs


def section(ctx: ReportContext, raw_effects: pd.DataFrame) -> Section:
    return Section(
        t("interviews", ctx.lang), anchor="interviews",
        paragraphs=not_estimated(ctx, raw_effects, "interviews"),
        figures=ctx.figs_of("interview_theme_shares", "interview_theme_shifts",
                            "interview_theme_heatmap", "interview_co_occurrence"),
        tables=[ctx.table("interview_theme_counts", ["theme", "wave", "n_segments",
                                                     "n_sources", "sources_in_group",
                                                     "share_sources"])]
        + ([ctx.table("intercoder_reliability")] if "intercoder_reliability" in ctx.tabs
           else []))
