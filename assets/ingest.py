"""Ingest: landing files -> tidy tables, IDs pseudonymised. Each table is checked against its
data contract once, by a blocking check: the ingested tables with row rules by their validate
step (:mod:`assets.validate`), the reference table ``kommune_codes`` here."""

import hashlib
from pathlib import Path

import dagster as dg
import pandas as pd

from evaluation_pipeline.geography import code_history
from evaluation_pipeline.ingest import read_interview_codes, read_survey
from evaluation_pipeline.ingest.interviews import (
    assign_documents,
    unassigned_documents,
    unassigned_message,
)
from evaluation_pipeline.observations import read_indicators, registry_revisions
from evaluation_pipeline.privacy import (
    drop_free_text,
    personal_data_items,
    pseudonym_key,
    pseudonymise,
)

from .partitions import survey_waves
from .resources import PROFILE_INPUTS_FIRST, StudyResource, connect_warehouse, warehouse_path
from .validate import contract_check, contract_spec

NO_PERSONAL_DATA = "no_personal_data"
DOCUMENTS_ASSIGNED = "documents_assigned"
#: metadata key of a survey wave's landing file content hash (the new-wave sensor compares it)
FILE_SHA256 = "file_sha256"
#: how many changed registry cells are listed in the materialization metadata
REVISED_CELLS_SHOWN = 10


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's content (read in blocks; the file is not modified)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def previous_table(study, table: str) -> pd.DataFrame | None:
    """The version of an unpartitioned asset's table stored in the study's warehouse by the
    previous materialization, or None when there is none yet. Waits while another step of the
    run holds the warehouse's lock (:func:`connect_warehouse`)."""
    path = warehouse_path(study)
    if not path.exists():
        return None
    con = connect_warehouse(path)
    try:
        found = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'evaluation' "
            "and table_name = ?", [table]
        ).fetchone()[0]
        return con.execute(f"select * from evaluation.{table}").df() if found else None
    finally:
        con.close()


def revision_metadata(previous: pd.DataFrame | None, current: pd.DataFrame) -> dict:
    """Metadata naming the registry cells a revised source table changed (counts per
    indicator × year and the first changed cells; aggregates only)."""
    if previous is None:
        return {"revision_check": "first materialization: nothing to compare with"}
    rev = registry_revisions(previous, current)
    meta = {
        "revised_cells": len(rev.changed),
        "new_observations": rev.added,
        "withdrawn_observations": rev.removed,
    }
    if len(rev.changed):
        counts = rev.by_indicator_year
        meta["revised_cells_by_indicator_year"] = dg.MetadataValue.md(
            counts.to_markdown(index=False)
        )
        first = rev.changed.head(REVISED_CELLS_SHOWN)
        meta["first_revised_cells"] = dg.MetadataValue.md(first.to_markdown(index=False))
        meta["revised_indicators"] = dg.MetadataValue.json(
            sorted(map(str, rev.changed["indicator"].unique()))
        )
    return meta


@dg.asset(
    group_name="ingest",
    partitions_def=survey_waves,
    metadata={"partition_expr": "wave"},
    kinds={"pandas", "duckdb"},
    check_specs=[
        dg.AssetCheckSpec(NO_PERSONAL_DATA, asset="survey_answers", blocking=True,
                          description="No item looks like names, e-mail addresses, phone "
                          "numbers or national identity numbers."),
    ],
    description="Survey answers of one wave, long (respondent × item), read from the wave's "
    "landing file (CSV, XLSX, SPSS); respondent IDs pseudonymised, free-text items dropped "
    "unless the study lists them.",
)
def survey_answers(context: dg.AssetExecutionContext, study: StudyResource):
    s = study.load()
    wave = context.partition_key
    path = s.wave_file(wave)
    key = pseudonym_key(s)
    df, dropped = drop_free_text(read_survey(path, wave=wave), s.survey.free_text)
    df["respondent_id"] = pseudonymise(df["respondent_id"], key, prefix="R")
    yield dg.Output(
        df,
        metadata={
            "file": dg.MetadataValue.path(str(path)),
            FILE_SHA256: file_sha256(path),
            "rows": len(df),
            "respondents": int(df["respondent_id"].nunique()),
            "items": int(df["item"].nunique()),
            "kommuner": int(df["kommune"].nunique()),
            "missing_answers": int(df["value"].isna().sum()),
            "free_text_items_dropped": dg.MetadataValue.json(dropped),
        },
    )
    found = personal_data_items(df)
    yield dg.AssetCheckResult(
        check_name=NO_PERSONAL_DATA,
        passed=not found,
        metadata={"items": dg.MetadataValue.json(found)},
        description="; ".join(f"{k}: {v}" for k, v in found.items()) or "none found",
    )


def _example_assignment(s) -> dict[str, str]:
    """The study's own first network kommune, role and interview round, for the study.yaml
    example line of the documents_assigned message."""
    out = {"kommune": next(iter(s.network))}
    if s.survey and s.survey.roles:
        out["role"] = s.survey.roles[0]
    if s.interviews and s.interviews.rounds:
        out["round"] = s.interviews.rounds[0].id
    return out


@dg.asset(
    group_name="ingest",
    kinds={"pandas", "duckdb"},
    check_specs=[
        dg.AssetCheckSpec(DOCUMENTS_ASSIGNED, asset="coded_segments", blocking=True,
                          description="Every coded document has a kommune, role and round, "
                          "from the export's case attributes or study.yaml's "
                          "interviews.documents."),
    ],
    description="Coded interview segments from the study's QDA exports (REFI-QDA .qdpx or "
    "coded-segment CSV/XLSX); positions and lengths only, never the interview text; "
    "interview (source) names pseudonymised; kommune, role and round from the export's case "
    "attributes or study.yaml's interviews.documents.",
)
def coded_segments(context: dg.AssetExecutionContext, study: StudyResource):
    s = study.load()
    frames, problems, n_unassigned = [], [], 0
    for f in s.interviews.files if s.interviews else []:
        seg = assign_documents(read_interview_codes(s.path(f)), s.interviews.documents)
        lacking = unassigned_documents(seg)
        if len(lacking):  # document names go into the check's text, never into metadata
            problems.append(unassigned_message(s.path(f), lacking, **_example_assignment(s)))
            n_unassigned += len(lacking)
        frames.append(seg)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["project", "source", "source_guid", "segment_id", "coder", "code"]
    )
    key = pseudonym_key(s)
    df["source"] = pseudonymise(df["source"], key, prefix="I")
    df["source_guid"] = pseudonymise(df["source_guid"], key, prefix="G")
    yield dg.Output(
        df,
        metadata={
            "files": len(frames),
            "segments": len(df),
            "interviews": int(df["source"].nunique()),
            "codes_used": int(df["code"].nunique()),
            "coders": int(df["coder"].nunique()),
        },
    )
    yield dg.AssetCheckResult(
        check_name=DOCUMENTS_ASSIGNED,
        passed=not problems,
        metadata={"documents_unassigned": n_unassigned},
        description="\n".join(problems) or "every document has a kommune, role and round",
    )


#: metadata key of ``registry_observations_raw``: indicator -> why its file could not be read
#: (short; the whole message is in ``registry_read_failures`` and the Effect rows' notes)
UNREADABLE_META = "unreadable_indicators"
#: how many characters of a reader's message the metadata keeps per indicator
SHORT_REASON = 200


def short_reason(message: str) -> str:
    text = " ".join(str(message).split())
    return text[:SHORT_REASON] + ("…" if len(text) > SHORT_REASON else "")


@dg.multi_asset(
    name="registry_observations_raw",
    group_name="ingest",
    can_subset=True,
    outs={
        "registry_observations_raw": dg.AssetOut(
            kinds={"pandas", "duckdb"}, is_required=False,
            description="Registry observations as published (kommune codes valid in each "
            "year): numerator, denominator and status per kommune × year × study indicator. "
            "An indicator whose file cannot be read is left out (registry_read_failures says "
            "why; the metadata lists it). When a source table was revised since the previous "
            "materialization, the metadata names the changed cells (counts per indicator × "
            "year and the first changed cells)."),
        "registry_read_failures": dg.AssetOut(
            kinds={"pandas", "duckdb"}, is_required=False,
            description="The registry indicators whose file could not be read (indicator, "
            "file, reason: the reader's message naming the file, row/column and what to do); "
            "they get 'insufficient data' Effect rows with that reason, the others are "
            "estimated."),
        "registry_reference": dg.AssetOut(
            kinds={"pandas", "duckdb"}, is_required=False,
            description="Reference series of the registry files: their country ('Hele "
            "landet') and fylke rows (level, area, period, year, indicator, value), kept apart "
            "from the kommune observations and stored per the indicator's `per` like them "
            "(none for an indicator whose file cannot be read)."),
    },
    op_tags=PROFILE_INPUTS_FIRST,
    description="Read every registry indicator's file once (names -> codes, borders, filters, "
    "periods, scale): the kommune observations, the country and fylke reference series, and "
    "the indicators that cannot be read, with their reason.",
)
def registry_observations_raw(context: dg.AssetExecutionContext, study: StudyResource):
    s = study.load()
    read = read_indicators(s)  # raises only when no indicator can be read
    df = read.observations
    for ind, msg in read.failures.items():
        context.log.info(f"registry indicator {ind} could not be read: {msg}")
    selected = context.selected_output_names
    if "registry_observations_raw" in selected:
        yield dg.Output(
            df,
            output_name="registry_observations_raw",
            metadata={
                "rows": len(df),
                "indicators": int(df["indicator"].nunique()),
                "kommune_codes": int(df["kommune"].nunique()),
                "years": f"{df['year'].min()}–{df['year'].max()}",
                "cells_with_status": int(df["status"].notna().sum()),
                "as_published": dg.MetadataValue.json(read.notes),
                UNREADABLE_META: dg.MetadataValue.json(
                    {k: short_reason(v) for k, v in read.failures.items()}),
                **revision_metadata(previous_table(s, "registry_observations_raw"), df),
            },
        )
    if "registry_read_failures" in selected:
        failures = read.failures_frame
        yield dg.Output(failures, output_name="registry_read_failures", metadata={
            "indicators": len(failures),
            UNREADABLE_META: dg.MetadataValue.json(
                {k: short_reason(v) for k, v in read.failures.items()})})
    if "registry_reference" in selected:
        ref = read.reference
        yield dg.Output(ref, output_name="registry_reference", metadata={
            "rows": len(ref),
            "areas": dg.MetadataValue.json(sorted(map(str, set(ref["area"].dropna()))))})


@dg.asset(
    group_name="ingest",
    kinds={"pandas", "duckdb"},
    check_specs=[contract_spec("kommune_codes", "kommune_codes")],
    description="Reference table: every kommune code 1994–2024 with its name, 2024 kommune and "
    "years of validity (SSB's code history, packaged with the library).",
)
def kommune_codes(study: StudyResource):
    s = study.load()
    df = code_history()
    yield dg.Output(df, metadata={"codes": len(df), "kommuner_2024": int(df["target"].nunique())})
    yield contract_check("kommune_codes", df, s, label="kommune_codes")
