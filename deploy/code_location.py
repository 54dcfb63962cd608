"""The project's code location for a deployed instance, with the executor chosen by configuration.

Same assets, checks, jobs, sensors, schedules and resources as ``assets.definitions``: both are
built by ``build_definitions``, only its ``executor`` argument differs. ``assets.definitions``
runs every step in one process (fast for the example study); here ``EVALUATION_EXECUTOR``
picks:

``multiprocess`` (default)
    ``multi_or_in_process_executor``: one process per step, at most ``max_concurrent`` at a time;
    a run can choose ``{"execution": {"config": {"in_process": {}}}}`` instead.
``in_process``
    everything in the run worker's process.
``celery``
    ``dagster_celery.celery_executor`` (``pip install dagster-celery``): steps are sent to a
    Celery broker and run by ``dagster-celery worker`` processes on other machines.
``k8s``
    ``dagster_k8s.k8s_job_executor`` (``pip install dagster-k8s``): one Kubernetes Job per step.

Load it with ``dagster-webserver -w deploy/workspace.yaml`` / ``dagster-daemon run -w
deploy/workspace.yaml`` or ``dagster job execute -f deploy/code_location.py -j <job>``.
See deploy/README.md and docs/scale-out.md.
"""

import os

import dagster as dg

from assets.definitions import build_definitions

EXECUTOR_ENV = "EVALUATION_EXECUTOR"
EXECUTORS = ("multiprocess", "in_process", "celery", "k8s")


def executor_for(name: str) -> dg.ExecutorDefinition:
    """The executor definition called ``name`` (one of ``EXECUTORS``)."""
    if name == "multiprocess":
        return dg.multi_or_in_process_executor
    if name == "in_process":
        return dg.in_process_executor
    if name == "celery":
        try:
            from dagster_celery import celery_executor
        except ImportError as exc:
            raise ImportError(f"{EXECUTOR_ENV}=celery needs the dagster-celery package "
                              "(pip install dagster-celery)") from exc
        return celery_executor
    if name == "k8s":
        try:
            from dagster_k8s import k8s_job_executor
        except ImportError as exc:
            raise ImportError(f"{EXECUTOR_ENV}=k8s needs the dagster-k8s package "
                              "(pip install dagster-k8s)") from exc
        return k8s_job_executor
    raise ValueError(f"{EXECUTOR_ENV}={name!r}: expected one of {', '.join(EXECUTORS)}")


def build_deployed_definitions(study_path: str | None = None,
                               executor: str | None = None) -> dg.Definitions:
    """The study's Definitions (default: $EVALUATION_STUDY) with the chosen executor."""
    name = executor or os.environ.get(EXECUTOR_ENV) or "multiprocess"
    return build_definitions(study_path, executor=executor_for(name))


@dg.definitions
def defs() -> dg.Definitions:
    """Built when Dagster loads the code location (nothing is read or created at import)."""
    return build_deployed_definitions()
