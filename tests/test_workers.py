"""The worker processes of the command line (assets.workers): their environment, waiting for
them, and killing the ones still running."""

import os
import sys

import pytest

from assets.workers import PROJECT_ROOT, STUDY_ENV, WorkerPool, WorkerTimeout, worker_env


def test_worker_env_has_the_study_the_project_and_one_blas_thread(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    env = worker_env("/studies/x/study.yaml")
    assert env[STUDY_ENV] == "/studies/x/study.yaml"
    assert env["PYTHONPATH"].split(os.pathsep) == [str(PROJECT_ROOT), "/elsewhere"]
    assert env["OPENBLAS_NUM_THREADS"] == "1"
    assert os.environ["PYTHONPATH"] == "/elsewhere"  # this process's environment unchanged


def test_pool_gives_exit_codes_in_order_and_captured_output():
    pool = WorkerPool(dict(os.environ), capture=True)
    pool.start([sys.executable, "-c", "print('first'); raise SystemExit(3)"])
    pool.start([sys.executable, "-c", "print('second')"])
    assert pool.wait(timeout=60) == [3, 0]
    assert pool.output(0).strip() == "first" and pool.output(1).strip() == "second"
    pool.stop()
    assert all(log.closed for log in pool.logs)


def test_pool_kills_the_workers_still_running_when_waiting_gives_up():
    pool = WorkerPool(dict(os.environ))
    pool.start([sys.executable, "-c", "import time; time.sleep(60)"])
    with pytest.raises(WorkerTimeout) as err:
        pool.wait(timeout=1)
    assert err.value.index == 0
    assert pool.procs[0].poll() is not None  # killed, not left running
