"""The benchmark study generator (benchmarks/generate.py) at small scale: output shape, the
kommune codes valid in each year, and that the study loads and its files pass the readers and
the data contracts. No timing assertions."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from benchmarks import generate as gen
from evaluation_pipeline.contracts import validate
from evaluation_pipeline.geography import add_rates, code_history, harmonize, valid_codes
from evaluation_pipeline.ingest import read_interview_codes, read_registry, read_survey
from evaluation_pipeline.observations import registry_observations
from evaluation_pipeline.privacy import drop_free_text, pseudonym_key, pseudonymise
from evaluation_pipeline.study import Study

SPEC = gen.SCALES_SPEC["small"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    dest = tmp_path_factory.mktemp("bench") / "small"
    summary = gen.generate(dest, "small")
    return dest, summary, Study.load(dest / "study.yaml")


def test_kommuner_network_and_comparison(small):
    _, summary, study = small
    # every 2024 kommune of Møre og Romsdal (county 15), from the geography module
    expected = sorted(c for c in valid_codes(2024) if c.startswith("15"))
    assert sorted(study.kommuner) == expected
    assert summary["kommuner"] == len(expected)
    assert not set(study.network) & set(study.comparison)
    assert set(study.network.values()) == set(gen.JOIN_YEARS)  # staggered cohorts
    assert 0.2 < len(study.network) / len(expected) < 0.5


def test_registry_indicators_years_and_codes_valid_each_year(small):
    dest, _, study = small
    assert len(study.registry.indicators) == SPEC.indicators
    formats = set()
    for ind_id, ind in study.registry.indicators.items():
        path = dest / ind.file
        formats.add(path.suffix)
        raw = read_registry(path)
        obs = registry_observations(raw, ind_id, ind, str(path))
        assert sorted(obs["year"].unique()) == list(range(2005, 2026))
        present = obs[obs["status"].fillna("") != "."]
        by_year = present.groupby("year")["kommune"].agg(set)
        # the code that was valid each year (Ålesund: 1504 to 2019, 1507 2020-23, 1508 after)
        assert "1504" in by_year[2019] and "1507" not in by_year[2019]
        assert "1507" in by_year[2020] and "1508" not in by_year[2023]
        assert {"1508", "1580"} <= by_year[2024] and "1507" not in by_year[2024]
        # every code is valid in its year per SSB's code history
        h = code_history()
        for y, codes in by_year.items():
            ok = h[(h["valid_from"].fillna(0) <= y) & (h["valid_to"].fillna(9999) >= y)]
            assert codes <= set(ok["code"]), (y, codes - set(ok["code"]))
        # harmonized back to the 2024 borders: every study kommune every year
        h = add_rates(harmonize(obs, 2024, age_groups={ind_id: ind.age_group}),
                      {ind_id: ind.per})
        h = h[h["kommune"].isin(study.kommuner)]
        assert h.groupby("year")["kommune"].nunique().eq(len(study.kommuner)).all()
        report = validate("registry_observations", obs, study)
        assert report.acceptable(0), report.summary()
    assert formats == {".json", ".csv"}


def test_survey_waves_answers_items_and_panel(small):
    dest, _, study = small
    assert study.wave_ids == [w for w, _, _ in gen.WAVES]
    key = pseudonym_key(study)
    ids = {}
    for wave in study.wave_ids:
        df = read_survey(study.wave_file(wave), wave=wave)
        assert df["respondent_id"].nunique() == SPEC.respondents
        per_resp = df.groupby("respondent_id")["item"].nunique()
        assert (per_resp == 30).all()
        assert set(df["kommune"]) == set(study.kommuner)
        ids[wave] = set(df["respondent_id"])
        df, _ = drop_free_text(df, study.survey.free_text)
        df["respondent_id"] = pseudonymise(df["respondent_id"], key, prefix="R")
        report = validate("survey_answers", df, study, label=f"survey_answers-{wave}")
        assert report.acceptable(0), report.summary()
    base = study.baseline_wave
    for wave in study.followup_waves:
        assert len(ids[base] & ids[wave]) == int(gen.PANEL_SHARE * SPEC.respondents)


def test_interviews_segments(small):
    dest, _, study = small
    seg = pd.concat([read_interview_codes(study.path(f)) for f in study.interviews.files])
    assert len(seg) == SPEC.segments
    assert seg["source"].nunique() == SPEC.interviews
    assert set(seg["wave"]) == {r.id for r in study.interviews.rounds}
    assert seg["code_path"].notna().all()
    assert seg.groupby("source")["coder"].nunique().max() == 2  # a double-coded subset
    key = pseudonym_key(study)
    seg["source"] = pseudonymise(seg["source"], key, prefix="I")
    seg["source_guid"] = pseudonymise(seg["source_guid"], key, prefix="G")
    report = validate("coded_segments", seg.reset_index(drop=True), study)
    assert report.acceptable(0), report.summary()


def test_deterministic_and_next_wave(small, tmp_path):
    dest, _, _ = small
    again = tmp_path / "again"
    gen.generate(again, "small")
    files = sorted(p.relative_to(dest) for p in dest.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for rel in files:
        assert hashlib.sha256((dest / rel).read_bytes()).digest() == hashlib.sha256(
            (again / rel).read_bytes()).digest(), rel
    wid = gen.add_next_wave(again)
    study = Study.load(again / "study.yaml")
    assert study.wave_ids[-1] == wid and len(study.wave_ids) == len(gen.WAVES) + 1
    df = read_survey(study.wave_file(wid), wave=wid)
    assert df["respondent_id"].nunique() == SPEC.respondents


def test_refuses_non_empty_destination(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("keep", encoding="utf-8")
    with pytest.raises(FileExistsError):
        gen.generate(tmp_path / "x", "small")
    assert (tmp_path / "x" / "f").read_text(encoding="utf-8") == "keep"
