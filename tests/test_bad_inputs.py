"""Bad landing files give clear reader errors (tests/bad_inputs/, manifest cases.yaml).

Every reader case names a file, the reader, the exception class and substrings the message
must hold: the file name and, where they apply, the row/line, the column and what was
expected. A failed read never modifies the file (bytes and mtime unchanged). Cases with
``stage: contract`` are readable files that break a data contract: the table is built as the
pipeline builds it and validated for the example study; ContractViolation names the file, the
rule, the column and the offending value.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest
import yaml

from evaluation_pipeline import errors
from evaluation_pipeline.ingest import read_interview_codes, read_registry, read_survey

BAD = Path(__file__).parent / "bad_inputs"
READERS = {"survey": read_survey, "interviews": read_interview_codes, "registry": read_registry}
CASE_KEYS = {"file", "reader", "kwargs", "error", "expect", "stage", "table", "indicator"}
#: corpus files that are not reader error cases (see test_spss_unlabeled_user_missing)
NOT_ERRORS = {"surveys/spss_user_missing_unlabeled.sav"}
CORPUS_TOOLING = {"README.md", "cases.yaml", "make_corpus.py"}


def _cases() -> list[dict]:
    with (BAD / "cases.yaml").open(encoding="utf-8") as f:
        return yaml.safe_load(f)["cases"]


ALL_CASES = _cases()
READER_CASES = [c for c in ALL_CASES if c.get("stage", "reader") == "reader"]
CONTRACT_CASES = [c for c in ALL_CASES if c.get("stage") == "contract"]


def _example_study():
    from conftest import EXAMPLE

    from evaluation_pipeline.study import Study

    return Study.load(EXAMPLE)


def _validate_as_pipeline(case: dict, path: Path) -> None:
    """Build the tidy table as the ingest assets do and validate it against its contract."""
    from evaluation_pipeline.contracts import validate
    from evaluation_pipeline.observations import registry_observations
    from evaluation_pipeline.privacy import pseudonymise

    study = _example_study()
    df = READERS[case["reader"]](path, **(case.get("kwargs") or {}))
    if case["reader"] == "survey":
        df["respondent_id"] = pseudonymise(df["respondent_id"], b"k", prefix="R")
    elif case["reader"] == "interviews":
        df["source"] = pseudonymise(df["source"], b"k", prefix="I")
    else:
        ind = case.get("indicator", "completion_5y")
        df = registry_observations(df, ind, study.registry.indicators[ind], str(path))
    validate(case["table"], df, study).raise_for_failures(path)


def _state(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


@pytest.mark.parametrize("case", ALL_CASES, ids=[c["file"] for c in ALL_CASES])
def test_bad_input_gives_clear_error(case: dict):
    assert set(case) <= CASE_KEYS, f"unknown keys {set(case) - CASE_KEYS} in {case['file']}"
    path = BAD / case["file"]
    assert path.is_file(), path
    error = getattr(errors, case["error"])
    before = _state(path)
    with pytest.raises(error) as info:
        if case.get("stage") == "contract":
            _validate_as_pipeline(case, path)
        else:
            READERS[case["reader"]](path, **(case.get("kwargs") or {}))
    assert type(info.value).__name__ == case["error"]
    message = str(info.value)
    assert path.name in message
    missing = [s for s in case["expect"] if str(s) not in message]
    assert not missing, f"{missing} not in {message!r}"
    assert _state(path) == before, "the landing file was modified"


def test_spss_unlabeled_user_missing():
    """sam1 declares 9 user-missing and labels 1-5 only: read, 9 -> NaN with a bare reason."""
    path = BAD / "surveys/spss_user_missing_unlabeled.sav"
    before = _state(path)
    df = read_survey(path)
    sam1 = df[df["item"] == "sam1"].set_index("respondent_id")
    assert math.isnan(sam1.loc["R002", "value"])
    assert sam1.loc["R002", "missing_reason"] == "user-missing 9"
    assert sam1.loc["R001", "value"] == 4.0 and sam1.loc["R001", "value_label"] == "Enig"
    assert sam1["missing_reason"].isna().sum() == 2
    assert _state(path) == before


def test_corpus_is_complete_and_documented():
    files = {
        p.relative_to(BAD).as_posix()
        for p in BAD.rglob("*")
        if p.is_file() and p.name not in CORPUS_TOOLING and "__pycache__" not in p.parts
    }
    listed = {c["file"] for c in ALL_CASES}
    assert listed <= files, f"cases.yaml names missing files: {sorted(listed - files)}"
    assert files - listed == NOT_ERRORS, f"files without a case: {sorted(files - listed)}"
    assert len(READER_CASES) >= 26 and len(ALL_CASES) >= 30
    assert {c["reader"] for c in READER_CASES} == set(READERS)
    readme = (BAD / "README.md").read_text(encoding="utf-8")
    undocumented = [f for f in sorted(files) if f"`{f}`" not in readme]
    assert not undocumented, f"not described in README.md: {undocumented}"
