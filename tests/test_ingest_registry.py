"""read_registry on every registry reference file (SSB, json-stat.org, FHI, Udir), the
validator corpus and small synthetic files. Values are checked by hand from the raw files."""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation_pipeline.errors import RegistryFileError
from evaluation_pipeline.ingest import read_registry
from evaluation_pipeline.ingest.registry import REGISTRY_COLUMNS

FIXTURES = Path(__file__).parent / "fixtures"
REGISTRY = FIXTURES / "registry"
SSB_MUNICIPAL = FIXTURES / "ssb_municipal"
JSONSTAT_ORG = FIXTURES / "jsonstat" / "json-stat.org"
TELEMARK = FIXTURES / "fhi_udir_telemark"
HTML_AS_JSON = FIXTURES / "jsonstat" / "NEGATIVE_www.unece.org_cso_ie-NQQ25_is_html_not_json.json"


def _read(path: Path, **kw) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_registry(path, **kw)


def _check_schema(df: pd.DataFrame) -> None:
    assert list(df.columns[: len(REGISTRY_COLUMNS)]) == REGISTRY_COLUMNS
    assert df["value"].dtype == np.float64
    for c in df.columns:
        if c not in ("value", "numerator", "denominator"):
            assert str(df[c].dtype) == "string", c
    # status symbols are never turned into numbers
    assert df.loc[df["status"].isin([".", "..", ":", "-", "*"]).fillna(False), "value"].isna().all()


def _raw_dataset(path: Path, name: str | None = None) -> dict:
    obj = json.loads(path.read_text(encoding="utf-8"))
    if obj.get("class") == "dataset":
        return obj
    if obj.get("class") == "collection":
        return obj["link"]["item"][0]
    return obj[name or next(iter(obj))]


def _flat(ds: dict, **coords: str) -> int:
    """Row-major flat index of a cell, computed by hand from the raw dimension metadata."""
    dim = ds["dimension"]
    ids = ds.get("id") or dim["id"]
    sizes = ds.get("size") or dim["size"]
    flat = 0
    for dim_id, size in zip(ids, sizes, strict=True):
        cat = dim[dim_id]["category"]
        index = cat.get("index")
        if index is None:
            codes = list(cat["label"])
        elif isinstance(index, list):
            codes = index
        else:
            codes = sorted(index, key=index.get)
        pos = codes.index(coords[dim_id]) if dim_id in coords else 0
        flat = flat * size + pos
    return flat


def _raw_value(ds: dict, flat: int):
    v = ds["value"]
    return v.get(str(flat)) if isinstance(v, dict) else v[flat]


def _raw_status(ds: dict, flat: int):
    s = ds.get("status")
    if s is None or isinstance(s, str):
        return s
    if isinstance(s, list):
        return s[0] if len(s) == 1 else s[flat]
    return s.get(str(flat))


def _assert_cell(row: pd.Series, ds: dict, flat: int) -> None:
    raw = _raw_value(ds, flat)
    if raw is None:
        assert math.isnan(row["value"])
    else:
        assert row["value"] == pytest.approx(float(raw))
    st = _raw_status(ds, flat)
    assert (pd.isna(row["status"]) and st is None) or row["status"] == st


# ------------------------------------------------------------------ data/registry
def test_07459_pxweb_csv():
    path = REGISTRY / "ssb_07459_population_2022_pxweb.csv"
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    df = _read(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    _check_schema(df)
    assert list(df.columns) == REGISTRY_COLUMNS + ["age"]
    assert len(df) == 38054
    halden = df[(df["kommune"] == "3001") & (df["age"] == "0 years")]
    assert len(halden) == 1
    r = halden.iloc[0]
    assert (r["kommune_name"], r["period"], r["indicator"], r["value"]) == (
        "Halden",
        "2022",
        "Persons",
        266.0,
    )
    rest = df[df["kommune"] == "Rest"]
    assert len(rest) > 0
    assert set(rest["kommune_name"]) == {"Divided municalities and unknown"}
    # ISO-8859-1 decoded: Ålesund (2020-2023 code 1507) is spelled right
    assert set(df.loc[df["kommune"] == "1507", "kommune_name"]) == {"Ålesund"}
    # non-kommune regions keep SSB's code token: K-21-22 Svalbard, K-23 Continental shelf
    assert set(df.loc[df["kommune"] == "21-22", "kommune_name"]) == {"Svalbard and Jan Mayen"}
    assert df["kommune"].str.fullmatch(r"\d{4}|Rest|21-22|23").all()
    assert df["status"].isna().all()


def test_12134_jsonstat2():
    df = _read(REGISTRY / "ssb_12134_kostra_pxwebapi_v2.json")
    _check_schema(df)
    got = dict(zip(df["kommune"], df["value"], strict=True))
    assert got == {"0301": 81240.0, "4601": 66605.0, "5001": 62853.0}
    assert set(df["period"]) == {"2024"}
    assert set(df["indicator"]) == {"KOSAG110000"}
    assert set(df["indicator_label"]) == {"Frie inntekter per innbygger (kr)"}
    assert df.set_index("kommune").loc["5001", "kommune_name"] == "Trondheim - Tråante"


def test_jsonstat_v1_sample():
    path = REGISTRY / "ssb_jsonstat_v1_sample.json"
    ds = _raw_dataset(path)
    df = _read(path)
    _check_schema(df)
    assert len(df) == 1260
    assert (df["status"] == "..").sum() == 390
    assert df.loc[df["status"] == "..", "value"].isna().all()
    assert df["kommune"].isna().all()  # no region dimension
    assert list(df.columns) == REGISTRY_COLUMNS + ["Kjonn", "Alder"]
    # cells by hand: Kjonn(3) x Alder(10) x ContentsCode(6) x Tid(7), row-major
    first = df.iloc[0]
    assert (first["Kjonn"], first["Alder"], first["indicator"], first["period"]) == (
        "Both sexes",
        "Years, total",
        "Ansatte",
        "2002",
    )
    assert first["value"] == 2036.0
    flat = ((1 * 10 + 2) * 6 + 1) * 7 + 4  # Males, 25-29, MndfortjIalt, 2006
    assert flat == _flat(ds, Kjonn="1", Alder="25-29", ContentsCode="MndfortjIalt", Tid="2006")
    row = df.iloc[flat]
    assert (row["Kjonn"], row["Alder"], row["indicator"], row["period"]) == (
        "Males",
        "25-29 years",
        "MndfortjIalt",
        "2006",
    )
    assert row["indicator_label"] == "Monthly earnings, total (NOK)"
    _assert_cell(row, ds, flat)
    for flat in (129, 1259, 700):
        _assert_cell(df.iloc[flat], ds, flat)


# ------------------------------------------------------------------ realworld/ssb_municipal
def test_12191_kommunehelse():
    path = SSB_MUNICIPAL / "ks_12191_kommunehelse.jsonstat2.json"
    ds = _raw_dataset(path)
    df = _read(path)
    _check_schema(df)
    assert len(df) == 135
    flat = _flat(ds, ContentsCode="KOSavtalehjemler0001", KOKkommuneregion0000="3002", Tid="2020")
    assert flat == 2
    row = df.iloc[flat]
    assert (row["kommune"], row["kommune_name"], row["period"], row["value"]) == (
        "3002",
        "Moss",
        "2020",
        20.0,
    )
    assert df.iloc[0]["status"] == "." and math.isnan(df.iloc[0]["value"])
    assert set(df["status"].dropna()) == {".", "..", ":"}


def test_12367_kostra_driftsregnskap():
    path = SSB_MUNICIPAL / "ks_12367_kostra_driftsregnskap.jsonstat2.json"
    ds = _raw_dataset(path)
    df = _read(path)
    _check_schema(df)
    assert len(df) == 1250
    assert df.iloc[0]["value"] == 1943974.0 and df.iloc[0]["kommune"] == "EAK"
    assert {"KOKregnskapsomfa0000", "KOKfunksjon0000", "KOKart0000"} <= set(df.columns)
    flat = _flat(ds, KOKart0000="AGD56")  # status ":" at flat index 15
    assert flat == 15
    row = df.iloc[flat]
    assert row["status"] == ":" and math.isnan(row["value"])
    assert row["KOKart0000"].startswith("Overføringer fra")
    halden = df[(df["kommune"] == "3001")]
    assert set(halden["kommune_name"]) == {"Halden"}


def test_29843_jsonstat1_large_status_block():
    path = SSB_MUNICIPAL / "ssb_29843_production_index_jsonstat1.json"
    ds = _raw_dataset(path)
    df = _read(path)
    _check_schema(df)
    assert len(df) == 20 * 6 * 312 == 37440
    assert (df["status"] == ".").sum() == sum(1 for v in ds["status"].values() if v == ".")
    row = df.iloc[60]
    assert (row["period"], row["indicator"], row["value"]) == ("1995M01", "Sesongjustert", 114.6)
    last = df.iloc[-1]
    assert (last["PKoder"], last["period"], last["value"]) == (
        ds["dimension"]["PKoder"]["category"]["label"]["P120"],
        "2015M12",
        5.8,
    )


def test_spldata_comma_csv_old_codes():
    df = _read(SSB_MUNICIPAL / "spldata_07459_Personer2019_oldcodes.csv")
    _check_schema(df)
    assert len(df) == 44838
    r = df[(df["kommune"] == "0101") & (df["age"] == "0 years")].iloc[0]
    assert (r["kommune_name"], r["period"], r["indicator"], r["value"]) == (
        "Halden",
        "2019",
        "Persons",
        245.0,
    )


# ------------------------------------------------------------------ json-stat.org samples
JSONSTAT_CHECKS = {
    "canada.json": dict(age="T", concept="PERCENT", sex="T"),
    "galicia.json": dict(residence="15"),
    "hierarchy.json": dict(),
    "oecd.json": dict(area="AU", year="2013"),
    "oecd-canada.json": dict(area="DE", year="2010"),
    "oecd-canada-col.json": dict(area="AU", year="2003"),
    "us-gsp.json": dict(state="01", concept="perc"),
    "us-labor.json": dict(county="01001", labor="unr"),
    "us-unr.json": dict(county="01005"),
}


def test_every_json_stat_org_sample_is_covered():
    names = {p.name for p in JSONSTAT_ORG.glob("*.json")}
    assert names == set(JSONSTAT_CHECKS) | {"order.json", "collection.json"}


@pytest.mark.parametrize("name", sorted(JSONSTAT_CHECKS))
def test_json_stat_org_samples(name: str):
    path = JSONSTAT_ORG / name
    ds = _raw_dataset(path)
    df = _read(path)
    _check_schema(df)
    value = ds["value"]
    n = len(value) if isinstance(value, list) else len(value)
    assert len(df) == n
    coords = JSONSTAT_CHECKS[name]
    flat = _flat(ds, **coords)
    if isinstance(value, dict):
        row = df.iloc[sorted(int(k) for k in value).index(flat)]
    else:
        row = df.iloc[flat]
    _assert_cell(row, ds, flat)
    for dim_id, code in coords.items():
        role = ds.get("role") or {}
        if dim_id in (role.get("geo") or [])[:1]:
            assert row["kommune"] == code
        elif dim_id in (role.get("time") or [])[:1]:
            assert row["period"] == code
        elif dim_id in (role.get("metric") or [])[:1]:
            assert row["indicator"] == code


def test_json_stat_org_spot_values():
    canada = _read(JSONSTAT_ORG / "canada.json")
    r = canada.iloc[0]
    assert (r["kommune"], r["kommune_name"], r["indicator"], r["value"], r["status"]) == (
        "CA",
        "Canada",
        "POP",
        34880.5,
        "a",  # a one-element status list applies to all cells
    )
    assert set(canada["status"]) == {"a"}
    galicia = _read(JSONSTAT_ORG / "galicia.json")
    assert galicia.iloc[1]["kommune_name"] == "A Coruña" and galicia.iloc[1]["value"] == 1096027
    assert "birth" in galicia.columns  # the second geo dimension is kept as a dimension
    oecd = _read(JSONSTAT_ORG / "oecd.json")
    au = oecd[(oecd["kommune"] == "AU") & (oecd["period"] == "2003")].iloc[0]
    assert au["value"] == pytest.approx(5.943826289)
    assert oecd.iloc[10]["status"] == "e"
    unr = _read(JSONSTAT_ORG / "us-unr.json")
    assert unr.iloc[2]["value"] == 11.2 and pd.isna(unr.iloc[2]["kommune_name"])
    hierarchy = _read(JSONSTAT_ORG / "hierarchy.json")
    assert len(hierarchy) == 1 and hierarchy.iloc[0]["commodity"] == "Total"
    assert hierarchy.iloc[0]["indicator"] == "Demo of hierarchical dimension"


def test_order_json_row_major_order():
    raw = json.loads((JSONSTAT_ORG / "order.json").read_text(encoding="utf-8"))["value"]
    df = _read(JSONSTAT_ORG / "order.json")
    assert len(df) == 24
    # the values are the strings "A1B1C1"...: non-numeric values are kept in status
    assert df["value"].isna().all()
    assert df["status"].tolist() == raw
    labels = ("A" + df["A"] + "B" + df["B"] + "C" + df["C"]).tolist()
    # each cell's dimension categories spell its value, except the sample's own typo at 11
    assert [i for i, (a, b) in enumerate(zip(labels, raw, strict=True)) if a != b] == [11]
    assert labels[11] == "A2B1C4" and raw[11] == "A1B1C4"
    assert labels[-1] == "A3B2C4"


def test_bundle_and_collection_warn_and_take_the_first():
    with pytest.warns(UserWarning, match="bundle with 2 datasets .*reading the first, 'oecd'"):
        df = read_registry(JSONSTAT_ORG / "oecd-canada.json")
    assert len(df) == 432
    canada = _read(JSONSTAT_ORG / "oecd-canada.json", dataset="canada")
    assert len(canada) == 120
    with pytest.warns(UserWarning, match="collection with 2 embedded dataset"):
        col = read_registry(JSONSTAT_ORG / "oecd-canada-col.json")
    assert col.iloc[0]["kommune"] == "AU"


def test_collection_of_links_only_is_a_clear_error():
    path = JSONSTAT_ORG / "collection.json"
    with pytest.raises(RegistryFileError) as err:
        read_registry(path)
    assert "links to 8 item(s) but embeds no dataset" in str(err.value)
    assert "http://json-stat.org/samples/oecd.json" in str(err.value)


def test_html_saved_as_json():
    with pytest.raises(RegistryFileError) as err:
        read_registry(HTML_AS_JSON)
    assert str(err.value) == f"{HTML_AS_JSON}: expected JSON-stat (JSON), found an HTML page"


# ------------------------------------------------------------------ validator corpus
CORPUS = json.loads(
    (FIXTURES / "jsonstat" / "validator" / "corpus_cases.json").read_text(encoding="utf-8")
)
STRUCTURAL = {
    "VALUE_LEN_MISMATCH",
    "ID_SIZE_LEN_MISMATCH",
    "DIM_KEY_ID_MISMATCH",
    "SPARSE_KEY_OUT_OF_RANGE",
    "ROLE_ID_UNKNOWN",
    "STATUS_LEN_MISMATCH",
    "INDEX_COUNT_MISMATCH",
    "INDEX_POSITIONS_INVALID",
}


@pytest.mark.parametrize("case", CORPUS, ids=[c["id"] for c in CORPUS])
def test_validator_corpus(case: dict, tmp_path: Path):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case["input"]), encoding="utf-8")
    codes = set(case["expected"].get("codes", []))
    if codes & STRUCTURAL:
        with pytest.raises(RegistryFileError, match="JSON-stat"):
            read_registry(path)
    else:  # valid, or metadata problems (labels, units, notes, hierarchy) that leave cells intact
        df = _read(path)
        _check_schema(df)
        assert len(df) >= 1


def test_sparse_values_and_status(tmp_path: Path):
    ds = {
        "version": "2.0",
        "class": "dataset",
        "label": "sparse",
        "id": ["region", "Tid"],
        "size": [3, 2],
        "dimension": {
            "region": {
                "category": {
                    "index": ["K-3001", "K-301", "K-1508"],
                    "label": {"K-3001": "Halden", "K-301": "Oslo", "K-1508": "Ålesund"},
                }
            },
            "Tid": {"category": {"index": {"2022": 0, "2023": 1}}},
        },
        "value": {"1": 5, "4": 7.5},
        "status": {"2": ":", "4": "p"},
    }
    path = tmp_path / "sparse.json"
    path.write_text(json.dumps(ds), encoding="utf-8")
    df = read_registry(path, indicator="rate")
    assert df["kommune"].tolist() == ["3001", "0301", "1508"]
    assert df["period"].tolist() == ["2023", "2022", "2022"]
    assert df["value"].tolist()[0] == 5.0 and math.isnan(df["value"].tolist()[1])
    assert df["status"].tolist()[1:] == [":", "p"]
    assert set(df["indicator"]) == {"rate"} and set(df["indicator_label"]) == {"sparse"}


def test_big_cube_is_vectorized_and_in_row_major_order(tmp_path: Path):
    sizes = [360, 50, 2, 40]
    n = int(np.prod(sizes))
    ds = {
        "version": "2.0",
        "class": "dataset",
        "label": "big",
        "id": ["Region", "Alder", "Kjonn", "Tid"],
        "size": sizes,
        "role": {"geo": ["Region"], "time": ["Tid"]},
        "dimension": {
            "Region": {"category": {"index": [f"{i:04d}" for i in range(360)]}},
            "Alder": {"category": {"index": [str(a) for a in range(50)]}},
            "Kjonn": {"category": {"index": ["1", "2"]}},
            "Tid": {"category": {"index": [str(1980 + t) for t in range(40)]}},
        },
        "value": list(range(n)),
    }
    path = tmp_path / "big.json"
    path.write_text(json.dumps(ds), encoding="utf-8")
    df = read_registry(path)
    assert len(df) == n == 1_440_000
    expect = (
        (
            (df["kommune"].astype(int) * 50 + df["Alder"].astype(int)) * 2
            + df["Kjonn"].astype(int)
            - 1
        )
        * 40
        + df["period"].astype(int)
        - 1980
    )
    assert (expect.to_numpy() == df["value"].to_numpy()).all()


def test_invalid_json_and_non_jsonstat(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"class": "dataset",\n  "value": [1, 2,,]\n}', encoding="utf-8")
    with pytest.raises(RegistryFileError, match=r"line 2, column \d+: invalid JSON"):
        read_registry(bad)
    other = tmp_path / "other.json"
    other.write_text('{"results": [1, 2]}', encoding="utf-8")
    with pytest.raises(RegistryFileError, match="expected JSON-stat: .*found a JSON object"):
        read_registry(other)
    arr = tmp_path / "arr.json"
    arr.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(RegistryFileError, match="found a JSON list"):
        read_registry(arr)


# ------------------------------------------------------------------ FHI / Udir (Telemark)
def test_udir_utf16_slutta_vgo():
    path = TELEMARK / "udir_20220505-1453_Slutta_VGO_utf16.csv"
    raw = path.read_bytes()
    assert not raw.startswith(b"\xff\xfe") and raw[1] == 0  # UTF-16LE without BOM
    lines = raw.decode("utf-16-le").splitlines()
    assert lines[0] == "sep=\t"
    header = lines[1].split("\t")
    value_cols = [h for h in header if h[:4].isdigit() and not h.endswith(".Brudd")]
    df = _read(path)
    _check_schema(df)
    assert len(df) == (len(lines) - 2) * len(value_cols)
    assert not any("Brudd" in c for c in df.columns)
    first = df.iloc[0]
    assert (first["period"], first["indicator"], first["value"]) == (
        "2011-12",
        "Andel sluttet",
        4.2,
    )
    assert first["breakdown"] == "Alle eierformer.Alle trinn.Begge kjønn"
    assert first["EnhetNavn"] == "Hele landet"
    akad = df[(df["EnhetNavn"] == "Akademiet Kristiansand AS") & (df["Fylke"] == "Agder")]
    akad = akad.set_index("period")
    assert akad.loc["2015-16", "value"] == 6.1
    assert akad.loc["2011-12", "status"] == "*" and math.isnan(akad.loc["2011-12", "value"])
    assert df["kommune"].isna().all()  # the table is by school and county, not kommune


def test_udir_utf16_elevundersokelsen():
    df = _read(TELEMARK / "udir_20220928-1012_Elevundersoekelsen_mobbing_utf16.csv")
    _check_schema(df)
    first = df.iloc[0]
    assert (first["indicator"], first["indicator_label"]) == (
        "67.19.00.11",
        "Mobbing på skolen (prosent)",
    )
    assert (first["period"], first["measure"], first["value"]) == ("2020-21", "Prosentandel", 3.3)
    assert first["breakdown"].endswith("Alle eierformer.Begge kjønn")
    assert df.iloc[1]["breakdown"].endswith(".Gutt") and df.iloc[1]["value"] == 3.7
    digital = df[df["indicator"] == "67.17.01.11"]
    assert digital.iloc[0]["value"] == 1.3


def test_fhi_long_csvs():
    barn = _read(TELEMARK / "fhi_barnevern_tiltak_0-17_telemark.csv")
    _check_schema(barn)
    assert len(barn) == 190
    r = barn.iloc[0]
    assert (r["kommune_name"], r["period"], r["value"]) == ("Hele landet", "2015", 0.043)
    assert barn["kommune"].isna().all()  # FHI writes names only; no code is invented
    assert (
        r["indicator"] == "fhi_barnevern_tiltak_0-17_telemark" and r["indicator_label"] == "Andel"
    )
    assert {"Kjønn", "Alder"} <= set(barn.columns)
    named = _read(TELEMARK / "fhi_barnevern_tiltak_0-17_telemark.csv", indicator="barnevern")
    assert set(named["indicator"]) == {"barnevern"}

    mob = _read(TELEMARK / "fhi_mobbing_7_trinn_treaarig.csv")
    _check_schema(mob)
    assert len(mob) == 152
    siljan = mob[(mob["kommune_name"] == "Siljan") & (mob["period"] == "2018")].iloc[0]
    assert math.isnan(siljan["value"]) and pd.isna(siljan["status"])  # empty cell
    assert siljan["SortKommune"] == "15" and siljan["Skoleår"] == "2016/17-2018/19"

    trivsel = _read(TELEMARK / "fhi_trivsel_10_klasse_treaarig.csv")
    assert trivsel.iloc[0]["value"] == 0.856 and trivsel.iloc[0]["period"] == "2016"

    ung = _read(TELEMARK / "fhi_ungdata_psykiske_plager_ungdom.csv")
    _check_schema(ung)
    assert len(ung) == 570
    assert ung.iloc[0]["value"] == pytest.approx(11.5154042054495)
    assert set(ung["status"].dropna()) == {".", ":"}
    assert ung["indicator_label"].iloc[0] == "value"


def test_fhi_wide_single_period_csvs():
    low = _read(TELEMARK / "fhi_vedvarende_lavinntekt_0-17.csv")
    _check_schema(low)
    assert len(low) == 19
    bamble = low[low["kommune_name"] == "Bamble"].iloc[0]
    assert (bamble["period"], bamble["indicator"], bamble["value"]) == ("2021-2023", "Andel", 10.0)
    neet = _read(TELEMARK / "ssb_13563_andel_unge_utenfor_kommuner_2024.csv")
    skien = neet[neet["kommune_name"] == "Skien"].iloc[0]
    assert (skien["period"], skien["value"]) == ("2024", 11.5)


def test_udir_long_xlsx():
    df = _read(TELEMARK / "udir_slutta_vgo_telemark.xlsx")
    _check_schema(df)
    assert len(df) == 104
    r = df.iloc[0]
    assert (r["period"], r["Type"], r["value"]) == ("2011-12", "Antall elever", 3912.0)  # "3 912"


@pytest.mark.parametrize(
    "name, message",
    [
        ("ssb_13563_NEET_andel_utafor_kommuner_workbook.xlsx", "expected a PxWeb table"),
        ("ssb_13563_NEET_kommuner_workbook.xlsx", "header row on the first sheet ('Readme')"),
    ],
)
def test_unsupported_pivot_workbooks_give_clear_errors(name: str, message: str):
    with pytest.raises(RegistryFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_registry(TELEMARK / name)


# ------------------------------------------------------------------ small synthetic CSVs
def test_tidy_csv_passthrough(tmp_path: Path):
    path = tmp_path / "tidy.csv"
    path.write_text(
        "kommune;year;indicator;value;status;numerator;denominator\n"
        "301;2022;barnevern;4,5;;9;200\n"
        "1508;2022;barnevern;:;:;;\n"
        "K-4601;2022;barnevern;..;;;\n",
        encoding="utf-8",
    )
    df = read_registry(path)
    _check_schema(df)
    assert df["kommune"].tolist() == ["0301", "1508", "4601"]
    assert df["period"].tolist() == ["2022"] * 3
    assert df["value"].tolist()[0] == 4.5
    assert df["status"].tolist()[1:] == [":", ".."]
    assert df["numerator"].tolist()[0] == 9.0 and df["numerator"].dtype == np.float64
    assert math.isnan(df["denominator"].tolist()[2])


def test_pxweb_variants_quarters_ranges_and_codes(tmp_path: Path):
    path = tmp_path / "px.csv"
    text = (
        '"Tabell 1: noe"\r\n"fortsatt tittel"\r\n\r\n'
        '"region";"statistikkvariabel";"2021K4";"2022K1";"2019-2021"\r\n'
        '"0101 Halden";"Ledige";"1,5";"..";"3"\r\n'
        '"K-1508 Ålesund";"Ledige";"2";"-";":"\r\n'
    )
    path.write_bytes(text.encode("latin-1"))
    df = read_registry(path)
    _check_schema(df)
    assert df["period"].tolist()[:3] == ["2021K4", "2022K1", "2019-2021"]
    assert df["kommune"].tolist() == ["0101"] * 3 + ["1508"] * 3
    assert df["kommune_name"].tolist()[3] == "Ålesund"
    assert set(df["indicator"]) == {"Ledige"}  # from the contents stub column
    assert df["value"].tolist()[0] == 1.5
    assert df["status"].fillna("").tolist() == ["", "..", "", "", "-", ":"]
    assert df.loc[df["status"] == "-", "value"].isna().all()  # "-" is never 0


def test_long_pxweb_csv_utf16_bom(tmp_path: Path):
    path = tmp_path / "long.csv"
    text = "region,år,Personer\r\n3001 Halden,2021,100\r\n3001 Halden,2022,.\r\n"
    path.write_bytes(text.encode("utf-16"))
    df = read_registry(path, indicator="pop")
    assert df["period"].tolist() == ["2021", "2022"]
    assert df["indicator"].tolist() == ["pop", "pop"]
    assert df["indicator_label"].tolist() == ["Personer", "Personer"]
    assert df["status"].tolist()[1] == "." and math.isnan(df["value"].tolist()[1])


def test_content_not_matching_extension(tmp_path: Path):
    html = tmp_path / "table.csv"
    html.write_text("<!DOCTYPE html><html><body>error</body></html>", encoding="utf-8")
    with pytest.raises(RegistryFileError, match="expected a CSV table, found an HTML page"):
        read_registry(html)
    js = tmp_path / "table2.csv"
    js.write_text('{"class": "dataset"}', encoding="utf-8")
    with pytest.raises(RegistryFileError, match="found JSON"):
        read_registry(js)
    odd = tmp_path / "table.parquet"
    odd.write_bytes(b"PAR1")
    with pytest.raises(RegistryFileError, match="expected JSON-stat"):
        read_registry(odd)
    plain = tmp_path / "plain.csv"
    plain.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(RegistryFileError, match="found columns: a, b"):
        read_registry(plain)
