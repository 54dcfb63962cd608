"""Access to a study's DuckDB warehouse, for the pipeline and for notebooks.

The study to open (:func:`default_study_path`, :func:`load_study`), the path of its warehouse
file (:func:`warehouse_path`) and a connection that waits while another process holds the
file's lock (:func:`connect_warehouse`, read-only by default). No dagster here: the Dagster
IO manager that writes the warehouse lives in ``assets.warehouse_io`` and uses these functions.
"""

import os
import time
from functools import lru_cache
from pathlib import Path

import duckdb

from .study import Study

#: the repository root (the shipped example studies live under ``examples/``)
PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STUDY = PROJECT_ROOT / "examples" / "sunnmore" / "study.yaml"
#: the environment variable that names the study to load
STUDY_ENV = "EVALUATION_STUDY"


def default_study_path() -> str:
    """The study to load: $EVALUATION_STUDY, else the shipped example study."""
    return os.environ.get(STUDY_ENV) or str(DEFAULT_STUDY)


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Study:
    return Study.load(path)


def load_study(path: str) -> Study:
    """The study of ``path`` (a study.yaml or its folder), cached while the file is unchanged."""
    p = Path(path)
    f = p / "study.yaml" if p.is_dir() else p
    return _load(str(f.resolve()), f.stat().st_mtime if f.exists() else 0.0)


def warehouse_path(study: Study) -> Path:
    """The DuckDB warehouse file of a study: ``<output>/warehouse.duckdb``."""
    return study.output / "warehouse.duckdb"


#: how long :func:`connect_warehouse` waits for another process's lock on the warehouse file
#: (the DuckDB IO manager's own retries wait up to ~100 s)
WAREHOUSE_LOCK_WAIT_S = 120.0


def connect_warehouse(path: str | Path, *, read_only: bool = True,
                      wait_s: float = WAREHOUSE_LOCK_WAIT_S) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to the warehouse file that waits while another process holds the
    file's lock.

    DuckDB lets one process write a database file at a time, and a writer shuts out readers in
    other processes. Under the multiprocess executor a step that reads the warehouse directly
    (not through the IO manager) runs while other steps store their outputs, and a plain
    ``duckdb.connect`` then fails at once with "Could not set lock on file". This waits with
    growing pauses (50 ms up to 2 s) for ``wait_s`` seconds, then raises an ``IOException``
    naming the file and the wait, with DuckDB's message (it names the holding process).
    """
    deadline = time.monotonic() + wait_s
    pause = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as err:
            left = deadline - time.monotonic()
            if "lock" not in str(err).lower():
                raise
            if left <= 0:
                raise duckdb.IOException(
                    f"the warehouse {path} stayed locked by another process for {wait_s:g} s "
                    f"(another run or a notebook holding a connection?): {err}"
                ) from err
            time.sleep(min(pause, left))
            pause = min(pause * 2, 2.0)

