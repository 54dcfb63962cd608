"""Test helpers: run what a sensor or the automation asks for, in the test's process, as the
daemon would launch it (the project itself never does: the daemon does)."""

from collections.abc import Iterable

import dagster as dg

from assets.execution import execute_in_process


def execute_run_requests(defs: dg.Definitions, instance: dg.DagsterInstance,
                         requests: Iterable[dg.RunRequest], job_name: str | None = None,
                         run_config=None) -> list:
    """Execute run requests (of a sensor or the automation) in this process, as the daemon
    would launch them: the request's job (else ``job_name``, the sensor's job), or its assets
    through the global asset job."""
    results = []
    for req in requests:
        if req.asset_selection is not None:
            job = defs.resolve_implicit_global_asset_job_def()
            selection = list(req.asset_selection)
        else:
            job = defs.resolve_job_def(req.job_name or job_name)
            selection = None
        results.append(execute_in_process(
            job, instance=instance, partition_key=req.partition_key, asset_selection=selection,
            tags=dict(req.tags), run_config=run_config, raise_on_error=False,
        ))
    return results


def automation_run_requests(result) -> list[dg.RunRequest]:
    """The runs an automation evaluation (``dg.evaluate_automation_conditions``) asks for: one
    per partition key, holding every asset requested for it, as the automation sensor
    groups them."""
    by_partition: dict[str | None, list[dg.AssetKey]] = {}
    for res in result.results:
        if not isinstance(res.key, dg.AssetKey):
            continue
        for pk in result.get_requested_partitions(res.key):
            by_partition.setdefault(pk, []).append(res.key)
    return [
        dg.RunRequest(asset_selection=sorted(keys, key=lambda k: k.to_user_string()),
                      partition_key=pk)
        for pk, keys in sorted(by_partition.items(), key=lambda kv: str(kv[0]))
    ]
