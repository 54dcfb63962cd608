"""Tests of the SYNTHETIC example study generator (evaluation_pipeline.synthetic).

The landing files are read here directly with json/pandas/pyreadstat/zipfile (not with the
pipeline's readers), so that the planted effects are checked by an independent computation.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import shutil
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from evaluation_pipeline import synthetic
from evaluation_pipeline.synthetic import PLANTED, generate_example_study

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "sunnmore"
HISTORY = ROOT / "evaluation_pipeline" / "reference" / "kommune_code_history_1994-2024.xlsx"
XSD = ROOT / "tests" / "fixtures" / "interviews" / "refi_qda_schemas" / "Project.xsd"
NS = "{urn:QDA-XML:project:1.0}"


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((root / "landing").rglob("*"))
        if p.is_file()
    }


def _fresh(tmp: Path, seed: int = synthetic.DEFAULT_SEED) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE / "study.yaml", tmp / "study.yaml")
    generate_example_study(tmp, seed=seed)
    return tmp


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _fresh(tmp_path_factory.mktemp("sunnmore"))


@pytest.fixture(scope="module")
def study(study_dir: Path) -> dict:
    return yaml.safe_load((study_dir / "study.yaml").read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- readers


def _cube_frame(regions, contents, years, values, status) -> pd.DataFrame:
    rows = []
    for i, (r, c, y) in enumerate(itertools.product(regions, contents, years)):
        rows.append(
            {
                "code": r,
                "content": c,
                "year": int(y),
                "value": values[i],
                "status": status.get(str(i)),
            }
        )
    return pd.DataFrame(rows)


def read_jsonstat2(path: Path) -> pd.DataFrame:
    d = json.loads(path.read_text(encoding="utf-8"))
    assert d["version"] == "2.0" and d["class"] == "dataset"
    dims = [list(d["dimension"][k]["category"]["index"]) for k in d["id"]]
    assert [len(x) for x in dims] == d["size"]
    return _cube_frame(*dims, d["value"], d.get("status", {}))


def read_jsonstat1(path: Path) -> pd.DataFrame:
    d = json.loads(path.read_text(encoding="utf-8"))["dataset"]
    dim = d["dimension"]
    dims = [list(dim[k]["category"]["index"]) for k in dim["id"]]
    assert [len(x) for x in dims] == dim["size"]
    return _cube_frame(*dims, d["value"], d.get("status", {}))


def read_pxweb_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    text = raw.decode("iso-8859-1")
    wide = pd.read_csv(io.StringIO(text), sep=";", skiprows=2, dtype=str)
    long = wide.melt(id_vars=["region", "statistikkvariabel"], var_name="year", value_name="cell")
    symbol = long["cell"].isin([".", "..", "...", ":", "-"])
    return pd.DataFrame(
        {
            "code": long["region"].str.extract(r"^K-(\d{4}) ")[0],
            "content": long["statistikkvariabel"],
            "year": long["year"].astype(int),
            "value": pd.to_numeric(long["cell"].where(~symbol)),
            "status": long["cell"].where(symbol),
        }
    )


def registry_frame(study_dir: Path, study: dict, indicator: str) -> pd.DataFrame:
    spec = study["registry"]["indicators"][indicator]
    path = study_dir / spec["file"]
    if path.suffix == ".csv":
        return read_pxweb_csv(path)
    head = json.loads(path.read_text(encoding="utf-8"))
    return read_jsonstat1(path) if "dataset" in head else read_jsonstat2(path)


# ----------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, study_dir: Path) -> None:
    again = _fresh(tmp_path / "again")
    first = _hashes(study_dir)
    assert len(first) == 7
    assert _hashes(again) == first
    other = _hashes(_fresh(tmp_path / "other", seed=7))
    assert set(other) == set(first)
    assert all(other[k] != first[k] for k in first)


def test_committed_landing_files_equal_a_fresh_generation(study_dir: Path) -> None:
    committed = _hashes(EXAMPLE)
    assert committed, "run: python -m evaluation_pipeline.synthetic examples/sunnmore"
    assert committed == _hashes(study_dir), (
        "examples/sunnmore/landing differs from the generator's output; regenerate it with "
        "python -m evaluation_pipeline.synthetic examples/sunnmore (never edit by hand)"
    )


def test_summary_and_cli(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE / "study.yaml", tmp_path / "study.yaml")
    assert synthetic.main([str(tmp_path)]) == 0
    summary = generate_example_study(tmp_path)
    assert summary["planted"] is PLANTED
    assert len(summary["files"]) == 7
    assert summary["files"] == {
        k: {"bytes": (tmp_path / k).stat().st_size, "sha256": v}
        for k, v in _hashes(tmp_path).items()
    }


def test_generator_does_not_use_shared_data() -> None:
    source = Path(synthetic.__file__).read_text(encoding="utf-8")
    assert "/work/shared" not in source and "shared/data" not in source
    assert "dagster" not in source


# ----------------------------------------------------------------------------- registry


def test_registry_codes_valid_in_each_year(study_dir: Path, study: dict) -> None:
    for indicator in study["registry"]["indicators"]:
        df = registry_frame(study_dir, study, indicator)
        has = df[df["value"].notna()]
        years = has.groupby("code")["year"].agg(["min", "max"])
        assert years.loc["1508", "min"] == 2024, indicator
        assert years.loc["1580", "min"] == 2024, indicator
        assert (years.loc["1507"] == [2020, 2023]).all(), indicator
        for old in [
            "1504",
            "1534",
            "1523",
            "1529",
            "1546",
            "1519",
            "1444",
            "1502",
            "1543",
            "1545",
            "1548",
            "1551",
        ]:
            assert years.loc[old, "max"] <= 2019, (indicator, old)
        for new in ["1577", "1506", "1579"]:
            assert years.loc[new, "min"] == 2020, (indicator, new)
        # unchanged codes carry a value in every year
        for same in ["1531", "1505", "1557"]:
            assert years.loc[same, "min"] == 2008, (indicator, same)
        # exactly one code per 2024-kommune area and year (no double counting)
        per_year = has.groupby("year")["code"].nunique()
        expected = {y: (27 if y <= 2019 else 19 if y <= 2023 else 20) for y in range(2008, 2026)}
        if indicator == "neet_15_29":
            expected.pop(2025)
        assert per_year.to_dict() == expected, indicator


def test_registry_contents_and_status_symbols(study_dir: Path, study: dict) -> None:
    for indicator, spec in study["registry"]["indicators"].items():
        df = registry_frame(study_dir, study, indicator)
        assert {spec["numerator"], spec["denominator"]} <= set(df["content"])
        # every status symbol sits on a null value
        assert df.loc[df["status"].notna(), "value"].isna().all(), indicator
        # every null value carries a symbol (never a silent gap, never a 0 for missing)
        assert df.loc[df["value"].isna(), "status"].notna().all(), indicator
        assert set(df["status"].dropna()) <= {".", "..", ":"}
    comp = registry_frame(study_dir, study, "completion_5y")
    assert (comp["status"] == ":").sum() > 0
    assert set(comp["content"]) == {"Fullfort", "Startet", "Andel"}
    neet = registry_frame(study_dir, study, "neet_15_29")
    valid_2025 = neet[(neet["year"] == 2025) & neet["code"].isin(["1508", "1580"])]
    assert (valid_2025["status"] == "..").all()
    cw = registry_frame(study_dir, study, "cw_measures_0_17")
    dots_valid = cw[(cw["status"] == ".") & (cw["year"] <= 2019) & (cw["code"] == "1545")]
    assert len(dots_valid) == 1


def test_registry_file_shapes(study_dir: Path, study: dict) -> None:
    ind = study["registry"]["indicators"]
    d2 = json.loads((study_dir / ind["completion_5y"]["file"]).read_text(encoding="utf-8"))
    assert d2["source"] == "Statistisk sentralbyrå"
    assert d2["role"] == {"time": ["Tid"], "geo": ["Region"], "metric": ["ContentsCode"]}
    assert "SYNTHETIC" in d2["label"]
    labels = d2["dimension"]["Region"]["category"]["label"]
    assert labels["1507"] == "Ålesund (2020-2023)" and labels["1534"] == "Haram (-2019)"
    d1 = json.loads((study_dir / ind["cw_measures_0_17"]["file"]).read_text(encoding="utf-8"))
    assert set(d1) == {"dataset"} and "SYNTHETIC" in d1["dataset"]["label"]
    assert d1["dataset"]["dimension"]["role"]["metric"] == ["ContentsCode"]
    raw = (study_dir / ind["neet_15_29"]["file"]).read_bytes().decode("iso-8859-1")
    lines = raw.split("\r\n")
    assert lines[0].startswith('"13563: ') and "SYNTHETIC" in lines[0] and lines[1] == ""
    assert lines[2] == ";".join(
        ['"region"', '"statistikkvariabel"'] + [f'"{y}"' for y in range(2008, 2026)]
    )
    assert lines[3].startswith('"K-1444 Hornindal (-2019)";')
    assert any(line.startswith('"K-1508 Ålesund";"Personer 15-29 år";') for line in lines)


def _unit_map() -> dict[str, str]:
    """Every kommune code -> its 2024 kommune; 1508/1580 (one code 1507 in 2020–2023) as one."""
    h = pd.read_excel(HISTORY, dtype=str)
    m = dict(zip(h["KODE"].str.strip(), h["GRUPPEKODE"].str[2:], strict=True))
    return {c: ("1508+1580" if g in ("1508", "1580") else g) for c, g in m.items()}


def registry_did(study_dir: Path, study: dict, indicator: str) -> float:
    """Per network unit: (post - pre) minus the comparison's (post - pre) over the same years,
    with pooled rates sum(numerator)/sum(denominator); averaged over network units."""
    spec = study["registry"]["indicators"][indicator]
    df = registry_frame(study_dir, study, indicator)
    wide = df.pivot_table(index=["code", "year"], columns="content", values="value")
    wide = wide[[spec["numerator"], spec["denominator"]]].dropna().reset_index()
    wide.columns = ["code", "year", "num", "den"]
    wide["unit"] = wide["code"].map(_unit_map())
    agg = wide.groupby(["unit", "year"])[["num", "den"]].sum()
    network = {str(k): int(v) for k, v in study["network"].items()}
    joins = {("1508+1580" if k in ("1508", "1580") else k): v for k, v in network.items()}
    comparison = [str(c) for c in study["comparison"]]
    comp = agg.loc[comparison].groupby("year").sum()
    per = float(spec["per"])
    effects = []
    for unit, g in joins.items():
        own = agg.loc[unit]

        def rate(frame: pd.DataFrame, years) -> float:
            f = frame.loc[frame.index.isin(years)]
            return per * f["num"].sum() / f["den"].sum()

        pre = [y for y in own.index if y < g]
        post = [y for y in own.index if y >= g]
        effects.append((rate(own, post) - rate(own, pre)) - (rate(comp, post) - rate(comp, pre)))
    return float(np.mean(effects))


@pytest.mark.parametrize(
    "indicator,tol", [("completion_5y", 1.5), ("neet_15_29", 0.4), ("cw_measures_0_17", 1.5)]
)
def test_registry_planted_effect_recovered(
    study_dir: Path, study: dict, indicator: str, tol: float
) -> None:
    est = registry_did(study_dir, study, indicator)
    assert abs(est - PLANTED["registry"][indicator]) < tol, (indicator, est)


# ----------------------------------------------------------------------------- surveys


def _survey(study_dir: Path, study: dict) -> dict[str, pd.DataFrame]:
    import pyreadstat

    out = {}
    for wave in study["survey"]["waves"]:
        path = study_dir / wave["file"]
        if path.suffix == ".sav":
            df, meta = pyreadstat.read_sav(path)  # user-missing 9 becomes NaN
            df["kommune"] = df["kommune"].map(meta.variable_value_labels["kommune"])
            df["role"] = df["role"].map(meta.variable_value_labels["role"])
        elif path.suffix == ".csv":
            df = pd.read_csv(path, sep=";", dtype={"kommune": str, "respondent_id": str})
        else:
            df = pd.read_excel(path, dtype={"kommune": str})
        out[wave["id"]] = df
    return out


def test_survey_columns_waves_and_panel(study_dir: Path, study: dict) -> None:
    sv = study["survey"]
    items = [i for s in sv["scales"].values() for i in s["items"]]
    roster = [i for b in ("frequency", "quality") for i in sv["collaboration"][b]["items"]]
    frames = _survey(study_dir, study)
    kommuner = {str(k) for k in study["network"]} | {str(c) for c in study["comparison"]}
    for wave, df in frames.items():
        assert list(df.columns) == ["respondent_id", "wave", "kommune", "role", *items, *roster]
        assert set(df["wave"]) == {wave}
        assert 1300 <= len(df) <= 1700
        assert df["respondent_id"].str.fullmatch(r"R\d{6}").all()
        assert df["respondent_id"].is_unique
        assert set(df["kommune"]) == kommuner
        assert df["kommune"].value_counts().min() >= 13
        assert set(df["role"]) == set(sv["roles"])
        counts = df["role"].value_counts()
        assert counts.idxmax() == "skole" and counts.idxmin() in ("politi", "BUP")
        values = df[items].stack()
        assert set(values.unique()) <= {1, 2, 3, 4, 5}
        assert 0.01 < df[items].isna().mean().mean() < 0.05
    base = set(frames["w2012"]["respondent_id"])
    for wave, share in (("w2016", 0.30), ("w2019", 0.20)):
        overlap = base & set(frames[wave]["respondent_id"])
        assert abs(len(overlap) / len(base) - share) < 0.03
        merged = frames["w2012"].merge(frames[wave], on="respondent_id")
        assert (merged["kommune_x"] == merged["kommune_y"]).all()
        assert (merged["role_x"] == merged["role_y"]).all()


def test_sav_metadata(study_dir: Path, study: dict) -> None:
    import pyreadstat

    path = study_dir / study["survey"]["waves"][0]["file"]
    df, meta = pyreadstat.read_sav(path, user_missing=True)
    items = [i for s in study["survey"]["scales"].values() for i in s["items"]]
    for item in items:
        assert meta.variable_value_labels[item][1] == "Helt uenig"
        assert meta.variable_value_labels[item][5] == "Helt enig"
        assert meta.variable_value_labels[item][9] == "Vet ikke"
        assert meta.missing_ranges[item] == [{"lo": 9.0, "hi": 9.0}]
        assert meta.column_names_to_labels[item]
    share_9 = (df[items] == 9).mean().mean()
    assert 0.005 < share_9 < 0.02
    assert set(meta.variable_value_labels["kommune"].values()) == set(
        [str(k) for k in study["network"]] + [str(c) for c in study["comparison"]]
    )
    assert set(meta.variable_value_labels["role"].values()) == set(study["survey"]["roles"])
    assert "SYNTHETIC" in meta.file_label
    assert path.read_bytes()[92:109] == b"15 Nov 1212:00:00"


def _scale_means(df: pd.DataFrame, scale: dict) -> pd.Series:
    items = df[scale["items"]].astype(float).copy()
    lo, hi = scale["range"]
    for item in scale["reverse"]:
        items[item] = lo + hi - items[item]
    return items.mean(axis=1)


@pytest.mark.parametrize("scale_name", ["samarbeid", "felles_forstaelse"])
def test_survey_planted_effect_recovered(study_dir: Path, study: dict, scale_name: str) -> None:
    scale = study["survey"]["scales"][scale_name]
    network = {str(k) for k in study["network"]}
    frames = _survey(study_dir, study)
    means = {}
    for wave, df in frames.items():
        score = _scale_means(df, scale)
        is_net = df["kommune"].isin(network)
        means[wave] = (score[is_net].mean(), score[~is_net].mean())
    for wave in ("w2016", "w2019"):
        change = means[wave][0] - means["w2012"][0]
        assert abs(change - PLANTED["survey"][scale_name][wave]) < 0.05, (wave, change)
        comp = means[wave][1] - means["w2012"][1]
        assert abs(comp - PLANTED["survey"]["comparison_trend"][wave]) < 0.06, (wave, comp)


# ----------------------------------------------------------------------------- roster

#: the example's directed ties whose model mean frequency is at least 3.5 (P(answer >= 4) >=
#: 0.5), counted by hand from the pair levels and effects in synthetic_roster.py: at baseline
#: skole<->PPT, skole<->helsestasjon, barnehage<->PPT, barnehage<->helsestasjon (8 of 56); in
#: the network's follow-ups also skole<->barnevern, barnevern<->helsestasjon (planted),
#: PPT<->BUP, barnevern<->BUP and politi->barnevern (17 of 56)
HAND_DENSITY = {"baseline": 8 / 56, "network_followup": 17 / 56}


def _roster(study: dict) -> tuple[dict[str, str], dict[str, str]]:
    c = study["survey"]["collaboration"]
    return c["frequency"]["items"], c["quality"]["items"]


def _density(df: pd.DataFrame, study: dict) -> tuple[float, dict]:
    """Share of directed ties A -> B (A = role) on which at least half of A's respondents
    answer 4 or more, and each tie's (mean answer, variance of the mean)."""
    freq, _ = _roster(study)
    roles = study["survey"]["roles"]
    regular, means = 0, {}
    for a in roles:
        own = df[df["role"] == a]
        for item, b in freq.items():
            if a == b:
                continue
            x = own[item].dropna().astype(float)
            regular += (x >= 4).mean() >= 0.5
            means[(a, b)] = (x.mean(), x.var() / len(x) if len(x) else np.nan)
    return regular / (len(roles) * (len(roles) - 1)), means


def _by_group(study_dir: Path, study: dict) -> dict[tuple[str, str], tuple[float, dict]]:
    network = {str(k) for k in study["network"]}
    out = {}
    for wave, df in _survey(study_dir, study).items():
        net = df["kommune"].isin(network)
        out[("network", wave)] = _density(df[net], study)
        out[("comparison", wave)] = _density(df[~net], study)
    return out


def test_roster_own_service_empty_range_and_routing(study_dir: Path, study: dict) -> None:
    freq, qual = _roster(study)
    assert list(freq) == [f"ofte_{r.lower()}" for r in study["survey"]["roles"]]
    assert list(qual) == [f"godt_{r.lower()}" for r in study["survey"]["roles"]]
    for wave, df in _survey(study_dir, study).items():
        for items in (freq, qual):
            for item, service in items.items():
                assert df.loc[df["role"] == service, item].isna().all(), (wave, item)
                other = df.loc[df["role"] != service, item]
                assert set(other.dropna().unique()) <= {1, 2, 3, 4, 5}, (wave, item)
                assert other.notna().mean() > 0.6, (wave, item)
        f = pd.concat([df.loc[df["role"] != s, i] for i, s in freq.items()])
        assert 0.01 < f.isna().mean() < 0.04, wave  # item non-response about 2 %
        for fi, qi in zip(freq, qual, strict=True):
            never = df[fi] == 1
            assert df.loc[never, qi].isna().all(), (wave, qi)  # no quality after "never"


def test_roster_sav_labels(study_dir: Path, study: dict) -> None:
    import pyreadstat

    freq, qual = _roster(study)
    _, meta = pyreadstat.read_sav(study_dir / study["survey"]["waves"][0]["file"],
                                  metadataonly=True)
    for item, service in freq.items():
        assert meta.variable_value_labels[item][1] == "Aldri"
        assert meta.variable_value_labels[item][5] == "Ukentlig eller oftere"
        assert service in meta.column_names_to_labels[item]
        assert item not in meta.missing_ranges  # empty = system missing, no code
    for item in qual:
        assert meta.variable_value_labels[item][5] == "Svært godt"


def test_roster_is_a_plausible_network_varying_by_kommune(study_dir: Path, study: dict) -> None:
    frames = _survey(study_dir, study)
    base = frames["w2012"]
    _, means = _density(base, study)
    for strong in [("skole", "PPT"), ("PPT", "skole"), ("helsestasjon", "barnehage"),
                   ("barnehage", "helsestasjon")]:
        assert means[strong][0] > 3.8, strong
    for weak in [("politi", "barnehage"), ("barnehage", "politi")]:
        assert means[weak][0] < 2.0, weak
    # kommune-level variation: a respondent's answers minus the tie means (role -> service)
    # differ between kommuner beyond sampling noise (one-way ANOVA)
    from scipy.stats import f_oneway

    freq, qual = _roster(study)
    long = base.melt(id_vars=["respondent_id", "kommune", "role"], value_vars=list(freq),
                     var_name="item", value_name="answer").dropna(subset=["answer"])
    long["resid"] = long["answer"] - long.groupby(["role", "item"])["answer"].transform("mean")
    person = long.groupby(["kommune", "respondent_id"])["resid"].mean().reset_index()
    assert f_oneway(*[g["resid"] for _, g in person.groupby("kommune")]).pvalue < 0.001
    # quality goes with frequency (same respondent, same service)
    pairs = pd.concat([pd.DataFrame({"f": df[list(freq)].to_numpy(float).ravel(),
                                     "q": df[list(qual)].to_numpy(float).ravel()})
                       for df in frames.values()]).dropna()
    assert pairs["f"].corr(pairs["q"], method="spearman") > 0.3


def test_roster_planted_change_recovered(study_dir: Path, study: dict) -> None:
    planted = PLANTED["collaboration"]
    # the stated model density is the hand count
    for group in ("network", "comparison"):
        assert planted["density"][group]["w2012"] == pytest.approx(HAND_DENSITY["baseline"],
                                                                   abs=1e-4)
        for wave in ("w2016", "w2019"):
            want = HAND_DENSITY["network_followup" if group == "network" else "baseline"]
            assert planted["density"][group][wave] == pytest.approx(want, abs=1e-4)
    got = _by_group(study_dir, study)
    for wave in ("w2016", "w2019"):
        net = got[("network", wave)][0] - got[("network", "w2012")][0]
        comp = got[("comparison", wave)][0] - got[("comparison", "w2012")][0]
        want = planted["density"]["network"][wave] - planted["density"]["network"]["w2012"]
        assert net > 0.1 and abs(net - want) < 0.05, (wave, net, want)
        assert abs(comp) < 0.06, (wave, comp)
        # the planted ties, both directions: the network's change beats the comparison's
        # (95 % CI above 0) by the planted latent difference within 3 standard errors; the
        # answers are rounded and clipped at 5, which takes up to 0.2 off
        for tie, by_wave in planted["ties"].items():
            a, b = tie.split("-")
            latent = (planted["network_all_ties"][wave] + by_wave[wave]
                      - planted["comparison_trend"][wave])
            for x, y in ((a, b), (b, a)):
                did, se = _tie_did(got, wave, (x, y))
                assert did - 1.96 * se > 0, (wave, x, y, did, se)
                assert latent - 0.2 - 3 * se < did < latent + 3 * se, (wave, x, y, did, latent)
        # a tie without a tie-specific effect moves by about the common rise only
        did, se = _tie_did(got, wave, ("skole", "PPT"))
        assert did < planted["network_all_ties"][wave] + 3 * se


def _tie_did(got: dict, wave: str, tie: tuple[str, str]) -> tuple[float, float]:
    """Network minus comparison change of a tie's mean answer from w2012 to ``wave``, and its
    standard error (the four means as independent samples; the panel overlap makes it a
    little conservative)."""
    cells = [got[(g, w)][1][tie] for g in ("network", "comparison") for w in (wave, "w2012")]
    did = cells[0][0] - cells[1][0] - (cells[2][0] - cells[3][0])
    return did, float(np.sqrt(sum(v for _, v in cells)))


def test_roster_has_its_own_random_stream(tmp_path: Path, study_dir: Path) -> None:
    """Without the roster block the wave files hold exactly the same other columns."""
    plain = tmp_path / "plain"
    plain.mkdir()
    study = yaml.safe_load((EXAMPLE / "study.yaml").read_text(encoding="utf-8"))
    del study["survey"]["collaboration"]
    (plain / "study.yaml").write_text(yaml.safe_dump(study, allow_unicode=True, sort_keys=False),
                                      encoding="utf-8")
    generate_example_study(plain)
    with_roster = _survey(study_dir, study)
    for wave, df in _survey(plain, study).items():
        pd.testing.assert_frame_equal(with_roster[wave][list(df.columns)], df)
        assert len(with_roster[wave].columns) == len(df.columns) + 16


# ----------------------------------------------------------------------------- interviews


def _qdpx(study_dir: Path, study: dict) -> tuple[zipfile.ZipFile, ET.Element]:
    zf = zipfile.ZipFile(study_dir / study["interviews"]["files"][0])
    return zf, ET.fromstring(zf.read("project.qde"))


def test_qdpx_structure_themes_and_coders(study_dir: Path, study: dict) -> None:
    zf, root = _qdpx(study_dir, study)
    assert root.tag == f"{NS}Project" and "SYNTHETIC" in root.get("name")
    assert [c.tag[len(NS) :] for c in root] == [
        "Users",
        "CodeBook",
        "Variables",
        "Cases",
        "Sources",
        "Sets",
        "Description",
    ]
    users = {u.get("name"): u.get("guid") for u in root.iter(f"{NS}User")}
    assert set(users) == {"Koder A", "Koder B"}
    top = [c.get("name") for c in root.find(f"{NS}CodeBook/{NS}Codes")]
    assert top == [
        "Felles målforståelse",
        "Felles rutiner",
        "Ledelse og ansvar",
        "Møteplasser og strukturer",
        "Barrierer",
        "Brukermedvirkning",
        "Opplæring og refleksjon",
    ]
    barrierer = next(c for c in root.iter(f"{NS}Code") if c.get("name") == "Barrierer")
    assert [c.get("name") for c in barrierer.findall(f"{NS}Code")] == [
        "Taushetsplikt",
        "Siloer",
        "Kapasitet",
        "Turnover",
    ]
    sources = root.findall(f"{NS}Sources/{NS}TextSource")
    assert len(sources) == 40
    names = set(zf.namelist())
    for src in sources:
        assert "SYNTHETIC" in src.find(f"{NS}Description").text
        member = "Sources/" + src.get("plainTextPath").removeprefix("internal://")
        assert member in names
        text = zf.read(member).decode("utf-8")
        assert "SYNTHETIC" in text and 1500 < len(text) < 6000
        for sel in src.findall(f"{NS}PlainTextSelection"):
            assert 0 <= int(sel.get("startPosition")) < int(sel.get("endPosition")) <= len(text)
            assert sel.get("creatingUser") in users.values()
    # cases carry kommune, rolle, runde and point at one source each
    var = {v.get("name"): v.get("guid") for v in root.iter(f"{NS}Variable")}
    assert set(var) == {"kommune", "rolle", "runde"}
    src_guids = {s.get("guid") for s in sources}
    cases = root.findall(f"{NS}Cases/{NS}Case")
    assert len(cases) == 40
    network = {str(k) for k in study["network"]}
    rounds = []
    for case in cases:
        vals = {
            vv.find(f"{NS}VariableRef").get("targetGUID"): vv.find(f"{NS}TextValue").text
            for vv in case.findall(f"{NS}VariableValue")
        }
        assert vals[var["kommune"]] in network
        assert vals[var["rolle"]] in study["survey"]["roles"]
        rounds.append(vals[var["runde"]])
        assert case.find(f"{NS}SourceRef").get("targetGUID") in src_guids
    assert sorted(set(rounds)) == ["i2013", "i2019"] and rounds.count("i2013") == 20


def _presence(root: ET.Element) -> pd.DataFrame:
    """One row per (source, coder, code path) coded at least once."""
    guid_to_path = {}
    for top in root.find(f"{NS}CodeBook/{NS}Codes"):
        guid_to_path[top.get("guid")] = top.get("name")
        for child in top.findall(f"{NS}Code"):
            guid_to_path[child.get("guid")] = f"{top.get('name')}/{child.get('name')}"
    users = {u.get("guid"): u.get("name") for u in root.iter(f"{NS}User")}
    runde_guid = next(v.get("guid") for v in root.iter(f"{NS}Variable") if v.get("name") == "runde")
    round_of = {}
    for case in root.iter(f"{NS}Case"):
        for vv in case.findall(f"{NS}VariableValue"):
            if vv.find(f"{NS}VariableRef").get("targetGUID") == runde_guid:
                round_of[case.find(f"{NS}SourceRef").get("targetGUID")] = vv.find(
                    f"{NS}TextValue"
                ).text
    rows = []
    for src in root.iter(f"{NS}TextSource"):
        for sel in src.findall(f"{NS}PlainTextSelection"):
            for coding in sel.findall(f"{NS}Coding"):
                rows.append(
                    {
                        "source": src.get("guid"),
                        "round": round_of[src.get("guid")],
                        "coder": users[coding.get("creatingUser")],
                        "code": guid_to_path[coding.find(f"{NS}CodeRef").get("targetGUID")],
                    }
                )
    return pd.DataFrame(rows).drop_duplicates()


def test_qdpx_planted_theme_shift_and_double_coding(study_dir: Path, study: dict) -> None:
    _, root = _qdpx(study_dir, study)
    pres = _presence(root)
    any_coder = pres.drop_duplicates(["source", "code"])
    shares = any_coder.groupby(["code", "round"]).size().unstack(fill_value=0) / 20
    for code in ("Felles rutiner", "Møteplasser og strukturer", "Barrierer/Siloer"):
        for rnd in ("i2013", "i2019"):
            assert abs(shares.loc[code, rnd] - PLANTED["interviews"][code][rnd]) < 0.051
    for code, share in PLANTED["interviews"]["flat"].items():
        assert abs(shares.loc[code, "i2013"] - share) < 0.051
        assert abs(shares.loc[code, "i2019"] - share) < 0.051
    coders_per_source = pres.groupby("source")["coder"].nunique()
    double = coders_per_source[coders_per_source == 2].index
    assert len(double) == PLANTED["interviews"]["double_coded"]
    leaf = sorted(set(pres["code"]))
    assert len(leaf) == 10
    agree = []
    for src in double:
        sub = pres[pres["source"] == src]
        a = set(sub.loc[sub["coder"] == "Koder A", "code"])
        b = set(sub.loc[sub["coder"] == "Koder B", "code"])
        agree += [(c in a) == (c in b) for c in leaf]
    assert abs(np.mean(agree) - PLANTED["interviews"]["agreement_code_presence"]) < 0.05


def test_qde_validates_against_the_refi_qda_schema(study_dir: Path, study: dict) -> None:
    """project.qde validates against the official REFI-QDA 1.0 Project.xsd (xmlschema)."""
    import xmlschema

    schema = xmlschema.XMLSchema(str(XSD))
    with zipfile.ZipFile(study_dir / study["interviews"]["files"][0]) as z:
        text = z.read("project.qde").decode("utf-8")
    schema.validate(text)
    assert schema.is_valid(text)
