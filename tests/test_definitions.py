"""The Dagster wiring: every asset in its group, partitions, blocking checks, jobs."""

import dagster as dg

from assets.definitions import STUDY_JOB, WAVE_JOB, build_definitions
from assets.partitions import survey_waves

GROUPS = {
    "ingest": {"survey_answers", "coded_segments", "registry_observations_raw", "kommune_codes"},
    "validate": {"survey_answers_valid", "coded_segments_valid", "registry_observations_valid",
                 "survey_answers_rejected", "coded_segments_rejected",
                 "registry_observations_rejected"},
    "harmonize": {"registry_observations", "study_kommuner", "registry_panel"},
    "analyse": {"scale_scores", "survey_effects", "survey_scale_summary",
                "registry_effects_twfe", "registry_group_rates", "theme_frequencies", "effects",
                "registry_event_study", "registry_pretrend_tests", "scale_reliability",
                "scale_item_statistics", "item_distribution", "survey_response",
                "survey_panel_retention", "theme_role_frequencies", "theme_shifts",
                "theme_co_occurrence", "intercoder_agreement"},
    "report": {"study_report"},
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
                           "item_distribution"}


def test_checks_are_blocking(example_study_dir):
    defs = build_definitions(str(example_study_dir / "study.yaml"))
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key.to_user_string(), k.name): graph.get_check_spec(k)
              for k in graph.asset_check_keys}
    # every ingested table (and the study's kommune table) has a blocking contract check
    assert set(checks) == {
        ("survey_answers", "contract"), ("survey_answers", "no_personal_data"),
        ("coded_segments", "contract"), ("registry_observations_raw", "contract"),
        ("kommune_codes", "contract"), ("study_kommuner", "contract"),
    }
    assert all(spec.blocking for spec in checks.values())


def test_jobs_split_partitioned_from_the_rest(example_study_dir):
    defs = build_definitions(str(example_study_dir / "study.yaml"))
    wave = defs.resolve_job_def(WAVE_JOB)
    study = defs.resolve_job_def(STUDY_JOB)
    assert wave.partitions_def == survey_waves
    assert isinstance(study, dg.JobDefinition)
    assert study.partitions_def is None
