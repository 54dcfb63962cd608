"""The report's closing sections: methods (what was actually estimated, read from the Effect
rows) and caveats (few clusters, split kommuner, suppression, series breaks, synthetic
data)."""

from __future__ import annotations

import re

import pandas as pd

from ..html import Section
from ..labels import t
from .context import ReportContext
from .logic_chain import inference_paragraphs
from .registry import break_paragraphs


def sections(ctx: ReportContext, raw_effects: pd.DataFrame,
             registry_means: pd.DataFrame | None, has: set[str],
             suppressed_cells: int) -> list[Section]:
    """Methods and caveats (``raw_effects``: the effects before suppression)."""
    study, lang, k = ctx.study, ctx.lang, ctx.k
    return [
        Section(t("methods", lang), anchor="methods",
                paragraphs=_methods_paragraphs(study, raw_effects, ctx.scale_labels, lang,
                                                ctx.ind_labels)
                + _network_methods(study, ctx.tabs, lang)
                + inference_paragraphs(study, ctx.tabs, lang)
                + [t("methods_tables", lang, k=k)]),
        Section(t("caveats", lang), anchor="caveats",
                paragraphs=_cluster_caveats(study, raw_effects, lang)
                + _split_caveats(study, registry_means, lang)
                + [t("suppressed_caveat", lang, k=k, n=suppressed_cells)]
                + (break_paragraphs(study, ctx.ind_labels, lang) if "registry" in has
                   else [])
                + ([t("synthetic_caveat", lang)] if study.synthetic else [])),
    ]


_FALLBACK = re.compile(r"fallback from the mixed model \((?P<reason>.*?)\)\. (?:OLS|WLS)")


def _survey_did_rows(effects: pd.DataFrame) -> pd.DataFrame:
    """The survey network vs comparison rows as answered (not the reweighted ones)."""
    if effects is None or effects.empty:
        return effects.iloc[0:0] if effects is not None else pd.DataFrame()
    sv = effects[(effects["source"] == "survey")
                 & effects["contrast"].astype(str).str.contains("network - comparison",
                                                                regex=False)]
    return sv[~sv["estimator"].astype(str).str.contains("reweighted", regex=False)]


def _methods_paragraphs(study, effects: pd.DataFrame, scale_labels: dict[str, str],
                        lang: str, ind_labels: dict[str, str] | None = None) -> list[str]:
    """The methods text of what was actually estimated: per scale the model the survey's
    network vs comparison Effect rows name (the two-step DiD on kommune × wave means; rows
    written before issue 23: the mixed model, or its OLS fallback and why), the
    registry estimators whose rows exist (and the wild cluster bootstrap only where it ran),
    and the interview shifts when there are any."""
    eff = effects if effects is not None else pd.DataFrame(columns=["source"])
    out = []
    survey_rows = eff[eff["source"] == "survey"] if len(eff) else eff
    if len(survey_rows):
        text = [t("methods_survey_base", lang)]
        did = _survey_did_rows(eff)
        two_step, mixed, ols = [], [], {}
        for scale, rows in did.groupby("outcome", sort=False):
            name = scale_labels.get(scale, scale)
            fell = rows[rows["estimator"].astype(str).str.startswith("OLS")]
            if rows["estimator"].astype(str).str.startswith("two-step").any():
                two_step.append(name)
            elif len(fell):
                m = _FALLBACK.search(str(fell["note"].iloc[-1]))
                reason = m["reason"] if m else ""
                few = re.match(r"fewer than (\d+) kommuner \((\d+)\)", reason)
                why = (t("methods_fallback_few", lang, min=few[1], n=few[2]) if few
                       else t("methods_fallback_other", lang))
                ols.setdefault(why, []).append(name)
            else:
                mixed.append(name)
        if two_step:
            text.append(t("methods_survey_two_step", lang, scales=", ".join(two_step)))
        if mixed:
            text.append(t("methods_survey_mixed", lang, scales=", ".join(mixed)))
        for why, scales in ols.items():
            text.append(t("methods_survey_ols", lang, scales=", ".join(scales), why=why))
        out.append(" ".join(text))
    reg = eff[eff["source"] == "registry"] if len(eff) else eff
    if len(reg):
        est = reg["estimator"].astype(str)
        text = [t("methods_registry_twfe", lang)] if est.str.startswith("TWFE").any() else []
        if est.str.startswith("TWFE").any() and reg["note"].astype(str).str.contains(
                "wild cluster bootstrap (", regex=False).any():
            text.append(t("methods_registry_wcb", lang))
        if est.str.startswith("Callaway").any():
            text.append(t("methods_registry_cs", lang))
        text += _registry_weighting(reg[est.str.startswith("TWFE")], ind_labels or {}, lang)
        if text:
            out.append(" ".join(text))
    if len(eff) and (eff["source"] == "interviews").any():
        out.append(t("methods_interviews", lang))
    return out


def _network_methods(study, tabs, lang: str) -> list[str]:
    """The collaboration network's methods, when the report has its section's tables."""
    collab = study.survey.collaboration if study.survey is not None else None
    if collab is None or not any(n in tabs for n in ("network_measures", "network_did")):
        return []
    share = f"{collab.regular_share:.0%}"
    return [t("methods_network", lang, regular_from=collab.frequency.regular_from,
              share=share.replace("%", " %") if lang == "nb" else share)]


def _registry_weighting(twfe: pd.DataFrame, labels: dict[str, str], lang: str) -> list[str]:
    """Which registry DiDs are weighted by population and which are not, and which indicators
    are rolling averages: read from the TWFE Effect notes
    (:func:`~evaluation_pipeline.observations.did_weights`,
    :func:`~evaluation_pipeline.observations.period_notes`)."""
    groups: dict[str, list[str]] = {"weighted": [], "unweighted": [], "rolling": []}
    for r in twfe.itertuples():
        name, note = labels.get(r.outcome, r.outcome), str(r.note)
        if "TWFE weighted by" in note:
            groups["weighted"].append(name)
        elif "TWFE unweighted" in note:
            groups["unweighted"].append(name)
        if re.search(r"rolling [\d/]+-year averages", note):
            groups["rolling"].append(name)
    return [t(f"methods_registry_{kind}", lang, names=", ".join(names))
            for kind, names in groups.items() if names]


def _cluster_caveats(study, effects: pd.DataFrame, lang: str) -> list[str]:
    """Few clusters, only when a comparison across kommuner was estimated: the study's
    numbers of kommuner, the bootstrap, Callaway–Sant'Anna's narrow CIs where its rows
    exist, and "few kommuner" below
    :data:`~evaluation_pipeline.analysis.did.FEW_TREATED_CLUSTERS` network kommuner (as the
    logic chain's caveat)."""
    from ...analysis.effects import count_units
    from ...analysis.linear_model import FEW_TREATED_CLUSTERS as FEW_KOMMUNER

    if effects is None or effects.empty:
        return []
    across = effects[count_units(effects) == "kommuner"]
    if across.empty:
        return []
    n_net, n_cmp = len(study.network), len(study.comparison)
    out = [t("few_clusters", lang, n_net=n_net, n_cmp=n_cmp)]
    if across["estimator"].astype(str).str.startswith("Callaway").any():
        out.append(t("few_clusters_cs", lang))
    if n_net < FEW_KOMMUNER:
        out.append(t("few_kommuner_caveat", lang, n=n_net, min=FEW_KOMMUNER))
    return out


def _split_caveats(study, registry_means: pd.DataFrame | None, lang: str) -> list[str]:
    """The split-kommune caveat only for splits that touch the study: one of its kommuner is a
    successor of a split kommune, and the registry data have years in the split's period."""
    from ...geography import kommune_name, splits

    if not study.registry or registry_means is None or registry_means.empty:
        return []
    years = set(pd.to_numeric(registry_means["year"], errors="coerce").dropna().astype(int))
    out = []
    sp = splits()
    for (code, first, last), part in sp.groupby(["from_code", "first_year", "last_year"],
                                                sort=False):
        mine = [c for c in part["to_code"].astype(str) if c in set(study.kommuner)]
        if not mine or not years & set(range(int(first), int(last) + 1)):
            continue
        out.append(t("estimated_caveat", lang, name=kommune_name(str(code)), code=code,
                     first=int(first), last=int(last),
                     to=", ".join(f"{kommune_name(c)} {c}" for c in mine)))
    return out
