"""Validate: the study's row rules on each ingested table, as blocking asset checks.

Each ``*_valid`` asset keeps the rows that pass; its blocking check fails when any row was
rejected, so nothing downstream runs on data that broke a rule. The check's metadata says which
rule rejected how many rows (no row-level data).
"""

import dagster as dg
import pandas as pd

from evaluation_pipeline.validation import (
    registry_row_rules,
    reject_summary,
    segment_row_rules,
    survey_row_rules,
)

from .partitions import survey_waves
from .resources import StudyResource

CHECK = "passes_row_rules"


def _emit(table: str, kept: pd.DataFrame, rejected: pd.DataFrame, extra: dict | None = None):
    summary = reject_summary(rejected)
    yield dg.Output(
        kept,
        metadata={"rows_kept": len(kept), "rows_rejected": len(rejected), **(extra or {})},
    )
    yield dg.AssetCheckResult(
        check_name=CHECK,
        passed=bool(len(rejected) == 0),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "rows_rejected": len(rejected),
            "rules_failed": dg.MetadataValue.json(summary),
            "table": table,
        },
    )


@dg.asset(
    group_name="validate",
    partitions_def=survey_waves,
    metadata={"partition_expr": "wave"},
    kinds={"pandas", "duckdb"},
    check_specs=[dg.AssetCheckSpec(CHECK, asset="survey_answers_valid", blocking=True,
                                   description="No answer breaks the study's row rules.")],
    description="Survey answers of one wave that pass the study's row rules.",
)
def survey_answers_valid(study: StudyResource, survey_answers: pd.DataFrame):
    kept, rejected = survey_row_rules(survey_answers, study.load())
    yield from _emit("survey_answers", kept, rejected)


@dg.asset(
    group_name="validate",
    kinds={"pandas", "duckdb"},
    check_specs=[dg.AssetCheckSpec(CHECK, asset="coded_segments_valid", blocking=True,
                                   description="Every code is in the codebook, rounds and "
                                   "kommuner are declared.")],
    description="Coded segments that pass the study's row rules.",
)
def coded_segments_valid(study: StudyResource, coded_segments: pd.DataFrame):
    kept, rejected = segment_row_rules(coded_segments, study.load())
    yield from _emit("coded_segments", kept, rejected)


@dg.asset(
    group_name="validate",
    kinds={"pandas", "duckdb"},
    check_specs=[dg.AssetCheckSpec(CHECK, asset="registry_observations_valid", blocking=True,
                                   description="Numerators never exceed denominators.")],
    description="Registry observations (as published) that pass the row rules.",
)
def registry_observations_valid(registry_observations_raw: pd.DataFrame):
    kept, rejected = registry_row_rules(registry_observations_raw)
    yield from _emit("registry_observations", kept, rejected)
