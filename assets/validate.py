"""Validate: each table against its data contract, once, as a blocking ``contract`` check.

An ingested table with row rules (survey answers, coded segments, registry observations) is
validated by its validate multi-asset: one :class:`~evaluation_pipeline.contracts.ValidationReport`
gives both the split — the rows that honour the contract's row rules (``<table>_valid``) and the
rows that do not, kept with the reason (``<table>_rejected``) — and the blocking ``contract``
check on ``<table>_valid``. When the check fails (a table rule failed, or more rows were
rejected than the study tolerates) neither table is written and nothing downstream runs.

The reference tables without a split (``kommune_codes``, ``study_kommuner``) carry the same
check on themselves (:func:`contract_spec`, :func:`contract_check`). The check's description is
the failure table the command line prints; its metadata holds counts per rule and a link to the
GX Data Docs page, never row-level data.
"""

from pathlib import Path

import dagster as dg
import pandas as pd

from evaluation_pipeline.contracts import ValidationReport, validate

from .partitions import survey_waves
from .resources import PROFILE_INPUTS_FIRST, StudyResource

CONTRACT = "contract"


def contract_spec(asset: str, table: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        CONTRACT, asset=asset, blocking=True,
        description=f"The table honours data_contracts/{table}.yaml (great-expectations); "
        "rows breaking row rules are tolerated up to the study's validation.max_rejected_rows.",
    )


def _validated(table: str, df: pd.DataFrame, study, label: str) -> ValidationReport:
    return validate(table, df, study, data_docs=study.output / "data_docs", label=label)


def contract_result(report: ValidationReport, df: pd.DataFrame, study,
                    source: str | Path | None = None,
                    asset: str | None = None) -> dg.AssetCheckResult:
    """The blocking contract check result of ``report`` (the validation of ``df``). Its
    description is the failure table of
    :meth:`~evaluation_pipeline.contracts.ValidationReport.table_text` (``source``: the landing
    file(s) the table was read from), which the command line prints. ``asset``: the checked
    asset, when the step makes several."""
    tolerated = study.validation.tolerated(report.table)
    meta = report.metadata()
    md = "\n".join(f"- {f}" for f in report.failures) or "all rules pass"
    metadata = {
        "rows": meta["rows"],
        "rows_rejected": meta["rows_rejected"],
        "rejected_rows_tolerated": tolerated,
        "failed_rules": dg.MetadataValue.json(meta["failed_rules"]),
        "summary": dg.MetadataValue.md(md),
    }
    if report.data_docs:
        metadata["data_docs"] = dg.MetadataValue.path(str(report.data_docs))
    return dg.AssetCheckResult(
        check_name=CONTRACT,
        asset_key=asset,
        passed=bool(report.acceptable(tolerated)),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
        description=report.with_indicator_files(df, study).table_text(source)[:4000],
    )


def contract_check(table: str, df: pd.DataFrame, study, label: str,
                   source: str | Path | None = None) -> dg.AssetCheckResult:
    """Validate ``df`` and return its blocking contract check result (a table without a
    valid/rejected split)."""
    return contract_result(_validated(table, df, study, label), df, study, source)


def _split(table: str, df: pd.DataFrame, study, label: str, source=None):
    """One validation of ``df``: ``<table>_valid`` and ``<table>_rejected`` when the contract
    holds, then the contract check on ``<table>_valid`` (failed: no table is written, and the
    step fails, so nothing downstream runs). ``source``: a function giving the landing
    file(s), called only when a rule failed (to name them in the failure table)."""
    report = _validated(table, df, study, label)
    where = source() if source is not None and not report.passed else None
    check = contract_result(report, df, study, where, asset=f"{table}_valid")
    if check.passed:
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
    yield check


def _outs(table: str, partitioned: bool = False) -> dict[str, dg.AssetOut]:
    meta = {"partition_expr": "wave"} if partitioned else None
    # not required: a failed contract check writes neither table
    return {
        "valid": dg.AssetOut(
            key=f"{table}_valid", metadata=meta, kinds={"pandas", "duckdb"}, is_required=False,
            description=f"Rows of {table} that honour every row rule of its contract.",
        ),
        "rejected": dg.AssetOut(
            key=f"{table}_rejected", metadata=meta, kinds={"pandas", "duckdb"},
            is_required=False,
            description=f"Rows of {table} that broke a row rule, with the reason.",
        ),
    }


def _checks(table: str) -> list[dg.AssetCheckSpec]:
    return [contract_spec(f"{table}_valid", table)]


@dg.multi_asset(outs=_outs("survey_answers", True), group_name="validate",
                partitions_def=survey_waves, check_specs=_checks("survey_answers"))
def validate_survey_answers(
    context: dg.AssetExecutionContext, study: StudyResource, survey_answers: pd.DataFrame
):
    s = study.load()
    wave = context.partition_key
    yield from _split("survey_answers", survey_answers, s, f"survey_answers-{wave}",
                      source=lambda: s.wave_file(wave))


@dg.multi_asset(outs=_outs("coded_segments"), group_name="validate",
                check_specs=_checks("coded_segments"))
def validate_coded_segments(study: StudyResource, coded_segments: pd.DataFrame):
    s = study.load()
    yield from _split("coded_segments", coded_segments, s, "coded_segments",
                      source=lambda: ", ".join(str(s.path(f)) for f in s.interviews.files)
                      if s.interviews else None)


@dg.multi_asset(outs=_outs("registry_observations"), group_name="validate",
                op_tags=PROFILE_INPUTS_FIRST, check_specs=_checks("registry_observations"))
def validate_registry_observations(
    study: StudyResource, registry_observations_raw: pd.DataFrame
):
    yield from _split("registry_observations", registry_observations_raw, study.load(),
                      "registry_observations")
