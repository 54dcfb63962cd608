"""Ingest: landing files -> tidy tables, IDs pseudonymised."""

import dagster as dg
import pandas as pd

from evaluation_pipeline.ingest import read_interview_codes, read_registry, read_survey
from evaluation_pipeline.observations import registry_observations
from evaluation_pipeline.privacy import pseudonym_key, pseudonymise

from .partitions import survey_waves
from .resources import StudyResource


@dg.asset(
    group_name="ingest",
    partitions_def=survey_waves,
    metadata={"partition_expr": "wave"},
    kinds={"pandas", "duckdb"},
    description="Survey answers of one wave, long (respondent × item), read from the wave's "
    "landing file (CSV, XLSX, SPSS); respondent IDs pseudonymised.",
)
def survey_answers(context: dg.AssetExecutionContext, study: StudyResource) -> pd.DataFrame:
    s = study.load()
    wave = context.partition_key
    path = s.wave_file(wave)
    df = read_survey(path, wave=wave)
    df["respondent_id"] = pseudonymise(df["respondent_id"], pseudonym_key(s.root), prefix="R")
    context.add_output_metadata(
        {
            "file": dg.MetadataValue.path(str(path)),
            "rows": len(df),
            "respondents": int(df["respondent_id"].nunique()),
            "items": int(df["item"].nunique()),
            "kommuner": int(df["kommune"].nunique()),
            "missing_answers": int(df["value"].isna().sum()),
        }
    )
    return df


@dg.asset(
    group_name="ingest",
    kinds={"pandas", "duckdb"},
    description="Coded interview segments from the study's QDA exports (REFI-QDA .qdpx or "
    "coded-segment CSV/XLSX); positions and lengths only, never the interview text; "
    "interview (source) names pseudonymised.",
)
def coded_segments(context: dg.AssetExecutionContext, study: StudyResource) -> pd.DataFrame:
    s = study.load()
    if not s.interviews:
        return pd.DataFrame()
    frames = [read_interview_codes(s.path(f)) for f in s.interviews.files]
    df = pd.concat(frames, ignore_index=True)
    key = pseudonym_key(s.root)
    df["source"] = pseudonymise(df["source"], key, prefix="I")
    df["source_guid"] = pseudonymise(df["source_guid"], key, prefix="G")
    context.add_output_metadata(
        {
            "files": len(s.interviews.files),
            "segments": len(df),
            "interviews": int(df["source"].nunique()),
            "codes_used": int(df["code"].nunique()),
            "coders": int(df["coder"].nunique()),
        }
    )
    return df


@dg.asset(
    group_name="ingest",
    kinds={"pandas", "duckdb"},
    description="Registry observations as published (kommune codes valid in each year): "
    "numerator, denominator and status per kommune × year × study indicator.",
)
def registry_observations_raw(
    context: dg.AssetExecutionContext, study: StudyResource
) -> pd.DataFrame:
    s = study.load()
    frames = []
    for ind_id, ind in (s.registry.indicators.items() if s.registry else []):
        path = s.path(ind.file)
        frames.append(registry_observations(read_registry(path), ind_id, ind, str(path)))
    df = pd.concat(frames, ignore_index=True)
    context.add_output_metadata(
        {
            "rows": len(df),
            "indicators": int(df["indicator"].nunique()),
            "kommune_codes": int(df["kommune"].nunique()),
            "years": f"{df['year'].min()}–{df['year'].max()}",
            "cells_with_status": int(df["status"].notna().sum()),
        }
    )
    return df
