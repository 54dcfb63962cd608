"""A new survey wave dropped into a copy of the example study: the sensor adds the partition
and runs it, the automation re-runs exactly the assets that depend on all waves, and the same
file dropped again starts nothing. A file of an undeclared wave starts nothing and says why."""

import os
import shutil

import dagster as dg
import pytest
from conftest import EXAMPLE
from run_requests import automation_run_requests, execute_run_requests

from assets.definitions import WAVE_JOB, build_definitions
from assets.partitions import survey_waves
from assets.sensors import WAVE_SENSOR


@pytest.fixture(scope="module")
def materialized(tmp_path_factory):
    """The example study copied and materialized once through the CLI, with the automation
    evaluated once afterwards (nothing to do) to give the cursor of a running daemon."""
    from assets.cli import main
    from assets.progress import QUIET

    tmp = tmp_path_factory.mktemp("sensor")
    study_dir = tmp / "sunnmore"
    shutil.copytree(EXAMPLE, study_dir, ignore=shutil.ignore_patterns("output", ".pseudonym_key"))
    home = tmp / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    old = {k: os.environ.get(k) for k in ("DAGSTER_HOME", "EVALUATION_STUDY")}
    os.environ["DAGSTER_HOME"] = str(home)
    assert main(["run", "--study", str(study_dir / "study.yaml")]) == 0
    instance = dg.DagsterInstance.get()
    defs = build_definitions(str(study_dir / "study.yaml"))
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    state = {"study_dir": study_dir, "instance": instance, "cursor": first.cursor,
             "first_requests": first.total_requested, "quiet": QUIET}
    yield state
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _defs(state):
    return build_definitions(str(state["study_dir"] / "study.yaml"))


def _tick(state, defs):
    """One evaluation of the new-wave sensor, its partitions added as the daemon does."""
    sensor = defs.resolve_sensor_def(WAVE_SENSOR)
    instance = state["instance"]
    data = sensor.evaluate_tick(dg.build_sensor_context(
        instance=instance, instance_ref=instance.get_ref(), definitions=defs))
    for req in data.dynamic_partitions_requests or []:
        state["instance"].add_dynamic_partitions(req.partitions_def_name, list(req.partition_keys))
    return data


def _automate(state, defs):
    """One evaluation of the automation conditions (cursor of the previous one), its runs
    executed."""
    res = dg.evaluate_automation_conditions(defs=defs, instance=state["instance"],
                                            cursor=state["cursor"])
    state["cursor"] = res.cursor
    runs = execute_run_requests(defs, state["instance"], automation_run_requests(res),
                                run_config=state["quiet"])
    assert all(r.success for r in runs)
    return res


def _materializations(instance, defs) -> dict[tuple[str, str | None], int]:
    """Number of materialization events per (asset, partition)."""
    out: dict[tuple[str, str | None], int] = {}
    for key in defs.resolve_asset_graph().get_all_asset_keys():
        for rec in instance.fetch_materializations(key, limit=10_000).records:
            k = (key.to_user_string(), rec.partition_key)
            out[k] = out.get(k, 0) + 1
    return out


def _declare_wave(study_dir, wave: str, file: str) -> None:
    yaml_path = study_dir / "study.yaml"
    text = yaml_path.read_text(encoding="utf-8")
    line = ("    - {id: w2019, fieldwork: 2019-11-15, role: followup, "
            "file: landing/surveys/staff_w2019.xlsx}\n")
    assert line in text
    new = f"    - {{id: {wave}, fieldwork: 2022-11-15, role: followup, file: {file}}}\n"
    yaml_path.write_text(text.replace(line, line + new), encoding="utf-8")


def _drop_wave_file(study_dir, wave: str) -> str:
    """A new wave's file: the w2016 answers under another wave id (its `wave` column too)."""
    src = study_dir / "landing" / "surveys" / "staff_w2016.csv"
    name = f"staff_{wave}.csv"
    text = src.read_text(encoding="utf-8")
    assert text.count(";w2016;") > 100
    (study_dir / "landing" / "surveys" / name).write_text(
        text.replace(";w2016;", f";{wave};"), encoding="utf-8")
    return f"landing/surveys/{name}"


def _all_wave_assets(defs) -> set[str]:
    """The unpartitioned assets downstream of a per-wave asset (from the asset graph)."""
    graph = defs.resolve_asset_graph()
    todo = [k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def == survey_waves]
    seen = set()
    while todo:
        for child in graph.get(todo.pop()).child_keys:
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return {k.to_user_string() for k in seen if graph.get(k).partitions_def is None}


def test_up_to_date_study_starts_nothing(materialized):
    defs = _defs(materialized)
    assert materialized["first_requests"] == 0
    data = _tick(materialized, defs)
    assert data.run_requests == []
    assert "no new or changed survey wave file" in data.skip_message


def test_undeclared_wave_file_starts_nothing_and_says_why(materialized):
    study_dir, instance = materialized["study_dir"], materialized["instance"]
    _drop_wave_file(study_dir, "w2030")
    defs = _defs(materialized)
    before = _materializations(instance, defs)
    data = _tick(materialized, defs)
    assert data.run_requests == []
    assert not data.dynamic_partitions_requests
    msg = data.skip_message
    assert "staff_w2030.csv" in msg and "survey.waves" in msg and "study.yaml" in msg
    assert "w2012, w2016, w2019" in msg
    assert "w2030" not in instance.get_dynamic_partitions(survey_waves.name)
    assert _automate(materialized, defs).total_requested == 0
    assert _materializations(instance, defs) == before


def test_new_wave_runs_its_partition_and_the_all_wave_assets_once(materialized):
    study_dir, instance = materialized["study_dir"], materialized["instance"]
    file = _drop_wave_file(study_dir, "w2022")
    _declare_wave(study_dir, "w2022", file)  # the researcher declares the wave, drops the file
    defs = _defs(materialized)
    before = _materializations(instance, defs)

    data = _tick(materialized, defs)
    assert [r.partition_key for r in data.run_requests] == ["w2022"]
    run_key = data.run_requests[0].run_key
    assert run_key.startswith("w2022:") and len(run_key) == len("w2022:") + 64
    assert "w2022" in instance.get_dynamic_partitions(survey_waves.name)
    runs = execute_run_requests(defs, instance, data.run_requests, job_name=WAVE_JOB,
                                run_config=materialized["quiet"])
    assert [r.success for r in runs] == [True]
    automation = _automate(materialized, defs)
    assert automation.total_requested > 0

    after = _materializations(instance, defs)
    new = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    graph = defs.resolve_asset_graph()
    per_wave = {k.to_user_string() for k in graph.get_all_asset_keys()
                if graph.get(k).partitions_def == survey_waves}
    all_wave = _all_wave_assets(defs)
    assert {"survey_effects", "survey_scale_summary", "effects", "study_report"} <= all_wave
    assert not all_wave & {"registry_panel", "registry_effects", "theme_frequencies"}
    expected = {(k, "w2022") for k in per_wave} | {(k, None) for k in all_wave}
    assert set(new) == expected  # nothing else re-ran, no other wave
    assert set(new.values()) == {1}  # each exactly once

    # the new wave reached the report's inputs
    eff = defs.load_asset_value("survey_effects", instance=instance)
    assert (eff["contrast"] == "w2022 - w2012").any()

    # the same file dropped again (same content, new mtime) starts nothing
    (study_dir / file).write_bytes((study_dir / file).read_bytes())
    again = _tick(materialized, defs)
    assert again.run_requests == []
    assert _automate(materialized, defs).total_requested == 0
    assert _materializations(instance, defs) == after


def test_cli_new_waves_runs_only_the_new_partition_and_the_all_wave_assets(materialized,
                                                                            capsys):
    """`evaluation-pipeline run --new-waves`: the same work as the sensor + automation,
    without a daemon: the new wave's partition and the all-wave assets, nothing else; a
    second call finds nothing to do."""
    from assets.cli import main

    study_dir, instance = materialized["study_dir"], materialized["instance"]
    file = _drop_wave_file(study_dir, "w2023")
    _declare_wave(study_dir, "w2023", file)
    defs = _defs(materialized)
    before = _materializations(instance, defs)
    study = str(study_dir / "study.yaml")
    assert main(["run", "--study", study, "--new-waves", "--no-profiles"]) == 0
    after = _materializations(instance, defs)
    new = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    graph = defs.resolve_asset_graph()
    per_wave = {k.to_user_string() for k in graph.get_all_asset_keys()
                if graph.get(k).partitions_def == survey_waves}
    expected = {(k, "w2023") for k in per_wave} | {(k, None) for k in _all_wave_assets(defs)}
    assert set(new) == expected and set(new.values()) == {1}
    capsys.readouterr()
    assert main(["run", "--study", study, "--new-waves", "--no-profiles"]) == 0
    assert "no new wave" in capsys.readouterr().out
    assert _materializations(instance, defs) == after
