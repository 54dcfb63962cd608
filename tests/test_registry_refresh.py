"""Registry refresh: the cells a revised SSB table changed (a pure diff, checked on frames
built by hand), named in the ingest asset's metadata by the scheduled run, and the panel
downstream updated by the automation."""

import os
import shutil

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLE

from evaluation_pipeline.observations import OBSERVATION_COLUMNS, registry_revisions


def _obs(rows):
    return pd.DataFrame(rows, columns=OBSERVATION_COLUMNS)


OLD = _obs([
    ("1531", "2015", 2015, "neet", 99.0, 1641.0, 6.033, pd.NA),
    ("1531", "2016", 2016, "neet", 96.0, 1655.0, 5.801, pd.NA),
    ("1532", "2015", 2015, "neet", np.nan, np.nan, np.nan, ":"),
    ("1532", "2016", 2016, "neet", 40.0, 500.0, 8.0, pd.NA),
    ("1531", "2015", 2015, "compl", 30.0, 40.0, 75.0, pd.NA),
])


def test_revisions_name_exactly_the_changed_cells():
    new = OLD.copy()
    new.loc[0, ["numerator", "value"]] = [150.0, 9.141]      # revised count, rate with it
    new.loc[2, ["numerator", "denominator", "status"]] = [12.0, 480.0, pd.NA]  # now published
    new = pd.concat([new, _obs([("1531", "2017", 2017, "neet", 109.0, 1648.0, 6.6, pd.NA)])],
                    ignore_index=True)  # a new year: not a revision
    new = new.drop(index=4)             # a withdrawn cell
    new = new.sample(frac=1, random_state=1)  # row order does not matter

    rev = registry_revisions(OLD, new)
    got = {(r.indicator, r.kommune, r.period, r.column): (r.old, r.new)
           for r in rev.changed.itertuples()}
    assert set(got) == {
        ("neet", "1531", "2015", "numerator"), ("neet", "1531", "2015", "value"),
        ("neet", "1532", "2015", "numerator"), ("neet", "1532", "2015", "denominator"),
        ("neet", "1532", "2015", "status"),
    }
    assert got[("neet", "1531", "2015", "numerator")] == (99.0, 150.0)
    assert got[("neet", "1532", "2015", "status")][0] == ":"
    assert pd.isna(got[("neet", "1532", "2015", "status")][1])
    assert pd.isna(got[("neet", "1532", "2015", "numerator")][0])
    assert (rev.added, rev.removed) == (1, 1)
    counts = rev.by_indicator_year
    assert counts.to_dict("records") == [{"indicator": "neet", "year": 2015, "cells": 5}]


def test_identical_tables_and_float_noise_are_no_revision():
    new = OLD.copy()
    new["value"] = new["value"] + 1e-12
    new["kommune"] = new["kommune"].astype(object)
    rev = registry_revisions(OLD, new)
    assert rev.changed.empty and (rev.added, rev.removed) == (0, 0)
    assert rev.by_indicator_year.empty


def test_duplicate_keys_are_a_clear_error():
    with pytest.raises(ValueError, match="two rows for indicator neet kommune 1531 period 2015"):
        registry_revisions(pd.concat([OLD, OLD.iloc[[0]]]), OLD)


def _set_neet_cell(path, kommune: str, row_label: str, year: int, value: str) -> str:
    """Replace one cell of the PxWeb CSV export (latin-1, ';'); return the old value."""
    lines = path.read_text(encoding="latin-1").splitlines(keepends=True)
    header = [c.strip('"') for c in lines[2].rstrip("\r\n").split(";")]
    col = header.index(str(year))
    for i, line in enumerate(lines):
        cells = line.rstrip("\r\n").split(";")
        if cells[0].startswith(f'"K-{kommune} ') and cells[1] == f'"{row_label}"':
            old, cells[col] = cells[col], value
            lines[i] = ";".join(cells) + "\n"
            path.write_text("".join(lines), encoding="latin-1")
            return old
    raise AssertionError(f"no row {kommune} {row_label}")


@pytest.fixture
def materialized(tmp_path, monkeypatch):
    from assets.cli import main

    study_dir = tmp_path / "sunnmore"
    shutil.copytree(EXAMPLE, study_dir, ignore=shutil.ignore_patterns("output", ".pseudonym_key"))
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.delenv("EVALUATION_STUDY", raising=False)
    assert main(["run", "--study", str(study_dir / "study.yaml")]) == 0
    yield study_dir
    os.environ.pop("EVALUATION_STUDY", None)


def test_refresh_names_revised_cells_and_updates_the_panel(materialized):
    from run_requests import automation_run_requests, execute_run_requests

    from assets.definitions import REGISTRY_JOB, build_definitions
    from assets.progress import QUIET
    from assets.sensors import REGISTRY_SCHEDULE

    study_dir = materialized
    instance = dg.DagsterInstance.get()
    defs = build_definitions(str(study_dir / "study.yaml"))
    schedule = defs.resolve_schedule_def(REGISTRY_SCHEDULE)
    assert schedule.cron_schedule == "0 6 1 * *"  # monthly by default
    assert schedule.job_name == REGISTRY_JOB
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance).cursor
    panel_before = defs.load_asset_value("registry_panel", instance=instance)
    report_runs_before = len(instance.fetch_materializations(
        dg.AssetKey("study_report"), limit=100).records)

    # SSB revises Sula's (1531) NEET count for 2015: 99 -> 150
    csv = study_dir / "landing" / "registry" / "ssb_13563_neet.csv"
    label = "Personer utenfor arbeid, utdanning og opplæring"
    assert _set_neet_cell(csv, "1531", label, 2015, "150") == "99"

    run = defs.resolve_job_def(schedule.job_name).execute_in_process(
        instance=instance, run_config=QUIET, raise_on_error=False)
    assert run.success
    meta = instance.fetch_materializations(
        dg.AssetKey("registry_observations_raw"), limit=1).records[0].asset_materialization.metadata
    assert meta["revised_cells"].value == 1
    assert meta["new_observations"].value == 0 and meta["withdrawn_observations"].value == 0
    first = meta["first_revised_cells"].value
    assert "neet_15_29" in first and "1531" in first and "2015" in first
    assert "numerator" in first and "99" in first and "150" in first
    assert "| neet_15_29  |   2015 |       1 |" in meta["revised_cells_by_indicator_year"].value

    res = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
    requested = {k.to_user_string() for r in automation_run_requests(res)
                 for k in r.asset_selection}
    assert {"registry_observations", "registry_panel", "registry_effects", "effects",
            "study_report"} <= requested
    assert not requested & {"survey_effects", "theme_frequencies", "coded_segments_valid"}
    runs = execute_run_requests(defs, instance, automation_run_requests(res), run_config=QUIET)
    assert [r.success for r in runs] == [True] * len(runs)

    panel = defs.load_asset_value("registry_panel", instance=instance)

    def cell(df):
        row = df[(df.indicator == "neet_15_29") & (df.kommune == "1531") & (df.year == 2015)]
        assert len(row) == 1
        return row.iloc[0]

    old, new = cell(panel_before), cell(panel)
    assert (old.numerator, new.numerator) == (99, 150)
    assert new.denominator == old.denominator == 1641
    assert new.value == pytest.approx(150 / 1641 * 100)  # rate recomputed, by hand
    others = panel.drop(columns="value").merge(
        panel_before.drop(columns="value"), how="outer", indicator=True)
    assert (others["_merge"] != "both").sum() == 2  # only the revised row differs
    assert len(instance.fetch_materializations(
        dg.AssetKey("study_report"), limit=100).records) == report_runs_before + 1
