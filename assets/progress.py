"""What the command line shows of a run: the per-asset progress display, in-process execution
with it (:func:`execute`, Dagster's console log without its tracebacks), and what a run's
result says: the failed steps and checks (:func:`failure_messages`), the sources of evidence
that failed (:func:`failed_sources`), what could not be estimated and the registry files that
could not be read (the warnings summary)."""

import logging
import os
import sys
import uuid

from .execution import execute_in_process

#: set (to 1) by ``run --debug``, also for the wave workers: Dagster's own error log lines
#: with their tracebacks are printed, and the stack traces of failed steps
DEBUG_ENV = "EVALUATION_DEBUG"


def debug() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


class _ShortFailures(logging.Logger):
    """Dagster's console logger (named "dagster") without its ERROR records: a failed step
    is logged there with the whole Dagster traceback; the command prints the failure itself,
    short (:func:`failure_messages`). Warnings still show. Off under ``--debug``."""

    def __init__(self, name: str, level: int | str = logging.NOTSET) -> None:
        super().__init__(name, level)
        if name == "dagster":
            self.addFilter(lambda record: record.levelno < logging.ERROR)
#: console logging of the runs: warnings and errors only (the full event log is in the UI)
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


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


def execute(job, instance, label: str, listener=None, **kwargs):
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


def failure_messages(result) -> list[str]:
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


