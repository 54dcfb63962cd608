"""The Dagster wiring: every asset in its group, partitions, blocking checks, jobs."""

import dagster as dg

from assets.definitions import STUDY_JOB, WAVE_JOB, build_definitions
from assets.partitions import survey_waves

GROUPS = {
    "ingest": {"survey_answers", "coded_segments", "registry_observations_raw", "kommune_codes",
               "registry_reference", "registry_read_failures"},
    "validate": {"survey_answers_valid", "coded_segments_valid", "registry_observations_valid",
                 "survey_answers_rejected", "coded_segments_rejected",
                 "registry_observations_rejected"},
    "harmonize": {"registry_observations", "study_kommuner", "registry_panel"},
    "analyse": {"scale_scores", "survey_effects", "survey_scale_summary",
                "registry_effects", "registry_group_rates", "theme_frequencies", "effects",
                "registry_event_study", "registry_pretrend_tests", "scale_reliability",
                "scale_item_statistics", "item_distribution", "survey_response",
                "survey_panel_retention", "theme_role_frequencies", "theme_shifts",
                "theme_co_occurrence", "intercoder_agreement", "logic_chain_evidence",
                "registry_sensitivity", "registry_breakdown", "collaboration_answers",
                "collaboration_ties", "collaboration_ties_pooled", "collaboration_measures",
                "collaboration_measures_pooled", "collaboration_effects"},
    "report": {"study_report", "kommune_profile"},
}


def test_assets_groups_and_partitions(example_study_dir):
    defs = build_definitions(str(example_study_dir / "study.yaml"))
    graph = defs.resolve_asset_graph()
    found: dict[str, set[str]] = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        found.setdefault(node.group_name, set()).add(key.to_user_string())
    assert found == GROUPS
    partitioned = {
        k.to_user_string() for k in graph.get_all_asset_keys()
        if graph.get(k).partitions_def == survey_waves
    }
    assert partitioned == {"survey_answers", "survey_answers_valid", "survey_answers_rejected",
                           "scale_scores", "scale_reliability", "scale_item_statistics",
                           "item_distribution", "collaboration_answers",
                           "collaboration_ties", "collaboration_ties_pooled",
                           "collaboration_measures", "collaboration_measures_pooled"}


def test_checks_are_blocking(example_study_dir):
    defs = build_definitions(str(example_study_dir / "study.yaml"))
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name): graph.get_check_spec(k)
              for k in graph.asset_check_keys}
    # every ingested table has a blocking contract check: on its validated table (one
    # validation gives the check and the valid/rejected split), on the reference tables
    # themselves
    assert set(checks) == {
        ("survey_answers_valid", "contract"), ("survey_answers", "no_personal_data"),
        ("coded_segments_valid", "contract"), ("coded_segments", "documents_assigned"),
        ("registry_observations_valid", "contract"),
        ("kommune_codes", "contract"), ("study_kommuner", "contract"),
    }
    assert all(spec.blocking for spec in checks.values())


def test_jobs_split_partitioned_from_the_rest(example_study_dir, example_study):
    from assets.definitions import PROFILES_JOB

    defs = build_definitions(str(example_study_dir / "study.yaml"))
    wave = defs.resolve_job_def(WAVE_JOB)
    study = defs.resolve_job_def(STUDY_JOB)
    assert wave.partitions_def == survey_waves
    assert isinstance(study, dg.JobDefinition)
    assert study.partitions_def is None
    # the study job holds neither per-wave nor per-kommune assets
    study_assets = {k.to_user_string() for k in study.asset_layer.executable_asset_keys}
    assert "kommune_profile" not in study_assets and "survey_answers" not in study_assets
    assert {"study_report", "logic_chain_evidence", "effects"} <= study_assets
    # one profile partition per network kommune, from study.yaml
    profiles = defs.resolve_job_def(PROFILES_JOB)
    assert sorted(profiles.partitions_def.get_partition_keys()) == sorted(example_study.network)


def test_sensors_schedule_and_automation_wiring(study_copy, monkeypatch):
    from assets.definitions import REGISTRY_JOB
    from assets.sensors import AUTOMATION_SENSOR, REGISTRY_SCHEDULE, WAVE_SENSOR

    monkeypatch.delenv("EVALUATION_AUTOMATION", raising=False)
    yaml_path = study_copy / "study.yaml"
    text = yaml_path.read_text(encoding="utf-8")
    yaml_path.write_text(text.replace("registry:\n  indicators:",
                                      "registry:\n  refresh_cron: '0 5 * * 1'\n  indicators:"),
                         encoding="utf-8")
    defs = build_definitions(str(yaml_path))
    wave_sensor = defs.resolve_sensor_def(WAVE_SENSOR)
    assert wave_sensor.job_name == WAVE_JOB
    auto = defs.resolve_sensor_def(AUTOMATION_SENSOR)
    assert isinstance(auto, dg.AutomationConditionSensorDefinition)
    assert wave_sensor.default_status == auto.default_status == dg.DefaultSensorStatus.RUNNING
    schedule = defs.resolve_schedule_def(REGISTRY_SCHEDULE)
    assert schedule.cron_schedule == "0 5 * * 1"  # from study.yaml
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert {k.to_user_string() for k in defs.resolve_job_def(REGISTRY_JOB).asset_layer
            .executable_asset_keys} == {"registry_observations_raw", "registry_read_failures",
                                        "registry_reference"}
    # automation on every unpartitioned asset with inputs; never on ingest or per-wave assets
    graph = defs.resolve_asset_graph()
    automated = {k.to_user_string() for k in graph.get_all_asset_keys()
                 if graph.get(k).automation_condition is not None}
    expected = {k.to_user_string() for k in graph.get_all_asset_keys()
                if graph.get(k).parent_keys and graph.get(k).partitions_def is None}
    assert automated == expected
    assert "registry_panel" in automated and "study_report" in automated
    assert not automated & {"survey_answers", "scale_scores", "registry_observations_raw",
                            "coded_segments", "study_kommuner"}

    monkeypatch.setenv("EVALUATION_AUTOMATION", "off")
    off = build_definitions(str(yaml_path))
    assert off.resolve_sensor_def(WAVE_SENSOR).default_status == dg.DefaultSensorStatus.STOPPED
    assert off.resolve_schedule_def(REGISTRY_SCHEDULE).default_status == \
        dg.DefaultScheduleStatus.STOPPED


def test_bad_refresh_cron_is_a_clear_error(study_copy):
    import pytest

    from evaluation_pipeline.errors import StudyConfigError
    from evaluation_pipeline.study import Study

    yaml_path = study_copy / "study.yaml"
    text = yaml_path.read_text(encoding="utf-8")
    yaml_path.write_text(text.replace("registry:\n  indicators:",
                                      "registry:\n  refresh_cron: monthly\n  indicators:"),
                         encoding="utf-8")
    with pytest.raises(StudyConfigError, match=r"refresh_cron.*5 fields.*'monthly'"):
        Study.load(yaml_path)


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_importing_the_code_locations_creates_nothing(study_copy, tmp_path):
    """``assets.definitions`` and ``deploy/code_location.py`` are lazy (``@dg.definitions``):
    importing them reads no study and creates no folder; Dagster builds them when it loads
    the code location."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    before = _files(study_copy)
    code = (
        "import runpy, dagster as dg\n"
        "import assets.definitions as m\n"
        "assert not isinstance(m.defs, dg.Definitions)\n"
        "ns = runpy.run_path('deploy/code_location.py')\n"
        "assert not isinstance(ns['defs'], dg.Definitions)\n"
    )
    env = {**os.environ, "EVALUATION_STUDY": str(study_copy / "study.yaml"),
           "DAGSTER_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
    assert _files(study_copy) == before
    assert not (tmp_path / "home").exists()


def test_lazy_definitions_load(study_copy, monkeypatch):
    """Calling the lazy ``defs`` (as Dagster does) builds the study of $EVALUATION_STUDY; the
    deployed code location is the same Definitions with another executor. Building and
    resolving them creates nothing either (the output folder is made by the first run)."""
    import runpy

    from conftest import ROOT

    import assets.definitions as m

    monkeypatch.setenv("EVALUATION_STUDY", str(study_copy / "study.yaml"))
    monkeypatch.setenv("EVALUATION_EXECUTOR", "multiprocess")
    before = _files(study_copy)
    local = m.defs()
    local.resolve_asset_graph()
    local.resolve_all_job_defs()
    assert _files(study_copy) == before
    deployed = runpy.run_path(str(ROOT / "deploy" / "code_location.py"))["defs"]()
    assert isinstance(local, dg.Definitions) and isinstance(deployed, dg.Definitions)
    assert local.executor is dg.in_process_executor
    assert deployed.executor is dg.multi_or_in_process_executor
    keys = lambda d: set(d.resolve_asset_graph().get_all_asset_keys())  # noqa: E731
    assert keys(local) == keys(deployed)
    jobs = lambda d: {j.name for j in d.jobs}  # noqa: E731
    assert jobs(local) == jobs(deployed)
    assert {s.name for s in local.sensors} == {s.name for s in deployed.sensors}
    assert set(local.resources) == set(deployed.resources)


NETWORK = {"collaboration_answers", "collaboration_ties", "collaboration_ties_pooled",
           "collaboration_measures", "collaboration_measures_pooled", "collaboration_effects"}


def _keys(defs) -> set[str]:
    return {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}


def test_collaboration_assets_in_the_wave_and_downstream_jobs(example_study_dir):
    from assets.definitions import WAVE_DOWNSTREAM_JOB

    defs = build_definitions(str(example_study_dir / "study.yaml"))
    jobs = {j: {k.to_user_string()
                for k in defs.resolve_job_def(j).asset_layer.executable_asset_keys}
            for j in (WAVE_JOB, WAVE_DOWNSTREAM_JOB, STUDY_JOB)}
    # a new wave: its partition of the per-wave assets, then the effects over all waves
    assert NETWORK - {"collaboration_effects"} <= jobs[WAVE_JOB]
    assert "collaboration_effects" not in jobs[WAVE_JOB]
    assert "collaboration_effects" in jobs[WAVE_DOWNSTREAM_JOB]
    assert not (NETWORK - {"collaboration_effects"}) & jobs[WAVE_DOWNSTREAM_JOB]
    assert NETWORK & jobs[STUDY_JOB] == {"collaboration_effects"}
    graph = defs.resolve_asset_graph()
    parents = {k.to_user_string() for k in graph.get(dg.AssetKey("effects")).parent_keys}
    assert "collaboration_effects" in parents


def test_no_roster_no_collaboration_assets(study_copy):
    import yaml

    defs = build_definitions(str(study_copy / "study.yaml"))
    assert NETWORK <= _keys(defs)
    data = yaml.safe_load((study_copy / "study.yaml").read_text(encoding="utf-8"))
    del data["survey"]["collaboration"]
    data["logic_chain"]["outcomes"] = data["logic_chain"]["outcomes"][:1]  # network refs out
    (study_copy / "study.yaml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                           encoding="utf-8")
    plain = build_definitions(str(study_copy / "study.yaml"))
    # the same graph as before the roster existed: every other asset, nothing of the network
    assert _keys(plain) == _keys(defs) - NETWORK
    graph = plain.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get(dg.AssetKey("effects")).parent_keys} == {
        "survey_effects", "registry_effects", "theme_shifts"}


def test_network_goes_with_the_survey(example_study_dir):
    from assets.resources import StudyResource

    path = str(example_study_dir / "study.yaml")
    assert not NETWORK & _keys(build_definitions(path, without={"survey": "failed"}))
    # the network alone left out (its step failed): the survey stays
    keys = _keys(build_definitions(path, without={"network": "failed"}))
    assert not NETWORK & keys and "survey_effects" in keys
    s = StudyResource(study_path=path, without=["network"]).load()
    assert s.survey.collaboration is None and s.survey.scales and len(s.network) == 9
