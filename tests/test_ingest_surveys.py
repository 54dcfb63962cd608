"""read_survey on every SPSS reference file, the psych bfi CSV, and small CSV/XLSX files."""

from __future__ import annotations

import csv
import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from evaluation_pipeline.errors import SurveyFileError
from evaluation_pipeline.ingest import read_survey
from evaluation_pipeline.ingest.surveys import SURVEY_COLUMNS

FIXTURES = Path(__file__).parent / "fixtures"
SURVEYS = FIXTURES / "surveys"
SPSS_FILES = sorted(
    [*SURVEYS.glob("*.sav"), *(SURVEYS / "spss_edge_cases").glob("*")],
    key=lambda p: str(p),
)
SPSS_FILES = [p for p in SPSS_FILES if p.suffix.lower() in {".sav", ".zsav", ".por"}]


def _digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def _cell(df: pd.DataFrame, rid: str, item: str) -> pd.Series:
    hit = df[(df["respondent_id"] == rid) & (df["item"] == item)]
    assert len(hit) == 1, (rid, item, len(hit))
    return hit.iloc[0]


def _raw_spss(path: Path):
    if path.suffix.lower() == ".por":
        return pyreadstat.read_por(str(path))
    return pyreadstat.read_sav(str(path), user_missing=True)


def _declared_missing(meta, col: str, v) -> bool:
    for r in (meta.missing_ranges or {}).get(col, []):
        if isinstance(v, str):
            if v in (r["lo"], r["hi"]):
                return True
        elif isinstance(v, float) and not math.isnan(v) and r["lo"] <= v <= r["hi"]:
            return True
    return False


def test_spss_fixture_set_is_complete():
    names = {p.name for p in SPSS_FILES}
    assert {"pyreadstat_sample.por", "pyreadstat_sample.zsav", "pyreadstat_hebrews.sav"} <= names
    assert len(SPSS_FILES) == 13


@pytest.mark.parametrize("path", SPSS_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_spss_file_matches_pyreadstat_cell_by_cell(path: Path):
    before = _digest(path)
    out = read_survey(path)
    assert _digest(path) == before, "the file must never be modified"
    raw, meta = _raw_spss(path)
    assert list(out.columns) == SURVEY_COLUMNS
    assert out["value"].dtype == np.float64
    assert len(out) == raw.shape[0] * raw.shape[1]
    assert list(out["item"].iloc[: raw.shape[1]]) == list(raw.columns)
    labels = meta.variable_value_labels
    cells = {(r["respondent_id"], r["item"]): r for r in out.to_dict("records")}
    for i in range(len(raw)):
        rid = f"row-{i + 1}"
        for col in raw.columns:
            got = cells[(rid, col)]
            v = raw.at[i, col]
            if isinstance(v, str):
                if _declared_missing(meta, col, v):
                    assert pd.isna(got["value_text"])
                    assert got["missing_reason"].startswith(f"user-missing {v}")
                elif v.strip() == "":
                    assert got["missing_reason"] == "no answer"
                else:
                    assert got["value_text"] == v and math.isnan(got["value"])
                    if col in labels and v in labels[col]:
                        assert got["value_label"] == labels[col][v]
            elif v is None or (isinstance(v, float) and math.isnan(v)):
                assert math.isnan(got["value"])
                assert got["missing_reason"] == "system missing"
            elif hasattr(v, "isoformat"):
                assert got["value_text"] == v.isoformat()
                assert math.isnan(got["value"]) and pd.isna(got["missing_reason"])
            elif _declared_missing(meta, col, float(v)):
                assert math.isnan(got["value"])
                assert got["missing_reason"].startswith("user-missing ")
            else:
                assert got["value"] == pytest.approx(float(v))
                assert pd.isna(got["missing_reason"]) and pd.isna(got["value_text"])
                want = labels.get(col, {}).get(float(v))
                if want is None:
                    assert pd.isna(got["value_label"])
                else:
                    assert got["value_label"] == want


def test_sample_sav_values_labels_dates():
    out = read_survey(SURVEYS / "pyreadstat_sample.sav", wave="2024")
    assert set(out["wave"]) == {"2024"}
    assert out["kommune"].isna().all() and out["role"].isna().all()
    r1 = _cell(out, "row-1", "mylabl")
    assert r1["value"] == 1.0 and r1["value_label"] == "Male"
    r3 = _cell(out, "row-3", "myord")
    assert r3["value"] == 3.0 and r3["value_label"] == "high"
    assert _cell(out, "row-3", "mynum")["value"] == pytest.approx(-1000.3)
    assert _cell(out, "row-4", "mydate")["value_text"] == "1583-01-01"
    assert _cell(out, "row-2", "dtime")["value_text"] == "1880-05-06T10:10:10"
    assert _cell(out, "row-2", "mytime")["value_text"] == "23:10:10"
    assert _cell(out, "row-1", "mychar")["value_text"] == "a"
    assert _cell(out, "row-5", "mydate")["missing_reason"] == "system missing"


def test_user_missing_values_become_nan_with_reason():
    out = read_survey(SURVEYS / "pyreadstat_sample_missing.sav")
    mynum = _cell(out, "row-6", "mynum")
    assert math.isnan(mynum["value"]) and mynum["missing_reason"] == "user-missing -1"
    assert _cell(out, "row-6", "mylabl")["missing_reason"] == "user-missing -1 (undetermined)"
    assert _cell(out, "row-6", "myord")["missing_reason"] == "user-missing -1 (missing)"
    # 2500 lies in the declared range 2000-3000
    assert _cell(out, "row-7", "mynum")["missing_reason"] == "user-missing 2500"
    assert _cell(out, "row-7", "myord")["missing_reason"] == "user-missing -3"
    assert _cell(out, "row-7", "mylabl")["missing_reason"] == "system missing"
    assert _cell(out, "row-7", "mychar")["missing_reason"] == "no answer"
    # user-missing codes never leak into value or value_label
    um = out["missing_reason"].str.startswith("user-missing").fillna(False)
    assert um.sum() == 5
    assert out.loc[um, "value"].isna().all() and out.loc[um, "value_label"].isna().all()
    # the tiny file: 1 is declared missing
    small = read_survey(SURVEYS / "pyreadstat_missing_test.sav")
    assert small["missing_reason"].tolist()[0] == "user-missing 1 (missing)"
    assert small["value"].tolist()[1] == 2.0


def test_string_user_missing_and_string_labels():
    out = read_survey(SURVEYS / "spss_edge_cases" / "pyreadstat_missing_char.sav")
    z = _cell(out, "row-1", "mychar")
    assert pd.isna(z["value_text"]) and z["missing_reason"] == "user-missing Z"
    a = _cell(out, "row-2", "mychar")
    assert a["value_text"] == "a" and a["value_label"] == "labeled"


def test_alltypes_missing_ranges_and_labels():
    out = read_survey(SURVEYS / "spss_edge_cases" / "pyreadstat_simple_alltypes.sav")
    assert _cell(out, "row-1", "x")["value_label"] == "red"
    assert _cell(out, "row-1", "z")["missing_reason"] == "user-missing -9"  # range -999..0
    assert _cell(out, "row-4", "z")["missing_reason"] == "user-missing 999 (skipped)"
    assert _cell(out, "row-5", "x")["missing_reason"] == "user-missing 8"
    assert _cell(out, "row-3", "z")["value"] == pytest.approx(1.234)
    assert _cell(out, "row-3", "y")["value_text"] == "1950-12-24"
    assert _cell(out, "row-4", "str")["value_text"] == "NA"  # a real string, not a missing
    assert _cell(out, "row-5", "str")["missing_reason"] == "no answer"
    assert _cell(out, "row-2", "ca_subvar_3")["value_label"] == "c"


def test_hebrew_unicode_file():
    path = SURVEYS / "spss_edge_cases" / "pyreadstat_hebrews.sav"
    out = read_survey(path)
    raw, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert meta.file_encoding == "UTF-8"
    assert list(out["item"].unique()) == ["ותק_ב"]
    assert len(out) == 99
    np.testing.assert_allclose(out["value"].to_numpy(), raw["ותק_ב"].to_numpy())
    assert out["value"].iloc[0] == 33.0 and out["value"].iloc[5] == 0.0
    # the file has no value labels: none are invented
    assert out["value_label"].isna().all()
    assert "ותק_ב" in out.attrs["item_labels"]


def test_por_zsav_and_sav_agree():
    sav = read_survey(SURVEYS / "spss_edge_cases" / "pyreadstat_sample.sav")
    zsav = read_survey(SURVEYS / "spss_edge_cases" / "pyreadstat_sample.zsav")
    por = read_survey(SURVEYS / "spss_edge_cases" / "pyreadstat_sample.por")
    pd.testing.assert_frame_equal(sav, zsav)
    assert set(por["item"]) == {"MYCHAR", "MYNUM", "MYDATE", "DTIME", "MYLABL", "MYORD", "MYTIME"}
    por = por.assign(item=por["item"].str.lower())
    pd.testing.assert_frame_equal(sav, por, check_exact=False)


def test_large_sav_row_count():
    out = read_survey(SURVEYS / "spss_edge_cases" / "pyreadstat_sample_large.sav")
    assert out["respondent_id"].nunique() == 485
    assert len(out) == 485 * 7


def test_spss_meta_columns_and_kommune_padding(tmp_path: Path):
    df = pd.DataFrame(
        {
            "Respondent_ID": [11.0, 12.0, 13.0],
            "WAVE": ["w1", "w1", "w1"],
            "Kommune": [301.0, 1508.0, 4601.0],
            "role": [1.0, 2.0, 3.0],
            "q1": [1.0, np.nan, 99.0],
        }
    )
    path = tmp_path / "w1.sav"
    pyreadstat.write_sav(
        df,
        str(path),
        variable_value_labels={
            "q1": {1.0: "Helt uenig", 99.0: "Vet ikke"},
            "role": {1.0: "leder", 2.0: "ansatt"},
        },
        missing_ranges={"q1": [99.0]},
    )
    out = read_survey(path)
    assert list(out["respondent_id"]) == ["11", "12", "13"]
    assert list(out["kommune"]) == ["0301", "1508", "4601"]
    assert list(out["role"]) == ["leder", "ansatt", "3"]  # labelled role codes read as labels
    assert set(out["item"]) == {"q1"}
    assert out["value_label"].iloc[0] == "Helt uenig"
    assert out["missing_reason"].tolist()[1:] == ["system missing", "user-missing 99 (Vet ikke)"]
    with pytest.raises(SurveyFileError, match="differs from the wave"):
        read_survey(path, wave="w2")


def test_psych_bfi_csv_against_raw():
    path = SURVEYS / "rdatasets" / "psych_bfi.csv"
    out = read_survey(path, wave="bfi")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, data = rows[0], rows[1:]
    assert header[0] == "rownames"
    items = header[1:]
    assert len(out) == len(data) * len(items) == 2800 * 28
    assert "rownames" not in set(out["item"])
    assert out["respondent_id"].iloc[0] == "61617"
    for r in (0, 1, 500, 2799):
        rid = data[r][0]
        for j in (0, 5, 24, 25, 26, 27):
            got = _cell(out, rid, items[j])
            raw = data[r][j + 1]
            if raw in ("", "NA"):
                assert math.isnan(got["value"]) and got["missing_reason"] == "no answer"
            else:
                assert got["value"] == float(raw) and pd.isna(got["missing_reason"])
    assert _cell(out, "61617", "education")["missing_reason"] == "no answer"
    assert _cell(out, "61617", "age")["value"] == 16.0
    assert set(out["wave"]) == {"bfi"}


# ------------------------------------------------------------------ small CSV / XLSX files
def test_csv_semicolon_bom_missing_and_meta(tmp_path: Path):
    path = tmp_path / "wave1.csv"
    text = (
        "Respondent_ID;Wave;KOMMUNE;Role;q1;q2;comment\r\n"
        "a1;2024;301;leder;4;3,5;fint\r\n"
        "a2;2024;1508;ansatt;;2;\r\n"
        "a3;2024;4601;ansatt;5;1;ok\r\n"
    )
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    out = read_survey(path)
    assert list(out.columns) == SURVEY_COLUMNS
    assert len(out) == 9
    assert list(out["item"][:3]) == ["q1", "q2", "comment"]
    assert out["kommune"].unique().tolist() == ["0301", "1508", "4601"]
    assert set(out["wave"]) == {"2024"}
    assert _cell(out, "a1", "q2")["value"] == 3.5  # decimal comma with ';'
    missing = _cell(out, "a2", "q1")
    assert math.isnan(missing["value"]) and missing["missing_reason"] == "no answer"
    text_item = _cell(out, "a1", "comment")
    assert text_item["value_text"] == "fint" and math.isnan(text_item["value"])
    assert _cell(out, "a2", "comment")["missing_reason"] == "no answer"
    assert _cell(out, "a3", "q1")["role"] == "ansatt"
    assert _cell(out, "a1", "q1")["role"] == "leder"


def test_csv_duplicate_id_error_names_row_and_column(tmp_path: Path):
    path = tmp_path / "dup.csv"
    path.write_text("respondent_id,wave,q1\nr1,1,3\nr2,1,4\nr1,1,5\nr1,2,5\n", encoding="utf-8")
    with pytest.raises(SurveyFileError) as err:
        read_survey(path)
    e = err.value
    assert e.row == 3 and e.column == "respondent_id"
    assert str(e) == (
        f"{path} row 3, column respondent_id: respondent_id 'r1' appears twice in wave '1' "
        "(first at row 1)"
    )


def test_same_id_in_two_waves_is_fine(tmp_path: Path):
    path = tmp_path / "panel.csv"
    path.write_text("respondent_id,wave,q1\nr1,1,3\nr1,2,4\n", encoding="utf-8")
    out = read_survey(path)
    assert out["wave"].tolist() == ["1", "2"]


def test_csv_non_numeric_error_exact_message(tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text("respondent_id,q1,q2\nr1,1,2\nr2,3,4\nr3,x7,5\nr4,2,1\n", encoding="utf-8")
    with pytest.raises(SurveyFileError) as err:
        read_survey(path)
    assert err.value.row == 3 and err.value.column == "q1"
    assert str(err.value) == (
        f"{path} row 3, column q1: expected a number, found 'x7' "
        "(3 other answers in the column are numbers)"
    )


def test_csv_without_id_uses_row_numbers_and_wave_argument(tmp_path: Path):
    path = tmp_path / "noid.csv"
    path.write_text("q1\tq2\n1\t2\n3\t4\n", encoding="utf-8")
    out = read_survey(path, wave="2023")
    assert out["respondent_id"].tolist() == ["row-1", "row-1", "row-2", "row-2"]
    assert set(out["wave"]) == {"2023"}
    assert out["value"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert out["wave"].dtype == "string"


def test_csv_empty_first_header_is_the_id(tmp_path: Path):
    path = tmp_path / "r_export.csv"
    path.write_text('"","q1","q2"\n"17",1,NA\n"18",2,3\n', encoding="utf-8")
    out = read_survey(path)
    assert out["respondent_id"].unique().tolist() == ["17", "18"]
    assert set(out["item"]) == {"q1", "q2"}
    assert _cell(out, "17", "q2")["missing_reason"] == "no answer"  # R's NA


def test_wave_column_and_argument_must_agree(tmp_path: Path):
    path = tmp_path / "w.csv"
    path.write_text("respondent_id,wave,q1\nr1,2023,1\nr2,2024,1\n", encoding="utf-8")
    with pytest.raises(SurveyFileError) as err:
        read_survey(path, wave="2023")
    assert err.value.row == 2 and err.value.column == "wave"
    assert "2024" in str(err.value)


def test_latin1_csv_and_custom_id_column(tmp_path: Path):
    path = tmp_path / "latin.csv"
    path.write_bytes(
        "løpenr;rolle;role;q1\n7;x;Rådgiver;2\n8;y;Ålesund-leder;3\n".encode("latin-1")
    )
    out = read_survey(path, id_column="LØPENR")
    assert out["respondent_id"].unique().tolist() == ["7", "8"]
    assert out["role"].unique().tolist() == ["Rådgiver", "Ålesund-leder"]
    assert _cell(out, "8", "rolle")["value_text"] == "y"


def test_xlsx_first_sheet(tmp_path: Path):
    path = tmp_path / "wave2.xlsx"
    df = pd.DataFrame(
        {
            "respondent_id": ["p1", "p2", "p3"],
            "kommune": [301, 1508, None],
            "q1": [1, None, 5],
            "dato": [pd.Timestamp("2024-03-01"), pd.Timestamp("2024-03-02"), None],
            "fritekst": ["a", "b", None],
        }
    )
    with pd.ExcelWriter(path) as xw:
        df.to_excel(xw, sheet_name="svar", index=False)
        pd.DataFrame({"x": [1]}).to_excel(xw, sheet_name="other", index=False)
    before = _digest(path)
    out = read_survey(path, wave="2")
    assert _digest(path) == before
    assert out["kommune"].unique().tolist()[:2] == ["0301", "1508"]
    assert pd.isna(out["kommune"].iloc[-1])
    assert _cell(out, "p1", "q1")["value"] == 1.0
    assert _cell(out, "p2", "q1")["missing_reason"] == "no answer"
    assert _cell(out, "p1", "dato")["value_text"] == "2024-03-01"
    assert _cell(out, "p2", "fritekst")["value_text"] == "b"
    assert set(out["item"]) == {"q1", "dato", "fritekst"}


def test_xlsx_duplicate_and_non_numeric_errors(tmp_path: Path):
    dup = tmp_path / "dup.xlsx"
    pd.DataFrame({"respondent_id": [1, 2, 2], "q1": [1, 2, 3]}).to_excel(dup, index=False)
    with pytest.raises(SurveyFileError) as err:
        read_survey(dup)
    assert err.value.row == 3 and err.value.column == "respondent_id"
    bad = tmp_path / "bad.xlsx"
    pd.DataFrame({"respondent_id": [1, 2, 3], "q1": [1, "seven", 3]}).to_excel(bad, index=False)
    with pytest.raises(
        SurveyFileError, match=r"row 2, column q1: expected a number, found 'seven'"
    ):
        read_survey(bad)


def test_unknown_extension_and_unreadable_spss(tmp_path: Path):
    odd = tmp_path / "answers.json"
    odd.write_text("{}", encoding="utf-8")
    with pytest.raises(SurveyFileError, match="expected a survey file"):
        read_survey(odd)
    fake = tmp_path / "fake.sav"
    fake.write_text("respondent_id,q1\n1,2\n", encoding="utf-8")
    before = _digest(fake)
    with pytest.raises(SurveyFileError) as err:
        read_survey(fake)
    assert str(err.value).startswith(f"{fake}: expected an SPSS data file (.sav)")
    assert _digest(fake) == before
    with pytest.raises(SurveyFileError, match="file not found"):
        read_survey(tmp_path / "missing.csv")


def test_csv_cells_parsed_as_one_by_one(tmp_path: Path):
    """The reader parses each distinct cell once; every row must still get what parsing its
    own cell gives (blank/NA tokens, padding, decimal comma, text columns)."""
    rng = np.random.default_rng(5)
    numeric = [" 3 ", "4,5", "NA", "", "-1,25", "2", "nan", " 7", "#N/A", "+0,5"]
    text = ["ja", "nei", " vet ikke ", "", "NULL"]
    n = 400
    rows = {
        "respondent_id": [f"r{i}" for i in range(n)],
        "q1": rng.choice(numeric, n),
        "q2": rng.choice(numeric, n),
        "fritt": rng.choice(text, n),
    }
    path = tmp_path / "wave.csv"
    pd.DataFrame(rows).to_csv(path, sep=";", index=False)
    out = read_survey(path, wave="1").set_index(["respondent_id", "item"])
    na = {"", "NA", "N/A", "NaN", "nan", "#N/A", "NULL", "null"}
    for i in range(n):
        for item in ("q1", "q2", "fritt"):
            cell = rows[item][i].strip()
            got = out.loc[(f"r{i}", item)]
            if cell in na:
                assert got["missing_reason"] == "no answer"
                assert math.isnan(got["value"]) and pd.isna(got["value_text"])
            elif item == "fritt":
                assert got["value_text"] == cell and pd.isna(got["missing_reason"])
            else:
                assert got["value"] == float(cell.replace(",", "."))
                assert pd.isna(got["missing_reason"])


def test_xlsx_blank_headers_named(tmp_path: Path):
    path = tmp_path / "blank.xlsx"
    pd.DataFrame([["respondent_id", None, None], ["p1", 1, 2], ["p2", 3, 4]]).to_excel(
        path, index=False, header=False)
    with pytest.raises(
        SurveyFileError,
        match=r"expected a distinct header for every item column, found a blank header in "
              r"columns 2 and 3",
    ):
        read_survey(path, wave="1")
