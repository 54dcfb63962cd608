"""Report: one municipality profile per network kommune, as a Dagster asset partitioned by
kommune (static partitions from the study), so the kommuner run in parallel.

How they run in parallel: runs over partition ranges of neighbouring kommuner. The asset's
``BackfillPolicy.multi_run`` puts up to ``ceil(kommuner / PROFILE_RUNS)`` kommuner in one run,
so a backfill of all kommuner makes about ``PROFILE_RUNS`` runs (default: the machine's CPU
count, one fewer when the command line starts them beside its own run;
``EVALUATION_PROFILE_RUNS`` overrides it; 1 kommune per run with
``EVALUATION_PROFILE_RUNS`` >= the number of kommuner), each its own process: the kommuner run
in parallel without paying a process start, a code-location load and an input load per
kommune (a national study has over a hundred network kommuner).

- UI: select ``kommune_profile`` (or the job ``kommune_profiles_job``), Materialize, "all
  partitions": the backfill daemon of ``dagster dev`` submits the runs; the run
  launcher starts each in its own process, so they run concurrently (with a
  ``QueuedRunCoordinator`` on the instance, ``max_concurrent_runs`` caps how many at once).
- Command line / Python: :func:`run_profiles` splits the kommuner the same way and runs each
  chunk as one Dagster run over its partition range, executed in process by a worker process
  of its own (``python -m assets.profiles``), all chunks at once; it waits for the workers and
  reads the runs' status from the instance. No daemon, run queue or run launcher: each worker
  loads the code location once (a launched run pays a ``dagster job launch`` process, the
  daemon's queue polling and a run worker, each loading the code location again).

The warehouse is one DuckDB file and DuckDB lets one process write at a time: the profile asset
therefore stores nothing in the warehouse. It writes its files (HTML + CSV, atomically) and
returns ``MaterializeResult`` metadata (aggregates-only markdown preview, the main figure, the
paths); its runs only read ``registry_panel``, ``registry_reference`` and ``scale_scores``.
"""

import base64
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

import dagster as dg
import pandas as pd

from evaluation_pipeline.report.profiles import (
    build_kommune_profile,
    figure_cache,
    profile_kommuner,
)

from .resources import StudyResource, execute_in_process, one_blas_thread

PROFILE_ASSET = "kommune_profile"
PROFILE_JOB = "kommune_profiles_job"
#: the tag Dagster puts on every run of a backfill
BACKFILL_TAG = "dagster/backfill"
#: the tag :func:`run_profiles` puts on the runs it launches
BATCH_TAG = "evaluation/profile_batch"
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
RUNS_ENV = "EVALUATION_PROFILE_RUNS"
#: the columns of ``scale_scores`` a profile reads
PROFILE_SCORE_COLUMNS = ("respondent_id", "wave", "kommune", "scale", "score")
#: exit status of a profile worker whose run failed (the run and its error are on the
#: instance); any other non-zero status is the worker's own failure
RUN_FAILED = 3


def profile_runs(beside_a_run: bool = False) -> int:
    """How many runs a backfill of all kommuner is split into ($EVALUATION_PROFILE_RUNS,
    default the CPU count; ``beside_a_run``: the profiles share the CPUs with a run still
    going in this process (the command line's study or new-waves job), so by default one
    fewer, at least 1: one more CPU-bound process than cores makes every process slower and
    costs one more worker's start and input load (national study, 2 cores, new-wave run:
    1 worker instead of 2 took 110.8 instead of 133.7 s CPU and 76.6 instead of 93.7 s))."""
    value = os.environ.get(RUNS_ENV)
    if value:
        try:
            n = int(value)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"{RUNS_ENV}={value!r}: expected a whole number >= 1")
        return n
    return max((os.cpu_count() or 1) - (1 if beside_a_run else 0), 1)


def kommuner_per_run(study) -> int:
    """Kommuner per run: ceil(network kommuner / :func:`profile_runs`)."""
    return max(1, math.ceil(len(profile_kommuner(study)) / profile_runs()))


def kommune_partitions(study) -> dg.StaticPartitionsDefinition:
    """One partition per network kommune of the study (its kommune code)."""
    return dg.StaticPartitionsDefinition(profile_kommuner(study))


#: the inputs of a profile from each source of evidence (interviews give a profile nothing)
#: the inputs of the profiles per source: the registry panel with the registry files' country
#: and fylke rows (the trends' reference lines), the survey's scale scores
PROFILE_INPUTS = {"registry": ["registry_panel", "registry_reference"],
                  "survey": ["scale_scores"]}


def profile_definitions(study, sources: list[str] | None = None) -> tuple[list, list]:
    """The ``kommune_profile`` asset (partitioned by the study's network kommuner) and the job
    ``kommune_profiles_job`` over it: ``(assets, jobs)`` for ``build_definitions``.
    ``sources``: the study's sources of evidence that are built (default: every source
    study.yaml has); only theirs are inputs, and without registry data or a survey there is
    no profile (``([], [])``)."""
    if sources is None:
        sources = [s for s in ("survey", "interviews", "registry") if getattr(study, s)]
    names = [n for s in ("registry", "survey") if s in sources for n in PROFILE_INPUTS[s]]
    if not names:
        return [], []
    ins = {"registry_panel": dg.AssetIn(), "registry_reference": dg.AssetIn(),
           # only the columns the profiles read (each worker holds every wave's scores)
           "scale_scores": dg.AssetIn(
               partition_mapping=dg.AllPartitionMapping(),
               metadata={"columns": list(PROFILE_SCORE_COLUMNS)})}
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
            ins={n: ins[n] for n in names},
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
            **inputs: pd.DataFrame,
        ) -> dg.MaterializeResult:
            s = study.load()
            registry_panel = inputs.get("registry_panel", pd.DataFrame())
            scale_scores = inputs.get("scale_scores")
            shared: dict = {}  # what the kommuner of this run have in common, once
            # the country ("Hele landet") and fylke lines of the trends
            national = inputs.get("registry_reference")
            built = [build_kommune_profile(s, k, registry_panel, scale_scores, shared=shared,
                                           national=national, cache_dir=figure_cache(s))
                     for k in context.partition_keys]
            if len(built) == 1:
                return dg.MaterializeResult(metadata=_kommune_metadata(built[0], figure=True))
            # a run over a partition range: Dagster gives every partition's materialization
            # the run's metadata, so that stays small (one kommune's preview and figure would
            # be stored once per kommune of the run: quadratic, ~100 MB of event log for a
            # national run of 54 kommuner); each kommune's own preview and paths go into an
            # observation of its partition
            for p in built:
                context.log_event(dg.AssetObservation(
                    asset_key=context.asset_key, partition=p.kommune,
                    metadata=_kommune_metadata(p, figure=False)))
            return dg.MaterializeResult(metadata={
                "kommuner_in_run": len(built),
                "suppressed_cells_in_run": sum(p.suppressed_cells for p in built),
                "profiles_dir": dg.MetadataValue.path(str(Path(built[0].html).parent)),
                "details": "each kommune's preview and files: the observation of its "
                           "partition",
            })

    job = dg.define_asset_job(
        PROFILE_JOB,
        selection=dg.AssetSelection.assets(kommune_profile),
        description="One municipality profile per partition (network kommune); launch all "
        "partitions as a backfill (or `evaluation-pipeline run`) to run the kommuner in "
        "parallel runs of neighbouring kommuner.",
    )
    return [kommune_profile], [job]


def _kommune_metadata(p, figure: bool) -> dict:
    """Metadata of one kommune's profile: the page, its tables, its suppressed cells, the
    aggregates-only preview and (``figure``) its trends figure embedded as PNG (a national
    profile's figure is over 1 MB, so only a single-kommune run embeds it)."""
    meta = {
        "profile": dg.MetadataValue.path(str(p.html)),
        "tables": dg.MetadataValue.json({k: str(v) for k, v in p.tables.items()}),
        "suppressed_cells": p.suppressed_cells,
        "preview": dg.MetadataValue.md(p.preview_markdown),
    }
    if figure:
        png = base64.b64encode(p.figure_png).decode("ascii") if p.figure_png else ""
        meta["main_figure"] = dg.MetadataValue.md(
            f"![trends {p.name}](data:image/png;base64,{png})" if png else "(no figure)")
    return meta


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


def chunk_tags(chunk: list[str], batch: str) -> dict[str, str]:
    """The run tags of one chunk: its partition, or its partition range, and the batch."""
    part = {PARTITION_TAG: chunk[0]} if len(chunk) == 1 else {
        RANGE_START_TAG: chunk[0], RANGE_END_TAG: chunk[-1]}
    return {BATCH_TAG: batch, **part}


def run_partitions(run: dg.DagsterRun, order: list[str]) -> list[str]:
    """The kommuner a profile run covers: its partition, or its partition range (inclusive,
    in the partitions definition's ``order``)."""
    if PARTITION_TAG in run.tags:
        return [run.tags[PARTITION_TAG]]
    lo, hi = run.tags.get(RANGE_START_TAG), run.tags.get(RANGE_END_TAG)
    if lo in order and hi in order:
        return order[order.index(lo):order.index(hi) + 1]
    return []


def _worker_command(tags: dict[str, str], module: str, attribute: str,
                    python_file: str | None) -> list[str]:
    target = ["--python-file", python_file] if python_file else ["--module", module]
    return [sys.executable, "-m", "assets.profiles", *target, "--attribute", attribute,
            "--tags", json.dumps(tags)]


def run_profiles(instance: dg.DagsterInstance, study, *, study_path: str | None = None,
                 module: str = "assets.definitions", attribute: str = "defs",
                 python_file: str | None = None, partitions: list[str] | None = None,
                 timeout: float = 1800) -> dict[str, str]:
    """Materialize ``kommune_profile`` for every network kommune (or ``partitions``), the
    kommuner in parallel (:func:`profile_chunks`: about :func:`profile_runs` runs of
    neighbouring kommuner), and wait for them.
    Returns kommune -> run status (SUCCESS, FAILURE); the upstream assets must have been
    materialized. :func:`start_profiles` and :meth:`ProfileRuns.wait`, in one call.
    """
    return start_profiles(instance, study, study_path=study_path, module=module,
                          attribute=attribute, python_file=python_file,
                          partitions=partitions).wait(timeout)


def start_profiles(instance: dg.DagsterInstance, study, *, study_path: str | None = None,
                   module: str = "assets.definitions", attribute: str = "defs",
                   python_file: str | None = None,
                   partitions: list[str] | None = None,
                   runs: int | None = None) -> "ProfileRuns":
    """Start the profile runs of :func:`run_profiles` and return without waiting for them
    (the caller goes on with other work and calls :meth:`ProfileRuns.wait`).

    Each chunk is one Dagster run of ``kommune_profiles_job`` over its partition range,
    executed in process by a worker process of its own (``python -m assets.profiles``), all
    workers at once; the runs are recorded on ``instance`` (it must be the instance at
    ``$DAGSTER_HOME``, which the workers open) and tagged ``evaluation/profile_batch``.
    No daemon, run queue or run launcher is involved: each worker loads the code location once
    and runs its kommuner (the UI's backfills go through the daemon as usual). ``runs``: how
    many runs (workers) at most, default :func:`profile_runs`.
    """
    path = study_path or str(study.source_file)
    order = profile_kommuner(study)
    keys = partitions or order
    batch = uuid.uuid4().hex[:12]
    chunks = profile_chunks(keys, order, runs or profile_runs())
    env = one_blas_thread({**os.environ, "EVALUATION_STUDY": str(path)})
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    runs = ProfileRuns(instance, batch, order, keys, chunks)
    try:
        for chunk in chunks:
            log = tempfile.TemporaryFile()
            runs.logs.append(log)
            runs.procs.append(subprocess.Popen(
                _worker_command(chunk_tags(chunk, batch), module, attribute, python_file),
                env=env, stdout=log, stderr=subprocess.STDOUT))
    except BaseException:
        runs.stop()
        raise
    return runs


class ProfileRuns:
    """The worker processes of one batch of profile runs (:func:`start_profiles`)."""

    def __init__(self, instance: dg.DagsterInstance, batch: str, order: list[str],
                 keys: list[str], chunks: list[list[str]]):
        self.instance, self.batch, self.order, self.keys = instance, batch, order, keys
        self.chunks = chunks
        self.procs: list[subprocess.Popen] = []
        self.logs: list = []

    def wait(self, timeout: float = 1800) -> dict[str, str]:
        """Wait for every worker; kommune -> run status (SUCCESS, FAILURE). A worker that
        failed itself (not its run) or did not finish in ``timeout`` s is an error."""
        deadline = time.monotonic() + timeout
        errors = []
        try:
            for chunk, proc, log in zip(self.chunks, self.procs, self.logs, strict=True):
                try:
                    proc.wait(timeout=max(deadline - time.monotonic(), 1))
                except subprocess.TimeoutExpired as err:
                    raise TimeoutError(
                        f"profile runs {self.batch}: not finished after {timeout:.0f} s "
                        f"(kommuner {chunk[0]}..{chunk[-1]} still running)") from err
                if proc.returncode not in (0, RUN_FAILED):  # the worker itself failed
                    log.seek(0)
                    tail = log.read().decode("utf-8", "replace")[-3000:]
                    errors.append(f"profile worker for {chunk[0]}..{chunk[-1]} exited with "
                                  f"{proc.returncode}:\n{tail}")
        finally:
            self.stop()
        if errors:
            raise RuntimeError("\n".join(errors))
        runs = self.instance.get_runs(filters=dg.RunsFilter(tags={BATCH_TAG: self.batch}))
        state = {k: r.status.value for r in runs for k in run_partitions(r, self.order)}
        return {k: state.get(k, "FAILURE") for k in self.keys}

    def stop(self) -> None:
        """Kill the workers still running (interrupted) and close their logs."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for log in self.logs:
            if not log.closed:
                log.close()


def _load_definitions(module: str, attribute: str, python_file: str | None) -> dg.Definitions:
    """The code location's Definitions; a lazy ``@dg.definitions`` function (as
    ``assets.definitions.defs``) is called, as Dagster does when it loads the location."""
    if python_file:
        import runpy

        found = runpy.run_path(python_file)[attribute]
    else:
        import importlib

        found = getattr(importlib.import_module(module), attribute)
    return found if isinstance(found, dg.Definitions) else found()


def _worker(argv: list[str] | None = None) -> int:
    """``python -m assets.profiles --tags JSON [--module M | --python-file F] --attribute A``:
    one run of ``kommune_profiles_job`` with those tags (a partition or a partition range),
    executed in this process on the instance at ``$DAGSTER_HOME``; exit 0 when it succeeded,
    :data:`RUN_FAILED` when the run failed (the failure is on the instance)."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m assets.profiles")
    ap.add_argument("--tags", required=True)
    ap.add_argument("--module", default="assets.definitions")
    ap.add_argument("--python-file", default=None)
    ap.add_argument("--attribute", default="defs")
    args = ap.parse_args(argv)
    defs = _load_definitions(args.module, args.attribute, args.python_file)
    job = defs.resolve_job_def(PROFILE_JOB)
    with dg.DagsterInstance.get() as instance:
        res = execute_in_process(job, instance=instance, tags=json.loads(args.tags),
                                 raise_on_error=False,
                                 run_config={"loggers": {"console": {
                                     "config": {"log_level": "WARNING"}}}})
    return 0 if res.success else RUN_FAILED


if __name__ == "__main__":
    raise SystemExit(_worker())
