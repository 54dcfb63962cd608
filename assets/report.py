"""Report: the study report (HTML), its tables (CSV, XLSX, LaTeX) and figures (PNG + SVG)."""

import base64

import dagster as dg
import pandas as pd

from evaluation_pipeline.report.study_report import build_study_report, validation_summary

from .resources import StudyResource

VALIDATED = ("survey_answers", "coded_segments", "registry_observations")


#: the validation summary only counts the valid rows (per wave): load one column of them,
#: not every answer of every wave (the DuckDB IO manager selects the columns)
COUNT_ONLY = {
    "survey_answers_valid": dg.AssetIn(metadata={"columns": ["wave"]}),
    "coded_segments_valid": dg.AssetIn(metadata={"columns": ["wave"]}),
    "registry_observations_valid": dg.AssetIn(metadata={"columns": ["indicator"]}),
}


#: the inputs of ``study_report`` of each source of evidence
REPORT_INPUTS = {
    "survey": ["survey_scale_summary", "scale_reliability", "item_distribution",
               "survey_response", "survey_panel_retention", "survey_answers_valid",
               "survey_answers_rejected"],
    "registry": ["registry_group_rates", "registry_event_study", "registry_pretrend_tests",
                 "registry_observations_valid", "registry_observations_rejected",
                 "registry_reference", "registry_sensitivity", "registry_breakdown"],
    "interviews": ["theme_frequencies", "theme_role_frequencies", "theme_co_occurrence",
                   "intercoder_agreement", "coded_segments_valid", "coded_segments_rejected"],
    # the collaboration roster of the survey (survey.collaboration): the tie tables (all
    # waves; suppressed by the report), the pooled measures and the network's Effect rows
    "network": ["collaboration_ties", "collaboration_ties_pooled",
                "collaboration_measures_pooled", "collaboration_effects"],
}
#: each source's validated table (the validation summary; the network's is the survey's)
SOURCE_TABLE = {"survey": "survey_answers", "registry": "registry_observations",
                "interviews": "coded_segments"}


def study_report_asset(sources: list[str], failed: dict[str, str] | None = None
                       ) -> dg.AssetsDefinition:
    """The ``study_report`` asset over the assets of the study's sources of evidence
    (``sources``); a source in ``failed`` (source -> why, e.g. its blocking contract check
    failed) is left out and the report says why (see assets.cli)."""
    failed = dict(failed or {})
    names = ["effects", "logic_chain_evidence"] + [
        n for src in sources for n in REPORT_INPUTS.get(src, [])]
    ins = {n: COUNT_ONLY.get(n, dg.AssetIn()) for n in names}

    @dg.asset(
        name="study_report",
        group_name="report",
        ins=ins,
        kinds={"html", "csv", "excel"},
        description="The study report (one self-contained HTML file, prints on A4), its "
        "tables as CSV (machine-readable and in the edition's spreadsheet convention), one "
        "XLSX workbook and LaTeX (booktabs), and its figures as PNG (300 dpi) and SVG, all "
        "after small-cell suppression, under the study's output folder. Sections only for "
        f"the study's sources of evidence ({', '.join(sources) or 'none'}).",
    )
    def _study_report(context: dg.AssetExecutionContext, study: StudyResource,
                      **inputs: pd.DataFrame) -> dg.MaterializeResult:
        return _build(study.load(), inputs, sources, failed)

    return _study_report


def _build(s, inputs: dict[str, pd.DataFrame], sources: list[str],
           failed: dict[str, str]) -> dg.MaterializeResult:
    tables = [SOURCE_TABLE[src] for src in sources if src in SOURCE_TABLE]
    validation = validation_summary(
        {t: inputs[f"{t}_valid"] for t in tables},
        {t: inputs[f"{t}_rejected"] for t in tables},
    )
    out = build_study_report(
        s,
        effects=inputs["effects"],
        survey_summary=inputs.get("survey_scale_summary"),
        registry_means=inputs.get("registry_group_rates"),
        theme_freq=inputs.get("theme_frequencies"),
        event_study=inputs.get("registry_event_study"),
        pretrend=inputs.get("registry_pretrend_tests"),
        reliability=inputs.get("scale_reliability"),
        item_dist=inputs.get("item_distribution"),
        response=inputs.get("survey_response"),
        theme_role_freq=inputs.get("theme_role_frequencies"),
        co_occ=inputs.get("theme_co_occurrence"),
        intercoder=inputs.get("intercoder_agreement"),
        logic_chain=inputs["logic_chain_evidence"],
        validation=validation,
        retention=inputs.get("survey_panel_retention"),
        registry_reference=inputs.get("registry_reference"),
        sources=sources,
        failed_sources=failed,
        sensitivity=inputs.get("registry_sensitivity"),
        breakdown=inputs.get("registry_breakdown"),
        collaboration_ties=inputs.get("collaboration_ties"),
        collaboration_ties_pooled=inputs.get("collaboration_ties_pooled"),
        collaboration_measures_pooled=inputs.get("collaboration_measures_pooled"),
        collaboration_effects=inputs.get("collaboration_effects"),
    )
    figure_md = "(no figure)"
    if out.main_figure:
        png = base64.b64encode(out.previews[out.main_figure]).decode("ascii")
        figure_md = f"![{out.main_figure}](data:image/png;base64,{png})"
    tables_dir = out.report.parent.parent / "tables"
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.path(str(out.report)),
            "tables_dir": dg.MetadataValue.path(str(tables_dir)),
            "workbook": dg.MetadataValue.path(str(next(iter(out.table_files.values()))["xlsx"])
                                              if out.table_files else ""),
            "tables": dg.MetadataValue.json(
                {k: {f: str(p) for f, p in v.items()} for k, v in out.table_files.items()}),
            "figures": dg.MetadataValue.json(
                {k: [str(p) for p in v] for k, v in out.figures.items()}),
            "suppressed_rows": out.suppressed_cells,
            "preview": dg.MetadataValue.md(out.preview_markdown),
            "main_figure": dg.MetadataValue.md(figure_md),
        }
    )
