"""Worker processes of the command line: the parallel survey-wave runs (``python -m
assets.cli run-waves``) and the profile runs (``python -m assets.profile_workers``).

:func:`worker_env` is their environment (the study, the project on ``PYTHONPATH``, one BLAS
thread each); :class:`WorkerPool` starts them all at once, waits for them and kills the ones
still running when the caller is interrupted or gives up.
"""

import os
import subprocess
import tempfile
import time

from evaluation_pipeline.warehouse import PROJECT_ROOT, STUDY_ENV

#: the thread pools of numpy/scipy's BLAS (OpenBLAS, MKL) and OpenMP
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def one_blas_thread(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a worker process that runs beside others (parallel waves, profiles): one
    BLAS thread, unless the user set the variable. OpenBLAS threads spin while they wait for
    work; with more busy threads than cores they burn CPU and stall each other (the national
    registry event study beside two busy processes: 278 s CPU, instead of 50 s alone)."""
    for var in BLAS_THREAD_VARS:
        env.setdefault(var, "1")
    return env


def worker_env(study_path: str) -> dict[str, str]:
    """The environment of a worker: this process's (``$DAGSTER_HOME`` included, so the
    worker records its runs on the same instance), the study in ``$EVALUATION_STUDY``, one
    BLAS thread (:func:`one_blas_thread`) and the project first on ``PYTHONPATH``."""
    env = one_blas_thread({**os.environ, STUDY_ENV: str(study_path)})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


class WorkerTimeout(TimeoutError):
    """A worker of a :class:`WorkerPool` had not exited when :meth:`WorkerPool.wait` gave up."""

    def __init__(self, index: int, timeout: float):
        super().__init__(f"worker {index} not finished after {timeout:.0f} s")
        self.index = index


class WorkerPool:
    """Worker processes started together, each with its own command, in one environment.

    ``capture``: each worker's stdout and stderr go to a temporary file (:meth:`output`),
    else they are this process's. :meth:`wait` waits for all of them and kills the ones
    still running when it ends otherwise (an interrupt, a timeout); :meth:`stop` kills them
    and closes the files.
    """

    def __init__(self, env: dict[str, str], capture: bool = False):
        self.env, self.capture = env, capture
        self.procs: list[subprocess.Popen] = []
        self.logs: list = []

    def start(self, command: list[str]) -> subprocess.Popen:
        """Start one worker running ``command``."""
        if self.capture:
            log = tempfile.TemporaryFile()
            self.logs.append(log)
            proc = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        else:
            proc = subprocess.Popen(command, env=self.env)
        self.procs.append(proc)
        return proc

    def wait(self, timeout: float | None = None) -> list[int]:
        """The exit status of each worker, in the order started, once all have exited;
        :class:`WorkerTimeout` when one has not after ``timeout`` s. The workers still
        running are killed whichever way this ends (their output stays readable until
        :meth:`stop`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            codes = []
            for i, proc in enumerate(self.procs):
                if deadline is None:
                    codes.append(proc.wait())
                    continue
                try:
                    codes.append(proc.wait(timeout=max(deadline - time.monotonic(), 1)))
                except subprocess.TimeoutExpired as err:
                    raise WorkerTimeout(i, timeout) from err
            return codes
        finally:  # interrupted: stop the workers too
            self.kill()

    def output(self, i: int, tail: int = 3000) -> str:
        """The last ``tail`` characters a captured worker printed (before :meth:`stop`)."""
        log = self.logs[i]
        log.seek(0)
        return log.read().decode("utf-8", "replace")[-tail:]

    def kill(self) -> None:
        """Kill the workers still running."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def stop(self) -> None:
        """Kill the workers still running (interrupted) and close their output files."""
        self.kill()
        for log in self.logs:
            if not log.closed:
                log.close()
