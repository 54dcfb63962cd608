"""The collaboration roster (survey.collaboration, issue 25) through ingest and the
survey_answers contract: read_survey and the ingest path keep every roster item, and the
contract checks the roster like the scales (items present, answers in range) plus the rule
that a respondent never rates their own service.

The wave files are read back independently with pyreadstat/pandas to check the reader."""

from __future__ import annotations

import math

import pandas as pd
import pyreadstat
import pytest

from evaluation_pipeline.contracts import validate
from evaluation_pipeline.contracts.spec import item_keys, study_values
from evaluation_pipeline.errors import ContractViolation
from evaluation_pipeline.ingest import read_survey
from evaluation_pipeline.privacy import drop_free_text, pseudonymise

KEY = b"test"


@pytest.fixture(scope="module")
def study():
    from conftest import EXAMPLE

    from evaluation_pipeline.study import Study

    return Study.load(EXAMPLE)


@pytest.fixture(scope="module")
def waves(study) -> dict[str, pd.DataFrame]:
    """Each wave as the survey_answers ingest asset builds it (free text dropped, IDs
    pseudonymised)."""
    out = {}
    for wave in study.wave_ids:
        df, dropped = drop_free_text(read_survey(study.wave_file(wave), wave=wave),
                                     study.survey.free_text)
        assert dropped == []
        df["respondent_id"] = pseudonymise(df["respondent_id"], KEY, prefix="R")
        out[wave] = df
    return out


def _roster(study) -> dict[str, str]:
    c = study.survey.collaboration
    return {**c.frequency.items, **c.quality.items}


# ---- reader and ingest path -----------------------------------------------------------------
def test_every_roster_item_is_read_in_every_wave(study, waves):
    roster = _roster(study)
    assert len(roster) == 16
    for wave, df in waves.items():
        assert set(roster) <= set(df["item"]), wave
        n = df["respondent_id"].nunique()
        assert (df[df["item"].isin(list(roster))].groupby("item").size() == n).all(), wave


def test_sav_roster_values_labels_and_own_service_missing(study, waves):
    """The baseline .sav against pyreadstat: values, value labels, and the item about the
    respondent's own service is SPSS system missing."""
    path = study.wave_file("w2012")
    raw, meta = pyreadstat.read_sav(str(path))
    roles = meta.variable_value_labels["role"]
    raw["role"] = raw["role"].map(roles)
    df = waves["w2012"]
    ids = read_survey(path, wave="w2012")["respondent_id"]  # the file's own IDs, in order
    df = df.assign(raw_id=ids.to_numpy())
    for item, service in _roster(study).items():
        got = df[df["item"] == item].set_index("raw_id")
        want = raw.set_index("respondent_id")[item]
        pd.testing.assert_series_equal(got["value"], want.reindex(got.index), check_names=False)
        own = got["role"] == service
        assert own.any() and got.loc[own, "value"].isna().all()
        assert (got.loc[own, "missing_reason"] == "system missing").all()
        answered = got[got["value"].notna()]
        labels = meta.variable_value_labels[item]
        assert (answered["value_label"] == answered["value"].map(labels)).all()
    assert meta.variable_value_labels["ofte_skole"][1] == "Aldri"


@pytest.mark.parametrize("wave", ["w2016", "w2019"])
def test_csv_xlsx_own_service_is_no_answer(study, waves, wave):
    df = waves[wave]
    for item, service in study.survey.collaboration.frequency.items.items():
        own = df[(df["item"] == item) & (df["role"] == service)]
        assert len(own) > 0 and own["value"].isna().all()
        assert (own["missing_reason"] == "no answer").all()
        others = df[(df["item"] == item) & (df["role"] != service)]["value"].dropna()
        assert set(others.unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0}


def test_study_values_and_item_keys_know_the_roster(study):
    roster = _roster(study)
    assert set(roster) <= set(study_values(study, "survey_items"))
    assert study_values(study, "roster_items") == study.survey.collaboration.items()
    keys = item_keys(study)
    assert keys["ofte_barnevern"] == "survey.collaboration.frequency.items"
    assert keys["godt_bup"] == "survey.collaboration.quality.items"
    assert keys["sam1"] == "survey.scales.samarbeid.items"


def test_example_waves_honour_the_contract(study, waves):
    for wave, df in waves.items():
        r = validate("survey_answers", df, study)
        assert r.passed, (wave, r.summary())


# ---- the contract on bad roster input ---------------------------------------------------------
def test_renamed_roster_item_names_file_item_key_and_did_you_mean(study, waves):
    df = waves["w2016"].copy()
    df.loc[df["item"] == "ofte_barnevern", "item"] = "ofte_barnvern"
    r = validate("survey_answers", df, study)
    fail = {f.rule: f for f in r.table_failures}
    assert set(fail) == {"roster_items_present"}
    f = fail["roster_items_present"]
    assert f.examples == ["missing: ofte_barnevern"]
    assert f.hint == ("not in the file: ofte_barnevern (study.yaml "
                      "survey.collaboration.frequency.items; did you mean 'ofte_barnvern'?). "
                      "Rename the column in the file, or the item in study.yaml")
    source = study.wave_file("w2016")
    with pytest.raises(ContractViolation) as info:
        r.raise_for_failures(source)
    message = str(info.value)
    for part in (str(source), "roster_items_present", "ofte_barnevern",
                 "survey.collaboration.frequency.items", "did you mean 'ofte_barnvern'?"):
        assert part in message
    text = r.table_text(source)
    assert f"  hint: {f.hint}." in text.splitlines()


def test_dropped_roster_column_names_its_key_without_a_guess(study, waves):
    df = waves["w2016"]
    df = df[df["item"] != "godt_politi"].reset_index(drop=True)
    r = validate("survey_answers", df, study)
    (f,) = r.table_failures
    assert f.rule == "roster_items_present" and f.count == 1
    assert f.hint.startswith(
        "not in the file: godt_politi (study.yaml survey.collaboration.quality.items). ")
    assert "did you mean" not in f.hint
    assert not r.failed_rows  # a missing item rejects no row: the table fails


def test_roster_answer_out_of_range_is_a_rejected_row(study, waves):
    df = waves["w2016"].copy()
    freq = df.index[(df["item"] == "ofte_nav") & df["value"].notna()][5]
    qual = df.index[(df["item"] == "godt_skole") & df["value"].notna()][2]
    df.loc[freq, "value"] = 7.0
    df.loc[qual, "value"] = 0.0
    r = validate("survey_answers", df, study)
    assert not r.table_failures
    assert r.failed_rows == {freq: ["answer_in_roster_range[frequency]"],
                             qual: ["answer_in_roster_range[quality]"]}
    fail = {f.rule: f for f in r.failures}
    assert fail["answer_in_roster_range[frequency]"].examples == [7.0]
    assert fail["answer_in_roster_range[quality]"].expected == (
        "an answer from 1 to 5 (survey.collaboration.quality)")
    kept, rejected = r.split(df)
    assert len(kept) == len(df) - 2
    assert rejected.loc[freq, "reason"] == "answer_in_roster_range[frequency]"


def test_rating_ones_own_service_is_a_rejected_row(study, waves):
    df = waves["w2016"].copy()
    own = df.index[(df["item"] == "ofte_skole") & (df["role"] == "skole")][0]
    own_q = df.index[(df["item"] == "godt_politi") & (df["role"] == "politi")][0]
    other = df.index[(df["item"] == "ofte_skole") & (df["role"] == "NAV")
                     & df["value"].isna()][0]
    df.loc[own, "value"] = 4.0
    df.loc[own_q, "value"] = 2.0
    df.loc[other, "value"] = 3.0  # an answer about another service is fine
    r = validate("survey_answers", df, study)
    assert not r.table_failures
    assert r.failed_rows == {own: ["no_rating_of_own_service"],
                             own_q: ["no_rating_of_own_service"]}
    (f,) = r.failures
    assert f.column == "value" and f.count == 2
    assert f.examples[0] == "role 'skole' answers ofte_skole = 4 about its own service"
    assert "role 'politi' answers godt_politi = 2 about its own service" in f.examples
    kept, rejected = r.split(df)
    assert list(rejected.index) == [own, own_q]
    assert (rejected["reason"] == "no_rating_of_own_service").all()
    assert r.acceptable(2) and not r.acceptable(1)


def test_own_service_rule_ignores_missing_and_user_missing(study, waves):
    """The own-service item may be empty or carry a user-missing code; only a number counts."""
    df = waves["w2016"].copy()
    own = df.index[(df["item"] == "ofte_bup") & (df["role"] == "BUP")][0]
    df.loc[own, ["value", "missing_reason"]] = [math.nan, "user-missing 9 (Vet ikke)"]
    assert validate("survey_answers", df, study).passed


def test_a_study_without_roster_has_no_roster_rules(study, waves):
    survey = study.survey.model_copy(update={"collaboration": None})
    plain = study.model_copy(update={"survey": survey})
    df = waves["w2016"]
    df = df[~df["item"].isin(list(_roster(study)))].reset_index(drop=True)
    r = validate("survey_answers", df, plain)
    assert r.passed, r.summary()
    assert study_values(plain, "roster_items") is None
