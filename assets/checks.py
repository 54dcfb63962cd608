"""Validate: split each ingested table into the rows that honour its contract's row rules
(``<table>_valid``) and the rows that do not, kept with the reason (``<table>_rejected``).

The blocking ``contract`` checks on the ingested tables decide whether anything downstream runs;
these assets only run when the check passed, i.e. when no more rows were rejected than the
study tolerates.
"""

import dagster as dg
import pandas as pd

from evaluation_pipeline.contracts import validate

from .contract_checks import report_cache
from .partitions import survey_waves
from .resources import PROFILE_INPUTS_FIRST, StudyResource


def _split(table: str, df: pd.DataFrame, study, label: str):
    report = validate(table, df, study, label=label, cache_dir=report_cache(study))
    kept, rejected = report.split(df)
    yield dg.Output(kept, output_name="valid", metadata={"rows": len(kept)})
    yield dg.Output(
        rejected,
        output_name="rejected",
        metadata={
            "rows": len(rejected),
            "rules": dg.MetadataValue.json(
                {f.rule: f.count for f in report.failures if f.row_level}
            ),
        },
    )


def _outs(table: str, partitioned: bool = False) -> dict[str, dg.AssetOut]:
    meta = {"partition_expr": "wave"} if partitioned else None
    return {
        "valid": dg.AssetOut(
            key=f"{table}_valid", metadata=meta, kinds={"pandas", "duckdb"},
            description=f"Rows of {table} that honour every row rule of its contract.",
        ),
        "rejected": dg.AssetOut(
            key=f"{table}_rejected", metadata=meta, kinds={"pandas", "duckdb"},
            description=f"Rows of {table} that broke a row rule, with the reason.",
        ),
    }


@dg.multi_asset(outs=_outs("survey_answers", True), group_name="validate",
                partitions_def=survey_waves)
def validate_survey_answers(
    context: dg.AssetExecutionContext, study: StudyResource, survey_answers: pd.DataFrame
):
    yield from _split("survey_answers", survey_answers, study.load(),
                      f"survey_answers-{context.partition_key}")


@dg.multi_asset(outs=_outs("coded_segments"), group_name="validate")
def validate_coded_segments(study: StudyResource, coded_segments: pd.DataFrame):
    yield from _split("coded_segments", coded_segments, study.load(), "coded_segments")


@dg.multi_asset(outs=_outs("registry_observations"), group_name="validate",
                op_tags=PROFILE_INPUTS_FIRST)
def validate_registry_observations(
    study: StudyResource, registry_observations_raw: pd.DataFrame
):
    yield from _split("registry_observations", registry_observations_raw, study.load(),
                      "registry_observations")
