"""What starts runs without a person: the new-wave sensor, the registry refresh schedule and
the declarative automation of everything downstream.

- ``new_survey_wave_sensor`` watches the survey landing folder. A file of a wave that
  study.yaml declares and whose content was not ingested yet (the ``file_sha256`` metadata of
  the wave's latest ``survey_answers`` materialization differs) adds the wave partition and
  requests ``survey_wave_job`` for it; the run key is the wave and the file's content hash, so
  dropping the same file again starts nothing. A file of an undeclared wave starts nothing and
  says so. study.yaml is re-read at every tick.
- ``registry_refresh_schedule`` re-materializes ``registry_observations_raw`` on the study's
  ``registry.refresh_cron`` (default monthly); the asset's metadata lists revised cells.
- Every unpartitioned asset with upstream assets carries :data:`DOWNSTREAM_CONDITION`
  (``eager`` while the blocking checks of its inputs pass), evaluated by
  ``automation_sensor``: after a new wave or a registry refresh, exactly the assets
  downstream of what changed re-run.

``EVALUATION_AUTOMATION=off`` makes the sensors and the schedule start stopped (e.g. for a UI
smoke test); they can still be switched on in the UI.
"""

import os
from collections.abc import Iterable
from pathlib import Path

import dagster as dg

from evaluation_pipeline.errors import PipelineError
from evaluation_pipeline.study import Study

from .ingest import FILE_SHA256, file_sha256
from .partitions import survey_waves
from .resources import load_study

WAVE_SENSOR = "new_survey_wave_sensor"
AUTOMATION_SENSOR = "automation_sensor"
REGISTRY_SCHEDULE = "registry_refresh_schedule"
AUTOMATION_ENV = "EVALUATION_AUTOMATION"
#: file types the survey reader accepts; other files in the landing folder are ignored
SURVEY_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".sav", ".zsav", ".por"}
SURVEY_ANSWERS = dg.AssetKey("survey_answers")

#: re-run when an upstream asset was updated, once none is missing or running and the
#: blocking checks of the inputs passed
DOWNSTREAM_CONDITION = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
).with_label("eager, inputs' blocking checks passed")


def default_status() -> dg.DefaultSensorStatus:
    off = os.environ.get(AUTOMATION_ENV, "").strip().lower() in {"0", "off", "false", "no"}
    return dg.DefaultSensorStatus.STOPPED if off else dg.DefaultSensorStatus.RUNNING


def _schedule_status() -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus(default_status().value)


def with_downstream_automation(assets: Iterable[dg.AssetsDefinition]):
    """The assets, every unpartitioned one that has upstream assets carrying
    :data:`DOWNSTREAM_CONDITION`. Root assets (ingest) and the per-wave assets are started by
    the sensor, the schedule, the CLI or a person, never by the automation."""
    out = []
    for a in assets:
        if a.partitions_def is None and any(spec.deps for spec in a.specs):
            a = a.map_asset_specs(
                lambda spec: spec.replace_attributes(automation_condition=DOWNSTREAM_CONDITION)
            )
        out.append(a)
    return out


def wave_files(study: Study) -> tuple[dict[str, Path], list[Path]]:
    """The landing files of the declared waves that are there ({wave: file}) and the survey
    files in the landing folder that belong to no declared wave."""
    found: dict[str, Path] = {}
    for wave in study.wave_ids:
        try:
            path = study.wave_file(wave)
        except PipelineError:
            continue  # not arrived yet (or ambiguous: the wave's run would say so)
        if path.is_file():
            found[wave] = path.resolve()
    folder = study.path(study.survey.landing) if study.survey else None
    claimed = set(found.values())
    undeclared = sorted(
        p.resolve() for p in (folder.iterdir() if folder and folder.is_dir() else [])
        if p.is_file() and p.suffix.lower() in SURVEY_SUFFIXES
        and not p.name.startswith((".", "~$")) and p.resolve() not in claimed
    )
    return found, undeclared


def ingested_sha256(instance: dg.DagsterInstance, wave: str) -> str | None:
    """The file hash recorded by the latest materialization of a wave's survey answers."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=SURVEY_ANSWERS, asset_partitions=[wave]), limit=1
    ).records
    if not records:
        return None
    value = records[0].asset_materialization.metadata.get(FILE_SHA256)
    return getattr(value, "value", value)


def undeclared_message(study: Study, files: list[Path]) -> str:
    names = ", ".join(p.name for p in files)
    return (
        f"{study.source_file}: survey file(s) {names} in {study.survey.landing} belong to no "
        f"wave declared in survey.waves (declared: {', '.join(study.wave_ids)}); declare the "
        "wave (id, fieldwork, role, file) in study.yaml, then the file is ingested at the next "
        "tick"
    )


def build_wave_sensor(study_path: str, job):
    @dg.sensor(
        name=WAVE_SENSOR,
        job=job,
        minimum_interval_seconds=60,
        default_status=default_status(),
        description="A new (or changed) survey file of a wave declared in study.yaml adds "
        "the wave partition and runs survey_wave_job for it; run key = wave + file hash.",
    )
    def new_survey_wave_sensor(context: dg.SensorEvaluationContext):
        study = load_study(study_path)  # re-read: the wave may have been declared since
        found, undeclared = wave_files(study)
        known = set(context.instance.get_dynamic_partitions(survey_waves.name))
        requests, new_partitions = [], []
        for wave, path in found.items():
            sha = file_sha256(path)
            if ingested_sha256(context.instance, wave) == sha:
                continue
            if wave not in known:
                new_partitions.append(wave)
            context.log.info(f"wave {wave}: {path.name} (sha256 {sha[:12]}) to ingest")
            requests.append(dg.RunRequest(
                run_key=f"{wave}:{sha}",
                partition_key=wave,
                tags={"survey_wave_file": path.name, "survey_wave_file_sha256": sha},
            ))
        message = undeclared_message(study, undeclared) if undeclared else None
        if message:
            context.log.warning(message)
        partition_requests = (
            [survey_waves.build_add_request(new_partitions)] if new_partitions else []
        )
        if requests:
            return dg.SensorResult(run_requests=requests,
                                   dynamic_partitions_requests=partition_requests)
        return dg.SensorResult(
            skip_reason=message or "no new or changed survey wave file",
            dynamic_partitions_requests=partition_requests,
        )

    return new_survey_wave_sensor


def build_automation_sensor() -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR,
        target=dg.AssetSelection.all(),
        default_status=default_status(),
        minimum_interval_seconds=30,
        description="Evaluates the automation conditions: re-runs what is downstream of a new "
        "wave or a registry refresh.",
    )


def build_registry_schedule(study: Study, job) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=REGISTRY_SCHEDULE,
        job=job,
        cron_schedule=study.registry.refresh_cron,
        execution_timezone="Europe/Oslo",
        default_status=_schedule_status(),
        description="Re-reads the registry landing files (registry.refresh_cron in study.yaml, "
        "default 06:00 on the 1st of each month); revised cells are listed in the metadata "
        "and the automation updates everything downstream.",
    )
