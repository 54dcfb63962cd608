import dagster as dg
import pandas as pd
import pytest

from assets.execution import execute_in_process


def test_runs_keep_no_output_values_in_memory(tmp_path):
    """The helper the CLI, the wave and profile workers and the sensors use runs the job as
    ``execute_in_process`` does, but the result holds no step output (a national wave run
    otherwise keeps every frame it handed to the IO manager alive until the run ends)."""
    seen = []

    @dg.asset
    def frame() -> pd.DataFrame:
        return pd.DataFrame({"x": range(1000)})

    @dg.asset
    def total(frame: pd.DataFrame) -> int:
        seen.append(int(frame["x"].sum()))
        return int(frame["x"].sum())

    defs = dg.Definitions(assets=[frame, total], jobs=[dg.define_asset_job("j")],
                          resources={"io_manager": dg.FilesystemIOManager(base_dir=str(tmp_path))})
    job = defs.resolve_job_def("j")
    with dg.instance_for_test() as instance:
        plain = job.execute_in_process(instance=instance)
        res = execute_in_process(job, instance=instance)
        assert plain.success and res.success
        assert plain.output_for_node("total") == 499500  # Dagster's own method keeps it
        with pytest.raises(dg.DagsterInvariantViolationError):
            res.output_for_node("total")
        # the IO manager stored the outputs, the downstream step read them
        assert seen == [499500, 499500]
        assert defs.load_asset_value("total", instance=instance) == 499500
    # the patch is undone: Dagster's method captures again
    with dg.instance_for_test() as instance:
        assert job.execute_in_process(instance=instance).output_for_node("total") == 499500
