"""Assemble the study report: suppressed tables (CSV, XLSX, LaTeX), figures (PNG + SVG) and one
self-contained HTML file.

Everything published passes small-cell suppression with the study's threshold first (the
rules of :mod:`evaluation_pipeline.publication`). The report's sections, in order: design and
data, validation, the logic chain, the survey, the collaboration network (the survey's roster,
``survey.collaboration``), the registry, the interviews, methods, caveats;
a source's section (and its tables, figures, methods and caveats) only when the study has that
source of evidence. Each section is built by its module in
:mod:`evaluation_pipeline.report.sections`; :func:`build_study_report` puts them together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..publication import publishable_tables
from . import figures
from .html import Section, render_report, write_report
from .labels import t
from .sections import closing, interviews, network, overview, registry, survey
from .sections import logic_chain as chain
from .sections.context import VERDICTS, ReportContext, caveat_text, label_keys, num
from .tables import PublishedTable, formatted, write_tables


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
    collaboration_ties: pd.DataFrame | None = None,
    collaboration_ties_pooled: pd.DataFrame | None = None,
    collaboration_measures_pooled: pd.DataFrame | None = None,
    collaboration_effects: pd.DataFrame | None = None,
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
    subsection after the registry's, one figure per indicator and the breakdown table.

    ``collaboration_ties`` (by kommune × wave), ``collaboration_ties_pooled`` (by group ×
    wave), ``collaboration_measures_pooled`` and ``collaboration_effects`` (the source
    ``network``: :mod:`evaluation_pipeline.analysis.collaboration`, not suppressed; the DiD
    rows default to the ``network`` rows of ``effects``): the section on the collaboration
    network after the survey's (:mod:`.sections.network`), only when the study has
    ``survey.collaboration`` and the source ``network`` is covered (by default when study.yaml
    has the roster)."""
    failed = dict(failed_sources or {})
    if sources is None:
        sources = [s for s in ("survey", "interviews", "registry")
                   if getattr(study, s, None) is not None and s not in failed]
        if "survey" in sources and study.survey.collaboration is not None:
            sources.append("network")
    has = set(sources)
    if "network" in has and (study.survey is None or study.survey.collaboration is None):
        has.discard("network")  # no roster in study.yaml: no network section
    if "network" not in has:
        collaboration_ties = collaboration_ties_pooled = None
        collaboration_measures_pooled = collaboration_effects = None
    elif collaboration_effects is None and len(effects) and "source" in effects:
        collaboration_effects = effects[effects["source"].astype(str) == "network"]
    if "survey" not in has:  # no section, table or figure of an absent source
        survey_summary = reliability = item_dist = response = retention = None
    if "registry" not in has:
        registry_means = event_study = pretrend = registry_reference = None
        sensitivity = breakdown = None
    if "interviews" not in has:
        theme_freq = theme_role_freq = co_occ = intercoder = None
    ctx = ReportContext.of(study)
    out_dir = study.output
    base = publishable_tables(study, effects, survey_summary, registry_means, theme_freq)
    # the suppressed effects keep the raw estimates (the logic chain hides the same ones)
    published_effects = base["effects"].assign(_estimate=effects["estimate"].to_numpy())
    # the network's per-kommune changes are not published (see split_kommune_changes)
    published_effects, _ = network.split_kommune_changes(published_effects)

    # the tables, in the order they are written
    chain.add_tables(ctx, logic_chain, published_effects)
    overview.add_tables(ctx, validation, published_effects)
    survey.add_tables(ctx, base.get("survey_scale_means"), reliability, response, retention,
                      item_dist)
    if collaboration_ties_pooled is not None or collaboration_effects is not None:
        network.add_tables(ctx, collaboration_ties, collaboration_ties_pooled,
                           collaboration_measures_pooled, collaboration_effects)
    registry.add_tables(ctx, base.get("registry_group_rates"), published_effects, has)
    interviews.add_tables(ctx, base.get("interview_theme_counts"), theme_role_freq, co_occ,
                          intercoder)
    breakdown = registry.add_sensitivity_table(ctx, breakdown, published_effects)
    result = ReportOutput(report=out_dir / "report" / ("rapport.html" if ctx.lang == "nb"
                                                       else "report.html"))
    result.table_files = write_tables(list(ctx.tabs.values()), out_dir / "tables", ctx.lang,
                                      ctx.k, ctx.names, study.synthetic)
    result.tables = {n: p["csv"] for n, p in result.table_files.items()}
    result.suppressed_cells = int(sum(tb.frame["suppressed"].fillna(False).astype(bool).sum()
                                      for tb in ctx.tabs.values()))

    # the figures: name -> (figure function, its arguments), drawn (or taken from the cache)
    figs = {**chain.figures(ctx), **registry.trend_figures(ctx, registry_reference),
            **survey.figures(ctx, has),
            **(network.figures(ctx) if "network" in has else {}),
            **registry.figures(ctx, has, event_study, sensitivity, breakdown),
            **interviews.figures(ctx)}
    for name, (build, args, kwargs) in figs.items():
        result.figures[name], result.previews[name] = figures.draw_and_save(
            out_dir / "figures" / name, build, *args, cache_dir=out_dir / ".cache" / "figures",
            **kwargs)
    ctx.previews = result.previews
    result.main_figure = next((n for n in ("logic_chain", "registry_trends",
                                           "survey_scale_means") if n in result.previews),
                              next(iter(result.previews), None))

    # the sections: one per source of evidence the study has (none for an absent source; a
    # source that could not be read or failed validation: why, and nothing else)
    sections = overview.sections(ctx) + chain.sections(ctx)
    for name in ("survey", "network", "registry", "interviews"):
        if name in failed:
            sections.append(Section(t(name, ctx.lang), anchor=name, paragraphs=[
                t("source_failed", ctx.lang, reason=failed[name])]))
        elif name == "survey" and name in has:
            # (no "not estimated" paragraph: its reasons may count a handful of respondents)
            sections.append(survey.section(ctx))
        elif name == "network" and name in has:
            sections += [s for s in [network.section(ctx)] if s is not None]
        elif name == "registry" and name in has:
            sections += registry.sections(ctx, effects, pretrend, breakdown)
        elif name == "interviews" and name in has:
            sections.append(interviews.section(ctx, effects))
    sections += closing.sections(ctx, effects, registry_means, has, result.suppressed_cells)
    title = f"{t('report_title', ctx.lang)}: {study.study}"
    write_report(render_report(title, sections, language=ctx.lang, synthetic=study.synthetic),
                 result.report)
    result.preview_markdown = _preview_markdown(study, ctx.tabs, ctx.lang, ctx.names)
    return result


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
            f"{w} (n = {num(n, 0, lang)})" for w, n in zip(tot["wave"], tot["respondents"],
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
                t(f"lc_{v}", lang) if f"lc_{v}" in label_keys() else v
                for v in tb.frame["level"]]
        if "caveat" in show:
            text.iloc[:, show.index("caveat")] = [caveat_text(v, lang)
                                                  for v in tb.frame["caveat"]]
        lines += ["", "| " + " | ".join(text.columns) + " |",
                  "|" + "---|" * len(text.columns)]
        lines += ["| " + " | ".join(str(v).replace("|", "/") for v in row) + " |"
                  for row in text.itertuples(index=False)]
    return "\n".join(lines)
