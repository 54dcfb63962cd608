"""The real-data example study (`examples/telemark`: FHI files exactly as downloaded, registry
only, a 4-kommune network) end to end through `evaluation-pipeline run`, without a pseudonym
key, and its numbers checked against an independent read of the files.

Covers issue #22's real-data scenario: a registry-only study runs (no survey, no interviews,
no key), FHI files with kommune names, "Hele landet"/fylke rows, today's borders, rates without
counts and an extra dimension are read as published, a 4-kommune network gets verdicts with a
"few kommuner" caveat (not privacy suppression), an indicator that cannot be estimated stays
local with its reason, and the report speaks only of this study's kommuner and estimates.
"""

import csv
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import statsmodels.formula.api as smf
from conftest import ROOT, TELEMARK_CODES, run_cli

TELEMARK = ROOT / "examples" / "telemark"

JOINS = {"4001": 2017, "4003": 2017, "4012": 2019, "4014": 2019}


@pytest.fixture(scope="module")
def telemark_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("telemark")
    study_dir = tmp / "telemark"
    shutil.copytree(TELEMARK, study_dir, ignore=shutil.ignore_patterns("output"))
    # no personal data is read: the run must not ask for a pseudonym key
    rc, _, _, _ = run_cli(study_dir / "study.yaml", tmp, no_key=True)
    return rc, study_dir / "output"


def _table(out: Path, name: str) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(f"select * from evaluation.{name}").df()
    finally:
        con.close()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_landing_files_are_the_downloads_unchanged():
    shared = ROOT / "tests" / "fixtures" / "fhi_udir_telemark"
    for f in (TELEMARK / "landing" / "registry").iterdir():
        assert f.read_bytes() == (shared / f.name).read_bytes(), f.name


def test_registry_only_study_runs_and_builds_report_and_profiles(telemark_run, capsys):
    rc, out = telemark_run
    assert rc == 0
    report = (out / "report" / "rapport.html").read_text(encoding="utf-8")
    text = _text(report)
    # only the study's own kommuner and what was estimated
    assert "Porsgrunn" in text and "Midt-Telemark" in text
    for absent in ("Ålesund", "1507", "Haram", "SYNTETISK", "Spørreundersøkelse",
                   "Intervjuer:", "n = :", "blandet modell", "nan"):
        assert absent not in text, absent
    # the methods say which DiDs are weighted by population and which indicators are rolling
    # averages (from the study's `weights:` and the files' periods)
    assert ("vektet etter befolkning for Barn 0–17 år med barnevernstiltak per 1 000, "
            "Ungdom (8.–10. trinn) med psykiske plager (%).") in text
    assert "Uvektet, der hver kommune teller likt: Trives på skolen, 10. trinn" in text
    assert "Glidende gjennomsnitt over flere år, datert med periodens siste år: Trives på " \
        "skolen, 10. trinn (%, treårig snitt)." in text
    assert {p.name for p in (out / "profiles").glob("*.html")} == {
        "4001-porsgrunn.html", "4003-skien.html", "4012-bamble.html", "4014-kragero.html"}
    # the country and fylke rows are reference lines of the trend figure, not kommuner
    svg = (out / "figures" / "registry_trends.svg").read_text(encoding="utf-8")
    assert "Hele landet" in svg and "Telemark" in svg
    kommuner = pd.read_csv(out / "tables" / "kommuner.csv", dtype={"code": str})
    assert set(kommuner["code"]) == set(TELEMARK_CODES.values())


def test_four_kommune_network_gets_verdicts_and_the_unestimable_indicator_stays_local(
        telemark_run):
    rc, out = telemark_run
    chain = pd.read_csv(out / "tables" / "logic_chain.csv").set_index("indicator")
    for ind in ("barnevern_tiltak_0_17", "psykiske_plager", "trivsel_10_trinn"):
        row = chain.loc[ind]
        # a verdict from the estimate's CI, never hidden for counting kommuner
        assert row["verdict"] in {"supports", "contrary", "no_clear_change"}, ind
        assert row["caveat"] == "few_kommuner"
        assert pd.notna(row["estimate"]) and row["ci_low"] < row["estimate"] < row["ci_high"]
        assert "4 network kommuner" in row["note"]
    low = chain.loc["lavinntekt_0_17"]
    assert low["verdict"] == "insufficient_data"
    assert ("registry:lavinntekt_0_17 (landing/registry/fhi_vedvarende_lavinntekt_0-17.csv): "
            "no years before the first join 2017") in low["note"]


def _trivsel_panel_read_independently() -> pd.DataFrame:
    """FHI's grade-10 thriving file read with the csv module: kommune rows only (by the hand
    list of names), the period is the end year of the rolling school-year window
    ('2014/15-2016/17' -> 2017), the proportion as percent."""
    rows = []
    path = TELEMARK / "landing" / "registry" / "fhi_trivsel_10_klasse_treaarig.csv"
    with open(path, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            code = TELEMARK_CODES.get(r["Kommune"])
            if code is None or r["Andel"] == "":
                continue
            last = r["Skoleår"].split("-")[-1]            # '2016/17'
            year = int(last[:4]) + 1                     # the school year's end: 2017
            rows.append({"kommune": code, "year": year, "value": float(r["Andel"]) * 100})
    df = pd.DataFrame(rows)
    df["treated"] = [int(y >= JOINS.get(k, 10_000)) for k, y in zip(df["kommune"],
                                                                      df["year"], strict=True)]
    return df


def test_twfe_estimate_equals_an_independent_ols_on_the_files(telemark_run):
    _, out = telemark_run
    panel = _trivsel_panel_read_independently()
    assert panel["kommune"].nunique() == 17 and len(panel) == 162
    fit = smf.ols("value ~ treated + C(kommune) + C(year)", data=panel).fit()
    effects = _table(out, "effects")  # full precision (the CSV has 6 significant digits)
    twfe = effects[(effects["outcome"] == "trivsel_10_trinn")
                   & effects["estimator"].str.startswith("TWFE")].iloc[0]
    assert twfe["estimate"] == pytest.approx(fit.params["treated"], rel=1e-9)
    assert twfe["n_obs"] == len(panel)
    assert (twfe["n_treated"], twfe["n_control"]) == (4, 13)
    # the rolling windows are said, and the unweighted DiD says it is unweighted
    assert "rolling 3-year averages" in twfe["note"] and "unweighted" in twfe["note"]


def test_porsgrunn_values_as_published(telemark_run):
    """Porsgrunn's barnevern share as the file has it (0.052 in 2015 on today's borders)
    stored per 1,000 under its 2024 code, and the national row kept apart."""
    _, out = telemark_run
    obs = _table(out, "registry_observations_raw")
    obs = obs[obs["indicator"] == "barnevern_tiltak_0_17"]
    ref = _table(out, "registry_reference")
    ref = ref[ref["indicator"] == "barnevern_tiltak_0_17"]
    path = TELEMARK / "landing" / "registry" / "fhi_barnevern_tiltak_0-17_telemark.csv"
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    published = {(TELEMARK_CODES[r["Geografi"]], int(r["År"][:4])): float(r["Andel"]) * 1000
                 for r in rows if r["Geografi"] in TELEMARK_CODES}
    got = {(k, int(y)): v for k, y, v in zip(obs["kommune"], obs["year"], obs["value"],
                                             strict=True)}
    assert got.keys() == published.keys()
    for key, v in published.items():
        assert got[key] == pytest.approx(v, abs=1e-9), key
    country = {int(r["År"][:4]): float(r["Andel"]) * 1000 for r in rows
               if r["Geografi"] == "Hele landet"}
    ref_c = ref[ref["level"] == "country"]
    assert {int(y): v for y, v in zip(ref_c["year"], ref_c["value"], strict=True)} == \
        pytest.approx(country)
    assert not obs["kommune"].isin(["Hele landet", "Telemark"]).any()


def test_example_readme_names_every_landing_file():
    readme = (TELEMARK / "README.md").read_text(encoding="utf-8")
    for f in (TELEMARK / "landing" / "registry").iterdir():
        assert f"landing/registry/{f.name}" in readme
    assert "NLOD 2.0" in readme
    assert Path(TELEMARK / "study.yaml").read_text(encoding="utf-8").count("synthetic: false")


def test_informed_attacker_has_no_count_of_persons_to_attack(telemark_run):
    """Issue 23's scan on the registry-only example: it publishes no count of persons with a
    total (FHI's files are rates without counts; the Effect rows count kommuner), so there is
    no line for the informed attacker; what it does publish holds no small person count."""
    import json

    from sdc_scan import exposed_in, profile_lines, report_lines

    _, out = telemark_run
    manifest = json.loads((out / "tables" / "manifest.json").read_text(encoding="utf-8"))
    assert not any(meta.get("margins") for meta in manifest["tables"].values())
    assert report_lines(out) == [] and profile_lines(out) == []
    assert exposed_in([], 5) == ([], 0, 0)
    rates = pd.read_csv(out / "tables" / "registry_group_rates.csv")
    assert rates["numerator"].isna().all() and rates["value"].notna().any()
    effects = pd.read_csv(out / "tables" / "effects.csv")
    assert set(effects["n_unit"].dropna()) == {"kommuner"}
    for csv_file in (out / "profiles").rglob("*.csv"):
        frame = pd.read_csv(csv_file) if csv_file.stat().st_size > 1 else pd.DataFrame()
        assert not {"n", "n_baseline", "n_followup", "numerator"} & set(frame.columns) or \
            frame.empty, csv_file.name


def test_report_has_the_parallel_trends_sensitivity(telemark_run):
    """Issue 23.4: one sensitivity figure (PNG + SVG) per analysable indicator, the breakdown
    table, the section's text, and the breakdown clause in the registry logic-chain notes."""
    rc, out = telemark_run
    assert rc == 0
    for ind in ("barnevern_tiltak_0_17", "trivsel_10_trinn"):
        for ext in ("png", "svg"):
            assert (out / "figures" / f"registry_sensitivity_{ind}.{ext}").stat().st_size > 0
    assert not (out / "figures" / "registry_sensitivity_psykiske_plager.png").exists()
    text = _text((out / "report" / "rapport.html").read_text(encoding="utf-8"))
    assert "Hvor robust er registerresultatet for brudd på parallelle trender?" in text
    assert "Bruddverdier (M̄): Barn 0–17 år med barnevernstiltak per 1 000: ingen " \
           "bruddverdi" in text
    breakdown = pd.read_csv(out / "tables" / "registry_breakdown.csv")
    assert list(breakdown["indicator"]) == ["barnevern_tiltak_0_17", "psykiske_plager",
                                            "trivsel_10_trinn", "lavinntekt_0_17"]
    stored = _table(out, "registry_breakdown").set_index("indicator")
    assert stored.loc["barnevern_tiltak_0_17", "wald_df"] == 3
    assert stored.loc["lavinntekt_0_17", "status"] == "insufficient_data"
    notes = _table(out, "logic_chain_evidence").set_index("indicator")["note"]
    assert "Rambachan-Roth (average post-period effect): no breakdown M̄" in \
        notes["barnevern_tiltak_0_17"]
