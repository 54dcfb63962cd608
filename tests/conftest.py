import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "sunnmore"
FIXTURES = Path(__file__).parent / "fixtures"

# Tests never touch the developer's instance or the pseudonym key file of the example study.
os.environ.setdefault("EVALUATION_PSEUDONYM_KEY", "test-key-not-secret")
# The synthetic example's XLSX files are byte-identical only with openpyxl's own XML writer,
# which it picks at import time (lxml may be installed by the bench extra).
os.environ.setdefault("OPENPYXL_LXML", "False")


@pytest.fixture
def example_study_dir() -> Path:
    return EXAMPLE


@pytest.fixture
def study_copy(tmp_path: Path) -> Path:
    """A copy of the example study in a temporary folder (outputs land there)."""
    dest = tmp_path / "sunnmore"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("output", ".pseudonym_key"))
    return dest


@pytest.fixture
def example_study():
    from evaluation_pipeline.study import Study

    return Study.load(EXAMPLE)
