"""``evaluation-pipeline``: run the whole study through Dagster from the command line.

The plain ``dagster asset materialize`` CLI refuses a selection that mixes partitioned and
unpartitioned assets, so ``run`` registers the study's survey waves as partitions, runs the
per-wave job once per wave, then the study job and the municipality profiles, all recorded in
the local Dagster instance (so the runs show in ``dagster dev``). What a run shows (progress,
failures, warnings) is :mod:`assets.progress`; the worker processes are :mod:`assets.workers`
(waves) and :mod:`assets.profile_workers` (profiles).
"""

import argparse
import os
import sys
from pathlib import Path

from .progress import (
    DEBUG_ENV,
    execute,
    failed_sources,
    failure_messages,
    insufficient_data_warnings,
    print_unreadable,
    print_warnings,
    unreadable_indicators,
)
from .resources import PROJECT_ROOT, STUDY_ENV, default_study_path
from .workers import WorkerPool, worker_env

DAGSTER_YAML = "telemetry:\n  enabled: false\n"


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
        res = execute(wave_job, instance, f"wave {wave}", partition_key=wave)
        if not res.success:
            messages = failure_messages(res)
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
    groups = [waves[i::runs] for i in range(runs)]
    print(f"[evaluation-pipeline] {len(waves)} waves in {runs} parallel worker(s) ...",
          flush=True)
    pool = WorkerPool(worker_env(study_path))
    try:
        for g in groups:
            pool.start([sys.executable, "-m", "assets.cli", "run-waves", "--study",
                        study_path, "--waves", ",".join(g)])
        codes = pool.wait()
    finally:  # interrupted: stop the workers too
        pool.stop()
    failed = [",".join(g) for g, c in zip(groups, codes, strict=True) if c != 0]
    if failed:
        print(f"[evaluation-pipeline] the worker(s) for wave(s) {'; '.join(failed)} failed "
              "(see above)", file=sys.stderr, flush=True)
        return 1
    return 0


def _partial_report(study_path: str, study, instance, failed: dict[str, str]) -> int:
    """After sources failed in the study job: effects, logic chain and report from the other
    sources (``study_report_job`` of the definitions without the failed sources), the report
    saying why each failed source is missing. Returns 0 when the report was built."""
    from .definitions import REPORT_JOB, build_definitions

    names = ", ".join(sorted(failed))
    print(f"[evaluation-pipeline] building the report without {names} (see above) ...",
          flush=True)
    defs = build_definitions(study_path, without=failed)
    res = execute(defs.resolve_job_def(REPORT_JOB), instance, "report")
    if not res.success:
        print(f"[evaluation-pipeline] {REPORT_JOB} FAILED (run id {res.run_id}):",
              *failure_messages(res), sep="\n  ", file=sys.stderr)
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
    from .profile_workers import ProfileStarter
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
        res = execute(job, instance, "all-wave assets" if new_waves else "study job",
                       listener=starter)
        if not res.success:
            print(f"[evaluation-pipeline] {rest} FAILED (run id {res.run_id}):",
                  *failure_messages(res), sep="\n  ", file=sys.stderr)
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
