"""The code location's Definitions: ``defs``, loaded lazily.

``defs`` is a ``@dg.definitions`` function: Dagster (``dagster dev``, ``workspace.yaml``,
``[tool.dagster] module_name``) calls it when it loads the code location, so importing this
module reads no study.yaml and creates no folder. ``build_definitions`` builds them for any
study (the command line, the tests, ``deploy/code_location.py``)."""

import dagster as dg

from . import analysis, collaboration, harmonize, ingest, report, validate
from .analysis import effects_asset
from .logic_chain import logic_chain_evidence_asset
from .partitions import survey_waves
from .profiles import PROFILE_JOB, profile_definitions
from .report import study_report_asset
from .resources import (
    StudyResource,
    default_study_path,
    load_study,
    study_sources,
)
from .sensors import (
    build_automation_sensor,
    build_registry_schedule,
    build_wave_sensor,
    with_downstream_automation,
)
from .warehouse_io import io_manager_for

#: the modules whose assets belong to the sources (and the shared reference tables); the
#: combining assets (effects, logic chain, report, profiles) are added per study
ALL_MODULES = [ingest, validate, harmonize, analysis, collaboration, report]
WAVE_JOB = "survey_wave_job"
STUDY_JOB = "study_job"
REGISTRY_JOB = "registry_refresh_job"
#: what a new survey wave changes beyond its own partition (the all-wave assets)
WAVE_DOWNSTREAM_JOB = "survey_downstream_job"
PROFILES_JOB = PROFILE_JOB
#: the registry ingest assets the refresh schedule re-materializes
REGISTRY_INGEST = [dg.AssetKey("registry_observations_raw"), dg.AssetKey("registry_read_failures"),
                   dg.AssetKey("registry_reference")]


#: the assets of each source of evidence: built only when study.yaml has the source's section
SOURCE_ASSETS = {
    "survey": {"survey_answers", "survey_answers_valid", "survey_answers_rejected",
               "scale_scores", "scale_reliability", "scale_item_statistics",
               "item_distribution", "survey_effects", "survey_scale_summary",
               "survey_response", "survey_panel_retention"},
    "interviews": {"coded_segments", "coded_segments_valid", "coded_segments_rejected",
                   "theme_frequencies", "theme_role_frequencies", "theme_shifts",
                   "theme_co_occurrence", "intercoder_agreement"},
    "registry": {"registry_observations_raw", "registry_read_failures",
                 "registry_observations_valid",
                 "registry_observations_rejected", "registry_observations", "registry_panel",
                 "registry_effects", "registry_event_study", "registry_pretrend_tests",
                 "registry_group_rates", "registry_reference", "registry_sensitivity",
                 "registry_breakdown"},
    # the collaboration roster (survey.collaboration): per wave, then the effects of all
    "network": {"collaboration_answers", "collaboration_ties", "collaboration_ties_pooled",
                "collaboration_measures", "collaboration_measures_pooled",
                "collaboration_effects"},
}
#: the assets that combine the sources (their inputs are the present sources' assets)
COMBINING_ASSETS = ["effects", "logic_chain_evidence", "study_report"]
#: the combining assets alone (the command line's report from the sources that passed, when
#: a source's blocking check failed)
REPORT_JOB = "study_report_job"


def source_of(key: dg.AssetKey) -> str | None:
    """The source of evidence an asset belongs to (None: shared or combining)."""
    name = key.to_user_string()
    return next((src for src, names in SOURCE_ASSETS.items() if name in names), None)


def build_definitions(study_path: str | None = None, *,
                      without: dict[str, str] | None = None,
                      executor: dg.ExecutorDefinition = dg.in_process_executor,
                      ) -> dg.Definitions:
    """Definitions for one study (default: $EVALUATION_STUDY or the shipped example).

    Only the sources of evidence study.yaml has (``survey``, ``interviews``, ``registry``, and
    ``network`` with a ``survey.collaboration`` roster) get assets; the combining assets
    (effects, logic chain, report, profiles) take only theirs as inputs. ``without``:
    sources to leave out although study.yaml has them (source -> why; the command line's
    report after a source's blocking check failed says so).
    ``executor``: the runs' default executor (in-process: fast for a study of the example's
    size; ``deploy/code_location.py`` chooses another by configuration)."""
    path = study_path or default_study_path()
    study = load_study(path)
    without = dict(without or {})
    # without the survey (left out, or failed) the network goes too
    sources = study_sources(study, without)
    module_assets = [a for a in dg.load_assets_from_modules(ALL_MODULES)
                     if not any(source_of(k) not in (None, *sources) for k in a.keys)]
    combining = [effects_asset(sources), logic_chain_evidence_asset(sources),
                 study_report_asset(sources, without)]
    all_assets = with_downstream_automation([*module_assets, *combining])
    profile_assets, profile_jobs = profile_definitions(study, sources)
    keys_profiles = [k for a in profile_assets for k in a.keys]
    partitioned = [a for a in all_assets if a.partitions_def == survey_waves]
    keys_partitioned = [k for a in partitioned for k in a.keys]
    jobs = []
    if keys_partitioned:
        jobs.append(dg.define_asset_job(
            WAVE_JOB,
            selection=dg.AssetSelection.assets(*keys_partitioned),
            description="Ingest, validate and score one survey wave (one partition).",
        ))
        jobs.append(dg.define_asset_job(
            WAVE_DOWNSTREAM_JOB,
            selection=dg.AssetSelection.assets(*keys_partitioned).downstream()
            - dg.AssetSelection.assets(*keys_partitioned, *keys_profiles),
            description="The all-wave assets downstream of the survey waves (survey effects, "
            "effects, logic chain, report): what a new wave changes; `evaluation-pipeline run "
            "--new-waves` runs it after the new waves' partitions.",
        ))
    jobs.append(dg.define_asset_job(
        STUDY_JOB,
        selection=dg.AssetSelection.all()
        - dg.AssetSelection.assets(*keys_partitioned, *keys_profiles),
        description="Everything that is not per wave or per kommune: interviews, registry, "
        "effects, report (the profiles run as one run per kommune: kommune_profiles_job).",
    ))
    jobs.append(dg.define_asset_job(
        REPORT_JOB,
        selection=dg.AssetSelection.assets(*COMBINING_ASSETS),
        description="Effects, logic chain and report from the source assets already "
        "materialized.",
    ))
    schedules = []
    if "registry" in sources:
        registry_job = dg.define_asset_job(
            REGISTRY_JOB,
            selection=dg.AssetSelection.assets(*REGISTRY_INGEST),
            description="Re-read the registry landing files (the automation updates what is "
            "downstream).",
        )
        jobs.append(registry_job)
        schedules.append(build_registry_schedule(study, registry_job))
    sensors = [build_automation_sensor()]
    if "survey" in sources:
        sensors.insert(0, build_wave_sensor(str(study.source_file),
                                            next(j for j in jobs if j.name == WAVE_JOB)))
    return dg.Definitions(
        assets=[*all_assets, *profile_assets],
        jobs=[*jobs, *profile_jobs],
        sensors=sensors,
        schedules=schedules,
        resources={
            "study": StudyResource(study_path=str(study.source_file), without=list(without)),
            "io_manager": io_manager_for(study),
        },
        executor=executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The study of $EVALUATION_STUDY (else the shipped example), built when Dagster loads
    the code location, not at import."""
    return build_definitions()
