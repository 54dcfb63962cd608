"""The one Definitions object of the code location."""

import dagster as dg

from . import analysis, checks, harmonize, ingest, logic_chain, report
from .partitions import survey_waves
from .profiles import PROFILE_JOB, profile_definitions
from .resources import StudyResource, default_study_path, io_manager_for, load_study
from .sensors import (
    build_automation_sensor,
    build_registry_schedule,
    build_wave_sensor,
    with_downstream_automation,
)

ALL_MODULES = [ingest, checks, harmonize, analysis, logic_chain, report]
WAVE_JOB = "survey_wave_job"
STUDY_JOB = "study_job"
REGISTRY_JOB = "registry_refresh_job"
#: what a new survey wave changes beyond its own partition (the all-wave assets)
WAVE_DOWNSTREAM_JOB = "survey_downstream_job"
PROFILES_JOB = PROFILE_JOB
#: the registry ingest assets the refresh schedule re-materializes
REGISTRY_INGEST = [dg.AssetKey("registry_observations_raw"), dg.AssetKey("registry_reference")]


def build_definitions(study_path: str | None = None) -> dg.Definitions:
    """Definitions for one study (default: $EVALUATION_STUDY or the shipped example)."""
    path = study_path or default_study_path()
    study = load_study(path)
    all_assets = with_downstream_automation(dg.load_assets_from_modules(ALL_MODULES))
    profile_assets, profile_jobs = profile_definitions(study)
    keys_profiles = [k for a in profile_assets for k in a.keys]
    partitioned = [a for a in all_assets if a.partitions_def == survey_waves]
    keys_partitioned = [k for a in partitioned for k in a.keys]
    wave_job = dg.define_asset_job(
        WAVE_JOB,
        selection=dg.AssetSelection.assets(*keys_partitioned),
        description="Ingest, validate and score one survey wave (one partition).",
    )
    study_job = dg.define_asset_job(
        STUDY_JOB,
        selection=dg.AssetSelection.all()
        - dg.AssetSelection.assets(*keys_partitioned, *keys_profiles),
        description="Everything that is not per wave or per kommune: interviews, registry, "
        "effects, report (the profiles run as one run per kommune: kommune_profiles_job).",
    )
    wave_downstream_job = dg.define_asset_job(
        WAVE_DOWNSTREAM_JOB,
        selection=dg.AssetSelection.assets(*keys_partitioned).downstream()
        - dg.AssetSelection.assets(*keys_partitioned, *keys_profiles),
        description="The all-wave assets downstream of the survey waves (survey effects, "
        "effects, logic chain, report): what a new wave changes; `evaluation-pipeline run "
        "--new-waves` runs it after the new waves' partitions.",
    )
    registry_job = dg.define_asset_job(
        REGISTRY_JOB,
        selection=dg.AssetSelection.assets(*REGISTRY_INGEST),
        description="Re-read the registry landing files (the automation updates what is "
        "downstream).",
    )
    schedules = [build_registry_schedule(study, registry_job)] if study.registry else []
    return dg.Definitions(
        assets=[*all_assets, *profile_assets],
        jobs=[wave_job, study_job, wave_downstream_job, registry_job, *profile_jobs],
        sensors=[build_wave_sensor(str(study.source_file), wave_job), build_automation_sensor()],
        schedules=schedules,
        resources={
            "study": StudyResource(study_path=str(study.source_file)),
            "io_manager": io_manager_for(study),
        },
        executor=dg.in_process_executor,
    )


defs = build_definitions()
