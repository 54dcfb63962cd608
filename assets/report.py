"""Report: suppressed tables (CSV), figures (PNG + SVG) and the HTML study report."""

import base64

import dagster as dg
import pandas as pd

from evaluation_pipeline.report.study_report import build_study_report

from .resources import StudyResource


@dg.asset(
    group_name="report",
    kinds={"html", "csv"},
    description="The study report (one self-contained HTML file), its tables as CSV and its "
    "figures as PNG and SVG, all after small-cell suppression, under the study's output folder.",
)
def study_report(
    context: dg.AssetExecutionContext,
    study: StudyResource,
    effects: pd.DataFrame,
    survey_scale_summary: pd.DataFrame,
    registry_group_rates: pd.DataFrame,
    theme_frequencies: pd.DataFrame,
    registry_event_study: pd.DataFrame,
    registry_pretrend_tests: pd.DataFrame,
    scale_reliability: pd.DataFrame,
    item_distribution: pd.DataFrame,
    survey_response: pd.DataFrame,
    theme_role_frequencies: pd.DataFrame,
    theme_co_occurrence: pd.DataFrame,
    intercoder_agreement: pd.DataFrame,
) -> dg.MaterializeResult:
    s = study.load()
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
    )
    preview = next(iter(out.previews.values()), None)
    md = (
        f"![figure](data:image/png;base64,{base64.b64encode(preview).decode()})"
        if preview else "(no figure)"
    )
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.path(str(out.report)),
            "tables": dg.MetadataValue.json({k: str(v) for k, v in out.tables.items()}),
            "figures": len(out.figures),
            "suppressed_cells": out.suppressed_cells,
            "preview": dg.MetadataValue.md(md),
        }
    )
