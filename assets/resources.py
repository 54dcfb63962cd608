"""Resources: the study (from study.yaml) and the DuckDB warehouse IO manager."""

import os
from functools import lru_cache
from pathlib import Path

import dagster as dg
from dagster_duckdb_pandas import DuckDBPandasIOManager

from evaluation_pipeline.study import Study

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STUDY = PROJECT_ROOT / "examples" / "sunnmore" / "study.yaml"
STUDY_ENV = "EVALUATION_STUDY"


def default_study_path() -> str:
    """The study to load: $EVALUATION_STUDY, else the shipped example study."""
    return os.environ.get(STUDY_ENV) or str(DEFAULT_STUDY)


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Study:
    return Study.load(path)


def load_study(path: str) -> Study:
    p = Path(path)
    f = p / "study.yaml" if p.is_dir() else p
    return _load(str(f.resolve()), f.stat().st_mtime if f.exists() else 0.0)


class StudyResource(dg.ConfigurableResource):
    """The study the pipeline runs on, read from ``study_path`` (a study.yaml or its folder)."""

    study_path: str

    def load(self) -> Study:
        return load_study(self.study_path)


def warehouse_path(study: Study) -> Path:
    """The DuckDB warehouse file of a study: ``<output>/warehouse.duckdb``."""
    return study.output / "warehouse.duckdb"


def io_manager_for(study: Study) -> DuckDBPandasIOManager:
    study.output.mkdir(parents=True, exist_ok=True)
    return DuckDBPandasIOManager(database=str(warehouse_path(study)), schema="evaluation")
