"""`evaluation-pipeline run` on broken input: a clear error naming file, row and column, and a
blocking check that stops what depends on the failing table (the report is built without it);
progress per step on a terminal and off it."""

import io
import os
import shutil
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from conftest import EXAMPLE

from assets.cli import main
from assets.profile_workers import run_partitions
from evaluation_pipeline.study import Study


@pytest.fixture
def broken_study(tmp_path, monkeypatch):
    study = tmp_path / "sunnmore"
    shutil.copytree(EXAMPLE, study, ignore=shutil.ignore_patterns("output", ".pseudonym_key"))
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return study


def _edit_csv(path, row: int, column: str, value: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(";")
    cells = lines[row].rstrip("\r\n").split(";")
    cells[header.index(column)] = value
    lines[row] = ";".join(cells) + "\n"
    path.write_text("".join(lines), encoding="utf-8")


def _waves_in_warehouse(study) -> set[str]:
    con = duckdb.connect(str(study / "output" / "warehouse.duckdb"), read_only=True)
    try:
        return {w for (w,) in con.execute(
            "select distinct wave from evaluation.survey_answers").fetchall()}
    finally:
        con.close()


def _report_without_survey(study: Path, out: str, named: str) -> None:
    """A failed wave stops only the survey: the registry and interview parts and the report
    are built, and the report's survey section says why (issue 22: failures stay local)."""
    import re

    assert "report built without survey" in out and "done: " not in out
    html = (study / "output" / "report" / "rapport.html").read_text(encoding="utf-8")
    survey = re.sub(r"<[^>]+>", " ", html[html.index("<h2 id='survey'"):
                                           html.index("<h2 id='registry'")])
    assert "ikke besto valideringen" in survey and named in survey
    assert "<h2 id='interviews'" in html
    assert not (study / "output" / "tables" / "survey_scale_means.csv").exists()
    assert (study / "output" / "tables" / "registry_group_rates.csv").exists()


def test_unreadable_value_names_file_row_and_column(broken_study, capsys):
    csv = broken_study / "landing" / "surveys" / "staff_w2016.csv"
    _edit_csv(csv, 212, "sam3", "sju")
    before = csv.read_bytes()
    assert main(["run", "--study", str(broken_study)]) == 1
    out, err = capsys.readouterr()
    assert "wave w2016 FAILED" in err
    assert "staff_w2016.csv" in err and "row 212" in err and "sam3" in err and "sju" in err
    assert csv.read_bytes() == before  # the landing file is never modified
    _report_without_survey(broken_study, out, "staff_w2016.csv row 212")
    # no partial table: the failed wave left nothing in the warehouse
    waves = _waves_in_warehouse(broken_study)
    assert waves == {"w2012"}


def test_out_of_range_answer_fails_the_blocking_check(broken_study, capsys):
    csv = broken_study / "landing" / "surveys" / "staff_w2016.csv"
    _edit_csv(csv, 40, "ff2", "7")
    assert main(["run", "--study", str(broken_study)]) == 1
    out, err = capsys.readouterr()
    assert "check contract on survey_answers_valid failed" in err
    # a short table (issue 22), not a dict of the check's metadata
    assert "staff_w2016.csv): 1 contract rule(s) failed; 1 of " in err
    (row,) = [ln for ln in err.splitlines() if "answer_in_scale_range[felles_forstaelse]" in ln]
    assert row.split()[:4] == ["staff_w2016.csv", "value",
                               "answer_in_scale_range[felles_forstaelse]", "1"]
    assert "7.0 (row " in row and "an answer from 1 to 5 (scale felles_forstaelse)" in row
    assert "'rows_rejected'" not in err and "Stack Trace" not in err
    _report_without_survey(broken_study, out, "answer_in_scale_range[felles_forstaelse]")


def test_bad_study_file_is_a_clear_error(tmp_path, monkeypatch, capsys):
    study = tmp_path / "s"
    shutil.copytree(EXAMPLE, study, ignore=shutil.ignore_patterns("output", ".pseudonym_key"))
    text = (study / "study.yaml").read_text(encoding="utf-8")
    (study / "study.yaml").write_text(text.replace('"1505"', '"1599"'), encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert main(["run", "--study", str(study)]) == 2
    err = capsys.readouterr().err
    assert "StudyConfigError" in err and "1599" in err and "study.yaml" in err


def _wave_run_steps(wave: str) -> list[str]:
    """The steps that succeeded in the run of one wave, from the instance's event log."""
    instance = dg.DagsterInstance.get()
    (run,) = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": wave}))
    return [e.dagster_event.step_key for e in instance.all_logs(
        run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)]


def test_progress_off_a_terminal_is_one_line_per_finished_step(broken_study, capsys):
    _edit_csv(broken_study / "landing" / "surveys" / "staff_w2016.csv", 5, "sam1", "sju")
    assert main(["run", "--study", str(broken_study)]) == 1
    out = capsys.readouterr().out
    assert "\r" not in out
    lines = [ln for ln in out.splitlines() if ln.startswith("[evaluation-pipeline] wave w2012")]
    steps = _wave_run_steps("w2012")
    # survey_answers, validate, survey_wave_analysis, collaboration_wave_analysis
    assert len(steps) == 4
    assert len(lines) == len(steps)
    for i, (line, step) in enumerate(zip(lines, steps, strict=True), start=1):
        assert line == f"[evaluation-pipeline] wave w2012 {i}/{len(steps)} {step} done"
    assert "[evaluation-pipeline] wave w2016 0/4 survey_answers FAILED" in out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_rewrites_one_status_line(broken_study, monkeypatch):
    _edit_csv(broken_study / "landing" / "surveys" / "staff_w2016.csv", 5, "sam1", "sju")
    term = _Terminal()
    monkeypatch.setattr(sys, "stdout", term)
    assert main(["run", "--study", str(broken_study)]) == 1
    out = term.getvalue()
    w2012 = out.split("\n")[0]  # the whole wave on one line, redrawn with "\r"
    states = [s.rstrip() for s in w2012.split("\r") if s]
    steps = _wave_run_steps("w2012")
    assert states[0] == "[evaluation-pipeline] wave w2012 0/4  survey_answers"
    assert states[-1] == "[evaluation-pipeline] wave w2012 4/4  -"
    for step in steps:  # every asset shown while it runs, then counted
        assert any(s.endswith(f"  {step}") for s in states), step
    done = [int(s.split()[3].split("/")[0]) for s in states]
    assert done == sorted(done) and set(done) == set(range(len(steps) + 1))
    assert "wave w2016 0/4  survey_answers" in out.split("\n")[1]


def test_waves_in_parallel_workers_report_a_failing_wave(broken_study, monkeypatch, capfd):
    """With the waves in worker processes (EVALUATION_WAVE_RUNS), a broken wave still fails
    the run with the file, row and column named, and nothing downstream of the survey runs
    (the report is built without it); the other worker's waves are materialized."""
    csv = broken_study / "landing" / "surveys" / "staff_w2016.csv"
    _edit_csv(csv, 212, "sam3", "sju")
    monkeypatch.setenv("EVALUATION_WAVE_RUNS", "2")
    assert main(["run", "--study", str(broken_study)]) == 1
    out, err = capfd.readouterr()
    assert "3 waves in 2 parallel worker(s)" in out
    assert "wave w2016 FAILED" in err
    assert "staff_w2016.csv" in err and "row 212" in err and "sam3" in err and "sju" in err
    assert "worker(s) for wave(s)" in err and "w2016" in err.split("worker(s) for wave(s)")[1]
    _report_without_survey(broken_study, out, "a survey wave failed")
    waves = _waves_in_warehouse(broken_study)
    assert "w2016" not in waves and waves >= {"w2012"}


def test_wave_runs_setting(broken_study, monkeypatch):
    from assets.cli import PARALLEL_WAVE_BYTES, wave_runs
    from evaluation_pipeline.errors import PipelineError
    from evaluation_pipeline.study import Study

    study = Study.load(broken_study)
    waves = study.wave_ids
    monkeypatch.delenv("EVALUATION_WAVE_RUNS", raising=False)
    total = sum(study.wave_file(w).stat().st_size for w in waves)
    assert total < PARALLEL_WAVE_BYTES and wave_runs(study, waves) == 1  # small: in process
    monkeypatch.setattr("assets.cli.PARALLEL_WAVE_BYTES", total)
    assert wave_runs(study, waves) == min(os.cpu_count(), len(waves))
    monkeypatch.setenv("EVALUATION_WAVE_RUNS", "8")
    assert wave_runs(study, waves) == len(waves)  # never more workers than waves
    monkeypatch.setenv("EVALUATION_WAVE_RUNS", "zero")
    with pytest.raises(PipelineError, match="EVALUATION_WAVE_RUNS"):
        wave_runs(study, waves)


def test_profiles_run_beside_the_study_job_and_finish_when_it_fails(broken_study, capsys):
    """The registry panel's steps (and the registry reference series) run first in the study
    job and the profile runs start as soon as they are materialized, before the study job
    ends; a study job failing later (here: an unreadable interview export) still lets the
    started profiles finish, and the command exits non-zero naming the failure."""
    (broken_study / "landing" / "interviews" / "intervjuer_sunnmore.qdpx").write_bytes(
        b"not a zip archive")
    assert main(["run", "--study", str(broken_study)]) == 1
    out = capsys.readouterr()
    assert "coded_segments" in out.err and "study_job FAILED" in out.err
    instance = dg.DagsterInstance.get()
    (study_run,) = instance.get_runs(filters=dg.RunsFilter(job_name="study_job"))
    steps = [e.dagster_event.step_key for e in instance.all_logs(
        study_run.run_id, of_type=dg.DagsterEventType.STEP_START)]
    assert steps[:4] == ["registry_observations_raw", "validate_registry_observations",
                         "registry_observations", "registry_panel"]
    profile_runs = instance.get_runs(filters=dg.RunsFilter(job_name="kommune_profiles_job"))
    assert profile_runs and all(r.status == dg.DagsterRunStatus.SUCCESS for r in profile_runs)
    # started while the study job still had steps to run (printed in the order it happened)
    lines = out.out.splitlines()
    started = next(i for i, ln in enumerate(lines) if "profiles: 9 network kommuner" in ln)
    study_lines = [i for i, ln in enumerate(lines) if ln.startswith("[evaluation-pipeline] "
                                                                     "study job ")]
    assert study_lines[0] < started < study_lines[-1]
    # the profiles' inputs: the files' country and fylke rows (registry_reference, made in
    # the first step with the raw observations) and the registry panel, whose
    # materialization starts them
    assert "registry_observations_raw done" in out.out.split("profiles: 9 network")[0]
    assert "registry_panel done" in lines[started + 1]
    assert len(list((broken_study / "output" / "profiles").glob("*.html"))) == 9
    assert "profiles 9/9 done" in out.out and "done: " not in out.out
    # runs over several kommuner: each kommune's preview is in its own partition's
    # observation, and the materializations (Dagster repeats a run's metadata on every
    # partition) carry no kommune's preview or figure
    assert any(len(run_partitions(r, sorted(Study.load(broken_study).network))) > 1
               for r in profile_runs)
    key = dg.AssetKey("kommune_profile")
    mats = instance.fetch_materializations(key, limit=100).records
    assert len(mats) == 9
    for m in mats:
        meta = m.asset_materialization.metadata
        assert "preview" not in meta and "main_figure" not in meta
        assert meta["kommuner_in_run"].value > 1
    obs = {o.partition_key: o.asset_observation.metadata
           for o in instance.fetch_observations(key, limit=100).records}
    names = {k: Path(v["profile"].value).name for k, v in obs.items()}
    assert sorted(obs) == sorted(Study.load(broken_study).network)
    assert all(names[k].startswith(f"{k}-") for k in obs)
    for k, meta in obs.items():
        title = meta["preview"].value.splitlines()[0]
        assert f"({k})" in title and "main_figure" not in meta


def test_worker_processes_get_one_blas_thread_unless_set():
    """Workers running beside each other get one BLAS/OpenMP thread each; a user's own setting
    is kept."""
    from assets.workers import BLAS_THREAD_VARS, one_blas_thread

    env = one_blas_thread({"OMP_NUM_THREADS": "4", "PATH": "/bin"})
    assert env["OMP_NUM_THREADS"] == "4" and env["PATH"] == "/bin"
    assert all(env[v] == "1" for v in BLAS_THREAD_VARS if v != "OMP_NUM_THREADS")


def _rename_item(study: Path, old: str, new: str) -> None:
    csv = study / "landing" / "surveys" / "staff_w2016.csv"
    lines = csv.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(";")
    header[header.index(old)] = new
    lines[0] = ";".join(header) + "\n"
    csv.write_text("".join(lines), encoding="utf-8")


def _cli(study: Path, *extra: str):
    import subprocess

    from conftest import ROOT

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(
        [sys.executable, "-m", "assets.cli", "run", "--study", str(study / "study.yaml"),
         "--no-profiles", *extra], capture_output=True, text=True, env=env, cwd=ROOT,
        timeout=900)


def test_renamed_item_is_a_short_table_naming_the_file_and_the_expected_item(broken_study):
    """A wave whose column sam3 was renamed sam_3: the command prints the contract failures as
    a table naming the wave's file and the expected item sam3, with no great-expectations dict
    and no Dagster traceback; ``--debug`` adds the traceback."""
    _rename_item(broken_study, "sam3", "sam_3")
    res = _cli(broken_study)
    assert res.returncode == 1
    err = res.stderr
    assert "wave w2016 FAILED" in err
    assert "check contract on survey_answers_valid failed:" in err
    assert f"survey_answers ({broken_study / 'landing' / 'surveys' / 'staff_w2016.csv'}): " \
        "2 contract rule(s) failed" in err
    lines = err.splitlines()
    (present,) = [ln for ln in lines if "scale_items_present" in ln]
    assert present.split()[:6] == ["staff_w2016.csv", "item", "scale_items_present", "1",
                                   "missing:", "sam3"]
    (allowed,) = [ln for ln in lines if "item.allowed" in ln]
    assert "'sam_3' (row " in allowed
    assert "hint: item 'sam_3' is not declared in study.yaml and sam3 is missing" in err
    assert "Stack Trace" not in err and "Traceback" not in err
    assert "{'rows'" not in err and "DagsterAssetCheckFailedError" not in err
    debug = _cli(broken_study, "--debug")
    assert debug.returncode == 1
    assert "missing: sam3" in debug.stderr
    assert "Stack Trace" in debug.stderr and "DagsterAssetCheckFailedError" in debug.stderr
