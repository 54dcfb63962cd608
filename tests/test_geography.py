import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation_pipeline import geography as g

SHARED_POP = Path(g.POPULATION_FILE)


def test_2024_codes():
    codes = g.valid_codes(2024)
    assert len(codes) == 357
    assert codes["1508"] == "Ålesund" and codes["1580"] == "Haram"
    assert "1507" not in codes and "1504" not in codes
    assert set(g.valid_codes(2026)) == set(codes)  # no change 2024 -> 2026


def test_merge_sums_counts_never_averages_rates():
    obs = pd.DataFrame({
        "kommune": ["1502", "1543", "1545"], "year": 2015, "indicator": "x",
        "numerator": [10.0, 1.0, 1.0], "denominator": [100.0, 50.0, 10.0],
    })
    out = g.add_rates(g.harmonize(obs), 100)
    assert out["kommune"].tolist() == ["1506"]
    assert out["numerator"].iloc[0] == 12 and out["denominator"].iloc[0] == 160
    assert out["value"].iloc[0] == pytest.approx(12 / 160 * 100)  # not mean(10, 2, 10) = 7.33
    assert out["source_codes"].iloc[0] == "1502,1543,1545"
    assert not out["estimated"].iloc[0]


def test_merge_with_a_suppressed_part_is_missing():
    obs = pd.DataFrame({
        "kommune": ["1502", "1543"], "year": 2015, "indicator": "x",
        "numerator": [10.0, np.nan], "denominator": [100.0, 50.0], "status": [None, ":"],
    })
    out = g.harmonize(obs)
    assert np.isnan(out["numerator"].iloc[0]) and out["status"].iloc[0] == ":"


def test_split_allocated_by_population_share():
    obs = pd.DataFrame({
        "kommune": ["1507"], "year": 2021, "indicator": "completion",
        "numerator": [300.0], "denominator": [400.0],
    })
    out = g.harmonize(obs, age_groups={"completion": ["016_018"]}).set_index("kommune")
    # hand computation from the raw population file
    with gzip.open(SHARED_POP, "rt") as fh:
        pop = pd.read_csv(fh)
    # shares from 2024, the first year Ålesund and Haram are counted separately
    sel = pop[(pop.calyear == 2024) & (pop.sex == "total") & (pop.age_group == "016_018")]
    p = sel.set_index("location_code")["pop_jan1_n"]
    share_1580 = p["municip_nor1580"] / (p["municip_nor1580"] + p["municip_nor1508"])
    assert out.loc["1580", "denominator"] == pytest.approx(400 * share_1580)
    assert out.loc["1508", "numerator"] == pytest.approx(300 * (1 - share_1580))
    assert out["estimated"].all()
    # the rate is the same in both parts, as it must be for a proportional allocation
    r = g.add_rates(out.reset_index(), 100)["value"]
    assert r.tolist() == pytest.approx([75.0, 75.0])


def test_split_left_missing_when_asked():
    obs = pd.DataFrame({"kommune": ["1507"], "year": 2021, "indicator": "x",
                        "numerator": [3.0], "denominator": [4.0]})
    out = g.harmonize(obs, allocate_splits=False)
    assert out["numerator"].isna().all() and set(out["status"]) == {"split"}


def test_renumbering_is_a_relabel():
    obs = pd.DataFrame({"kommune": ["3001", "1504"], "year": [2021, 2018], "indicator": "x",
                        "numerator": [5.0, 6.0], "denominator": [10.0, 12.0]})
    out = g.harmonize(obs).set_index("kommune")
    assert out.loc["3101", "numerator"] == 5 and out.loc["1508", "numerator"] == 6


def test_unknown_code_is_an_error_naming_it():
    obs = pd.DataFrame({"kommune": ["1599"], "year": 2021, "indicator": "x",
                        "numerator": [1.0], "denominator": [2.0]})
    with pytest.raises(g.GeographyError, match="'1599'"):
        g.harmonize(obs)


def test_not_applicable_parts_do_not_block_a_merge():
    # SSB writes '.' for a code that did not exist that year (1507 before 2020)
    obs = pd.DataFrame({
        "kommune": ["1504", "1523", "1529", "1546", "1507", "1557"],
        "year": 2015, "indicator": "x",
        "numerator": [50.0, 5.0, 6.0, 4.0, np.nan, np.nan],
        "denominator": [100.0, 10.0, 12.0, 8.0, np.nan, np.nan],
        "status": [None, None, None, None, ".", "."],
    })
    out = g.harmonize(obs).set_index("kommune")
    assert out.loc["1508", "numerator"] == 65 and out.loc["1508", "denominator"] == 130
    assert out.loc["1508", "source_codes"] == "1504,1523,1529,1546"
    # a kommune with only '.' stays, missing, with the symbol as the reason
    assert np.isnan(out.loc["1557", "numerator"]) and out.loc["1557", "status"] == "."


def test_split_years_with_not_applicable_codes():
    # 2021: 1534 Haram and 1580 did not exist ('.'); Ålesund 1507 covers 1508 and 1580
    obs = pd.DataFrame({
        "kommune": ["1534", "1580", "1508", "1507"], "year": 2021, "indicator": "x",
        "numerator": [np.nan, np.nan, np.nan, 100.0],
        "denominator": [np.nan, np.nan, np.nan, 200.0], "status": [".", ".", ".", None],
    })
    out = g.add_rates(g.harmonize(obs, age_groups={"x": ["016_018"]}), 100).set_index("kommune")
    assert out["value"].tolist() == pytest.approx([50.0, 50.0])
    assert out["numerator"].sum() == pytest.approx(100)


def test_published_rates_relabelled_or_split_never_averaged():
    obs = pd.DataFrame({
        "kommune": ["3001", "1507", "1502", "1543"], "year": [2021, 2021, 2015, 2015],
        "indicator": "x", "numerator": np.nan, "denominator": np.nan,
        "value": [12.5, 40.0, 10.0, 30.0],
    })
    out = g.add_rates(g.harmonize(obs, age_groups={"x": ["016_018"]}), 100)
    out = out.set_index(["kommune", "year"])
    assert out.loc[("3101", 2021), "value"] == 12.5          # renumbering: relabel
    assert out.loc[("1508", 2021), "value"] == 40.0          # split: same rate, estimated
    assert out.loc[("1580", 2021), "value"] == 40.0 and out.loc[("1580", 2021), "estimated"]
    assert np.isnan(out.loc[("1506", 2015), "value"])        # merge: not mean(10, 30)
    assert out.loc[("1506", 2015), "status"] == "merged rates need denominators"


def test_every_code_1994_2024_and_2026_maps_to_the_2024_borders():
    h = g.code_history()
    codes = sorted(set(h["code"]) | (set(g.klass_2026()) - {"9999"}))
    obs = pd.DataFrame({"kommune": codes, "year": 2010, "indicator": "x",
                        "numerator": 1.0, "denominator": 2.0})
    out = g.harmonize(obs, 2024, allocate_splits=False)
    assert set(out["kommune"]) == set(g.valid_codes(2024))
    # every 2024 kommune receives exactly its own group's codes
    groups = h.groupby("target")["code"].apply(lambda s: ",".join(sorted(s)))
    got = out.set_index("kommune")["source_codes"]
    assert (got.sort_index() == groups.sort_index()).all()
    assert out["numerator"].sum() == len(codes)


def test_did_you_mean_codes_names_and_old_codes():
    """Hints for a kommune code not valid in the study's geography, checked against SSB's code
    history: Bamble was 0814 until 2019, 3813 in 2020-2023 and is 4012 since 2024."""
    assert g.did_you_mean("4021", 2024) == "did you mean 4012 Bamble, 4201 Risør or 4001 " \
        "Porsgrunn?"
    assert g.did_you_mean("3813", 2024) == (
        "3813 was Bamble's code 2020–2023; with geography_year 2024 use 4012")
    assert g.did_you_mean("0814", 2024) == (
        "0814 was Bamble's code until 2019; with geography_year 2024 use 4012")
    assert g.did_you_mean("Bamble", 2024) == 'Bamble is kommune 4012: write the code "4012"'
    assert g.did_you_mean("Bambel", 2024) == "did you mean 4012 Bamble?"
    assert g.did_you_mean("9999", 2024) == ""
    assert g.code_for_name("porsgrunn", 2024) == "4001"
    assert g.code_for_name("Tråante", 2024) == "5001"  # a Sami name of Trondheim
    assert g.code_for_name("Herøy", 2024) is None  # two kommuner
