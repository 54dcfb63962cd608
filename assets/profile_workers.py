"""Running the municipality profiles from the command line or Python, without the daemon:
:func:`run_profiles` / :func:`start_profiles` split the kommuner into chunks of neighbours
(:func:`profile_chunks`) and run each chunk as one Dagster run of ``kommune_profiles_job``
over its partition range, executed in process by a worker process of its own (``python -m
assets.profile_workers``, in a :class:`~assets.workers.WorkerPool`), all chunks at once; they
wait for the workers and read the runs' status from the instance. :class:`ProfileStarter`
starts them during the command line's study job, as soon as their inputs are there.

No daemon, run queue or run launcher: each worker loads the code location once (a launched
run pays a ``dagster job launch`` process, the daemon's queue polling and a run worker, each
loading the code location again). The asset itself is :mod:`assets.profiles`.
"""

import json
import math
import sys
import uuid

import dagster as dg

from evaluation_pipeline.report.profiles import profile_kommuner

from .execution import execute_in_process
from .profiles import PROFILE_JOB, profile_runs
from .workers import WorkerPool, WorkerTimeout, worker_env

#: the tag Dagster puts on every run of a backfill
BACKFILL_TAG = "dagster/backfill"
#: the tag :func:`run_profiles` puts on the runs it launches
BATCH_TAG = "evaluation/profile_batch"
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
#: exit status of a profile worker whose run failed (the run and its error are on the
#: instance); any other non-zero status is the worker's own failure
RUN_FAILED = 3


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
    return [sys.executable, "-m", "assets.profile_workers", *target, "--attribute", attribute,
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
    executed in process by a worker process of its own (``python -m assets.profile_workers``),
    all workers at once; the runs are recorded on ``instance`` (it must be the instance at
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
    runs = ProfileRuns(instance, batch, order, keys, chunks,
                       WorkerPool(worker_env(path), capture=True))
    try:
        for chunk in chunks:
            runs.pool.start(
                _worker_command(chunk_tags(chunk, batch), module, attribute, python_file))
    except BaseException:
        runs.stop()
        raise
    return runs


class ProfileRuns:
    """The worker processes of one batch of profile runs (:func:`start_profiles`)."""

    def __init__(self, instance: dg.DagsterInstance, batch: str, order: list[str],
                 keys: list[str], chunks: list[list[str]], pool: WorkerPool):
        self.instance, self.batch, self.order, self.keys = instance, batch, order, keys
        self.chunks, self.pool = chunks, pool

    def wait(self, timeout: float = 1800) -> dict[str, str]:
        """Wait for every worker; kommune -> run status (SUCCESS, FAILURE). A worker that
        failed itself (not its run) or did not finish in ``timeout`` s is an error."""
        errors = []
        try:
            try:
                codes = self.pool.wait(timeout)
            except WorkerTimeout as err:
                chunk = self.chunks[err.index]
                raise TimeoutError(
                    f"profile runs {self.batch}: not finished after {timeout:.0f} s "
                    f"(kommuner {chunk[0]}..{chunk[-1]} still running)") from err
            for i, (chunk, code) in enumerate(zip(self.chunks, codes, strict=True)):
                if code not in (0, RUN_FAILED):  # the worker itself failed
                    errors.append(f"profile worker for {chunk[0]}..{chunk[-1]} exited with "
                                  f"{code}:\n{self.pool.output(i)}")
        finally:
            self.stop()
        if errors:
            raise RuntimeError("\n".join(errors))
        runs = self.instance.get_runs(filters=dg.RunsFilter(tags={BATCH_TAG: self.batch}))
        state = {k: r.status.value for r in runs for k in run_partitions(r, self.order)}
        return {k: state.get(k, "FAILURE") for k in self.keys}

    def stop(self) -> None:
        """Kill the workers still running (interrupted) and close their logs."""
        self.pool.stop()


class ProfileStarter:
    """Starts the municipality profiles (a backfill over the network kommuner, split into
    parallel runs; see :func:`start_profiles`) as soon as their inputs are in the warehouse.

    Used as an event listener of the study job's run: the profiles need only the registry
    panel and the scale scores, and the registry panel's steps run first in the study job
    (``PROFILE_INPUTS_FIRST``), so the profile workers run beside the rest of the study job
    (effects, report) instead of after it. Inputs the job does not materialize (the scale
    scores come from the wave runs; the new-waves job leaves the registry alone) are there
    already, so with none left the profiles start at once.
    """

    def __init__(self, instance, study, study_path: str, job):
        self.instance, self.study, self.study_path = instance, study, study_path
        made = set(job.asset_layer.selected_asset_keys) if job.asset_layer else set()
        self.waiting = {dg.AssetKey(k) for k in ("registry_panel", "registry_reference",
                                                  "scale_scores")} & made
        self.runs = None
        self._blas = None  # this process's BLAS thread limit while the profiles run
        if not self.waiting:
            self.start()

    def __call__(self, entry) -> None:
        ev = entry.dagster_event
        if self.runs is not None or ev is None or \
                ev.event_type != dg.DagsterEventType.ASSET_MATERIALIZATION:
            return
        self.waiting.discard(ev.asset_key)
        if not self.waiting:
            self.start()

    def start(self) -> None:
        runs = min(profile_runs(beside_a_run=True), len(self.study.network))
        print(f"[evaluation-pipeline] profiles: {len(self.study.network)} network kommuner "
              f"in up to {runs} parallel run(s), started beside the remaining steps ...",
              flush=True)
        self.runs = start_profiles(self.instance, self.study, study_path=self.study_path,
                                   runs=runs)
        # the study job's remaining steps share the CPUs with the profile workers: one BLAS
        # thread here too (see assets.workers.one_blas_thread)
        from threadpoolctl import threadpool_limits

        self._blas = threadpool_limits(limits=1)

    def finish(self, start: bool = True) -> int:
        """Wait for the profiles (first starting them if ``start`` and they have not been);
        0 when every kommune's run succeeded."""
        if self.runs is None:
            if not start:
                return 0
            self.start()
        status = self.runs.wait()
        self.stop()
        failed = sorted(k for k, v in status.items() if v != "SUCCESS")
        if failed:
            print(f"[evaluation-pipeline] profiles FAILED for {', '.join(failed)} "
                  f"(see the runs in `make ui`)", file=sys.stderr)
            return 1
        print(f"[evaluation-pipeline] profiles {len(status)}/{len(status)} done", flush=True)
        return 0

    def stop(self) -> None:
        if self.runs is not None:
            self.runs.stop()
        if self._blas is not None:
            self._blas.restore_original_limits()
            self._blas = None


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
    """``python -m assets.profile_workers --tags JSON [--module M | --python-file F]
    --attribute A``: one run of ``kommune_profiles_job`` with those tags (a partition or a
    partition range), executed in this process on the instance at ``$DAGSTER_HOME``; exit 0
    when it succeeded, :data:`RUN_FAILED` when the run failed (the failure is on the instance)."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m assets.profile_workers")
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
