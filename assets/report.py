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


@dg.asset(
    group_name="report",
    ins=COUNT_ONLY,
    kinds={"html", "csv", "excel"},
    description="The study report (one self-contained HTML file, prints on A4), its tables as "
    "CSV (machine-readable and in the edition's spreadsheet convention), one XLSX workbook "
    "and LaTeX (booktabs), and its figures as PNG (300 dpi) and SVG, all after small-cell "
    "suppression, under the study's output folder.",
)
def study_report(
    context: dg.AssetExecutionContext,
    study: StudyResource,
    effects: pd.DataFrame,
    logic_chain_evidence: pd.DataFrame,
    survey_scale_summary: pd.DataFrame,
    registry_group_rates: pd.DataFrame,
    theme_frequencies: pd.DataFrame,
    registry_event_study: pd.DataFrame,
    registry_pretrend_tests: pd.DataFrame,
    scale_reliability: pd.DataFrame,
    item_distribution: pd.DataFrame,
    survey_response: pd.DataFrame,
    survey_panel_retention: pd.DataFrame,
    theme_role_frequencies: pd.DataFrame,
    theme_co_occurrence: pd.DataFrame,
    intercoder_agreement: pd.DataFrame,
    survey_answers_valid: pd.DataFrame,
    survey_answers_rejected: pd.DataFrame,
    coded_segments_valid: pd.DataFrame,
    coded_segments_rejected: pd.DataFrame,
    registry_observations_valid: pd.DataFrame,
    registry_observations_rejected: pd.DataFrame,
    registry_reference: pd.DataFrame,
) -> dg.MaterializeResult:
    s = study.load()
    validation = validation_summary(
        {"survey_answers": survey_answers_valid, "coded_segments": coded_segments_valid,
         "registry_observations": registry_observations_valid},
        {"survey_answers": survey_answers_rejected, "coded_segments": coded_segments_rejected,
         "registry_observations": registry_observations_rejected},
    )
    out = build_study_report(
        s,
        effects=effects,
        survey_summary=survey_scale_summary,
        registry_means=registry_group_rates,
        theme_freq=theme_frequencies,
        event_study=registry_event_study,
        pretrend=registry_pretrend_tests,
        reliability=scale_reliability,
        item_dist=item_distribution,
        response=survey_response,
        theme_role_freq=theme_role_frequencies,
        co_occ=theme_co_occurrence,
        intercoder=intercoder_agreement,
        logic_chain=logic_chain_evidence,
        validation=validation,
        retention=survey_panel_retention,
        registry_reference=registry_reference,
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
