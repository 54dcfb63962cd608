"""The one Definitions object of the code location."""

import dagster as dg

from . import analysis, checks, harmonize, ingest, report
from .partitions import survey_waves
from .resources import StudyResource, default_study_path, io_manager_for, load_study

ALL_MODULES = [ingest, checks, harmonize, analysis, report]
WAVE_JOB = "survey_wave_job"
STUDY_JOB = "study_job"


def build_definitions(study_path: str | None = None) -> dg.Definitions:
    """Definitions for one study (default: $EVALUATION_STUDY or the shipped example)."""
    path = study_path or default_study_path()
    study = load_study(path)
    all_assets = dg.load_assets_from_modules(ALL_MODULES)
    partitioned = [a for a in all_assets if a.partitions_def == survey_waves]
    keys_partitioned = [k for a in partitioned for k in a.keys]
    wave_job = dg.define_asset_job(
        WAVE_JOB,
        selection=dg.AssetSelection.assets(*keys_partitioned),
        partitions_def=survey_waves,
        description="Ingest, validate and score one survey wave (one partition).",
    )
    study_job = dg.define_asset_job(
        STUDY_JOB,
        selection=dg.AssetSelection.all() - dg.AssetSelection.assets(*keys_partitioned),
        description="Everything that is not per wave: interviews, registry, effects, report.",
    )
    return dg.Definitions(
        assets=all_assets,
        jobs=[wave_job, study_job],
        resources={
            "study": StudyResource(study_path=str(study.source_file)),
            "io_manager": io_manager_for(study),
        },
        executor=dg.in_process_executor,
    )


defs = build_definitions()
