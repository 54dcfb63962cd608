"""`evaluation-pipeline run` on broken input: a clear error naming file, row and column, and a
blocking check that stops everything downstream."""

import shutil

import duckdb
import pytest
from conftest import EXAMPLE

from assets.cli import main


@pytest.fixture
def broken_study(tmp_path, monkeypatch):
    study = tmp_path / "sunnmore"
    shutil.copytree(EXAMPLE, study, ignore=shutil.ignore_patterns("output", ".pseudonym_key"))
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return study


def _edit_csv(path, row: int, column: str, value: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(";")
    cells = lines[row].rstrip("\r\n").split(";")
    cells[header.index(column)] = value
    lines[row] = ";".join(cells) + "\n"
    path.write_text("".join(lines), encoding="utf-8")


def test_unreadable_value_names_file_row_and_column(broken_study, capsys):
    csv = broken_study / "landing" / "surveys" / "staff_w2016.csv"
    _edit_csv(csv, 212, "sam3", "sju")
    before = csv.read_bytes()
    assert main(["run", "--study", str(broken_study)]) == 1
    err = capsys.readouterr().err
    assert "wave w2016 FAILED" in err
    assert "staff_w2016.csv" in err and "row 212" in err and "sam3" in err and "sju" in err
    assert csv.read_bytes() == before  # the landing file is never modified
    assert not (broken_study / "output" / "report").exists()
    # no partial table: the failed wave left nothing in the warehouse
    con = duckdb.connect(str(broken_study / "output" / "warehouse.duckdb"), read_only=True)
    try:
        waves = {w for (w,) in con.execute(
            "select distinct wave from evaluation.survey_answers").fetchall()}
    finally:
        con.close()
    assert waves == {"w2012"}


def test_out_of_range_answer_fails_the_blocking_check(broken_study, capsys):
    csv = broken_study / "landing" / "surveys" / "staff_w2016.csv"
    _edit_csv(csv, 40, "ff2", "7")
    assert main(["run", "--study", str(broken_study)]) == 1
    err = capsys.readouterr().err
    assert "check contract on survey_answers failed" in err
    assert "'rows_rejected': 1" in err and "answer_in_scale_range[felles_forstaelse]" in err
    assert not (broken_study / "output" / "report").exists()


def test_bad_study_file_is_a_clear_error(tmp_path, monkeypatch, capsys):
    study = tmp_path / "s"
    shutil.copytree(EXAMPLE, study, ignore=shutil.ignore_patterns("output", ".pseudonym_key"))
    text = (study / "study.yaml").read_text(encoding="utf-8")
    (study / "study.yaml").write_text(text.replace('"1505"', '"1599"'), encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert main(["run", "--study", str(study)]) == 2
    err = capsys.readouterr().err
    assert "StudyConfigError" in err and "1599" in err and "study.yaml" in err
