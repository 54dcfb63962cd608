"""The bare benchmark run (benchmarks/bare.py) on the small generated study: the bare
incremental run (a new wave after a saved state) gives the same survey outputs, effects and
logic chain as the bare full run over every wave, and recomputes neither the registry nor the
interviews. No timing assertions."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from benchmarks import bare
from benchmarks import generate as gen
from evaluation_pipeline.study import Study

#: the tables a new wave changes: they must equal the full run's
CHANGED = ("scale_scores", "scale_reliability", "item_distribution", "survey_answers_rejected",
           "survey_effects", "survey_scale_summary", "survey_response",
           "survey_panel_retention", "effects", "logic_chain_evidence")


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    dest = tmp_path_factory.mktemp("bench") / "small"
    gen.generate(dest, "small")
    new = gen.add_next_wave(dest)
    study = dest / "study.yaml"
    full = bare.run_bare(study)  # every wave, the new one included
    # the state a run before the new wave left: the full run's tables without the new wave
    # (the per-wave tables depend on their wave only)
    before = {k: (full[k][full[k]["wave"].astype(str) != new] if k in bare.WAVE_TABLES
                  else full[k]) for k in (*bare.WAVE_TABLES, *bare.UNCHANGED_TABLES)}
    # the survey contrasts computed afresh (not the full run's cached ones)
    shutil.rmtree(Study.load(study).output / ".cache" / "effects", ignore_errors=True)
    state = dest / "state.pkl"
    bare.save_state(before, state)
    steps = bare.Steps()
    incremental = bare.run_bare_incremental(study, state, steps)
    return new, full, incremental, steps, study


def test_state_holds_the_counted_column_of_the_valid_rows(runs, tmp_path):
    _, full, _, _, _ = runs
    bare.save_state(full, tmp_path / "s.pkl")
    state = bare.load_state(tmp_path / "s.pkl")
    assert set(state) == {*bare.WAVE_TABLES, *bare.UNCHANGED_TABLES}
    assert list(state["survey_answers_valid"].columns) == ["wave"]
    assert len(state["survey_answers_valid"]) == len(full["survey_answers_valid"])
    _same(state["registry_panel"], full["registry_panel"])


def test_incremental_gives_the_full_runs_survey_outputs(runs):
    new, full, incremental, _, _ = runs
    assert new in set(full["scale_scores"]["wave"].astype(str))
    for name in CHANGED:
        _same(incremental[name], full[name])
    # the validation summary counts the same valid rows per wave
    pd.testing.assert_series_equal(
        incremental["survey_answers_valid"]["wave"].value_counts().sort_index(),
        full["survey_answers_valid"]["wave"].value_counts().sort_index())


def test_incremental_runs_only_what_a_new_wave_changes(runs):
    _, full, incremental, steps, _ = runs
    ran = set(steps.seconds)
    # the new wave's partition, the all-wave survey outputs, effects, report, profiles ...
    assert {"survey_answers", "survey_answers: validate split", "survey_wave_analysis",
            "survey_effects", "effects", "logic_chain_evidence", "study_report",
            "kommune_profile", "load previous tables"} <= ran
    # ... and nothing else: not the registry or the interviews (their tables are the earlier
    # run's)
    assert ran <= {"survey_answers", "survey_answers: contract check",
                   "survey_answers: validate split", "survey_wave_analysis", "survey_response",
                   "survey_effects", "survey_scale_summary", "effects",
                   "logic_chain_evidence", "study_report", "kommune_profile",
                   "load previous tables"}
    for name in bare.UNCHANGED_TABLES:
        if name not in bare.COUNT_ONLY:
            assert incremental[name] is not full[name]  # loaded from the saved state ...
            _same(incremental[name], full[name])  # ... equal to the full run's


def test_no_new_wave_is_an_error(runs):
    _, full, _, _, study = runs
    with pytest.raises(RuntimeError, match="no new wave"):
        bare.run_bare_incremental(study, bare.state_tables(full))
