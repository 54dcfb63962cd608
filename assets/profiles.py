"""Report: one municipality profile per network kommune, as a Dagster asset partitioned by
kommune (static partitions from the study), so the kommuner run in parallel.

How they run in parallel: runs over partition ranges of neighbouring kommuner. The asset's
``BackfillPolicy.multi_run`` puts up to ``ceil(kommuner / PROFILE_RUNS)`` kommuner in one run,
so a backfill of all kommuner makes about ``PROFILE_RUNS`` runs (default: the machine's CPU
count; ``EVALUATION_PROFILE_RUNS`` overrides it; 1 kommune per run with
``EVALUATION_PROFILE_RUNS`` >= the number of kommuner), each its own process: the kommuner run
in parallel without paying a process start, a code-location load and an input load per
kommune (a national study has over a hundred network kommuner).

- UI: select ``kommune_profile`` (or the job ``kommune_profiles_job``), Materialize, "all
  partitions": the backfill daemon of ``dagster dev`` submits the runs; the run
  launcher starts each in its own process, so they run concurrently (with a
  ``QueuedRunCoordinator`` on the instance, ``max_concurrent_runs`` caps how many at once).
- Command line / Python: :func:`run_profiles` splits the kommuner the same way and submits
  one run per chunk with Dagster's own ``dagster job launch`` (partition-range tags; the
  runs go to the instance's run coordinator and are started by its run launcher, each in
  its own process), then waits until every run has finished.

The warehouse is one DuckDB file and DuckDB lets one process write at a time: the profile asset
therefore stores nothing in the warehouse. It writes its files (HTML + CSV, atomically) and
returns ``MaterializeResult`` metadata (aggregates-only markdown preview, the main figure, the
paths); its runs only read ``registry_panel`` and ``scale_scores``.
"""

import base64
import json
import math
import os
import signal
import subprocess
import sys
import time
import uuid
import warnings
from pathlib import Path

import dagster as dg
import pandas as pd

from evaluation_pipeline.report.profiles import build_kommune_profile, profile_kommuner

from .resources import StudyResource
from .sensors import AUTOMATION_ENV

PROFILE_ASSET = "kommune_profile"
PROFILE_JOB = "kommune_profiles_job"
#: the tag Dagster puts on every run of a backfill
BACKFILL_TAG = "dagster/backfill"
#: the tag :func:`run_profiles` puts on the runs it launches
BATCH_TAG = "evaluation/profile_batch"
#: how many ``dagster job launch`` processes run_profiles starts at once
LAUNCH_AT_ONCE = 8
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
RUNS_ENV = "EVALUATION_PROFILE_RUNS"


def profile_runs() -> int:
    """How many runs a backfill of all kommuner is split into ($EVALUATION_PROFILE_RUNS,
    default the CPU count)."""
    value = os.environ.get(RUNS_ENV)
    if value:
        try:
            n = int(value)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"{RUNS_ENV}={value!r}: expected a whole number >= 1")
        return n
    return max(os.cpu_count() or 1, 1)


def kommuner_per_run(study) -> int:
    """Kommuner per run: ceil(network kommuner / :func:`profile_runs`)."""
    return max(1, math.ceil(len(profile_kommuner(study)) / profile_runs()))


def kommune_partitions(study) -> dg.StaticPartitionsDefinition:
    """One partition per network kommune of the study (its kommune code)."""
    return dg.StaticPartitionsDefinition(profile_kommuner(study))


def profile_definitions(study) -> tuple[list, list]:
    """The ``kommune_profile`` asset (partitioned by the study's network kommuner) and the job
    ``kommune_profiles_job`` over it: ``(assets, jobs)`` for ``build_definitions``."""
    partitions = kommune_partitions(study)
    policy = dg.BackfillPolicy.multi_run(max_partitions_per_run=kommuner_per_run(study))

    # the asset's ``backfill_policy`` parameter is "beta" in Dagster 1.13 (and works)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        @dg.asset(
            name=PROFILE_ASSET,
            group_name="report",
            partitions_def=partitions,
            backfill_policy=policy,
            ins={"scale_scores": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())},
            kinds={"html", "csv"},
            description="One profile per network kommune (FHI/Hdir oppvekstprofil style): its "
            "registry indicators against the network, the comparison kommuner and the country "
            "(where available), its trends since before it joined, its survey change baseline → "
            "follow-up with n, and a short text; small cells suppressed. Writes "
            "<output>/profiles/<kode>-<name>.html (self-contained, prints on A4) and its tables as "
            "CSV; stores nothing in the warehouse, so kommuner run in parallel.",
        )
        def kommune_profile(
            context: dg.AssetExecutionContext,
            study: StudyResource,
            registry_panel: pd.DataFrame,
            scale_scores: pd.DataFrame,
        ) -> dg.MaterializeResult:
            s = study.load()
            shared: dict = {}  # what the kommuner of this run have in common, once
            built = [build_kommune_profile(s, k, registry_panel, scale_scores, shared=shared)
                     for k in context.partition_keys]
            first = built[0]
            png = base64.b64encode(first.figure_png).decode("ascii") if first.figure_png else ""
            meta = {
                "profiles": dg.MetadataValue.json({p.kommune: str(p.html) for p in built}),
                "tables": dg.MetadataValue.json(
                    {p.kommune: {k: str(v) for k, v in p.tables.items()} for p in built}),
                "suppressed_cells": sum(p.suppressed_cells for p in built),
                "preview": dg.MetadataValue.md("\n\n".join(p.preview_markdown for p in built)),
                "main_figure": dg.MetadataValue.md(
                    f"![trends {first.name}](data:image/png;base64,{png})" if png
                    else "(no figure)"),
            }
            if len(built) == 1:
                meta["profile"] = dg.MetadataValue.path(str(first.html))
            return dg.MaterializeResult(metadata=meta)

    job = dg.define_asset_job(
        PROFILE_JOB,
        selection=dg.AssetSelection.assets(kommune_profile),
        description="One municipality profile per partition (network kommune); launch all "
        "partitions as a backfill (or `evaluation-pipeline run`) to run the kommuner in "
        "parallel runs of neighbouring kommuner.",
    )
    return [kommune_profile], [job]


def _cli(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    return str(exe) if exe.exists() else name


def _target(module: str, attribute: str, python_file: str | None) -> list[str]:
    return [*(["-f", python_file] if python_file else ["-m", module]), "-a", attribute]


def profile_chunks(kommuner: list[str], order: list[str], runs: int) -> list[list[str]]:
    """``kommuner`` split into at most about ``runs`` runs of neighbours in the partition
    ``order`` (a run covers a partition range, so its kommuner must be contiguous there)."""
    wanted = [k for k in order if k in set(kommuner)]
    per_run = max(1, math.ceil(len(wanted) / max(runs, 1)))
    segments: list[list[str]] = []
    for k in wanted:
        if segments and order.index(k) == order.index(segments[-1][-1]) + 1:
            segments[-1].append(k)
        else:
            segments.append([k])
    return [seg[i:i + per_run] for seg in segments for i in range(0, len(seg), per_run)]


def launch_profile_runs(
    study_path: str,
    chunks: list[list[str]],
    batch: str,
    *,
    module: str = "assets.definitions",
    attribute: str = "defs",
    python_file: str | None = None,
) -> None:
    """Submit one ``kommune_profiles_job`` run per chunk of kommuner with ``dagster job
    launch`` (a partition, or a partition range for several kommuner), tagged
    ``evaluation/profile_batch=batch``, to the instance at ``$DAGSTER_HOME``: started at once
    by the run launcher (default coordinator) or queued for the daemon (queued run
    coordinator); each run is its own process.

    Why not ``dagster job backfill``: a job backfill ignores the asset's ``BackfillPolicy``
    and makes one run (one process) per kommune; the UI's asset backfill honours it.
    """
    env = {**os.environ, "EVALUATION_STUDY": str(study_path)}
    cmds = []
    for chunk in chunks:
        part = {PARTITION_TAG: chunk[0]} if len(chunk) == 1 else {
            RANGE_START_TAG: chunk[0], RANGE_END_TAG: chunk[-1]}
        cmds.append([_cli("dagster"), "job", "launch", *_target(module, attribute, python_file),
                     "-j", PROFILE_JOB, "--tags", json.dumps({BATCH_TAG: batch, **part})])
    # launched side by side (each `dagster job launch` loads the code location, seconds), so
    # the runs are submitted together and run together
    for start in range(0, len(cmds), LAUNCH_AT_ONCE):
        procs = [(cmd, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env=env))
                 for cmd in cmds[start:start + LAUNCH_AT_ONCE]]
        failed = []
        for cmd, proc in procs:
            out, err = proc.communicate()
            if proc.returncode != 0:
                failed.append(f"{' '.join(cmd)} exited with {proc.returncode}:\n{out[-2000:]}\n"
                              f"{err[-3000:]}")
        if failed:
            raise RuntimeError("dagster job launch failed: " + "\n".join(failed))


def run_partitions(run: dg.DagsterRun, order: list[str]) -> list[str]:
    """The kommuner a profile run covers: its partition, or its partition range (inclusive,
    in the partitions definition's ``order``)."""
    if PARTITION_TAG in run.tags:
        return [run.tags[PARTITION_TAG]]
    lo, hi = run.tags.get(RANGE_START_TAG), run.tags.get(RANGE_END_TAG)
    if lo in order and hi in order:
        return order[order.index(lo):order.index(hi) + 1]
    return []


def wait_for_runs(instance: dg.DagsterInstance, batch: str, kommuner: list[str],
                      order: list[str], timeout: float = 1800, poll: float = 1.0,
                      on_stall=None, stall_after: float = 60.0) -> dict[str, str]:
    """Wait until runs of a batch covering every one of ``kommuner`` have finished; return
    kommune -> status of its run (SUCCESS, FAILURE, CANCELED). ``order`` is the partition
    keys in the definition's order (to expand partition ranges). ``on_stall()`` is called
    once when for ``stall_after`` seconds runs exist but none has left the queue."""
    done = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED}
    start = time.monotonic()
    deadline = start + timeout
    while True:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={BATCH_TAG: batch}))
        state = {k: r.status.value for r in runs if r.status in done
                 for k in run_partitions(r, order)}
        if set(kommuner) <= set(state) and all(r.status in done for r in runs):
            return {k: state[k] for k in kommuner}
        now = time.monotonic()
        if (on_stall is not None and runs and now - start > stall_after
                and all(r.status == dg.DagsterRunStatus.QUEUED for r in runs)):
            on_stall()
            on_stall = None
        if now > deadline:
            raise TimeoutError(f"profile runs {batch}: not finished after {timeout:.0f} s: "
                               f"{len(runs)} runs ({', '.join(r.status.value for r in runs)}), "
                               f"finished for {sorted(state)}")
        time.sleep(poll)


def _queues_runs(instance: dg.DagsterInstance) -> bool:
    return isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)


def _queue_daemon_live(instance: dg.DagsterInstance) -> bool:
    status = instance.get_daemon_statuses(["QUEUED_RUN_COORDINATOR"])
    return bool(status.get("QUEUED_RUN_COORDINATOR") and
                status["QUEUED_RUN_COORDINATOR"].healthy)


def run_profiles(instance: dg.DagsterInstance, study, *, study_path: str | None = None,
                 module: str = "assets.definitions", attribute: str = "defs",
                 python_file: str | None = None, partitions: list[str] | None = None,
                 timeout: float = 1800) -> dict[str, str]:
    """Materialize ``kommune_profile`` for every network kommune (or ``partitions``), the
    kommuner in parallel (:func:`profile_chunks`: about :func:`profile_runs` runs of
    neighbouring kommuner), and wait for them.
    Returns kommune -> run status; the upstream assets must have been materialized.

    ``instance`` must be the instance at ``$DAGSTER_HOME`` (the runs are submitted there).
    When it queues runs (``QueuedRunCoordinator``, the default) and no daemon is serving the
    queue (no ``dagster dev`` or ``dagster-daemon run`` on this DAGSTER_HOME), a
    ``dagster-daemon run`` on the same code location is started for the duration and stopped
    afterwards; the queue's ``max_concurrent_runs`` then caps how many kommuner run at once.
    """
    path = study_path or str(study.source_file)
    keys = partitions or profile_kommuner(study)
    daemons: list[subprocess.Popen] = []

    def start_daemon() -> None:
        # this daemon is only here to start the queued profile runs: the study's sensors and
        # schedule load stopped in it (AUTOMATION_ENV), so it launches nothing else
        env = {**os.environ, "EVALUATION_STUDY": path, AUTOMATION_ENV: "off"}
        log_dir = Path(os.environ.get("DAGSTER_HOME") or ".") / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / "profiles-daemon.log", "ab") as log:
            daemons.append(subprocess.Popen(
                [_cli("dagster-daemon"), "run", *_target(module, attribute, python_file),
                 "--log-level", "warning"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))

    if _queues_runs(instance) and not _queue_daemon_live(instance):
        start_daemon()
    try:
        batch = uuid.uuid4().hex[:12]
        chunks = profile_chunks(keys, profile_kommuner(study), profile_runs())
        launch_profile_runs(path, chunks, batch, module=module, attribute=attribute,
                            python_file=python_file)
        # a daemon that looked alive (a heartbeat from one that just stopped) but does not
        # take the queued runs: start our own after a minute
        return wait_for_runs(instance, batch, keys, profile_kommuner(study),
                                 timeout=timeout,
                                 on_stall=None if daemons or not _queues_runs(instance)
                                 else start_daemon)
    finally:
        for daemon in daemons:  # the daemon and the code server it started: its own group
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()
        if daemons:  # so the next call does not take our stopped daemon for a live one
            instance.wipe_daemon_heartbeats()
