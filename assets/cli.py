"""``evaluation-pipeline``: run the whole study through Dagster from the command line.

The plain ``dagster asset materialize`` CLI refuses a selection that mixes partitioned and
unpartitioned assets, so ``run`` registers the study's survey waves as partitions, runs the
per-wave job once per wave, then the study job and the municipality profiles, all recorded in
the local Dagster instance (so the runs show in ``dagster dev``).
"""

import argparse
import logging
import os
import sys
import uuid
from pathlib import Path

from .resources import (
    PROJECT_ROOT,
    STUDY_ENV,
    default_study_path,
    execute_in_process,
    one_blas_thread,
)

DAGSTER_YAML = "telemetry:\n  enabled: false\n"
#: set (to 1) by ``run --debug``, also for the wave workers: Dagster's own error log lines
#: with their tracebacks are printed, and the stack traces of failed steps
DEBUG_ENV = "EVALUATION_DEBUG"


def debug() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


class _ShortFailures(logging.Logger):
    """Dagster's console logger (named "dagster") without its ERROR records: a failed step
    is logged there with the whole Dagster traceback; the command prints the failure itself,
    short (:func:`_failure_messages`). Warnings still show. Off under ``--debug``."""

    def __init__(self, name: str, level: int | str = logging.NOTSET) -> None:
        super().__init__(name, level)
        if name == "dagster":
            self.addFilter(lambda record: record.levelno < logging.ERROR)
#: console logging of the runs: warnings and errors only (the full event log is in the UI)
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def ensure_dagster_home() -> Path:
    """$DAGSTER_HOME, defaulting to a project-local ``.dagster_home`` with telemetry off."""
    home = Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text(DAGSTER_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def register_waves(study_path: str) -> list[str]:
    """Add every wave declared in study.yaml as a partition on the local instance."""
    import dagster as dg

    from .partitions import survey_waves
    from .resources import load_study

    study = load_study(study_path)
    instance = dg.DagsterInstance.get()
    have = set(instance.get_dynamic_partitions(survey_waves.name))
    new = [w for w in study.wave_ids if w not in have]
    if new:
        instance.add_dynamic_partitions(survey_waves.name, new)
    return study.wave_ids


class Progress:
    """Per-asset progress of one run, fed by the instance's event listener.

    On a terminal one status line is rewritten in place (steps done / total and the asset
    being computed); otherwise (CI logs, pipes) one line per finished step, so a log is not
    flooded with per-event output.
    """

    def __init__(self, label: str, total: int, stream=None):
        self.label, self.total = label, total
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self.running: list[str] = []
        self._width = 0

    def __call__(self, entry) -> None:
        import dagster as dg

        ev = entry.dagster_event
        if ev is None or not ev.step_key:
            return
        step = ev.step_key
        if ev.event_type == dg.DagsterEventType.STEP_START:
            self.running.append(step)
            if self.tty:
                self._draw()
        elif ev.event_type in (dg.DagsterEventType.STEP_SUCCESS,
                               dg.DagsterEventType.STEP_FAILURE,
                               dg.DagsterEventType.STEP_SKIPPED):
            if step in self.running:
                self.running.remove(step)
            ok = ev.event_type == dg.DagsterEventType.STEP_SUCCESS
            self.done += ok
            status = {dg.DagsterEventType.STEP_SUCCESS: "done",
                      dg.DagsterEventType.STEP_FAILURE: "FAILED"}.get(ev.event_type, "skipped")
            if self.tty:
                self._draw()
            else:
                print(f"[evaluation-pipeline] {self.label} {self.done}/{self.total} {step} "
                      f"{status}", file=self.stream, flush=True)

    def _draw(self) -> None:
        current = ", ".join(self.running) or "-"
        line = f"[evaluation-pipeline] {self.label} {self.done}/{self.total}  {current}"
        pad = max(0, self._width - len(line))
        self._width = len(line)
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()


def _execute(job, instance, label: str, listener=None, **kwargs):
    """Execute a job in process on the instance with a progress display (and ``listener``
    called with each event log entry of the run too)."""
    run_id = str(uuid.uuid4())
    progress = Progress(label, total=len(job.graph.nodes))
    instance.add_event_listener(run_id, progress)
    if listener is not None:
        instance.add_event_listener(run_id, listener)
    previous = logging.getLoggerClass()
    if not debug():  # the console logger is created during the run: without the tracebacks
        logging.setLoggerClass(_ShortFailures)
    try:
        return execute_in_process(job, instance=instance, run_id=run_id, run_config=QUIET,
                                  raise_on_error=False, **kwargs)
    finally:
        logging.setLoggerClass(previous)
        progress.close()


def _failure_messages(result) -> list[str]:
    """The error messages of the failed steps and checks of a run (no row-level data): a
    failed check as its description (a contract check: the table of failed rules with file,
    column, rule, rows, examples and what was expected), a failed step as its error's message;
    the stack traces only under ``--debug``."""
    import dagster as dg

    checks, steps = [], []
    failed_check_assets = set()
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            data = event.asset_check_evaluation_data
            if not data.passed:
                asset = data.asset_key.to_user_string()
                failed_check_assets.add(asset)
                text = (data.description or "").strip()
                if not text:
                    meta = {k: getattr(v, "value", v) for k, v in data.metadata.items()}
                    text = str(meta)
                checks.append(f"check {data.check_name} on {asset} failed:\n"
                              + "\n".join(f"    {ln}" for ln in text.splitlines()))
        elif event.is_step_failure:
            err = event.step_failure_data.error
            cause = err.cause or err
            if cause.cls_name == "DagsterAssetCheckFailedError" and not debug():
                continue  # said by the failed check itself
            msg = f"{event.step_key}: {cause.message.strip()}"
            if debug():
                msg += "\n" + "".join(cause.stack or err.stack or [])
            steps.append(msg)
    return checks + steps


class ProfileStarter:
    """Starts the municipality profiles (a backfill over the network kommuner, split into
    parallel runs; see assets.profiles) as soon as their inputs are in the warehouse.

    Used as an event listener of the study job's run: the profiles need only the registry
    panel and the scale scores, and the registry panel's steps run first in the study job
    (``PROFILE_INPUTS_FIRST``), so the profile workers run beside the rest of the study job
    (effects, report) instead of after it. Inputs the job does not materialize (the scale
    scores come from the wave runs; the new-waves job leaves the registry alone) are there
    already, so with none left the profiles start at once.
    """

    def __init__(self, instance, study, study_path: str, job):
        import dagster as dg

        self.instance, self.study, self.study_path = instance, study, study_path
        made = set(job.asset_layer.selected_asset_keys) if job.asset_layer else set()
        self.waiting = {dg.AssetKey(k) for k in ("registry_panel", "registry_reference",
                                                  "scale_scores")} & made
        self.runs = None
        self._blas = None  # this process's BLAS thread limit while the profiles run
        if not self.waiting:
            self.start()

    def __call__(self, entry) -> None:
        import dagster as dg

        ev = entry.dagster_event
        if self.runs is not None or ev is None or \
                ev.event_type != dg.DagsterEventType.ASSET_MATERIALIZATION:
            return
        self.waiting.discard(ev.asset_key)
        if not self.waiting:
            self.start()

    def start(self) -> None:
        from .profiles import profile_runs, start_profiles

        runs = min(profile_runs(beside_a_run=True), len(self.study.network))
        print(f"[evaluation-pipeline] profiles: {len(self.study.network)} network kommuner "
              f"in up to {runs} parallel run(s), started beside the remaining steps ...",
              flush=True)
        self.runs = start_profiles(self.instance, self.study, study_path=self.study_path,
                                   runs=runs)
        # the study job's remaining steps share the CPUs with the profile workers: one BLAS
        # thread here too (see assets.resources.one_blas_thread)
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


#: env var: how many worker processes run the survey waves (1: in this process, one by one)
WAVE_RUNS_ENV = "EVALUATION_WAVE_RUNS"
#: by default the waves run in parallel workers when their landing files hold at least this
#: many bytes: a worker first imports Dagster, great-expectations and the code location
#: (~10 s of CPU), more than a small wave costs
PARALLEL_WAVE_BYTES = 50 * 2**20


def wave_runs(study, waves: list[str]) -> int:
    """The number of worker processes for ``waves``: ``$EVALUATION_WAVE_RUNS`` if set, else
    the CPU count when the waves' files are large (:data:`PARALLEL_WAVE_BYTES`), else 1;
    never more than the waves."""
    from evaluation_pipeline.errors import PipelineError

    env = os.environ.get(WAVE_RUNS_ENV, "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise PipelineError(f"{WAVE_RUNS_ENV}={env!r}: expected a whole number >= 1")
        n = int(env)
    else:
        def size(wave: str) -> int:
            try:
                path = study.wave_file(wave)
            except PipelineError:  # the wave's own run reports a missing file
                return 0
            return path.stat().st_size if path.is_file() else 0

        total = sum(size(w) for w in waves)
        n = (os.cpu_count() or 1) if total >= PARALLEL_WAVE_BYTES else 1
    return max(1, min(n, len(waves)))


def _run_waves(defs, instance, waves: list[str], failures: dict[str, str] | None = None
               ) -> int:
    """The per-wave job for each of ``waves``, one after another in this process; stops at a
    failing wave (``failures``: wave -> its failure, in one line)."""
    from evaluation_pipeline.memory import release_memory

    from .definitions import WAVE_JOB

    wave_job = defs.resolve_job_def(WAVE_JOB)
    for wave in waves:
        res = _execute(wave_job, instance, f"wave {wave}", partition_key=wave)
        if not res.success:
            messages = _failure_messages(res)
            print(f"[evaluation-pipeline] wave {wave} FAILED (run id {res.run_id}):",
                  *messages, sep="\n  ", file=sys.stderr, flush=True)
            if failures is not None:
                text = " ".join(" ".join(messages).split())
                failures[wave] = text[:400] + ("…" if len(text) > 400 else "")
            return 1
        del res
        # a national wave leaves millions of freed objects behind: without this, a worker's
        # second wave starts from the first one's peak (and two such workers run at once)
        release_memory()
    return 0


def _run_waves_in_workers(study_path: str, waves: list[str], runs: int) -> int:
    """``waves`` split over ``runs`` worker processes (``python -m assets.cli run-waves``),
    all started at once; each runs its waves in process on the instance at $DAGSTER_HOME
    and prints its progress and failures. The warehouse's writer lock is taken in turns (the
    DuckDB IO manager retries a locked file). Returns 1 if any worker failed."""
    import subprocess

    groups = [waves[i::runs] for i in range(runs)]
    print(f"[evaluation-pipeline] {len(waves)} waves in {runs} parallel worker(s) ...",
          flush=True)
    env = one_blas_thread({**os.environ, STUDY_ENV: study_path})
    root = str(PROJECT_ROOT)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    procs = [subprocess.Popen([sys.executable, "-m", "assets.cli", "run-waves", "--study",
                               study_path, "--waves", ",".join(g)], env=env)
             for g in groups]
    try:
        codes = [p.wait() for p in procs]
    finally:  # interrupted: stop the workers too
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    failed = [",".join(g) for g, c in zip(groups, codes, strict=True) if c != 0]
    if failed:
        print(f"[evaluation-pipeline] the worker(s) for wave(s) {'; '.join(failed)} failed "
              "(see above)", file=sys.stderr, flush=True)
        return 1
    return 0


def failed_sources(result, defs) -> dict[str, str] | None:
    """The sources of evidence (``registry``, ``interviews``) whose steps failed in a run of
    the study job -> why (a failed blocking contract check, or the step's error), or None when
    a step failed that belongs to no single source (effects, logic chain, report): then the
    report cannot be built from the other sources."""
    import dagster as dg

    from .definitions import source_of

    op_keys: dict[str, list] = {}
    for a in defs.resolve_asset_graph().assets_defs:
        if a.is_executable:
            op_keys.setdefault(a.node_def.name, []).extend(a.keys)
    checks: dict[str, str] = {}
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            data = event.asset_check_evaluation_data
            if not data.passed:
                asset = data.asset_key.to_user_string()
                desc = " ".join((data.description or "").split())
                checks[asset] = (f"the {data.check_name} check on {asset} failed"
                                 + (f" ({desc[:300]})" if desc else ""))
    out: dict[str, str] = {}
    for event in result.all_events:
        if not event.is_step_failure:
            continue
        keys = op_keys.get(event.step_key, [])
        srcs = {source_of(k) for k in keys}
        if len(srcs) != 1 or None in srcs:
            return None
        (src,) = srcs
        reason = next((checks[k.to_user_string()] for k in keys
                       if k.to_user_string() in checks), None)
        if reason is None:
            err = event.step_failure_data.error
            msg = " ".join(((err.cause or err).message or "").split())
            reason = f"{event.step_key}: {msg[:300]}"
        out.setdefault(src, reason)
    return out or None


def insufficient_data_warnings(result) -> list[str]:
    """What could not be estimated and why: the ``insufficient_data`` metadata of the
    ``effects`` and ``logic_chain_evidence`` materializations of a run (empty if the run
    materialized neither)."""
    from .analysis import INSUFFICIENT_META

    lines: list[str] = []
    for event in result.get_asset_materialization_events():
        mat = event.materialization
        if mat.asset_key.to_user_string() in ("effects", "logic_chain_evidence") and \
                INSUFFICIENT_META in mat.metadata:
            value = mat.metadata[INSUFFICIENT_META]
            lines += [v for v in (getattr(value, "value", value) or []) if v not in lines]
    return lines


def unreadable_indicators(result) -> dict[str, str]:
    """The registry indicators whose file could not be read in a run (indicator -> short
    reason: the ``unreadable_indicators`` metadata of ``registry_observations_raw``)."""
    from .ingest import UNREADABLE_META

    out: dict[str, str] = {}
    for event in result.get_asset_materialization_events():
        mat = event.materialization
        if mat.asset_key.to_user_string() == "registry_observations_raw" and \
                UNREADABLE_META in mat.metadata:
            value = mat.metadata[UNREADABLE_META]
            out.update(getattr(value, "value", value) or {})
    return out


def print_unreadable(unreadable: dict[str, str], report) -> None:
    """After a run that left registry indicators out because their files could not be read:
    which, and that the report was built from the rest (the command exits 1: study.yaml or
    the file must be fixed; each one's whole reason is in the warnings summary)."""
    names = ", ".join(unreadable)
    print(f"[evaluation-pipeline] FAILED to read {len(unreadable)} registry indicator(s): "
          f"{names} (why: the warnings above; fix the file or study.yaml)", file=sys.stderr,
          flush=True)
    print(f"[evaluation-pipeline] report built without registry indicator(s) {names}: "
          f"{report}", flush=True)


def print_warnings(lines: list[str]) -> None:
    """The warnings summary: each result that could not be estimated, and why."""
    if not lines:
        return
    print(f"[evaluation-pipeline] warnings: {len(lines)} result(s) could not be estimated "
          "(verdict \"insufficient data\"; everything else was):", flush=True)
    for line in lines:
        print(f"  - {line}", flush=True)


def _partial_report(study_path: str, study, instance, failed: dict[str, str]) -> int:
    """After sources failed in the study job: effects, logic chain and report from the other
    sources (``study_report_job`` of the definitions without the failed sources), the report
    saying why each failed source is missing. Returns 0 when the report was built."""
    from .definitions import REPORT_JOB, build_definitions

    names = ", ".join(sorted(failed))
    print(f"[evaluation-pipeline] building the report without {names} (see above) ...",
          flush=True)
    defs = build_definitions(study_path, without=failed)
    res = _execute(defs.resolve_job_def(REPORT_JOB), instance, "report")
    if not res.success:
        print(f"[evaluation-pipeline] {REPORT_JOB} FAILED (run id {res.run_id}):",
              *_failure_messages(res), sep="\n  ", file=sys.stderr)
        return 1
    # (the failed sources' indicators have no estimate: the failure above says why)
    print_warnings([w for w in insufficient_data_warnings(res)
                    if not w.startswith(tuple(f"{src}:" for src in failed))])
    out = study.output
    report = out / "report" / ("rapport.html" if study.language == "nb" else "report.html")
    print(f"[evaluation-pipeline] report built without {names}: {report}", flush=True)
    return 0


def materialized_waves(instance) -> set[str]:
    """The waves whose survey answers have been materialized on the instance."""
    import dagster as dg

    key = dg.AssetKey("survey_answers")
    return set(instance.get_materialized_partitions(key)) if instance.has_asset_key(key) \
        else set()


def run(study_path: str, profiles: bool = True, new_waves: bool = False) -> int:
    import dagster as dg

    from .definitions import PROFILES_JOB, STUDY_JOB, WAVE_DOWNSTREAM_JOB, build_definitions
    from .resources import load_study

    study = load_study(study_path)
    defs = build_definitions(study_path)
    instance = dg.DagsterInstance.get()
    done = materialized_waves(instance) if new_waves else set()
    waves = register_waves(study_path)
    if new_waves:
        if not instance.has_asset_key(dg.AssetKey("study_report")):
            print("[evaluation-pipeline] --new-waves: the study has not been run on this "
                  "instance yet; running everything", flush=True)
            new_waves = False
        else:
            waves = [w for w in waves if w not in done]
            if not waves:
                print("[evaluation-pipeline] --new-waves: no new wave (every wave in "
                      "study.yaml is materialized); nothing to do", flush=True)
                return 0
    survey_failed: dict[str, str] = {}
    if waves:  # a study without a survey has none
        runs = wave_runs(study, waves)
        wave_failures: dict[str, str] = {}
        rc = (_run_waves_in_workers(study_path, waves, runs) if runs > 1
              else _run_waves(defs, instance, waves, wave_failures))
        if rc:
            if new_waves or not (study.registry or study.interviews):
                return rc
            # a failed wave stops the survey (every all-wave survey asset reads every wave);
            # the registry and the interviews go on, and the report says why the survey is
            # missing (the command still exits 1)
            survey_failed = {"survey": "; ".join(
                f"wave {w}: {m}" for w, m in wave_failures.items())
                or "a survey wave failed (see the command's output)"}
            print("[evaluation-pipeline] the survey failed: the registry and interview parts "
                  "and the report are built without it ...", flush=True)
            defs = build_definitions(study_path, without=survey_failed)
            if profiles:
                print("[evaluation-pipeline] profiles not built: the survey failed",
                      file=sys.stderr, flush=True)
            profiles = False
    rest = WAVE_DOWNSTREAM_JOB if new_waves else STUDY_JOB
    job = defs.resolve_job_def(rest)
    # (no profiles without registry data and a survey: nothing to show per kommune)
    has_profiles = any(j.name == PROFILES_JOB for j in defs.jobs)
    starter = ProfileStarter(instance, study, study_path, job) \
        if profiles and has_profiles else None
    try:
        res = _execute(job, instance, "all-wave assets" if new_waves else "study job",
                       listener=starter)
        if not res.success:
            print(f"[evaluation-pipeline] {rest} FAILED (run id {res.run_id}):",
                  *_failure_messages(res), sep="\n  ", file=sys.stderr)
            if starter is not None:  # profiles already started finish (their runs are valid)
                starter.finish(start=False)
            # a source that could not be read or failed its blocking contract check stops
            # only what depends on it: the report is built from the other sources (the
            # command still exits 1: the failed source must be fixed)
            failed = failed_sources(res, defs) if not new_waves else None
            if failed:
                if starter is not None and starter.runs is None:
                    print("[evaluation-pipeline] profiles not built: their inputs were not "
                          f"materialized ({', '.join(sorted(failed))} failed)",
                          file=sys.stderr, flush=True)
                _partial_report(study_path, study, instance, {**survey_failed, **failed})
            return 1
        if starter is not None:
            rc = starter.finish()
            if rc:
                return rc
    finally:
        if starter is not None:
            starter.stop()
    print_warnings([w for w in insufficient_data_warnings(res)
                    if not (survey_failed and w.startswith("survey:"))])
    out = study.output
    report = out / "report" / ("rapport.html" if study.language == "nb" else "report.html")
    if survey_failed:
        print(f"[evaluation-pipeline] report built without survey: {report}", flush=True)
        return 1
    unreadable = unreadable_indicators(res)
    if unreadable:  # a file or study.yaml to fix: visible, and exit 1
        print_unreadable(unreadable, report)
        return 1
    print(f"[evaluation-pipeline] done: {study.study}")
    print(f"  report:    {report}")
    print(f"  tables:    {out / 'tables'}")
    print(f"  figures:   {out / 'figures'}")
    if profiles and has_profiles:
        print(f"  profiles:  {out / 'profiles'}")
    print(f"  warehouse: {out / 'warehouse.duckdb'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="evaluation-pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="materialize every asset (all wave partitions) of a study")
    p_run.add_argument("--study", default=None, help="study.yaml or its folder "
                       "(default: $EVALUATION_STUDY or the shipped example study)")
    p_run.add_argument("--no-profiles", action="store_true",
                       help="skip the municipality profiles")
    p_run.add_argument("--debug", action="store_true",
                       help="also print Dagster's log of failed steps with the Python "
                       "tracebacks (by default a failure is a short message)")
    p_run.add_argument("--new-waves", action="store_true",
                       help="only the waves not materialized yet and the all-wave assets "
                       "downstream of them (survey effects, effects, logic chain, report, "
                       "profiles); registry and interviews are not re-run")
    p_reg = sub.add_parser("register-waves", help="add the study's waves as partitions")
    p_reg.add_argument("--study", default=None)
    # the worker of a parallel `run` (not for direct use): these registered waves, in process
    p_waves = sub.add_parser("run-waves", help="(internal) the worker of a parallel run")
    p_waves.add_argument("--study", default=None)
    p_waves.add_argument("--waves", required=True)
    args = parser.parse_args(argv)

    if getattr(args, "debug", False):
        os.environ[DEBUG_ENV] = "1"  # the wave workers inherit it
    study_path = str(Path(args.study).resolve()) if args.study else default_study_path()
    os.environ[STUDY_ENV] = study_path
    ensure_dagster_home()
    from evaluation_pipeline.errors import PipelineError

    try:
        if args.command == "run":
            return run(study_path, profiles=not args.no_profiles, new_waves=args.new_waves)
        if args.command == "run-waves":
            import dagster as dg

            from .definitions import build_definitions

            return _run_waves(build_definitions(study_path), dg.DagsterInstance.get(),
                              [w for w in args.waves.split(",") if w])
        waves = register_waves(study_path)
        print(f"[evaluation-pipeline] wave partitions: {', '.join(waves)}")
        return 0
    except PipelineError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
