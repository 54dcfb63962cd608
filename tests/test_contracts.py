"""Data contracts: the example study honours them; each kind of rule catches what it should,
row rules name the rows, table rules fail the table, IDs never appear as examples."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from evaluation_pipeline import geography
from evaluation_pipeline.contracts import (
    ContractError,
    contract_tables,
    load_contract,
    validate,
)
from evaluation_pipeline.ingest import read_interview_codes, read_registry, read_survey
from evaluation_pipeline.observations import registry_observations
from evaluation_pipeline.privacy import pseudonymise

KEY = b"test"


@pytest.fixture(scope="module")
def study():
    from conftest import EXAMPLE

    from evaluation_pipeline.study import Study

    return Study.load(EXAMPLE)


@pytest.fixture(scope="module")
def answers(study):
    df = read_survey(study.wave_file("w2016"), wave="w2016")
    df["respondent_id"] = pseudonymise(df["respondent_id"], KEY, prefix="R")
    return df


@pytest.fixture(scope="module")
def segments(study):
    df = read_interview_codes(study.path(study.interviews.files[0]))
    df["source"] = pseudonymise(df["source"], KEY, prefix="I")
    return df


@pytest.fixture(scope="module")
def observations(study):
    return pd.concat(
        [registry_observations(read_registry(study.path(i.file)), k, i)
         for k, i in study.registry.indicators.items()], ignore_index=True)


def test_every_contract_loads_and_covers_its_table(study, answers, segments, observations):
    assert contract_tables() == ["coded_segments", "kommune_codes", "registry_observations",
                                 "study_kommuner", "survey_answers"]
    for name, df in (("survey_answers", answers), ("coded_segments", segments),
                     ("registry_observations", observations),
                     ("kommune_codes", geography.code_history())):
        assert set(load_contract(name).columns) == set(df.columns), name


def test_example_study_honours_every_contract(study, answers, segments, observations):
    for wave in study.wave_ids:
        df = read_survey(study.wave_file(wave), wave=wave)
        df["respondent_id"] = pseudonymise(df["respondent_id"], KEY, prefix="R")
        assert validate("survey_answers", df, study).passed, wave
    assert validate("coded_segments", segments, study).passed
    assert validate("registry_observations", observations, study).passed
    assert validate("kommune_codes", geography.code_history(), study).passed


def test_row_rules_name_rows_and_reasons(study, answers):
    df = answers.copy()
    scale_row = df.index[df["item"] == "sam2"][3]
    df.loc[scale_row, "value"] = 7.0                 # outside 1-5
    df.loc[10, "wave"] = "w2099"                     # undeclared wave
    df.loc[11, "role"] = "frisør"                    # undeclared role
    df.loc[12, "kommune"] = "1504"                   # 2019 code, not in the study
    r = validate("survey_answers", df, study)
    assert r.failed_rows == {
        scale_row: ["answer_in_scale_range[samarbeid]"], 10: ["wave.allowed"],
        11: ["role.allowed"], 12: ["kommune.allowed"],
    }
    assert not r.table_failures and r.acceptable(4) and not r.acceptable(3)
    kept, rejected = r.split(df)
    assert len(kept) == len(df) - 4 and len(rejected) == 4
    assert rejected.loc[scale_row, "reason"] == "answer_in_scale_range[samarbeid]"
    fail = {f.rule: f for f in r.failures}
    assert fail["answer_in_scale_range[samarbeid]"].examples == [7.0]
    assert fail["wave.allowed"].examples == ["w2099"]


def test_duplicate_answer_fails_the_table_without_leaking_ids(study, answers):
    df = pd.concat([answers, answers.iloc[[0]]], ignore_index=True)
    r = validate("survey_answers", df, study)
    (f,) = r.table_failures
    assert f.rule == "unique(respondent_id, wave, item)" and f.count == 2
    assert f.examples == []  # the key holds respondent IDs: counts only
    assert not r.acceptable(1000)


def test_rows_without_any_key_value_are_compared_too(study, answers):
    """Two rows whose whole key is missing break the key's not-null rules and, being alike,
    the unique rule as well (GX's default would skip them there); the batch fingerprint that
    is switched off while the suite runs is switched back on."""
    from great_expectations.execution_engine import pandas_execution_engine as engine

    threshold = engine.HASH_THRESHOLD
    df = pd.concat([answers, answers.iloc[[0, 1]]], ignore_index=True)
    df.loc[df.index[-2:], ["respondent_id", "wave", "item"]] = None
    r = validate("survey_answers", df, study)
    fail = {f.rule: f for f in r.failures}
    assert fail["unique(respondent_id, wave, item)"].count == 2
    for col in ("respondent_id", "wave", "item"):
        assert fail[f"{col}.required"].count == 2
    assert set(r.failed_rows) == set(df.index[-2:])
    assert engine.HASH_THRESHOLD == threshold


def test_a_wave_whose_every_row_is_rejected_is_reported_not_a_crash(study, answers):
    """Every row out of range: no group is left for the per-kommune count (which used to crash
    on the empty count table); the row rules name every row."""
    df = answers.copy()
    df["wave"] = "w2099"
    r = validate("survey_answers", df, study)
    assert set(r.failed_rows) == set(df.index)
    assert {f.rule for f in r.failures} >= {"wave.allowed"}
    kept, rejected = r.split(df)
    assert kept.empty and len(rejected) == len(df)


def test_a_clean_wave_splits_into_all_rows_and_an_empty_rejected_table(study, answers):
    """Nothing rejected: the kept rows are the input's, in order, and the rejected table is
    empty with the input's columns and a reason."""
    r = validate("survey_answers", answers, study)
    assert not r.failed_rows
    kept, rejected = r.split(answers)
    pd.testing.assert_frame_equal(kept, answers)
    assert kept is not answers
    assert rejected.empty and list(rejected.columns) == [*answers.columns, "reason"]


def test_renamed_item_and_thin_kommune_fail_table_rules(study, answers):
    df = answers.copy()
    df.loc[df["item"] == "sam3", "item"] = "sam_3"
    r = validate("survey_answers", df, study)
    rules = {f.rule for f in r.table_failures}
    assert "scale_items_present" in rules
    assert "item.allowed" in {f.rule for f in r.failures}
    # Herøy (1515) keeps only 3 respondents in the wave
    keep = set(df.loc[df["kommune"] == "1515", "respondent_id"].unique()[:3])
    thin = answers[(answers["kommune"] != "1515") | answers["respondent_id"].isin(keep)]
    r = validate("survey_answers", thin, study)
    (f,) = r.table_failures
    assert f.rule == "respondents_per_network_kommune" and f.examples == ["w2016/1515: 3"]


def test_registry_rules(study, observations):
    df = observations.copy()
    i = df.index[(df["kommune"] == "1505") & df["numerator"].notna()][0]
    df.loc[i, "numerator"] = df.loc[i, "denominator"] + 1
    j = df.index[(df["kommune"] == "1504") & (df["year"] == 2021)][0]  # 1504 ended in 2019
    df.loc[j, ["numerator", "denominator", "status"]] = [5.0, 10.0, None]
    k = df.index[(df["kommune"] == "1505") & df["numerator"].notna()][1]
    df.loc[k, ["numerator", "status"]] = [np.nan, None]
    r = validate("registry_observations", df, study)
    assert r.failed_rows == {i: ["numerator_not_above_denominator"],
                             j: ["kommune_code_valid_in_year"],
                             k: ["missing_value_has_status"]}


def test_code_missing_in_codebook_is_rejected(study, segments):
    df = segments.copy()
    df.loc[4, ["code", "code_path"]] = ["<unknown code GUID>", None]
    r = validate("coded_segments", df, study)
    assert r.failed_rows == {4: ["code_in_codebook"]}


def test_data_docs_written(study, answers, tmp_path):
    r = validate("survey_answers", answers, study, data_docs=tmp_path, label="survey_answers-w")
    assert r.data_docs is not None and r.data_docs.exists()
    assert r.data_docs.is_relative_to(tmp_path) and r.data_docs.suffix == ".html"
    assert "survey_answers" in r.data_docs.read_text(encoding="utf-8")


def test_malformed_contract_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(
        {"table": "t", "columns": {"a": {"type": "text"}}}), encoding="utf-8")
    monkeypatch.setenv("EVALUATION_CONTRACTS", str(tmp_path))
    with pytest.raises(ContractError, match="t.yaml"):
        load_contract("t")
    with pytest.raises(ContractError, match="no contract for table 'u'"):
        load_contract("u")


# --- failures as a short table (issue 22) -------------------------------------------------------
def test_failure_table_names_file_rule_rows_examples_and_expected(study, answers):
    df = answers.copy()
    df.loc[df["item"] == "sam3", "item"] = "sam_3"  # a renamed column in the wave's file
    first = int(df.index[df["item"] == "sam_3"][0])
    out_of_range = int(df.index[df["item"] == "ff2"][3])
    df.loc[out_of_range, "value"] = 7
    r = validate("survey_answers", df, study)
    text = r.table_text(study.wave_file("w2016"))
    lines = text.splitlines()
    assert lines[0] == (f"survey_answers ({study.wave_file('w2016')}): 3 contract rule(s) "
                        f"failed; {(df['item'] == 'sam_3').sum() + 1} of {len(df)} rows "
                        "rejected")
    assert lines[1].split() == ["file", "column", "rule", "rows", "examples", "(row)",
                                "expected"]
    body = {ln.split()[2]: ln for ln in lines[2:5]}
    assert body["scale_items_present"].split()[:5] == [
        "staff_w2016.csv", "item", "scale_items_present", "1", "missing:"]
    assert "missing: sam3" in body["scale_items_present"]
    assert "item contains sam1, sam2, sam3" in body["scale_items_present"]
    assert f"'sam_3' (row {first})" in body["item.allowed"]
    assert "one of: ff1, ff2, ff3" in body["item.allowed"]
    rng = body["answer_in_scale_range[felles_forstaelse]"]
    assert f"7.0 (row {out_of_range})" in rng and "an answer from 1 to 5 (scale " \
        "felles_forstaelse)" in rng
    assert lines[5] == ("  hint: item 'sam_3' is not declared in study.yaml and sam3 is "
                        "missing: renamed in the file? Rename it back in the file, or use the "
                        "new name in study.yaml.")
    assert "{" not in text  # no great-expectations dict


def test_failure_table_shows_three_distinct_examples_and_no_ids(study, answers):
    df = answers.copy()
    rows = df.index[df["item"] == "sam1"][:5]
    df.loc[rows, "kommune"] = ["9001", "9001", "9002", "9003", "9004"]
    df.loc[df.index[:2], "respondent_id"] = "Kari Nordmann"
    r = validate("survey_answers", df, study)
    text = r.table_text()
    kommune = next(ln for ln in text.splitlines() if "kommune.allowed" in ln)
    assert (f"'9001' (row {rows[0]}), '9002' (row {rows[2]}), '9003' (row {rows[3]})"
            in kommune) and "9004" not in kommune
    assert "Kari" not in text  # an ID column (personal): counts only
    assert text.splitlines()[0].startswith("survey_answers (table survey_answers): ")


def test_failure_table_of_registry_rows_names_the_indicator_file(study, observations):
    df = observations.copy()
    i = df.index[(df["indicator"] == "neet_15_29") & df["numerator"].notna()][0]
    df.loc[i, "numerator"] = -5
    r = validate("registry_observations", df, study)
    (row,) = [ln for ln in r.with_indicator_files(df, study).table_text().splitlines()
              if "numerator.range" in ln]
    assert row.split() == [Path(study.registry.indicators["neet_15_29"].file).name,
                           "numerator", "numerator.range", "1", "-5.0", "(row", f"{i})",
                           "at", "least", "0"]
    assert r.failures[0].files == ()  # the cached report itself is unchanged
