"""Registry files as researchers download them (issue #22): FHI Kommunehelsa / Ungdata files
with kommune NAMES, "Hele landet" and fylke rows, whole histories on today's borders, rates
without counts, extra dimensions and school-year / rolling periods; Udir files without a
kommune level; SSB workbooks whose first sheet is a read-me. Every file is used exactly as
downloaded (byte-identical copies in tests/fixtures/fhi_udir_telemark and
examples/telemark/landing/registry), and every number is checked against an independent read
of the file with plain pandas."""

from __future__ import annotations

import math
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TELEMARK_CODES

from evaluation_pipeline import geography
from evaluation_pipeline.contracts import validate
from evaluation_pipeline.errors import RegistryFileError
from evaluation_pipeline.ingest import read_registry
from evaluation_pipeline.observations import (
    detect_scale,
    parse_period,
    read_indicator,
    read_indicator_table,
    reference_series,
    registry_observations,
)
from evaluation_pipeline.study import Indicator, Study

ROOT = Path(__file__).resolve().parents[1]
TELEMARK = ROOT / "tests" / "fixtures" / "fhi_udir_telemark"
EXAMPLE = ROOT / "examples" / "telemark"
BARNEVERN = TELEMARK / "fhi_barnevern_tiltak_0-17_telemark.csv"
UNGDATA = TELEMARK / "fhi_ungdata_psykiske_plager_ungdom.csv"
MOBBING = TELEMARK / "fhi_mobbing_7_trinn_treaarig.csv"
TRIVSEL = TELEMARK / "fhi_trivsel_10_klasse_treaarig.csv"
LAVINNTEKT = TELEMARK / "fhi_vedvarende_lavinntekt_0-17.csv"
UDIR_SLUTTA = TELEMARK / "udir_20220505-1453_Slutta_VGO_utf16.csv"
UDIR_XLSX = TELEMARK / "udir_slutta_vgo_telemark.xlsx"
NEET_WORKBOOK = TELEMARK / "ssb_13563_NEET_kommuner_workbook.xlsx"



@pytest.fixture(scope="module")
def study() -> Study:
    return Study.load(EXAMPLE)


def _raw(path: Path, **kw) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_registry(path, **kw)


def _obs(path: Path, study=None, **indicator) -> pd.DataFrame:
    ind = Indicator(file=path.name, **indicator)
    return registry_observations(_raw(path), "x", ind, str(path), study=study)


def test_example_files_are_the_downloads_unchanged():
    for f in (EXAMPLE / "landing" / "registry").iterdir():
        assert f.read_bytes() == (TELEMARK / f.name).read_bytes(), f.name


# ------------------------------------------------------------ 2. kommune names -> codes
def test_fhi_kommune_names_become_codes_and_country_fylke_rows_reference_series(study):
    """What happened 2: the reader made the kommune NA and the contract failed with
    "'Andel' has two values for kommune <NA> period 2015"."""
    src = pd.read_csv(BARNEVERN, dtype={"Andel": float})
    read = read_indicator_table(_raw(BARNEVERN), "barnevern", Indicator(
        file=BARNEVERN.name, value="Andel", per=1000), str(BARNEVERN), study=study)
    obs = read.observations
    assert obs["kommune"].notna().all()
    assert set(obs["kommune"]) == set(TELEMARK_CODES.values())
    assert len(obs) == 17 * 10 and not obs.duplicated(["kommune", "period"]).any()
    # every kommune row is the file's row of that name and year
    src["year"] = src["År"].str[:4].astype(int)
    kom = src[src["Geografi"].isin(list(TELEMARK_CODES))].assign(
        kommune=lambda d: d["Geografi"].map(TELEMARK_CODES))
    merged = obs.merge(kom, on=["kommune", "year"], validate="one_to_one")
    np.testing.assert_allclose(merged["value"], merged["Andel"] * 1000)
    # "Hele landet" and "Telemark" are reference series, never kommune rows
    ref = read.reference
    assert set(zip(ref["level"], ref["area"], strict=True)) == {
        ("country", "Hele landet"), ("fylke", "Telemark")}
    hele = ref[ref["area"] == "Hele landet"].set_index("year")["value"]
    expect = src[src["Geografi"] == "Hele landet"].set_index("year")["Andel"] * 1000
    pd.testing.assert_series_equal(hele, expect, check_names=False)
    assert validate("registry_observations", obs.assign(indicator="barnevern_tiltak_0_17"),
                    study).passed


def test_ambiguous_kommune_names_resolved_by_fylke_rows_study_or_error(tmp_path):
    years = pd.Series([2015])
    bo = pd.Series(["Bø"])
    _, _, ambiguous = geography.codes_for_names(bo, years, borders="as_published")
    assert ambiguous == ["'Bø' (2015): 0821 Bø (Telemark), 1867 Bø (Nordland)"]
    codes, _, _ = geography.codes_for_names(bo, years, borders="as_published",
                                            fylker=geography.fylke_prefixes("Telemark"))
    assert codes.tolist() == ["0821"]
    codes, _, _ = geography.codes_for_names(bo, years, borders="as_published",
                                            kommuner=["1867", "1868"])
    assert codes.tolist() == ["1867"]
    # in a file: the fylke row tells Bø apart; without it the error lists the candidates
    with_fylke = tmp_path / "bo.csv"
    with_fylke.write_text("Geografi,År,Andel\nTelemark,2015-01-01,0.05\nBø,2015-01-01,0.04\n",
                          encoding="utf-8")
    obs = _obs(with_fylke, value="Andel")
    assert obs[["kommune", "year", "borders"]].values.tolist() == [["0821", 2015,
                                                                     "as_published"]]
    bare = tmp_path / "herøy.csv"
    bare.write_text("Geografi,År,Andel\nHerøy,2015-01-01,0.05\n", encoding="utf-8")
    with pytest.raises(RegistryFileError) as e:
        _obs(bare, value="Andel")
    msg = str(e.value)
    assert "herøy.csv column kommune_name" in msg
    assert "'Herøy' (2015): 1515 Herøy (Møre og Romsdal), 1818 Herøy (Nordland)" in msg
    assert "add the intended kommune" in msg


def test_unknown_kommune_name_gets_did_you_mean(tmp_path):
    bad = tmp_path / "typo.csv"
    bad.write_text("Geografi,År,Andel\nPorsgrun,2024-01-01,0.05\n", encoding="utf-8")
    with pytest.raises(RegistryFileError, match=r"'Porsgrun' in 2024: not a kommune name in "
                       r"SSB's code history; did you mean 4001 Porsgrunn\?"):
        _obs(bad, value="Andel")


# ------------------------------------------------------------ 3. current borders
def test_history_on_todays_borders_detected_and_accepted_without_remapping(study):
    """What happened 3: 4001 Porsgrunn for 2015 was rejected by kommune_code_valid_in_year
    with "205 failing; e.g. False, False…"."""
    read = read_indicator_table(_raw(BARNEVERN), "barnevern_tiltak_0_17", Indicator(
        file=BARNEVERN.name, value="Andel", per=1000), str(BARNEVERN), study=study)
    assert read.borders == "current"
    assert any("borders: current (detected: 'Midt-Telemark' in 2015–2019: no kommune of "
               "that name then (3817 valid 2020–2023, 4020 valid from 2024)" in n
               for n in read.notes)
    obs = read.observations.set_index(["kommune", "year"])
    assert obs.loc[("4001", 2015), "value"] == pytest.approx(52.0)  # Porsgrunn 0.052
    assert obs.loc[("4020", 2015), "value"] == pytest.approx(44.0)  # Midt-Telemark 0.044
    assert validate("registry_observations", read.observations, study).passed
    # harmonizing keeps the codes: no remapping
    h = geography.harmonize(read.observations, 2024)
    assert set(h["kommune"]) == set(TELEMARK_CODES.values())
    assert (h["source_codes"] == h["kommune"]).all()


def test_as_published_declared_on_a_current_borders_file_says_what_to_do(study):
    with pytest.raises(RegistryFileError) as e:
        _obs(BARNEVERN, study=study, value="Andel", borders="as_published")
    msg = str(e.value)
    assert "'Midt-Telemark' in 2015–2019: no kommune of that name then" in msg
    assert "add `borders: current` to the indicator" in msg


def test_contract_names_code_and_year_of_a_code_used_before_it_existed(study):
    obs = _obs(BARNEVERN, study=study, value="Andel").assign(indicator="barnevern_tiltak_0_17")
    # the same codes claimed to be as published (what a hand-made table said before)
    report = validate("registry_observations", obs.assign(borders="as_published"), study)
    (f,) = report.failures
    text = str(f)
    assert f.rule == "kommune_code_valid_in_year" and f.count == 17 * 9
    assert "'4001 in 2015 (valid from 2024)'" in text
    assert "False" not in text
    assert "add `borders: current` to the indicator" in text


# ------------------------------------------------------------ 4. rates without counts, scales
def test_published_rate_passes_the_contract_with_missing_values(study):
    """What happened 4: a `value:` indicator failed missing_value_has_status on every row."""
    ung = _obs(UNGDATA, study=study, value="value", filter={"Kjønn": "kjønn samlet"})
    mob = _obs(MOBBING, study=study, value="Andel")
    for df, ind in ((ung, "psykiske_plager"), (mob, "trivsel_10_trinn")):
        assert df["numerator"].isna().all()
        assert validate("registry_observations", df.assign(indicator=ind), study).passed
    # Ungdata: status symbols kept as the reason; Siljan's empty mobbing cell has none
    src = pd.read_csv(UNGDATA, dtype=str, keep_default_na=False)
    src = src[src["Kjønn"] == "kjønn samlet"]
    symbols = src[src["value"].isin([".", ":"])]
    assert len(symbols) > 0
    for r in symbols.itertuples():
        if r.Geografi in TELEMARK_CODES:
            row = ung[(ung["kommune"] == TELEMARK_CODES[r.Geografi])
                      & (ung["year"] == int(r.År))].iloc[0]
            assert math.isnan(row["value"]) and row["status"] == r.value
    siljan = mob[(mob["kommune"] == "4010") & (mob["year"] == 2019)].iloc[0]
    assert math.isnan(siljan["value"]) and pd.isna(siljan["status"])


def test_scale_detected_from_values_over_the_label_or_declared(study):
    src = pd.read_csv(MOBBING)
    assert set(src["Måltall"]) == {"andel (prosent, standardisert)"}
    read = read_indicator_table(_raw(MOBBING), "m", Indicator(file="m", value="Andel"),
                                str(MOBBING), study=study)
    assert read.scale == "proportion"  # 0.057 despite "prosent"
    assert any("although the label says" in n and "stored as percent (× 100)" in n
               for n in read.notes)
    hele = read.reference[read.reference["area"] == "Hele landet"].iloc[0]
    assert hele["value"] == pytest.approx(100 * src.loc[src["Kommune"] == "Hele landet",
                                                        "Andel"].iloc[0])  # 5.7 %
    ung = read_indicator_table(_raw(UNGDATA), "u", Indicator(
        file="u", value="value", filter={"Kjønn": "kjønn samlet"}), str(UNGDATA), study=study)
    assert ung.scale == "percent"
    assert detect_scale(pd.Series([3.1, 12.0]), "barn per 1 000") == (
        "per_1000", "label 'barn per 1 000'")
    declared = _obs(BARNEVERN, study=study, value="Andel", scale="percent", per=1000)
    porsgrunn = declared[(declared["kommune"] == "4001") & (declared["year"] == 2015)]
    assert porsgrunn["value"].iloc[0] == pytest.approx(0.52)  # 0.052 % = 0.52 per 1,000
    assert set(declared["source_scale"]) == {"percent"}


# ------------------------------------------------------------ 5. extra dimensions, no kommune level
def test_unfiltered_dimension_names_values_and_the_filter_line(study):
    """What happened 5: 'export one table per value' and no way to select one value."""
    with pytest.raises(RegistryFileError) as e:
        _obs(UNGDATA, study=study, value="value")
    msg = str(e.value)
    assert "'Kjønn' has 3 values ('kjønn samlet', 'gutter', 'jenter')" in msg
    assert "`filter: {Kjønn: kjønn samlet}`" in msg
    # dimensions with one value (Alder, Plagegrad, Sosioøkonomiske ressurser, Måltall) need
    # no filter; the filter matches case-insensitively and trimmed
    ung = _obs(UNGDATA, study=study, value="value", filter={"kjønn": "  KJØNN Samlet "})
    src = pd.read_csv(UNGDATA, dtype=str, keep_default_na=False)
    src = src[(src["Kjønn"] == "kjønn samlet") & src["Geografi"].isin(list(TELEMARK_CODES))]
    assert len(ung) == len(src) == 17 * 10
    skien = src[(src["Geografi"] == "Skien") & (src["År"] == "2021")]["value"].iloc[0]
    got = ung[(ung["kommune"] == "4003") & (ung["year"] == 2021)]["value"].iloc[0]
    assert got == pytest.approx(float(skien))
    with pytest.raises(RegistryFileError, match=r"filter: column 'Kjønn' has no value "
                       r"'begge' \(its values: 'kjønn samlet', 'gutter', 'jenter'\)"):
        _obs(UNGDATA, study=study, value="value", filter={"Kjønn": "begge"})
    with pytest.raises(RegistryFileError, match=r"filter: no column 'Sex' in the file"):
        _obs(UNGDATA, study=study, value="value", filter={"Sex": "total"})


def test_label_columns_are_ignored(study):
    low = read_indicator_table(_raw(LAVINNTEKT), "l", Indicator(file="l", value="Andel"),
                               str(LAVINNTEKT), study=study)
    assert "columns ignored as labels of another column: Label" in low.notes
    mob = read_indicator_table(_raw(MOBBING), "m", Indicator(file="m", value="Andel"),
                               str(MOBBING), study=study)
    assert "columns ignored as labels of another column: Skoleår_slutt, SortKommune" \
        in mob.notes


def test_files_without_a_kommune_level_are_rejected_as_such():
    with pytest.raises(RegistryFileError) as e:
        _obs(UDIR_SLUTTA, value="Andel sluttet")
    msg = str(e.value)
    assert "no kommune level in this file" in msg
    assert "level column 'EnhetNivaa' with the levels 1, 2, 3" in msg
    assert "'Akademiet Kristiansand AS'" in msg and "several values" not in msg
    with pytest.raises(RegistryFileError, match=r"no kommune level in this file: it has no "
                       r"kommune column \(found 'Fylke' \('Telemark', 'Vestfold', 'Vestfold "
                       r"og Telemark'\)\)"):
        _obs(UDIR_XLSX, value="Verdi")


def test_excel_sheet_option():
    with pytest.raises(RegistryFileError) as e:
        _raw(NEET_WORKBOOK)
    msg = str(e.value)
    assert "header row on the first sheet ('Readme')" in msg
    assert "1: 'Spørring kommuner VT'" in msg and "`sheet: <name or 0-based index>`" in msg
    with pytest.raises(RegistryFileError) as e:
        _raw(NEET_WORKBOOK, sheet="Spørring kommuner VT")
    assert "sheet 'Spørring kommuner VT': expected a PxWeb table" in str(e.value)
    assert "found columns: Kommune_nr, Kommune, Fylke, Innvandring, alder, I alt" in str(e.value)
    with pytest.raises(RegistryFileError, match=r"sheet: no sheet 'Data' in this workbook "
                       r"\(sheets: 0: 'Ark1'\)"):
        _raw(UDIR_XLSX, sheet="Data")
    with pytest.raises(RegistryFileError, match="sheet: 3 is not a sheet index"):
        _raw(UDIR_XLSX, sheet=3)
    default = _raw(UDIR_XLSX)
    pd.testing.assert_frame_equal(_raw(UDIR_XLSX, sheet=0), default)
    pd.testing.assert_frame_equal(_raw(UDIR_XLSX, sheet="ark1"), default)


# ------------------------------------------------------------ periods
@pytest.mark.parametrize("text, expected", [
    ("2015", (2015, "year", 1)),
    ("2015-01-01", (2015, "year", 1)),
    ("2015K4", (2015, "year", 1)),
    ("2016/17", (2017, "school_year", 1)),
    ("2011-12", (2012, "school_year", 1)),            # Udir's school years
    ("1999/00", (2000, "school_year", 1)),
    ("2016/17-2018/19", (2019, "rolling", 3)),
    ("2021-2023", (2023, "rolling", 3)),
])
def test_parse_period(text, expected):
    assert parse_period(text) == expected


def test_rolling_school_year_periods_take_the_end_year(study):
    src = pd.read_csv(TRIVSEL)
    read = read_indicator_table(_raw(TRIVSEL), "t", Indicator(file="t", value="Andel"),
                                str(TRIVSEL), study=study)
    obs = read.observations
    assert "period from column 'Skoleår' (the most specific of Skoleår, Skoleår_slutt, the " \
           "year column, which label the same periods)" in read.notes
    first = obs[(obs["kommune"] == "4001")].sort_values("year").iloc[0]
    assert (first["period"], first["year"]) == ("2014/15-2016/17", 2017)
    row = src[(src["Kommune"] == "Porsgrunn") & (src["Skoleår"] == "2014/15-2016/17")]
    assert row["År"].iloc[0] == "2016-01-01"  # FHI's År is the start of the last school year
    assert first["value"] == pytest.approx(100 * row["Andel"].iloc[0])
    assert sorted(obs["year"].unique()) == list(range(2017, 2027))


# ------------------------------------------------------------ the example study end to end
def _independent_panel(path: Path, region: str, period: str, value: str, factor: float,
                       **filters: str) -> pd.DataFrame:
    src = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col, keep in filters.items():
        src = src[src[col] == keep]
    src = src[src[region].isin(list(TELEMARK_CODES))]
    if period == "Skoleår":
        year = src[period].str[-2:].astype(int) + 2000
    else:
        year = src[period].str[:4].astype(int)
    return pd.DataFrame({
        "kommune": src[region].map(TELEMARK_CODES).to_numpy(),
        "year": year.to_numpy(),
        "value": pd.to_numeric(src[value], errors="coerce").to_numpy() * factor,
    }).dropna()


def _statsmodels_twfe(panel: pd.DataFrame, study: Study, weights: pd.Series | None = None):
    import statsmodels.formula.api as smf

    d = panel.copy()
    join = d["kommune"].map(study.network)
    d["treated"] = (join.notna() & (d["year"] >= join.fillna(9999))).astype(int)
    formula = "value ~ treated + C(kommune) + C(year)"
    fit = (smf.wls(formula, d, weights=weights.loc[d.index]) if weights is not None
           else smf.ols(formula, d)).fit()
    return fit.params["treated"]


def test_telemark_example_registry_only_end_to_end_against_independent_read(study):
    from evaluation_pipeline.analysis.effects import effects_frame
    from evaluation_pipeline.analysis.registry import registry_dynamic, registry_effects

    assert study.survey is None and study.interviews is None and not study.synthetic
    reads = {k: read_indicator(study, k) for k in study.registry.indicators}
    raw = pd.concat([r.observations for r in reads.values()], ignore_index=True)
    report = validate("registry_observations", raw, study)
    assert report.passed, report.summary()
    inds = study.registry.indicators
    obs = geography.harmonize(raw, study.geography_year,
                              age_groups={k: v.age_group for k, v in inds.items()})
    obs = geography.add_rates(obs, {k: v.per for k, v in inds.items()})

    # Porsgrunn 2015: the file's 0.052 (a proportion) per 1,000
    src = pd.read_csv(BARNEVERN)
    p2015 = src[(src["Geografi"] == "Porsgrunn") & (src["År"] == "2015-01-01")]["Andel"]
    got = obs[(obs["indicator"] == "barnevern_tiltak_0_17") & (obs["kommune"] == "4001")
              & (obs["year"] == 2015)]["value"]
    assert got.iloc[0] == pytest.approx(1000 * p2015.iloc[0]) == pytest.approx(52.0)

    eff = effects_frame(registry_effects(obs, study))
    twfe = eff[eff["estimator"].str.startswith("TWFE")].set_index("outcome")
    assert set(twfe.index) == set(inds)
    # persistent low income has one window (2021-2023), after every join: not estimable,
    # said in its note; the other three are estimated for the 4-kommune network
    low = eff[eff["outcome"] == "lavinntekt_0_17"]
    assert low["estimate"].isna().all()
    assert low["note"].str.contains("no years before the first join 2017").all()
    eff = eff[eff["outcome"] != "lavinntekt_0_17"]
    twfe = twfe.drop(index="lavinntekt_0_17")
    cols = ["estimate", "se", "ci_low", "ci_high", "p_value"]
    assert np.isfinite(eff[cols].to_numpy(float)).all()
    assert (twfe["n_treated"] == 4).all()  # the 4-kommune network gets its estimates

    # barnevern: population-weighted TWFE = statsmodels WLS with kommune and year dummies,
    # the population read independently from the packaged SSB 07459 file
    bv = _independent_panel(BARNEVERN, "Geografi", "År", "Andel", 1000)
    pop = pd.read_csv(geography.POPULATION_FILE)
    pop = pop[(pop["sex"] == "total") & pop["age_group"].isin(inds["barnevern_tiltak_0_17"]
                                                              .age_group)]
    pop = pop.assign(kommune=pop["location_code"].str[-4:], year=pop["calyear"]) \
        .groupby(["kommune", "year"])["pop_jan1_n"].sum()
    w = pd.Series(pop.reindex(pd.MultiIndex.from_frame(bv[["kommune", "year"]])).to_numpy(),
                  index=bv.index)
    assert twfe.loc["barnevern_tiltak_0_17", "estimate"] == pytest.approx(
        _statsmodels_twfe(bv, study, w), rel=1e-8)
    assert "TWFE weighted by population 000_005, 006_012, 013_015, 016_018" in \
        twfe.loc["barnevern_tiltak_0_17", "note"]

    # trivsel: unweighted TWFE on the rolling windows dated by their end year
    tr = _independent_panel(TRIVSEL, "Kommune", "Skoleår", "Andel", 100)
    assert twfe.loc["trivsel_10_trinn", "estimate"] == pytest.approx(
        _statsmodels_twfe(tr, study), rel=1e-8)
    note = twfe.loc["trivsel_10_trinn", "note"]
    assert "TWFE unweighted: each kommune counts equally (a published rate without counts" \
        in note
    assert "values are rolling 3-year averages (2014/15-2016/17 → 2017" in note

    # psykiske plager: kjønn samlet only, status symbols left out of the panel
    ung = _independent_panel(UNGDATA, "Geografi", "År", "value", 1, Kjønn="kjønn samlet")
    wu = geography.population_for(["013_015"]).set_index(["kommune", "year"])["population"]
    wu = pd.Series(wu.reindex(pd.MultiIndex.from_frame(ung[["kommune", "year"]])).to_numpy(),
                   index=ung.index)
    assert twfe.loc["psykiske_plager", "estimate"] == pytest.approx(
        _statsmodels_twfe(ung, study, wu), rel=1e-8)
    # Ungdata suppresses small kommuner (':', '.'): only those with a value are compared
    with_data = set(ung["kommune"]) - set(study.network)
    assert twfe.loc["psykiske_plager", "n_control"] == len(with_data) == 10
    assert twfe.loc["barnevern_tiltak_0_17", "n_control"] == 13

    # the event study of the published rates has rows (and columns) for every indicator
    coefs, pretrend = registry_dynamic(obs, study)
    assert set(coefs["indicator"]) == set(twfe.index) == set(pretrend["indicator"])
    assert {"TWFE", "Callaway-Sant'Anna"} <= set(coefs["estimator"])

    # the country and fylke series are available beside the kommune panel
    ref = reference_series(study)
    assert set(ref["indicator"]) == set(inds)
    assert set(ref["area"]) == {"Hele landet", "Telemark"}


def test_trend_figure_draws_country_and_fylke_lines(study):
    import matplotlib.pyplot as plt

    from evaluation_pipeline.analysis.registry import group_means
    from evaluation_pipeline.report import figures as F

    raw = read_indicator(study, "barnevern_tiltak_0_17").observations
    obs = geography.add_rates(geography.harmonize(raw, 2024), 1000)
    means = group_means(obs, study)
    ref = reference_series(study)
    fig = F.registry_trends(means, {"barnevern_tiltak_0_17": "Barnevern"}, [2017, 2019],
                            reference=ref)
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines()}
    assert {"Nettverkskommuner", "Sammenligningskommuner", "Hele landet", "Telemark"} <= \
        set(lines)
    src = pd.read_csv(BARNEVERN)
    hele = src[src["Geografi"] == "Hele landet"]
    np.testing.assert_allclose(lines["Hele landet"].get_ydata(), hele["Andel"] * 1000)
    assert lines["Telemark"].get_linestyle() == "--"
    # the network's pooled rate of a published rate: the mean of its kommuner's values
    net = src[src["Geografi"].isin(["Porsgrunn", "Skien", "Bamble", "Kragerø"])
              & (src["År"] == "2015-01-01")]["Andel"].mean() * 1000
    assert lines["Nettverkskommuner"].get_ydata()[0] == pytest.approx(net)
    plt.close("all")


def test_codes_on_todays_borders_detected_from_a_tidy_file(tmp_path, study):
    """The issue's own case: 4001 Porsgrunn for 2015 (a code valid from 2024)."""
    path = tmp_path / "tidy.csv"
    path.write_text("kommune,year,indicator,value,numerator,denominator\n"
                    "4001,2015,barnevern_tiltak_0_17,,300,6000\n"
                    "4001,2024,barnevern_tiltak_0_17,,200,6100\n", encoding="utf-8")
    ind = Indicator(file="tidy.csv", numerator="numerator", denominator="denominator")
    read = read_indicator_table(_raw(path), "barnevern_tiltak_0_17", ind, str(path),
                                study=study)
    assert read.borders == "current"
    assert read.notes == ["borders: current (detected: code 4001 is used for 2015 but is valid "
                          "from 2024; the file publishes its history on today's borders)"]
    assert validate("registry_observations", read.observations, study).passed
    declared = read_indicator_table(_raw(path), "barnevern_tiltak_0_17", ind.model_copy(
        update={"borders": "as_published"}), str(path), study=study)
    (f,) = validate("registry_observations", declared.observations, study).failures
    assert str(f).startswith("kommune_code_valid_in_year (column kommune): 1 failing; e.g. "
                             "'4001 in 2015 (valid from 2024)'")


def test_weights_from_a_population_file_named_by_the_study(tmp_path, study):
    from evaluation_pipeline.analysis.registry import registry_effects

    folder = tmp_path / "telemark"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("output"))
    pop = geography.population_for(["000_005", "006_012", "013_015", "016_018"])
    pop[pop["kommune"].str.startswith("40")].to_csv(folder / "befolkning.csv", index=False)
    text = (folder / "study.yaml").read_text(encoding="utf-8")
    (folder / "study.yaml").write_text(text.replace(
        "      weights: population  # the DiD weighs each kommune-year by its population 0–17",
        "      weights: befolkning.csv"), encoding="utf-8")
    other = Study.load(folder)
    assert other.registry.indicators["barnevern_tiltak_0_17"].weights == "befolkning.csv"
    raw = read_indicator(study, "barnevern_tiltak_0_17").observations
    obs = geography.add_rates(geography.harmonize(raw, 2024), 1000)

    def twfe(s):
        e = [x for x in registry_effects(obs, s) if x.estimator.startswith("TWFE")
             and x.outcome == "barnevern_tiltak_0_17"]
        return e[0]

    by_file, packaged = twfe(other), twfe(study)
    assert by_file.estimate == pytest.approx(packaged.estimate, rel=1e-12)
    assert "TWFE weighted by population from befolkning.csv" in by_file.note


def test_new_indicator_keys_are_checked():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="weights: population needs age_group"):
        Indicator(file="f.csv", value="Andel", weights="population")
    with pytest.raises(ValidationError, match="scale applies to a published rate"):
        Indicator(file="f.csv", numerator="a", denominator="b", scale="percent")
    with pytest.raises(ValidationError, match="borders"):
        Indicator(file="f.csv", value="Andel", borders="today")
    ind = Indicator(file="f.xlsx", value="Andel", sheet=2, filter={"Kjønn": "kjønn samlet"})
    assert (ind.sheet, ind.filter) == (2, {"Kjønn": "kjønn samlet"})


def test_school_year_column_without_a_year_column(tmp_path):
    path = tmp_path / "skolear.csv"
    path.write_text("Kommune,Skoleår,Andel\nPorsgrunn,2016/17,0.5\nPorsgrunn,2017/18,0.4\n",
                    encoding="utf-8")
    obs = _obs(path, value="Andel")
    assert obs[["kommune", "period", "year", "borders"]].values.tolist() == [
        ["0805", "2016/17", 2017, "as_published"], ["0805", "2017/18", 2018, "as_published"]]
