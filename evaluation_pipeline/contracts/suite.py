"""Running a contract's suite on an ephemeral great-expectations context (optionally writing
GX Data Docs) and collecting the result into a :class:`ValidationReport`: :func:`validate`."""

from __future__ import annotations

import datetime as dt
import difflib
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from ..memory import release_memory
from .expectations import _derived, _expectations, _group_counts
from .report import MAX_EXAMPLES, TABLE_EXAMPLES, Failure, ValidationReport
from .spec import _resolve, item_keys, load_contract, study_values

#: validating at least this many rows is followed by :func:`release_memory`
RELEASE_MEMORY_ROWS = 500_000


def _run_suite(name: str, df: pd.DataFrame, expectations, docs_dir: Path | None):
    import great_expectations as gx

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = {"globally": False, "metric_calculations": False}
    asset = ctx.data_sources.add_pandas("pandas").add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe("whole")
    for exp, meta in expectations:
        exp.meta = meta
    # the whole suite in one add: ``suite.add_expectation`` re-serialises the stored suite on
    # every call (quadratic in the number of expectations: ~1 s per survey wave)
    suite = ctx.suites.add(gx.ExpectationSuite(name=name,
                                               expectations=[e for e, _ in expectations]))
    vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch,
                                                                suite=suite))
    fmt = {"result_format": "COMPLETE", "partial_unexpected_count": MAX_EXAMPLES}
    with _no_batch_fingerprint():
        return _run_validation(ctx, name, df, vd, fmt, docs_dir)


@contextmanager
def _no_batch_fingerprint():
    """GX names every pandas batch smaller than ``HASH_THRESHOLD`` (1 GB, shallow) by an MD5 of
    the whole frame, shown only as a batch marker in the data docs: ~3 s of a national survey
    wave's ~20 s validation. the pipeline does not use the marker, so the threshold is
    set to 0 (no fingerprint) while a suite runs, and restored after."""
    from great_expectations.execution_engine import pandas_execution_engine as engine

    if not hasattr(engine, "HASH_THRESHOLD"):  # another GX version: nothing to switch off
        yield
        return
    before = engine.HASH_THRESHOLD
    engine.HASH_THRESHOLD = 0
    try:
        yield
    finally:
        engine.HASH_THRESHOLD = before


def _run_validation(ctx, name: str, df: pd.DataFrame, vd, fmt: dict, docs_dir: Path | None):
    import great_expectations as gx

    if docs_dir is None:
        return vd.run(batch_parameters={"dataframe": df}, result_format=fmt), None
    docs_dir.mkdir(parents=True, exist_ok=True)
    ctx.add_data_docs_site(site_name="docs", site_config={
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str(docs_dir.resolve())},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    cp = ctx.checkpoints.add(gx.Checkpoint(
        name=f"{name}-checkpoint", validation_definitions=[vd], result_format=fmt,
        actions=[gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=["docs"])],
    ))
    res = cp.run(batch_parameters={"dataframe": df})
    ident, result = next(iter(res.run_results.items()))
    page = docs_dir / "validations" / f"{str(ident).split('::', 1)[1]}.html"
    return result, (page if page.exists() else None)

def validate(
    table_name: str,
    df: pd.DataFrame,
    study,
    *,
    data_docs: Path | None = None,
    label: str | None = None,
) -> ValidationReport:
    """Validate ``df`` against ``data_contracts/<table_name>.yaml`` with great-expectations.

    ``label`` names the validation (e.g. ``survey_answers-w2016``); with ``data_docs`` a folder,
    GX Data Docs HTML for this validation are written there (``report.data_docs`` is the page).
    """
    report = _validate(table_name, df, study, data_docs=data_docs, label=label)
    if len(df) >= RELEASE_MEMORY_ROWS:
        # the suite's objects hold the frame and its copies in reference cycles: a national
        # survey wave's step kept ~500 MB after validating (1.1 GB -> 0.6 GB after this, in
        # ~0.3 s), and the step after it started from there
        release_memory()
    return report


def _validate(table_name: str, df: pd.DataFrame, study, *, data_docs: Path | None,
              label: str | None) -> ValidationReport:
    contract = load_contract(table_name)
    frame = _derived(df, contract, study)
    name = (label or table_name).replace("/", "-")
    expectations = _expectations(contract, study, set(frame.columns))
    report = ValidationReport(table=table_name, n_rows=len(df))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result, page = _run_suite(name, frame, expectations, data_docs)
        report.data_docs = page
        _collect(report, result, frame, study)
        # per-group counts judge the rows that would be kept (rejected rows don't count)
        need = [c for c in dict.fromkeys(
            c for r in contract.table_rules if r.count_distinct and r.per
            for c in (*r.per, r.count_distinct)) if c in frame.columns]
        kept = frame.loc[~frame.index.isin(list(report.failed_rows)), need]
        for rule in contract.table_rules:
            counts = _group_counts(kept, rule, study)
            if counts is None:
                continue
            import great_expectations.expectations as gxe

            minimum = _resolve(study, rule.min)
            exp = gxe.ExpectColumnValuesToBeBetween(column="count", min_value=minimum)
            meta = {"rule": rule.name, "row_level": False, "column": rule.count_distinct,
                    "description": f"{rule.description} (min {minimum})"}
            res, _ = _run_suite(f"{name}-{rule.name}", counts, [(exp, meta)], None)
            for r in res.results:
                if not r.success:
                    idx = r.result.get("unexpected_index_list") or []
                    bad = counts.loc[idx]
                    report.failures.append(Failure(
                        rule=rule.name, expectation=r.expectation_config.type,
                        column=rule.count_distinct, count=len(bad),
                        examples=[f"{g}: {c}" for g, c in zip(bad["group"], bad["count"],
                                                              strict=True)][:MAX_EXAMPLES],
                        row_level=False, description=meta["description"],
                        expected=f"at least {minimum} per {' × '.join(rule.per)}"))
    return report


def _missing_items_hint(missing: list, frame: pd.DataFrame, column: str, study) -> str:
    """Where study.yaml declares each missing item, and the closest undeclared item the table
    has instead (a renamed column): "ofte_barnevern (study.yaml
    survey.collaboration.frequency.items; did you mean 'ofte_barnvern'?)"."""
    if study is None or column != "item":
        return ""
    keys = item_keys(study)
    declared = set(map(str, study_values(study, "survey_items") or []))
    undeclared = sorted(set(frame[column].dropna().astype(str)) - declared)
    parts = []
    for m in map(str, missing):
        near = difflib.get_close_matches(m, undeclared, n=1, cutoff=0.6)
        where = f"study.yaml {keys[m]}" if m in keys else "study.yaml"
        parts.append(f"{m} ({where}" + (f"; did you mean {near[0]!r}?)" if near else ")"))
    return ("not in the file: " + ", ".join(parts) + ". Rename the column in the file, or "
            "the item in study.yaml")


def _collect(report: ValidationReport, result, frame: pd.DataFrame | None = None,
             study=None) -> None:
    for r in result.results:
        if r.success:
            continue
        meta = r.expectation_config.meta or {}
        res = r.result or {}
        err = (r.exception_info or {}).get("exception_message")
        idx = res.get("unexpected_index_list") or []
        if meta.get("row_level") and idx:
            for i in idx:
                report.failed_rows.setdefault(i, []).append(meta["rule"])
        count = res.get("unexpected_count")
        if count is None:
            count = len(idx) if idx else 1
        examples = res.get("partial_unexpected_list") or []
        source = meta.get("examples_from")
        if source and idx and frame is not None and source in frame.columns:
            # a rule checked on a derived column: show the table's own values
            examples = frame.loc[list(idx[:MAX_EXAMPLES]), source].tolist()
        if not examples and "observed_value" in res:
            examples = [res["observed_value"]]
        if err and not examples:
            examples = [err.splitlines()[0][:200]]
        example_rows: tuple = ()
        files: tuple = ()
        hint = ""
        column = meta.get("column")
        shown = source or column
        if r.expectation_config.type == "expect_column_distinct_values_to_contain_set" \
                and frame is not None and column in frame.columns:
            # name what is missing (a renamed survey item: the item study.yaml expects)
            wanted = r.expectation_config.kwargs.get("value_set") or []
            have = set(frame[column].dropna().astype(str).unique())
            missing = [v for v in wanted if str(v) not in have]
            if missing:
                examples = ["missing: " + ", ".join(map(str, missing))]
                count = len(missing)
                hint = _missing_items_hint(missing, frame, column, study)
        elif idx and frame is not None and shown in frame.columns:
            seen: set[str] = set()
            for i in idx:
                v = _plain(frame.at[i, shown])
                if repr(v) not in seen:
                    seen.add(repr(v))
                    example_rows += ((_plain(i), v),)
                if len(seen) >= TABLE_EXAMPLES:
                    break
            if "file" in frame.columns:
                files = tuple(dict.fromkeys(str(frame.at[i, "file"]) for i, _ in example_rows))
        if meta.get("personal"):
            examples = []  # an ID column: count only, never the values
            example_rows = ()
        report.failures.append(Failure(
            rule=meta.get("rule", r.expectation_config.type),
            expectation=r.expectation_config.type,
            column=column,
            count=int(count),
            examples=[_plain(e) for e in examples[:MAX_EXAMPLES]],
            row_level=bool(meta.get("row_level")) and bool(idx),
            description=meta.get("description", ""),
            expected=meta.get("expected", ""),
            example_rows=example_rows,
            files=files,
            hint=hint,
        ))


def _plain(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return v
