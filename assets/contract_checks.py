"""Turning a contract validation into a Dagster asset check result (metadata: counts per rule,
a link to the GX Data Docs page; no row-level data)."""

from pathlib import Path

import dagster as dg
import pandas as pd

from evaluation_pipeline.contracts import validate

CONTRACT = "contract"


def contract_spec(asset: str, table: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        CONTRACT, asset=asset, blocking=True,
        description=f"The table honours data_contracts/{table}.yaml (great-expectations); "
        "rows breaking row rules are tolerated up to the study's validation.max_rejected_rows.",
    )


def report_cache(study) -> Path:
    """Where validation reports are kept between the check and the validate step (separate
    processes validating the same rows; see :func:`evaluation_pipeline.contracts.validate`)."""
    return study.output / ".cache" / "contracts"


def contract_check(table: str, df: pd.DataFrame, study, label: str,
                   source: str | Path | None = None) -> dg.AssetCheckResult:
    """The blocking contract check of ``df``. Its description is the failure table of
    :meth:`~evaluation_pipeline.contracts.ValidationReport.table_text` (``source``: the landing
    file(s) the table was read from), which the command line prints."""
    report = validate(table, df, study, data_docs=study.output / "data_docs", label=label,
                      cache_dir=report_cache(study))
    tolerated = study.validation.tolerated(table)
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
        passed=bool(report.acceptable(tolerated)),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
        description=report.with_indicator_files(df, study).table_text(source)[:4000],
    )

