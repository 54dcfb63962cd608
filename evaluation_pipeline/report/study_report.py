"""Assemble the study report: suppressed tables (CSV, XLSX, LaTeX), figures (PNG + SVG) and one
self-contained HTML file.

Everything published passes small-cell suppression with the study's threshold first
(:func:`evaluation_pipeline.privacy.suppress_small_cells` for rows,
:func:`evaluation_pipeline.disclosure.suppress` where a table has additive margins a hidden cell
could be recovered from). The report's sections, in order: design and data, validation, the
logic chain, the survey, the registry, the interviews, methods, caveats; a source's section (and
its tables, figures, methods and caveats) only when the study has that source of evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis.effects import insufficient_data_notes
from ..disclosure import suppress
from ..privacy import suppress_effects, suppress_small_cells
from . import figures
from . import sensitivity_report as sens
from .html import Cell, Section, render_report, write_report
from .labels import t
from .logic_chain_figure import logic_chain_figure
from .tables import PublishedTable, formatted, registry_did_table, write_tables

VERDICTS = ("supports", "no_clear_change", "contrary", "insufficient_data")


@dataclass
class ReportOutput:
    report: Path
    tables: dict[str, Path] = field(default_factory=dict)  # machine-readable CSV per table
    table_files: dict[str, dict[str, Path]] = field(default_factory=dict)  # every format
    figures: dict[str, list[Path]] = field(default_factory=dict)
    previews: dict[str, bytes] = field(default_factory=dict)
    suppressed_cells: int = 0
    preview_markdown: str = ""
    main_figure: str | None = None


# --------------------------------------------------------------------------------------------
# Suppression of the tables with margins
# --------------------------------------------------------------------------------------------


def suppress_scale_means(summary: pd.DataFrame, k: int) -> pd.DataFrame:
    """Mean scores by scale × wave × group: within each scale and wave the group counts and
    their total (the wave's n, published as ``n_wave``) go through primary and secondary
    suppression, so a hidden group cannot be recovered as total minus the other groups."""
    out = summary.copy()
    out["suppressed"] = False
    out["n_wave"] = np.nan
    for (_, _), idx in out.groupby(["scale", "wave"], sort=False).groups.items():
        cells = out.loc[idx, ["group", "n"]].astype({"n": "int64"})
        res = suppress(cells, "n", "group", None, threshold=k, totals=True)
        body = res[res["group"] != "Total"].set_index("group")
        out.loc[idx, "suppressed"] = out.loc[idx, "group"].map(
            body["suppressed"].notna()).to_numpy()
        out.loc[idx, "n_wave"] = float(res.loc[res["group"] == "Total", "published"].iloc[0])
    cols = ["n", "mean", "sd", "ci_low", "ci_high"]
    out[cols] = out[cols].astype("float64")
    out.loc[out["suppressed"], cols] = np.nan
    return out


def _suppress_within(df: pd.DataFrame, within: list[str], category: str, count: str,
                     k: int, hide: list[str], total: pd.Series | None = None,
                     hidden_totals: list | None = None) -> pd.DataFrame:
    """Primary and secondary suppression of ``count`` over ``category`` cells within each
    ``within`` group whose total is published (the sum, or ``total`` when given); hidden rows
    get NaN in ``hide`` and ``suppressed`` True (rows already suppressed stay so). The groups
    whose total must be hidden too (no published cell can protect the small ones) are
    appended to ``hidden_totals``: the caller hides that total where it is published."""
    out = df.copy()
    if "suppressed" not in out:
        out["suppressed"] = False
    for c in hide:
        out[c] = out[c].astype("float64")
    counts = pd.to_numeric(out[count], errors="coerce").fillna(0).round()
    small = (counts > 0) & (counts < k)
    for key, idx in out.groupby(within, sort=False, dropna=False).groups.items():
        if not small.loc[idx].any():  # no primary cell: suppress() would hide nothing
            continue
        cells = out.loc[idx, [category]].assign(**{count: counts.loc[idx]})
        cells = cells.astype({count: "int64"}).drop_duplicates(category)
        res = suppress(cells, count, category, None, threshold=k, totals=True)
        if hidden_totals is not None and res["suppressed"].iloc[-1] is not None:
            hidden_totals.append(key if isinstance(key, tuple) else (key,))
        hidden = set(res.loc[(res[category] != "Total") & res["suppressed"].notna(), category])
        sel = idx[out.loc[idx, category].isin(hidden).to_numpy()]
        out.loc[sel, hide] = np.nan
        out.loc[sel, "suppressed"] = True
    return out


def _in(df: pd.DataFrame, keys: list[str], groups: list[tuple]) -> np.ndarray:
    """Rows of ``df`` whose ``keys`` are one of ``groups``."""
    return pd.MultiIndex.from_frame(df[keys]).isin(groups)


def _with_totals(df: pd.DataFrame, within: list[str], category: str, count: str
                 ) -> pd.DataFrame:
    """``df`` plus one ``Total`` row per ``within`` group (the published margin)."""
    tot = df.groupby(within, sort=False, as_index=False)[count].sum()
    tot[category] = "Total"
    return pd.concat([df, tot], ignore_index=True)


def publishable_tables(
    study,
    effects: pd.DataFrame,
    survey_summary: pd.DataFrame | None,
    registry_means: pd.DataFrame | None,
    theme_freq: pd.DataFrame | None,
) -> dict[str, pd.DataFrame]:
    """The report's main tables after small-cell suppression (a source's table only when it
    is given: a study without that source of evidence has none)."""
    k = study.small_cell_threshold
    out = {
        # by counts of persons; a count of kommuner never hides an estimate, and a hidden
        # row's note (bootstrap CI and p) goes with its numbers
        "effects": suppress_effects(effects, k),
    }
    if survey_summary is not None:
        out["survey_scale_means"] = suppress_scale_means(survey_summary, k)
    if registry_means is not None:
        out["registry_group_rates"] = suppress_small_cells(
            registry_means, ["numerator"], k, ["value", "denominator"])
    if theme_freq is not None:
        out["interview_theme_counts"] = suppress_small_cells(
            theme_freq, ["n_sources", "n_segments", "sources_in_group"], k, ["share_sources"])
    return out


def _theme_role(theme_role_freq: pd.DataFrame, theme_counts: pd.DataFrame, k: int
                ) -> pd.DataFrame:
    """Theme × role × round: interviews per role (``sources_in_group``) add up to the round's
    interviews, and a theme's interviews per role add up to the theme's interviews in the
    round (both published), so both margins are protected."""
    d = suppress_small_cells(theme_role_freq, ["n_sources", "n_segments", "sources_in_group"],
                             k, ["share_sources"])
    hide = ["n_sources", "n_segments", "sources_in_group", "share_sources"]
    # the raw counts for secondary suppression (the primary step blanked the small ones)
    raw = theme_role_freq[["n_sources", "n_segments", "sources_in_group"]]
    work = d.assign(_n=raw["n_sources"], _g=raw["sources_in_group"], _s=raw["n_segments"])
    waves: list = []
    lines: list = []
    work = _suppress_within(work, ["wave"], "role", "_g", k, hide, hidden_totals=waves)
    work = _suppress_within(work, ["theme", "wave"], "role", "_n", k, hide,
                            hidden_totals=lines)
    work = _suppress_within(work, ["theme", "wave"], "role", "_s", k, hide,
                            hidden_totals=lines)
    # A round's (or a theme's) role counts that only a hidden total could protect are left
    # out whole: the total is published in interview_theme_counts, and every role listed has
    # at least one interview, so the listed roles' counts would be bounded by it. With the
    # rows left out the reader does not learn which roles are there.
    drop = _in(work, ["wave"], waves) | _in(work, ["theme", "wave"], lines)
    del theme_counts
    return work[~drop].drop(columns=["_n", "_g", "_s"])


def suppress_item_distributions(item_dist: pd.DataFrame, k: int) -> pd.DataFrame:
    """Answers per category: the category counts of an item add up to ``n_answered``
    (published), so small categories are hidden with their complement."""
    d = suppress_small_cells(item_dist, ["n_answered"], k, ["count", "share", "n_missing"])
    d = d.assign(_c=item_dist["count"])
    keys, totals = ["wave", "group", "item"], []
    d = _suppress_within(d, keys, "category", "_c", k, ["count", "share"],
                         hidden_totals=totals)
    d.loc[_in(d, keys, totals), ["n_answered", "n_missing"]] = np.nan
    return d.drop(columns=["_c"])


def _response(response: pd.DataFrame, k: int) -> pd.DataFrame:
    """Respondents per kommune and wave, with the wave's total as a ``Total`` row."""
    per = response[response["level"] == "kommune"][
        ["wave", "kommune", "respondents", "invited", "rate"]].copy()
    per = _with_totals(per, ["wave"], "kommune", "respondents")
    body = per[per["kommune"] != "Total"].assign(_r=lambda x: x["respondents"])
    body = suppress_small_cells(body, ["respondents"], k, ["rate", "invited"])
    totals: list = []
    body = _suppress_within(body, ["wave"], "kommune", "_r", k,
                            ["respondents", "rate", "invited"],
                            hidden_totals=totals).drop(columns=["_r"])
    tot = per[per["kommune"] == "Total"].assign(suppressed=False)
    hid = _in(tot, ["wave"], totals)
    tot["respondents"] = tot["respondents"].astype("float64").where(~hid)
    tot.loc[hid, "suppressed"] = True
    return pd.concat([body, tot], ignore_index=True)


def _retention(retention: pd.DataFrame, k: int) -> pd.DataFrame:
    cols = [c for c in ("followup", "kommune", "n_baseline", "n_followup", "retained",
                        "share_of_baseline", "share_of_followup") if c in retention]
    d = retention[cols].copy()
    counts = [c for c in ("n_baseline", "n_followup", "retained") if c in d]
    out = suppress_small_cells(d, counts, k, [c for c in cols if c.startswith("share")])
    for c in counts:  # kommuner add up to the "all" row
        body = out[out["kommune"] != "all"].assign(_x=d.loc[out["kommune"] != "all", c])
        totals: list = []
        body = _suppress_within(body, ["followup"], "kommune", "_x", k,
                                counts + [c for c in cols if c.startswith("share")],
                                hidden_totals=totals)
        every = out[out["kommune"] == "all"].copy()
        every[c] = every[c].astype("float64").where(~_in(every, ["followup"], totals))
        out = pd.concat([body.drop(columns=["_x"]), every])
    return out.sort_index()


def validation_summary(valid: dict[str, pd.DataFrame], rejected: dict[str, pd.DataFrame]
                       ) -> pd.DataFrame:
    """Rows that passed and rows that broke a contract's row rules, per table (and per wave
    when the table has a ``wave`` column), with the rules broken and how often.

    The valid rows are only counted (one pass over the ``wave`` column: a national study holds
    15 million valid answers; masking them once per wave cost seconds)."""
    rows = []
    for table in dict.fromkeys([*valid, *rejected]):
        v = valid.get(table, pd.DataFrame())
        r = rejected.get(table, pd.DataFrame())
        by_wave = "wave" in v.columns and table.startswith("survey")
        if by_wave:
            n_valid = v["wave"].value_counts(dropna=True)
            r_wave = r["wave"] if "wave" in r else pd.Series(dtype=object)
            waves = sorted(set(n_valid.index) | set(r_wave.dropna()))
        else:
            waves = [None]
        for w in waves:
            nv = int(n_valid.get(w, 0)) if w is not None else len(v)
            rr = r[r["wave"] == w] if w is not None and "wave" in r else r
            reasons = (rr["reason"].str.split("; ").explode().value_counts()
                       if "reason" in rr and len(rr) else pd.Series(dtype=int))
            rows.append({"table": table, "wave": w or "", "rows_valid": nv,
                         "rows_rejected": len(rr),
                         "rules": "; ".join(f"{k} ({n})" for k, n in reasons.items())})
    return pd.DataFrame(rows, columns=["table", "wave", "rows_valid", "rows_rejected", "rules"])


def _logic_chain_table(evidence: pd.DataFrame, effects: pd.DataFrame) -> pd.DataFrame:
    """The evidence rows; an estimate taken from an Effect row that is suppressed in the
    effects table is hidden here too."""
    d = evidence.copy()
    d["suppressed"] = False
    hidden = effects[effects["suppressed"]]
    for i, r in d.iterrows():
        same = hidden[(hidden["source"] == r.get("source"))
                      & (hidden["outcome"] == r.get("indicator"))]
        if len(same) and pd.notna(r.get("estimate")) and np.isclose(
                same.get("_estimate", pd.Series(dtype=float)), r["estimate"]).any():
            d.loc[i, [c for c in ("estimate", "ci_low", "ci_high", "p_value", "p_adjusted",
                                  "sim_ci_low", "sim_ci_high") if c in d]] = np.nan
            d.loc[i, "suppressed"] = True
    return d


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


def study_labels(study) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The labels of a study in its language: registry indicators, survey scales (id ->
    label, the id where study.yaml gives none) and kommune names (code -> name)."""
    from ..geography import kommune_name

    ind = {k: study.label(v.label, k) for k, v in study.registry.indicators.items()} \
        if study.registry else {}
    scales = {k: study.label(v.label, k) for k, v in study.survey.scales.items()} \
        if study.survey else {}
    kommuner = {c: kommune_name(c) for c in study.kommuner}
    return ind, scales, kommuner


def _num(x: float, digits: int, lang: str) -> str:
    from .tables import format_value

    return format_value(x, "estimate" if digits == 2 else "share", lang) if digits else \
        format_value(x, "count", lang)


def _fig(build, *args, **kwargs) -> tuple:
    """A figure to draw: its function and arguments (see figures.draw_and_save)."""
    return build, args, kwargs


def build_study_report(
    study,
    *,
    effects: pd.DataFrame,
    survey_summary: pd.DataFrame | None = None,
    registry_means: pd.DataFrame | None = None,
    theme_freq: pd.DataFrame | None = None,
    event_study: pd.DataFrame | None = None,
    pretrend: pd.DataFrame | None = None,
    reliability: pd.DataFrame | None = None,
    item_dist: pd.DataFrame | None = None,
    response: pd.DataFrame | None = None,
    theme_role_freq: pd.DataFrame | None = None,
    co_occ: pd.DataFrame | None = None,
    intercoder: pd.DataFrame | None = None,
    logic_chain: pd.DataFrame | None = None,
    validation: pd.DataFrame | None = None,
    retention: pd.DataFrame | None = None,
    registry_reference: pd.DataFrame | None = None,
    sources: list[str] | None = None,
    failed_sources: dict[str, str] | None = None,
    sensitivity: pd.DataFrame | None = None,
    breakdown: pd.DataFrame | None = None,
) -> ReportOutput:
    """Write tables, figures and the HTML report under ``<study output>/``.

    ``logic_chain`` is the evidence table of
    :func:`evaluation_pipeline.analysis.logic_chain.logic_chain_evidence` (shown first among
    the results, with its figure drawn by
    :mod:`evaluation_pipeline.report.logic_chain_figure`); ``validation`` the frame of
    :func:`validation_summary`; ``retention`` the panel retention of the survey;
    ``registry_reference`` the country and fylke series drawn in the registry trends.

    ``sources``: the sources of evidence the report covers (default: every section study.yaml
    has: ``survey``, ``registry``, ``interviews``); only they get a section, tables, figures,
    methods and caveats. ``failed_sources`` (source -> why) are sources left out because they
    could not be read or failed validation: their section says so instead. ``sensitivity``
    and ``breakdown``: the registry's parallel-trends sensitivity
    (:func:`~evaluation_pipeline.analysis.registry_sensitivity.registry_sensitivity`): a
    subsection after the registry's, one figure per indicator and the breakdown table."""
    failed = dict(failed_sources or {})
    if sources is None:
        sources = [s for s in ("survey", "interviews", "registry")
                   if getattr(study, s, None) is not None and s not in failed]
    has = set(sources)
    if "survey" not in has:  # no section, table or figure of an absent source
        survey_summary = reliability = item_dist = response = retention = None
    if "registry" not in has:
        registry_means = event_study = pretrend = registry_reference = None
        sensitivity = breakdown = None
    if "interviews" not in has:
        theme_freq = theme_role_freq = co_occ = intercoder = None
    lang = study.language
    out_dir = study.output
    k = study.small_cell_threshold
    ind_labels, scale_labels, knames = study_labels(study)
    names = {**ind_labels, **scale_labels, **knames, "all": t("all", lang),
             "Total": t("total", lang)}
    raw_effects = effects
    base = publishable_tables(study, effects,
                              survey_summary if "survey" in has else None,
                              registry_means if "registry" in has else None,
                              theme_freq if "interviews" in has else None)
    base["effects"] = base["effects"].assign(_estimate=raw_effects["estimate"].to_numpy())
    tabs: dict[str, PublishedTable] = {}

    def add(name: str, frame: pd.DataFrame, **kw) -> None:
        tabs[name] = PublishedTable(name, frame.reset_index(drop=True),
                                    title=t(f"tab_{name}", lang), **kw)

    src = {s: t(f"source_{s}", lang) for s in ("survey", "registry", "interviews", "all",
                                                "contracts", "design")}
    if logic_chain is not None and len(logic_chain):
        lc = _logic_chain_table(logic_chain, base["effects"])
        add("logic_chain", lc, source=src["all"], method=t("method_logic_chain", lang),
            kinds={c: "text" for c in ("level", "element", "indicator", "source", "expected",
                                       "verdict", "caveat", "basis", "note", "adjustment")})
    add("kommuner", pd.DataFrame(
        [{"code": c, "name": knames[c], "group": "network", "join_year": y}
         for c, y in study.network.items()]
        + [{"code": c, "name": knames[c], "group": "comparison", "join_year": np.nan}
           for c in study.comparison]).assign(suppressed=False),
        source=src["design"], kinds={"code": "text", "name": "text"})
    if validation is not None and len(validation):
        add("validation", validation.assign(suppressed=False), source=src["contracts"],
            method=t("method_validation", lang), kinds={"wave": "text", "rules": "text"})
    eff_cols = [c for c in base["effects"].columns if c not in ("_estimate",)]
    add("effects", base["effects"][eff_cols], source=src["all"],
        method=t("method_effects", lang))
    if "survey_scale_means" in base:
        add("survey_scale_means", base["survey_scale_means"], source=src["survey"],
            margins=[{"count": "n", "category": "group", "within": ["scale", "wave"],
                      "total_column": "n_wave"}])
    if reliability is not None and len(reliability):
        rel = reliability[["wave", "scale", "alpha", "alpha_ci_low", "alpha_ci_high", "omega",
                           "n_used"]]
        add("scale_reliability", suppress_small_cells(
            rel, ["n_used"], k, ["alpha", "alpha_ci_low", "alpha_ci_high", "omega"]),
            source=src["survey"])
    if response is not None and len(response):
        add("survey_response", _response(response, k), source=src["survey"],
            kinds={"kommune": "text"},
            margins=[{"count": "respondents", "category": "kommune", "within": ["wave"],
                      "total_label": "Total"}])
    if retention is not None and len(retention):
        add("survey_panel_retention", _retention(retention, k), source=src["survey"],
            kinds={"kommune": "text"},
            margins=[{"count": c, "category": "kommune", "within": ["followup"],
                      "total_label": "all"} for c in ("n_baseline", "n_followup", "retained")])
    if item_dist is not None and len(item_dist):
        add("survey_item_distributions", suppress_item_distributions(item_dist, k),
            source=src["survey"],
            margins=[{"count": "count", "category": "category",
                      "within": ["wave", "group", "item"], "total_column": "n_answered"}])
    if "registry_group_rates" in base:
        add("registry_group_rates", base["registry_group_rates"], source=src["registry"])
    did_table = registry_did_table(base["effects"][base["effects"]["group"].isin(
        ["all", "network", "comparison"])], ind_labels) if "registry" in has else []
    if len(did_table):
        add("registry_did", did_table, source=src["registry"],
            method=t("tab_registry_did", lang))
    if "interview_theme_counts" in base:
        add("interview_theme_counts", base["interview_theme_counts"],
            source=src["interviews"])
    if theme_role_freq is not None and len(theme_role_freq):
        role_tab = _theme_role(theme_role_freq, theme_freq, k)
        left_out = (len(theme_role_freq[["theme", "wave"]].drop_duplicates())
                    - len(role_tab[["theme", "wave"]].drop_duplicates()))
        add("interview_theme_role", role_tab, source=src["interviews"],
            method=t("tab_interview_theme_role_left_out", lang, n=left_out) if left_out else "",
            margins=[{"count": "n_sources", "category": "role", "within": ["theme", "wave"],
                      "total_table": "interview_theme_counts", "total_column": "n_sources"}])
    if co_occ is not None and len(co_occ):
        add("interview_co_occurrence", suppress_small_cells(
            co_occ, ["n_both", "n_a", "n_b"], k, ["jaccard"]), source=src["interviews"])
    if intercoder is not None and len(intercoder):
        add("intercoder_reliability", intercoder.assign(suppressed=False),
            source=src["interviews"])

    if breakdown is not None and len(breakdown):
        breakdown = _visible_breakdown(breakdown, base["effects"])
        add("registry_breakdown", sens.breakdown_table(breakdown, lang).assign(
            suppressed=False), source=src["registry"],
            method=t("method_registry_breakdown", lang), kinds=sens.TABLE_KINDS)
    result = ReportOutput(report=out_dir / "report" / ("rapport.html" if lang == "nb" else
                                                       "report.html"))
    result.table_files = write_tables(list(tabs.values()), out_dir / "tables", lang, k,
                                      names, study.synthetic)
    result.tables = {n: p["csv"] for n, p in result.table_files.items()}
    result.suppressed_cells = int(sum(tb.frame["suppressed"].fillna(False).astype(bool).sum()
                                      for tb in tabs.values()))

    # ---------------------------------------------------------------- figures
    # name -> (figure function, its arguments): drawn (or taken from the cache) below
    figs: dict[str, tuple] = {}
    syn = {"language": lang, "synthetic": study.synthetic}
    if "logic_chain" in tabs:
        figs["logic_chain"] = _fig(logic_chain_figure, tabs["logic_chain"].frame, study, lang)
    means = tabs["survey_scale_means"].frame if "survey_scale_means" in tabs else \
        pd.DataFrame()
    if "registry_group_rates" in tabs and len(tabs["registry_group_rates"].frame):
        figs["registry_trends"] = _fig(figures.registry_trends,
            tabs["registry_group_rates"].frame, ind_labels, list(study.network.values()),
            breaks={i: v.breaks for i, v in study.registry.indicators.items()},
            reference=registry_reference, **syn)
    if len(means):
        figs["survey_scale_means"] = _fig(figures.survey_means, means, scale_labels, **syn)
        if study.survey and study.followup_waves:
            figs["survey_pre_post"] = _fig(figures.pre_post,
                means, scale_labels, study.baseline_wave, study.followup_waves[-1], **syn)
    e = tabs["effects"].frame
    if "survey" in has and study.survey and study.followup_waves:
        last = e[(e["source"] == "survey") & (e["group"] != "comparison") & (
            e["contrast"] == f"{study.followup_waves[-1]} - {study.baseline_wave}")]
        per_kommune = last.assign(group=last["group"].replace({"network": "all"}))
        if len(per_kommune.dropna(subset=["estimate"])):
            figs["survey_forest"] = _fig(figures.forest,
                per_kommune.dropna(subset=["estimate"]), {**knames, **scale_labels}, **syn)
    if "survey_item_distributions" in tabs:
        dist = tabs["survey_item_distributions"].frame
        items = [i for s in study.survey.scales.values() for i in s.items]
        figs["survey_item_distributions"] = _fig(figures.item_distributions,
            dist[dist["group"] == "network"], items, study.wave_ids, **syn)
    if "registry" in has and event_study is not None and len(event_study):
        figs["registry_event_study"] = _fig(figures.event_study, event_study, ind_labels, **syn)
    if "registry_breakdown" in tabs and sensitivity is not None and len(sensitivity):
        for ind in breakdown.loc[breakdown["status"] == "ok", "indicator"]:
            rows = sensitivity[sensitivity["indicator"] == ind].reset_index(drop=True)
            if len(rows):
                bd = breakdown.loc[breakdown["indicator"] == ind, "breakdown_rm"].iloc[0]
                figs[sens.figure_name(ind)] = _fig(sens.sensitivity_figure, rows,
                                                   ind_labels.get(ind, ind),
                                                   breakdown=float(bd), **syn)
    themes = tabs["interview_theme_counts"].frame if "interview_theme_counts" in tabs else \
        pd.DataFrame()
    if len(themes):
        rounds = [r.id for r in study.interviews.rounds] if study.interviews and \
            study.interviews.rounds else sorted(themes["wave"].dropna().unique())
        figs["interview_theme_shares"] = _fig(figures.theme_shares, themes, rounds, **syn)
    # (a new index: the rows' positions in the effects table move when survey rows are added,
    # and the figure is kept by its inputs, index included)
    shifts = e[(e["source"] == "interviews") & (e["group"] == "all")].dropna(
        subset=["estimate"]).reset_index(drop=True)
    if len(shifts):
        figs["interview_theme_shifts"] = _fig(figures.forest,
            shifts.assign(group=shifts["outcome"], outcome=t("theme_shift", lang)), {},
            title=t("share_difference", lang), **syn)
    if "interview_theme_role" in tabs:
        d = tabs["interview_theme_role"].frame.dropna(subset=["role", "wave"])
        d = d.assign(col=d["role"].astype(str) + " · " + d["wave"].astype(str))
        if d["suppressed"].mean() > 0.5:  # sectors too small to show: rounds only
            d = themes.assign(col=lambda x: x["wave"].astype(str))
        figs["interview_theme_heatmap"] = _fig(figures.heatmap,
            d, "theme", "col", "share_sources", **syn)
    if "interview_co_occurrence" in tabs:
        co = tabs["interview_co_occurrence"].frame
        sym = pd.concat([co, co.rename(columns={"a": "b", "b": "a"})], ignore_index=True)
        figs["interview_co_occurrence"] = _fig(figures.heatmap,
            sym, "a", "b", "jaccard", fmt="{:.2f}", cmap="Greens", **syn)
    for name, (build, args, kwargs) in figs.items():
        result.figures[name], result.previews[name] = figures.draw_and_save(
            out_dir / "figures" / name, build, *args, cache_dir=out_dir / ".cache" / "figures",
            **kwargs)
    result.main_figure = next((n for n in ("logic_chain", "registry_trends",
                                           "survey_scale_means") if n in result.previews),
                              next(iter(result.previews), None))

    # ---------------------------------------------------------------- sections
    def table(name: str, show: list[str] | None = None, caption: str | None = None):
        tb = tabs[name]
        if show is not None:
            tb = PublishedTable(tb.name, tb.frame[[c for c in show if c in tb.frame]
                                                  + ["suppressed"]],
                                kinds=tb.kinds)
        text = formatted(tb, lang, names)
        kinds = [tb.kind(c) for c in tb.columns]
        if name == "logic_chain" and "verdict" in tb.columns:
            j = tb.columns.index("verdict")
            text.iloc[:, j] = [Cell(t(f"lc_{v}", lang), str(v)) if v in VERDICTS
                               else str(v) for v in tb.frame["verdict"]]
            if "expected" in tb.columns:
                j = tb.columns.index("expected")
                text.iloc[:, j] = [t(f"lc_exp_{v}", lang) if f"lc_exp_{v}" in _label_keys()
                                   else v for v in tb.frame["expected"]]
            if "level" in tb.columns:
                j = tb.columns.index("level")
                text.iloc[:, j] = [t(f"lc_{v}", lang) if f"lc_{v}" in _label_keys()
                                   else v for v in tb.frame["level"]]
            if "caveat" in tb.columns:
                j = tb.columns.index("caveat")
                text.iloc[:, j] = [_caveat_text(v, lang) for v in tb.frame["caveat"]]
        return (caption or tb.title, text, kinds)

    def figs_of(*keys: str):
        return [(t(f"fig_{n}", lang), result.previews[n]) for n in keys
                if n in result.previews]

    sections = [
        Section(t("design", lang), anchor="design",
                paragraphs=_design_paragraphs(study, tabs, knames, lang),
                tables=[table("kommuner")]),
        Section(t("validation", lang), anchor="validation",
                paragraphs=[t("validation_text", lang)],
                tables=[table("validation")] if "validation" in tabs else []),
    ]
    if "logic_chain" in tabs:
        sections.append(Section(
            t("lc_title", lang), anchor="logic-chain",
            paragraphs=[t("logic_chain_text", lang)] + _inference_paragraphs(study, tabs, lang)
            + _verdict_counts(tabs, lang),
            figures=figs_of("logic_chain"),
            tables=[table("logic_chain", ["level", "element", "indicator", "source",
                                          "estimate", "ci_low", "ci_high", "p_value",
                                          "p_adjusted", "sim_ci_low", "sim_ci_high",
                                          "expected", "verdict", "caveat"])]))
    eff_show = ["source", "outcome", "contrast", "group", "estimate", "ci_low", "ci_high",
                "p_value", "p_adjusted", "n_obs", "estimator"]
    surv_eff = PublishedTable("effects_survey", e[e["source"] == "survey"].reset_index(
        drop=True))
    tabs["effects_survey"] = surv_eff
    # one section per source of evidence the study has (none for an absent source; a
    # source that could not be read or failed validation: why, and nothing else)
    source_sections = {
        "survey": lambda: Section(
            t("survey", lang), anchor="survey",
            paragraphs=[t("suppressed_note", lang, k=k)],
            figures=figs_of("survey_scale_means", "survey_pre_post", "survey_forest",
                            "survey_item_distributions"),
            tables=[table("survey_scale_means", ["scale", "wave", "group", "mean", "sd",
                                                 "ci_low", "ci_high", "n", "n_wave"]),
                    table("effects_survey", eff_show, t("tab_effects", lang))]
            + [table(n) for n in ("scale_reliability", "survey_response",
                                  "survey_panel_retention") if n in tabs]),
        "registry": lambda: Section(
            t("registry", lang), anchor="registry",
            paragraphs=_pretrend_paragraphs(pretrend, ind_labels, lang, e),
            figures=figs_of("registry_trends", "registry_event_study"),
            tables=[table("registry_did")] if "registry_did" in tabs else []),
        "interviews": lambda: Section(
            t("interviews", lang), anchor="interviews",
            figures=figs_of("interview_theme_shares", "interview_theme_shifts",
                            "interview_theme_heatmap", "interview_co_occurrence"),
            tables=[table("interview_theme_counts", ["theme", "wave", "n_segments",
                                                     "n_sources", "sources_in_group",
                                                     "share_sources"])]
            + ([table("intercoder_reliability")] if "intercoder_reliability" in tabs
               else [])),
    }
    for name in ("survey", "registry", "interviews"):
        if name in failed:
            sections.append(Section(t(name, lang), anchor=name, paragraphs=[
                t("source_failed", lang, reason=failed[name])]))
        elif name in has:
            sec = source_sections[name]()
            # what could not be estimated, and why (indicator, file, what is missing); not
            # for the survey, whose reasons may count a handful of respondents
            lost = insufficient_data_notes(raw_effects[raw_effects["source"] == name]) \
                if name != "survey" else []
            if lost:
                sec.paragraphs = [*sec.paragraphs,
                                  t("not_estimated", lang) + " " + "; ".join(lost) + "."]
            sections.append(sec)
            if name == "registry" and "registry_breakdown" in tabs:
                sections.append(Section(
                    t("sens_title", lang), anchor="registry-sensitivity", level=3,
                    paragraphs=sens.sensitivity_paragraphs(breakdown, ind_labels, lang),
                    figures=[(f"{ind_labels.get(i, i)}: {t('fig_registry_sensitivity', lang)}",
                              result.previews[sens.figure_name(i)])
                             for i in breakdown["indicator"]
                             if sens.figure_name(i) in result.previews],
                    tables=[table("registry_breakdown")]))
    sections += [
        Section(t("methods", lang), anchor="methods",
                paragraphs=_methods_paragraphs(study, raw_effects, scale_labels, lang,
                                                ind_labels)
                + _inference_paragraphs(study, tabs, lang)
                + [t("methods_tables", lang, k=k)]),
        Section(t("caveats", lang), anchor="caveats",
                paragraphs=_cluster_caveats(study, raw_effects, lang)
                + _split_caveats(study, registry_means, lang)
                + [t("suppressed_caveat", lang, k=k, n=result.suppressed_cells)]
                + (_break_paragraphs(study, ind_labels, lang) if "registry" in has else [])
                + ([t("synthetic_caveat", lang)] if study.synthetic else [])),
    ]
    del tabs["effects_survey"]
    title = f"{t('report_title', lang)}: {study.study}"
    write_report(render_report(title, sections, language=lang, synthetic=study.synthetic),
                 result.report)
    result.preview_markdown = _preview_markdown(study, tabs, lang, names)
    return result


def _label_keys() -> set[str]:
    from .labels import LABELS

    return set(LABELS["nb"])


def _inference_paragraphs(study, tabs: dict[str, PublishedTable], lang: str) -> list[str]:
    """Which family and method the logic chain's verdicts are adjusted by (study.yaml
    ``inference:``; :mod:`evaluation_pipeline.analysis.multiplicity`), in words; nothing
    without a logic-chain table."""
    if "logic_chain" not in tabs:
        return []
    inf = getattr(study, "inference", None)
    if inf is None:
        from ..study import Inference

        inf = Inference()
    alpha = f"{inf.alpha:g}".replace(".", "," if lang == "nb" else ".")
    if not inf.adjusted:
        return [t("lc_inference_none", lang, alpha=alpha)]
    lc = tabs["logic_chain"].frame
    tested = lc[lc["p_adjusted"].notna()] if "p_adjusted" in lc else lc.iloc[:0]
    m = len(set(zip(tested["source"], tested["indicator"], strict=True)))
    boot = (tested["basis"].astype(str).str.contains("wild cluster bootstrap", regex=False)
            if "basis" in lc else pd.Series(False, index=tested.index))
    ci = []
    if inf.method == "fdr_bh" or not boot.all() or not len(boot):
        ci.append(t(f"lc_sim_{inf.method}", lang))
    if boot.any() and inf.method != "fdr_bh":
        ci.append(t("lc_sim_bootstrap", lang))
    return [t("lc_inference", lang, method=t(f"inf_{inf.method}", lang), alpha=alpha,
              family=t(f"inf_family_{inf.family}", lang, m=m), ci=" ".join(ci))]


def _verdict_counts(tabs: dict[str, PublishedTable], lang: str) -> list[str]:
    v = tabs["logic_chain"].frame["verdict"].value_counts()
    parts = [f"{t(f'lc_{k}', lang)}: {int(v[k])}" for k in VERDICTS if k in v]
    return [t("verdict_counts", lang) + " " + "; ".join(parts) + "."] if parts else []


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
            f"{w} (n = {_num(n, 0, lang)})" for w, n in zip(tot["wave"], tot["respondents"],
                                                          strict=True)) + ".")
    if "survey_panel_retention" in tabs:
        p = tabs["survey_panel_retention"].frame
        p = p[p["kommune"] == "all"]
        out.append(t("retention_text", lang) + " " + "; ".join(
            f"{r.followup}: {_num(r.retained, 0, lang)} "
            f"({_num(r.share_of_baseline, 1, lang)} %)" for r in p.itertuples()) + ".")
    th = tabs["interview_theme_counts"].frame if "interview_theme_counts" in tabs else \
        pd.DataFrame()
    if len(th):
        per_round = th.groupby("wave", sort=False)["sources_in_group"].max()
        # a hidden count is said in words, never "n = :"
        out.append(f"{t('interviews', lang)}: " + ", ".join(
            f"{w} (n = {_num(n, 0, lang)})" if pd.notna(n)
            else f"{w} (n < {study.small_cell_threshold})"
            for w, n in per_round.items()) + ".")
    return out


def _break_paragraphs(study, labels: dict[str, str], lang: str) -> list[str]:
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


def _caveat_text(caveat, lang: str) -> str:
    """A logic-chain caveat key as shown in the report (empty when there is none)."""
    if not isinstance(caveat, str) or not caveat:
        return ""
    key = f"lc_caveat_{caveat}"
    return t(key, lang) if key in _label_keys() else caveat


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
    from ..analysis.did import FEW_TREATED_CLUSTERS as FEW_KOMMUNER
    from ..analysis.effects import count_units

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
    from ..geography import kommune_name, splits

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


def _preview_markdown(study, tabs: dict[str, PublishedTable], lang: str,
                      names: dict[str, str]) -> str:
    """Aggregates only: key numbers and the logic-chain table, as markdown."""
    lines = [f"**{study.study}**" + (" (SYNTHETIC)" if study.synthetic else ""), ""]
    lines.append(f"- {t('kommuner', lang)}: {len(study.network)} "
                 f"{t('network', lang).lower()}, {len(study.comparison)} "
                 f"{t('comparison', lang).lower()}")
    if "survey_response" in tabs:
        r = tabs["survey_response"].frame
        tot = r[r["kommune"] == "Total"]
        lines.append(f"- {t('waves', lang)}: " + ", ".join(
            f"{w} (n = {_num(n, 0, lang)})" for w, n in zip(tot["wave"], tot["respondents"],
                                                          strict=True)))
    sup = sum(int(tb.frame["suppressed"].fillna(False).astype(bool).sum())
              for tb in tabs.values())
    lines.append(f"- {t('suppressed_rows', lang)}: {sup}")
    if "logic_chain" in tabs:
        tb = tabs["logic_chain"]
        show = [c for c in ("level", "element", "indicator", "estimate", "ci_low", "ci_high",
                            "p_value", "p_adjusted", "verdict", "caveat") if c in tb.frame]
        sub = PublishedTable(tb.name, tb.frame[show + ["suppressed"]], kinds=tb.kinds)
        text = formatted(sub, lang, names)
        if "verdict" in show:
            text.iloc[:, show.index("verdict")] = [
                t(f"lc_{v}", lang) if v in VERDICTS else v for v in tb.frame["verdict"]]
        if "level" in show:
            text.iloc[:, show.index("level")] = [
                t(f"lc_{v}", lang) if f"lc_{v}" in _label_keys() else v
                for v in tb.frame["level"]]
        if "caveat" in show:
            text.iloc[:, show.index("caveat")] = [_caveat_text(v, lang)
                                                  for v in tb.frame["caveat"]]
        lines += ["", "| " + " | ".join(text.columns) + " |",
                  "|" + "---|" * len(text.columns)]
        lines += ["| " + " | ".join(str(v).replace("|", "/") for v in row) + " |"
                  for row in text.itertuples(index=False)]
    return "\n".join(lines)


def _visible_breakdown(breakdown: pd.DataFrame, effects: pd.DataFrame) -> pd.DataFrame:
    """The breakdown rows of indicators whose published registry effects are not all
    suppressed (as the pre-trend sentence)."""
    if "suppressed" not in effects or not len(effects):
        return breakdown
    reg = effects[effects["source"] == "registry"]
    sup = reg.groupby("outcome")["suppressed"].all()
    return breakdown[~breakdown["indicator"].isin(set(sup[sup].index))].reset_index(drop=True)
