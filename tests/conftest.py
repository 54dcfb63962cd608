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


#: the 17 Telemark kommuner of 2024 as FHI names them, written out by hand: an independent
#: name -> code list for checking the registry reader on the real Telemark files
TELEMARK_CODES = {
    "Porsgrunn": "4001", "Skien": "4003", "Notodden": "4005", "Siljan": "4010",
    "Bamble": "4012", "Kragerø": "4014", "Drangedal": "4016", "Nome": "4018",
    "Midt-Telemark": "4020", "Seljord": "4022", "Hjartdal": "4024", "Tinn": "4026",
    "Kviteseid": "4028", "Nissedal": "4030", "Fyresdal": "4032", "Tokke": "4034",
    "Vinje": "4036",
}


def run_cli(study: Path, tmp: Path, *, no_key: bool = False, inspect=None):
    """`evaluation-pipeline run --study <study>` in this process with its own DAGSTER_HOME
    (``<tmp>/home``, telemetry off) and its output captured; ``no_key`` unsets
    EVALUATION_PSEUDONYM_KEY (a study reading no personal data must not need it).
    ``inspect(instance)`` is called with that Dagster instance before the environment is
    restored. Returns (exit code, stdout, stderr, what ``inspect`` returned)."""
    import contextlib
    import io

    import dagster as dg

    from assets.cli import main

    home = tmp / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(home))
        mp.setenv("EVALUATION_STUDY", str(study))  # main() sets it; restored afterwards
        if no_key:
            mp.delenv("EVALUATION_PSEUDONYM_KEY", raising=False)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(["run", "--study", str(study)])
        seen = None
        if inspect is not None:
            with dg.DagsterInstance.get() as instance:
                seen = inspect(instance)
    return rc, out.getvalue(), err.getvalue(), seen
