"""Blocking contract checks in the Dagster graph: a broken wave stops its own downstream
assets while the other waves materialize; tolerated rejected rows are kept aside with the
reason; landing files are byte-identical after a failing run."""

import hashlib
import shutil

import dagster as dg
import duckdb
import pytest
from conftest import EXAMPLE
from test_cli import _edit_csv

from assets.definitions import WAVE_JOB, build_definitions


def _hashes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def study_dir(tmp_path):
    d = tmp_path / "sunnmore"
    shutil.copytree(EXAMPLE, d, ignore=shutil.ignore_patterns("output", ".pseudonym_key"))
    return d


def _run_waves(study_dir):
    defs = build_definitions(str(study_dir / "study.yaml"))
    job = defs.resolve_job_def(WAVE_JOB)
    results = {}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("survey_wave", ["w2012", "w2016", "w2019"])
        for wave in ("w2012", "w2016", "w2019"):
            results[wave] = job.execute_in_process(instance=instance, partition_key=wave,
                                                   raise_on_error=False)
        done = {
            key: instance.get_materialized_partitions(dg.AssetKey(key))
            for key in ("survey_answers", "survey_answers_valid", "survey_answers_rejected",
                        "scale_scores")
        }
    return results, done


def test_broken_wave_stops_only_its_own_downstream(study_dir):
    landing = study_dir / "landing"
    _edit_csv(landing / "surveys" / "staff_w2016.csv", 40, "ff2", "7")
    before = _hashes(landing)
    results, done = _run_waves(study_dir)
    assert results["w2012"].success and results["w2019"].success
    assert not results["w2016"].success
    checks = [e.asset_check_evaluation_data for e in results["w2016"].all_events
              if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]
    contract = next(c for c in checks if c.check_name == "contract")
    assert not contract.passed
    assert contract.metadata["rows_rejected"].value == 1
    assert "answer_in_scale_range[felles_forstaelse]" in contract.metadata["failed_rules"].value
    assert contract.metadata["data_docs"].value.endswith(".html")
    # the ingested wave is stored (so the UI shows it); its validate step, whose contract
    # check failed, wrote no valid/rejected table, and nothing downstream of it ran
    assert done["survey_answers"] == {"w2012", "w2016", "w2019"}
    assert done["survey_answers_valid"] == {"w2012", "w2019"}
    assert done["survey_answers_rejected"] == {"w2012", "w2019"}
    assert done["scale_scores"] == {"w2012", "w2019"}
    assert _hashes(landing) == before


def test_tolerated_rejected_rows_are_kept_with_reason(study_dir):
    text = (study_dir / "study.yaml").read_text(encoding="utf-8")
    (study_dir / "study.yaml").write_text(
        text.replace("max_rejected_rows: 0", "max_rejected_rows: 1"), encoding="utf-8")
    _edit_csv(study_dir / "landing" / "surveys" / "staff_w2016.csv", 40, "ff2", "7")
    results, done = _run_waves(study_dir)
    assert all(r.success for r in results.values())
    assert done["scale_scores"] == {"w2012", "w2016", "w2019"}
    con = duckdb.connect(str(study_dir / "output" / "warehouse.duckdb"), read_only=True)
    try:
        rejected = con.execute(
            "select * from evaluation.survey_answers_rejected where wave = 'w2016'").df()
        valid = con.execute(
            "select count(*) from evaluation.survey_answers_valid where wave = 'w2016'"
        ).fetchone()[0]
        ingested = con.execute(
            "select count(*) from evaluation.survey_answers where wave = 'w2016'").fetchone()[0]
    finally:
        con.close()
    assert len(rejected) == 1
    assert rejected.loc[0, "item"] == "ff2" and rejected.loc[0, "value"] == 7
    assert rejected.loc[0, "reason"] == "answer_in_scale_range[felles_forstaelse]"
    assert valid == ingested - 1
