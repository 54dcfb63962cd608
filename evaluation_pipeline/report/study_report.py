"""Assemble the study report: suppressed tables (CSV), figures (PNG + SVG) and one HTML file.

Everything published passes :func:`evaluation_pipeline.privacy.suppress_small_cells` with the
study's threshold first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from ..privacy import suppress, suppress_small_cells
from . import figures
from .html import Section, display_table, render_report, write_report
from .labels import t
from .tables import registry_did_table, round_for_publication, write_csv


@dataclass
class ReportOutput:
    report: Path
    tables: dict[str, Path] = field(default_factory=dict)
    figures: dict[str, list[Path]] = field(default_factory=dict)
    previews: dict[str, bytes] = field(default_factory=dict)
    suppressed_cells: int = 0


def _suppress_scale_means(summary: pd.DataFrame, k: int) -> pd.DataFrame:
    """Mean scores by scale × wave × group: within each scale and wave the group counts and
    their total (the wave's n, published in the report) go through primary and secondary
    suppression, so a hidden group cannot be recovered as total minus the other groups."""
    out = summary.copy()
    out["suppressed"] = False
    for (_, _), idx in out.groupby(["scale", "wave"], sort=False).groups.items():
        cells = out.loc[idx, ["group", "n"]].astype({"n": "int64"})
        res = suppress(cells, "n", "group", None, threshold=k, totals=True)
        hidden = res.loc[res["group"] != "Total"].set_index("group")["suppressed"].notna()
        out.loc[idx, "suppressed"] = out.loc[idx, "group"].map(hidden).to_numpy()
    cols = ["n", "mean", "sd", "ci_low", "ci_high"]
    out[cols] = out[cols].astype("float64")
    out.loc[out["suppressed"], cols] = float("nan")
    return out


def publishable_tables(
    study,
    effects: pd.DataFrame,
    survey_summary: pd.DataFrame,
    registry_means: pd.DataFrame,
    theme_freq: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """The report's tables after small-cell suppression."""
    k = study.small_cell_threshold
    return {
        "effects": suppress_small_cells(
            effects, ["n_treated", "n_control"], k,
            ["estimate", "se", "ci_low", "ci_high", "p_value", "p_adjusted", "effect_size"],
        ),
        "survey_scale_means": _suppress_scale_means(survey_summary, k),
        "registry_group_rates": suppress_small_cells(
            registry_means, ["numerator"], k, ["value", "denominator"]
        ),
        "interview_theme_counts": suppress_small_cells(
            theme_freq, ["n_sources", "n_segments"], k, ["share_sources"]
        ),
    }


def build_study_report(
    study,
    *,
    effects: pd.DataFrame,
    survey_summary: pd.DataFrame,
    registry_means: pd.DataFrame,
    theme_freq: pd.DataFrame,
    event_study: pd.DataFrame | None = None,
    pretrend: pd.DataFrame | None = None,
    reliability: pd.DataFrame | None = None,
    item_dist: pd.DataFrame | None = None,
    response: pd.DataFrame | None = None,
    theme_role_freq: pd.DataFrame | None = None,
    co_occ: pd.DataFrame | None = None,
    intercoder: pd.DataFrame | None = None,
) -> ReportOutput:
    """Write tables, figures and the HTML report under ``<study output>/``."""
    lang = study.language
    out_dir = study.output
    tables = publishable_tables(study, effects, survey_summary, registry_means, theme_freq)
    k = study.small_cell_threshold
    if reliability is not None and len(reliability):
        rel = reliability[["wave", "scale", "alpha", "alpha_ci_low", "alpha_ci_high", "omega",
                           "n_used"]]
        tables["scale_reliability"] = suppress_small_cells(
            rel, ["n_used"], k, ["alpha", "alpha_ci_low", "alpha_ci_high", "omega"])
    if response is not None and len(response):
        per_kommune = response[response["level"] == "kommune"][
            ["wave", "kommune", "respondents", "invited", "rate"]]
        tables["survey_response"] = suppress_small_cells(
            per_kommune, ["respondents"], k, ["rate"])
    if item_dist is not None and len(item_dist):
        tables["survey_item_distributions"] = suppress_small_cells(
            item_dist, ["n_answered"], k, ["count", "share"])
    if theme_role_freq is not None and len(theme_role_freq):
        tables["interview_theme_role"] = suppress_small_cells(
            theme_role_freq, ["n_sources", "n_segments", "sources_in_group"], k,
            ["share_sources"])
    if co_occ is not None and len(co_occ):
        tables["interview_co_occurrence"] = suppress_small_cells(
            co_occ, ["n_both", "n_a", "n_b"], k, ["jaccard"])
    if intercoder is not None and len(intercoder):
        tables["intercoder_reliability"] = intercoder.assign(suppressed=False)
    result = ReportOutput(report=out_dir / "report" / ("rapport.html" if lang == "nb" else
                                                       "report.html"))
    for name, df in tables.items():
        path = out_dir / "tables" / f"{name}.csv"
        published = round_for_publication(df)
        if study.synthetic:
            published.insert(0, "data", "SYNTHETIC")
        result.tables[name] = write_csv(published, path)
        result.suppressed_cells += int(df["suppressed"].sum())

    ind_labels = {k: study.label(v.label, k) for k, v in study.registry.indicators.items()} \
        if study.registry else {}
    scale_labels = {k: study.label(v.label, k) for k, v in study.survey.scales.items()} \
        if study.survey else {}
    figs: dict[str, plt.Figure] = {}
    if len(tables["registry_group_rates"]):
        figs["registry_trends"] = figures.registry_trends(
            tables["registry_group_rates"], ind_labels, list(study.network.values()),
            language=lang, synthetic=study.synthetic,
            breaks={k: v.breaks for k, v in study.registry.indicators.items()},
        )
    if len(tables["survey_scale_means"]):
        figs["survey_scale_means"] = figures.survey_means(
            tables["survey_scale_means"], scale_labels, language=lang, synthetic=study.synthetic
        )
    if len(tables["interview_theme_counts"]):
        rounds = [r.id for r in study.interviews.rounds] if study.interviews else sorted(
            tables["interview_theme_counts"]["wave"].dropna().unique()
        )
        figs["interview_theme_shares"] = figures.theme_shares(
            tables["interview_theme_counts"], rounds, language=lang, synthetic=study.synthetic
        )
    per_kommune = pd.DataFrame()
    if study.survey and study.followup_waves:
        e = tables["effects"]
        last = e[(e["source"] == "survey") & (e["group"] != "comparison") & (
            e["contrast"] == f"{study.followup_waves[-1]} - {study.baseline_wave}")]
        per_kommune = last.assign(group=last["group"].replace({"network": "all"}))
    if len(per_kommune):
        from ..geography import kommune_name

        knames = {k: kommune_name(k) for k in study.kommuner}
        figs["survey_forest"] = figures.forest(
            per_kommune.dropna(subset=["estimate"]), {**knames, **scale_labels},
            language=lang, synthetic=study.synthetic,
        )
    if item_dist is not None and len(item_dist):
        net = item_dist[item_dist["group"] == "network"]
        items = [i for s in study.survey.scales.values() for i in s.items]
        figs["survey_item_distributions"] = figures.item_distributions(
            net, items, study.wave_ids, language=lang, synthetic=study.synthetic
        )
    if "interview_theme_role" in tables:
        d = tables["interview_theme_role"].dropna(subset=["role", "wave"])
        d = d.assign(col=d["role"].astype(str) + " · " + d["wave"].astype(str))
        if d["suppressed"].mean() > 0.5:  # sectors too small to show: rounds only
            d = tables["interview_theme_counts"].assign(col=lambda x: x["wave"].astype(str))
        figs["interview_theme_heatmap"] = figures.heatmap(
            d, "theme", "col", "share_sources", language=lang, synthetic=study.synthetic)
    shifts = tables["effects"][(tables["effects"]["source"] == "interviews")
                               & (tables["effects"]["group"] == "all")]
    if len(shifts):
        figs["interview_theme_shifts"] = figures.forest(
            shifts.assign(group=shifts["outcome"], outcome=t("theme_shift", lang)),
            {}, title=t("share_difference", lang), language=lang, synthetic=study.synthetic)
    if "interview_co_occurrence" in tables:
        co = tables["interview_co_occurrence"]
        sym = pd.concat([co, co.rename(columns={"a": "b", "b": "a"})], ignore_index=True)
        figs["interview_co_occurrence"] = figures.heatmap(
            sym, "a", "b", "jaccard", fmt="{:.2f}", cmap="Greens", language=lang,
            synthetic=study.synthetic)
    if event_study is not None and len(event_study):
        figs["registry_event_study"] = figures.event_study(
            event_study, ind_labels, language=lang, synthetic=study.synthetic
        )
    for name, fig in figs.items():
        result.figures[name] = figures.save(fig, out_dir / "figures" / name)
        result.previews[name] = figures.png_bytes(fig)
        plt.close(fig)

    names = {**ind_labels, **scale_labels}
    eff = tables["effects"]
    eff = eff[eff["group"].isin(["all", "network", "comparison"])]
    did_table = registry_did_table(eff, ind_labels)
    result.tables["registry_did"] = write_csv(
        round_for_publication(did_table.assign(**({"data": "SYNTHETIC"} if study.synthetic
                                                  else {}))),
        out_dir / "tables" / "registry_did.csv")
    cols = ["source", "outcome", "contrast", "group", "estimate", "ci_low", "ci_high", "p_value",
            "n_obs", "estimator"]
    design_par = [
        f"{t('kommuner', lang)}: {len(study.network)} {t('network', lang).lower()}, "
        f"{len(study.comparison)} {t('comparison', lang).lower()}.",
    ]
    if len(survey_summary):
        first = survey_summary["scale"].iloc[0]
        n = survey_summary[survey_summary["scale"] == first].groupby("wave", sort=False)["n"].sum()
        design_par.append(
            f"{t('waves', lang)}: " + ", ".join(f"{w} ({t('respondents', lang).lower()}: {int(c)})"
                                               for w, c in n.items())
        )
    sections = [
        Section(t("design", lang), paragraphs=design_par),
        Section(
            t("effects", lang),
            paragraphs=[t("suppressed_note", lang, k=study.small_cell_threshold)],
            tables=[(t("tab_effects", lang), display_table(eff[cols], lang, names))],
        ),
        Section(
            t("survey", lang),
            figures=[(t(f"fig_{k}", lang), result.previews[k])
                     for k in ("survey_scale_means", "survey_forest",
                               "survey_item_distributions") if k in result.previews],
            tables=[(t("tab_survey", lang),
                     display_table(tables["survey_scale_means"], lang, names))]
            + ([(t("tab_reliability", lang), display_table(tables["scale_reliability"], lang,
                                                            names))]
               if "scale_reliability" in tables else [])
            + ([(t("tab_response", lang), display_table(tables["survey_response"], lang,
                                                         names))]
               if "survey_response" in tables else []),
        ),
        Section(
            t("registry", lang),
            paragraphs=_pretrend_paragraphs(pretrend, ind_labels, lang),
            figures=[(t(f"fig_{k}", lang), result.previews[k])
                     for k in ("registry_trends", "registry_event_study")
                     if k in result.previews],
            tables=[(t("tab_registry_did", lang), display_table(did_table, lang))],
        ),
        Section(
            t("interviews", lang),
            figures=[(t(f"fig_{k}", lang), result.previews[k])
                     for k in ("interview_theme_shares", "interview_theme_shifts",
                               "interview_theme_heatmap", "interview_co_occurrence")
                     if k in result.previews],
            tables=[(t("tab_interviews", lang),
                     display_table(tables["interview_theme_counts"], lang, names))]
            + ([(t("tab_intercoder", lang),
                 display_table(tables["intercoder_reliability"], lang, names))]
               if "intercoder_reliability" in tables else []),
        ),
        Section(
            t("caveats", lang),
            paragraphs=[t("few_clusters", lang), t("estimated_caveat", lang)]
            + ([t("synthetic_caveat", lang)] if study.synthetic else []),
        ),
    ]
    title = f"{t('report_title', lang)}: {study.study}"
    write_report(
        render_report(title, sections, language=lang, synthetic=study.synthetic), result.report
    )
    return result


def _pretrend_paragraphs(pretrend: pd.DataFrame | None, labels: dict[str, str], lang: str):
    if pretrend is None or pretrend.empty:
        return []
    dec = "," if lang == "nb" else "."
    parts = [f"{labels.get(r.indicator, r.indicator)}: F({int(r.df1)}, {int(r.df2)}) = "
             f"{f'{r.statistic:.2f}'.replace('.', dec)}, "
             f"p = {f'{r.p_value:.3f}'.replace('.', dec)}"
             for r in pretrend.itertuples()]
    return [t("pretrend", lang) + " " + "; ".join(parts) + "."]
