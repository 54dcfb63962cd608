"""The collaboration network's section (issue 25): what the roster asks, the network measures
of the network and comparison kommuner by wave, their sociograms at baseline and in the latest
wave, the network vs comparison difference-in-differences of the measures and the pairs of
services, and the heatmap of the change per pair.

Published tables (each suppressed by its rule in :mod:`evaluation_pipeline.publication`):
``network_ties_pooled`` and ``network_ties_kommune`` (the tie tables, suppressed together by
:func:`~evaluation_pipeline.publication.suppress_ties` so no kommune's hidden tie can be
recovered from the pooled sum; the kommune table's ``margins`` in the manifest say so),
``network_measures`` (:func:`~evaluation_pipeline.publication.suppress_measures`) and
``network_did`` (the DiD Effect rows after
:func:`~evaluation_pipeline.publication.suppress_effects`). The kommune profiles draw each
kommune's sociogram from the same suppressed ties (:func:`published_ties`), so a tie hidden in
the report is hidden in the profile too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...publication import suppress_effects, suppress_measures, suppress_ties
from ..html import Section
from ..labels import t
from ..sociogram import sociogram_panel, tie_change_heatmap
from ..tables import PublishedTable, formatted
from .context import ReportContext, fig

#: the pairs of services per follow-up in the section's DiD table (all are in the CSV)
TOP_PAIRS = 5
#: the columns of the published tie tables besides their ``by`` columns
TIE_SHOWN = ["from_service", "to_service", "n", "mean_frequency", "share_regular", "regular",
             "n_quality", "mean_quality", "quality_suppressed"]
TIE_KINDS = {"from_service": "text", "to_service": "text", "kommune": "text", "group": "text",
             "wave": "text", "n_quality": "count", "mean_frequency": "estimate",
             "share_regular": "share", "mean_quality": "estimate", "regular": "text",
             "quality_suppressed": "text"}
DID_CONTRAST = ", network - comparison"


def services_of(study) -> list[str]:
    """The services of the roster in the study's roles order (the sociograms' circle)."""
    c = study.survey.collaboration
    asked = set(c.services())
    roles = [r for r in (study.survey.roles or []) if r in asked]
    return roles or list(c.services())


def _pooled_counts(ties: pd.DataFrame, group_of: dict[str, str]) -> pd.DataFrame:
    """The pooled tie table's counts (``n``, ``n_quality``) as the sums over the kommuner of
    each group: what the suppression of the kommune ties needs of it (its means are left
    missing). The same counts as ``tie_table(..., by=("group", "wave"))``, whose n are the
    sums of the kommuner's."""
    keys = [c for c in ties.columns if c not in (*TIE_SHOWN, "kommune", "group", "suppressed")]
    d = ties.assign(group=ties["kommune"].astype(str).map(group_of))
    out = d.groupby(["group", *keys, "from_service", "to_service"], sort=False,
                    as_index=False)[["n", "n_quality"]].sum()
    return out.assign(mean_frequency=np.nan, share_regular=np.nan, regular=pd.NA,
                      mean_quality=np.nan)


def published_ties(study, ties: pd.DataFrame, pooled: pd.DataFrame | None = None
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-kommune tie table (the study's kommuner, with their ``group``) and the pooled
    one after :func:`~evaluation_pipeline.publication.suppress_ties` of both together, with
    the study's ``small_cell_threshold``. Without ``pooled`` the pooled counts are the sums
    over the kommuner (the same suppression of the kommune ties; the pooled table returned
    then has counts only)."""
    from ...analysis.composition import study_groups

    groups = study_groups(study)
    kt = ties[ties["kommune"].astype(str).isin(groups)].copy()
    kt["kommune"] = kt["kommune"].astype(str)
    kt = kt.drop(columns=[c for c in ("group",) if c in kt])
    if pooled is None:
        pooled = _pooled_counts(kt, groups)
    pooled = pooled[pooled["group"].isin(["network", "comparison"])]
    skt, spt = suppress_ties(kt.reset_index(drop=True), study.small_cell_threshold,
                             pooled=pooled.reset_index(drop=True), group_of=groups)
    skt.insert(1, "group", skt["kommune"].map(groups))
    return skt, spt


def _waves(study, pooled: pd.DataFrame) -> tuple[str, str | None]:
    """The baseline and the latest follow-up with roster answers (None without one)."""
    have = set(pooled["wave"].astype(str)) if len(pooled) else set()
    later = [w for w in study.followup_waves if w in have]
    return study.baseline_wave, (later[-1] if later else None)


def _did_rows(effects: pd.DataFrame | None, k: int) -> pd.DataFrame:
    if effects is None or not len(effects):
        return pd.DataFrame()
    e = effects[(effects["source"].astype(str) == "network")
                & effects["contrast"].astype(str).str.endswith(DID_CONTRAST)]
    return suppress_effects(e.reset_index(drop=True), k) if len(e) else pd.DataFrame()


def split_kommune_changes(published_effects: pd.DataFrame
                          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The (suppressed) effects without the network's per-kommune change rows, and those rows
    (group: a kommune code).

    The per-kommune rows are not published (they stay in the warehouse's ``effects`` and
    ``collaboration_effects``): a kommune's change in a pair or a measure is computed from
    its ties at two waves, and where one of those ties is hidden (fewer than k respondents)
    the change and the shown tie give the hidden value back. Their n counts the kommune's
    respondents, not the tie's, so :func:`suppress_effects` would not hide them."""
    if not len(published_effects) or "source" not in published_effects:
        return published_effects, published_effects.iloc[0:0]
    per_kommune = ((published_effects["source"].astype(str) == "network")
                   & ~published_effects["group"].astype(str).isin(
                       ["all", "network", "comparison"]))
    return (published_effects[~per_kommune].reset_index(drop=True),
            published_effects[per_kommune].reset_index(drop=True))


def add_tables(ctx: ReportContext, ties: pd.DataFrame | None,
               ties_pooled: pd.DataFrame | None, measures_pooled: pd.DataFrame | None,
               effects: pd.DataFrame | None) -> None:
    """``ties`` (by kommune × wave) and ``ties_pooled`` (by group × wave): tie tables
    (:func:`~evaluation_pipeline.analysis.collaboration.tie_table`), not suppressed;
    ``measures_pooled``: the pooled ties' measures; ``effects``: the network's Effect rows
    (the DiD rows are taken from them), raw."""
    k, src = ctx.k, ctx.src["survey"]
    if ties is not None and ties_pooled is not None and len(ties_pooled):
        kt, pt = published_ties(ctx.study, ties, ties_pooled)
        by_p = [c for c in pt.columns if c not in (*TIE_SHOWN, "suppressed")]
        by_k = [c for c in kt.columns if c not in (*TIE_SHOWN, "suppressed")]
        ctx.add("network_ties_pooled", pt[[*by_p, *TIE_SHOWN, "suppressed"]], source=src,
                kinds=TIE_KINDS)
        ctx.add("network_ties_kommune", kt[[*by_k, *TIE_SHOWN, "suppressed"]], source=src,
                kinds=TIE_KINDS,
                margins=[{"count": c, "category": "kommune",
                          "within": ["group", "wave", "from_service", "to_service"],
                          "total_table": "network_ties_pooled", "total_column": c}
                         for c in ("n", "n_quality")])
        if measures_pooled is not None and len(measures_pooled):
            m = suppress_measures(measures_pooled, pt, k)
            ctx.add("network_measures", m[[c for c in m.columns if c != "suppressed"]
                                          + ["suppressed"]], source=src,
                    kinds={"group": "text", "wave": "text", "measure": "text",
                           "value": "estimate", "n_respondents": "count"})
    did = _did_rows(effects, k)
    if len(did):
        # the network's outcomes by name in every published table (the effects table too)
        # (the logic chain's longer labels, from the study, stay where they are set)
        for o in dict.fromkeys(did["outcome"].astype(str)):
            ctx.names.setdefault(o, outcome_label(o, ctx.lang))
        ctx.add("network_did", did.assign(
            followup=did["contrast"].astype(str).str.split(" - ").str[0],
            n_kommuner=(pd.to_numeric(did["n_treated"], errors="coerce")
                        + pd.to_numeric(did["n_control"], errors="coerce")).astype("Int64"))[
            ["outcome", "followup", "contrast", "estimate", "ci_low", "ci_high", "p_value",
             "p_adjusted", "n_kommuner", "suppressed"]], source=src,
            kinds={"followup": "text", "contrast": "text", "outcome": "text"})


def figures(ctx: ReportContext) -> dict[str, tuple]:
    """The sociograms of the pooled network and comparison kommuner at baseline and in the
    latest wave; the heatmap of the DiD per pair of services in the latest follow-up."""
    study, lang = ctx.study, ctx.lang
    figs: dict[str, tuple] = {}
    services = services_of(study)
    c = study.survey.collaboration
    quality = tuple(c.quality.range) if c.quality is not None else (1, 5)
    pt = ctx.frame("network_ties_pooled")
    base, latest = _waves(study, pt)
    if len(pt):
        waves = [w for w in (base, latest) if w is not None and w in set(pt["wave"])]
        panels = [{"group": g, "wave": w} for g in ("network", "comparison")
                  if g in set(pt["group"]) for w in waves]
        if panels:
            figs["network_sociograms"] = fig(
                sociogram_panel, pt.assign(suppressed=pt["suppressed"].astype(bool)),
                services, panels, k=ctx.k, language=lang, names=ctx.knames,
                frequency_range=tuple(c.frequency.range), quality_range=quality,
                ncols=len(waves), synthetic=study.synthetic)
    did = ctx.frame("network_did")
    if latest is not None and len(did):
        contrast = f"{latest} - {base}{DID_CONTRAST}"
        pairs = did[(did["contrast"] == contrast)
                    & did["outcome"].astype(str).str.startswith("tie:")]
        if len(pairs):
            figs["network_tie_change"] = fig(
                tie_change_heatmap, pairs.assign(source="network")[
                    ["source", "outcome", "contrast", "estimate", "suppressed"]],
                services, contrast=contrast, directed=False,
                measure=_frequency_label(study, lang) or None, language=lang,
                synthetic=study.synthetic)
    return figs


def _frequency_label(study, lang: str) -> str:
    """What the pair DiD is a change of: the frequency block's label (study.yaml)."""
    label = study.survey.collaboration.frequency.label
    return label.get(lang).lower() if label is not None else ""


def outcome_label(outcome: str, lang: str) -> str:
    """A network outcome as the report writes it: a measure's name, a pair ``A – B``."""
    if outcome.startswith("tie:"):
        return outcome[4:].replace("-", " – ", 1)
    key = f"network.short.{outcome}"
    from .context import label_keys

    return t(key, lang) if key in label_keys() else outcome


def _measures_wide(ctx: ReportContext) -> PublishedTable:
    """The measures as the section shows them: one row per group × wave, one column per
    measure (a row is marked suppressed when one of its measures is)."""
    m = ctx.frame("network_measures")
    lang = ctx.lang
    keys = ["group", "wave"]
    wide = m.pivot_table(index=keys, columns="measure", values="value", aggfunc="first",
                         dropna=False, sort=False)
    n = m.groupby(keys, sort=False)["n_respondents"].first()
    sup = m.groupby(keys, sort=False)["suppressed"].any()
    order = [x for x in ("density", "centralization", "reciprocity", "asymmetry", "isolated",
                         "mean_quality") if x in wide.columns]
    labels = {x: outcome_label(x, lang) for x in order}
    out = wide.reindex(n.index)[order].rename(columns=labels)
    out.insert(0, "n_respondents", n)
    out = out.reset_index().assign(suppressed=sup.to_numpy())
    kinds = {"group": "text", "wave": "text", "n_respondents": "count",
             **{labels[x]: ("integer" if x == "isolated" else "estimate") for x in order}}
    return PublishedTable("network_measures", out, kinds=kinds)


def _did_shown(ctx: ReportContext) -> PublishedTable:
    """The measures' DiD rows and, per follow-up, the :data:`TOP_PAIRS` pairs with the
    smallest p-value (the larger |estimate| first among equal p)."""
    d = ctx.frame("network_did")
    is_pair = d["outcome"].astype(str).str.startswith("tie:")
    pairs = d[is_pair].assign(_p=pd.to_numeric(d["p_value"], errors="coerce"),
                              _abs=-pd.to_numeric(d["estimate"], errors="coerce").abs())
    top = (pairs.sort_values(["followup", "_p", "_abs"], kind="stable", na_position="last")
           .groupby("followup", sort=False).head(TOP_PAIRS).drop(columns=["_p", "_abs"]))
    shown = pd.concat([d[~is_pair], top]).sort_values("followup", kind="stable")
    shown = shown.assign(outcome=[outcome_label(o, ctx.lang) for o in shown["outcome"]])
    cols = ["outcome", "followup", "estimate", "ci_low", "ci_high", "p_value", "p_adjusted",
            "n_kommuner", "suppressed"]
    return PublishedTable("network_did", shown[cols].reset_index(drop=True),
                          kinds={"outcome": "text", "followup": "text"})


def _html_table(ctx: ReportContext, tb: PublishedTable, caption: str):
    text = formatted(tb, ctx.lang, {})
    return (caption, text, [tb.kind(c) for c in tb.columns])


def section(ctx: ReportContext) -> Section | None:
    """The section; None when there is nothing of the network to show."""
    lang, tabs, study = ctx.lang, ctx.tabs, ctx.study
    if not any(n in tabs for n in ("network_ties_pooled", "network_measures", "network_did")):
        return None
    c = study.survey.collaboration
    lo, hi = c.frequency.range
    quality = (t("network_intro_quality", lang, lo=f"{c.quality.range[0]:g}",
                 hi=f"{c.quality.range[1]:g}") if c.quality is not None else "")
    share = f"{100 * c.regular_share:g} %" if lang == "nb" else f"{100 * c.regular_share:g}%"
    paragraphs = [t("network_intro", lang, lo=f"{lo:g}", hi=f"{hi:g}", quality=quality,
                    share=share, regular_from=f"{c.frequency.regular_from:g}"),
                  t("network_suppressed_text", lang, k=ctx.k)]
    tables = []
    if "network_measures" in tabs:
        paragraphs.append(t("network_measures_text", lang))
        tables.append(_html_table(ctx, _measures_wide(ctx), t("tab_network_measures", lang)))
    if "network_did" in tabs:
        paragraphs.append(t("network_did_text", lang, n=TOP_PAIRS))
        if "network_tie_change" in ctx.previews:
            paragraphs.append(t("network_heatmap_text", lang))
        tables.append(_html_table(ctx, _did_shown(ctx), t("tab_network_did", lang)))
    return Section(t("network_section", lang), anchor="network", paragraphs=paragraphs,
                   figures=ctx.figs_of("network_sociograms", "network_tie_change"),
                   tables=tables)
