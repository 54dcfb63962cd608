"""The registry's parallel-trends sensitivity (analysis/registry_sensitivity.py) on the real
Telemark example (FHI files unchanged) and constructed panels: which event-study
coefficients it uses, that its original CI and Wald test are the event study's own numbers
(recomputed by hand from the coefficients and their CR1 covariance, and against the
existing joint F test), its breakdown value's definition, the insufficient-data rows and
the logic-chain clause. The sensitivity's numbers themselves are checked against R's
HonestDiD in test_sensitivity.py."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLE
from scipy import stats

from evaluation_pipeline.analysis import sensitivity as se
from evaluation_pipeline.analysis.did import event_study
from evaluation_pipeline.analysis.effects import effects_frame
from evaluation_pipeline.analysis.logic_chain import logic_chain_evidence
from evaluation_pipeline.analysis.registry import (
    registry_dynamic,
    registry_effects,
    registry_panel,
)
from evaluation_pipeline.analysis.registry_sensitivity import (
    BREAKDOWN_COLUMNS,
    SENSITIVITY_COLUMNS,
    event_study_periods,
    registry_sensitivity,
    sensitivity_clause,
)
from evaluation_pipeline.geography import add_rates, harmonize
from evaluation_pipeline.observations import read_indicators
from evaluation_pipeline.report.labels import LABELS, t
from evaluation_pipeline.study import Study

TELEMARK = EXAMPLE.parent / "telemark"


@pytest.fixture(scope="module")
def telemark():
    study = Study.load(TELEMARK)
    obs, _, _ = read_indicators(study)
    inds = study.registry.indicators
    obs = harmonize(obs, study.geography_year,
                    age_groups={k: v.age_group for k, v in inds.items()})
    obs = add_rates(obs, {k: v.per for k, v in inds.items()})
    table, breakdown = registry_sensitivity(obs, study)
    return study, obs, table, breakdown.set_index("indicator")


def test_frames_have_their_columns(telemark):
    _, _, table, breakdown = telemark
    assert list(table.columns) == SENSITIVITY_COLUMNS
    assert list(breakdown.reset_index().columns) == BREAKDOWN_COLUMNS


def test_original_ci_and_wald_are_the_event_studys_numbers(telemark):
    study, obs, table, breakdown = telemark
    ind = "barnevern_tiltak_0_17"
    row = breakdown.loc[ind]
    # joins 2017 and 2019, FHI years 2015-2024: leads from -4, lags to 7 (5 is binned)
    assert (row["pre_periods"], row["post_periods"]) == ("-4..-2", "0..4")
    panel = registry_panel(obs, study, ind)
    es = event_study(panel, "value", "kommune", "year", "first_treated", window=(-5, 5))
    b = es.coefficients.set_index("event_time")["estimate"]
    post, pre = [0, 1, 2, 3, 4], [-4, -3, -2]
    est = b[post].mean()
    V = es.vcov.loc[post, post].to_numpy()
    sd = math.sqrt(V.sum()) / len(post)
    assert row["estimate"] == pytest.approx(est, rel=1e-12)
    z = stats.norm.ppf(0.975)
    assert row["ci_low"] == pytest.approx(est - z * sd, rel=1e-10)
    assert row["ci_high"] == pytest.approx(est + z * sd, rel=1e-10)
    bp = b[pre].to_numpy()
    w = float(bp @ np.linalg.inv(es.vcov.loc[pre, pre].to_numpy()) @ bp)
    assert row["wald_statistic"] == pytest.approx(w, rel=1e-10)
    # the Wald statistic is k × the event study's joint F (the same three leads)
    _, tests = registry_dynamic(obs, study)
    f = tests[(tests["indicator"] == ind) & (tests["estimator"] == "TWFE")].iloc[0]
    assert f["df1"] == 3 == row["wald_df"]
    assert row["wald_statistic"] == pytest.approx(3 * f["statistic"], rel=1e-9)
    assert row["wald_p"] == pytest.approx(stats.chi2.sf(3 * f["statistic"], 3), rel=1e-9)
    # the table's first row is that CI; the robust CI at M̄ = 0 is close to it (the ARP
    # test's critical value under M̄ = 0 is the two-sided one)
    t_ind = table[table["indicator"] == ind]
    orig = t_ind[t_ind["kind"] == "original"].iloc[0]
    assert (orig["lb"], orig["ub"]) == pytest.approx((row["ci_low"], row["ci_high"]))
    rm0 = t_ind[(t_ind["kind"] == "RM") & (t_ind["m"] == 0)].iloc[0]
    assert rm0["lb"] == pytest.approx(orig["lb"], abs=0.05 * sd)
    assert rm0["ub"] == pytest.approx(orig["ub"], abs=0.05 * sd)
    # robust CIs only widen with M̄ (nested sets)
    rm = t_ind[t_ind["kind"] == "RM"].sort_values("m")
    assert (np.diff(rm["lb"]) <= 1e-9).all() and (np.diff(rm["ub"]) >= -1e-9).all()
    # the CI includes 0 under parallel trends: no breakdown value
    assert orig["lb"] < 0 < orig["ub"]
    assert math.isnan(row["breakdown_rm"]) and math.isnan(row["breakdown_sd"])


def test_indicators_that_cannot_be_analysed_say_why(telemark):
    _, _, table, breakdown = telemark
    late = breakdown.loc["lavinntekt_0_17"]
    assert late["status"] == "insufficient_data"
    assert "no years before the first join 2017" in late["reason"]
    # Ungdata: no estimated lead next to the reference year
    ung = breakdown.loc["psykiske_plager"]
    assert ung["status"] == "insufficient_data"
    assert "no pre-period event-study coefficient next to the reference year -1" in \
        ung["reason"]
    assert set(table["indicator"]) == {"barnevern_tiltak_0_17", "trivsel_10_trinn"}


def _panel(rel_lo: int, rel_hi: int, *, seed: int = 1, effect: float = 1.0,
           trend: float = 0.0) -> pd.DataFrame:
    """10 never-treated and 6 treated units (joining 2010), years 2010+rel_lo..2010+rel_hi;
    a treatment effect after joining and, optionally, a differential linear trend."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(16):
        treated = u < 6
        for y in range(2010 + rel_lo, 2011 + rel_hi):
            rel = y - 2010
            v = (u * 0.3 + 0.1 * (y - 2000) + (effect if treated and rel >= 0 else 0.0)
                 + (trend * rel if treated else 0.0) + rng.normal(0, 0.3))
            rows.append({"kommune": f"k{u}", "year": y, "value": v,
                         "first_treated": 2010 if treated else 0})
    return pd.DataFrame(rows)


def test_binned_window_ends_are_left_out():
    es = event_study(_panel(-8, 8), "value", "kommune", "year", "first_treated")
    pre, post, note = event_study_periods(es, _panel(-8, 8))
    assert (pre, post) == ([-4, -3, -2], [0, 1, 2, 3, 4])
    assert "event time -5 left out" in note and "event time 5 left out" in note
    # inside the window nothing is binned: the ends are single years and are used
    p = _panel(-5, 5)
    es = event_study(p, "value", "kommune", "year", "first_treated")
    assert event_study_periods(es, p)[:2] == ([-5, -4, -3, -2], [0, 1, 2, 3, 4, 5])
    # a gap stops the run: no year 2008 (event time -2) leaves no usable pre-period
    p = _panel(-5, 3)
    p = p[p["year"] != 2008]
    es = event_study(p, "value", "kommune", "year", "first_treated")
    pre, post, _ = event_study_periods(es, p)
    assert pre == [] and post == [0, 1, 2, 3]


def test_breakdown_value_is_where_the_robust_ci_reaches_zero():
    # a clear effect without differential trend: the CI excludes 0 under parallel trends
    p = _panel(-5, 5, effect=1.5)
    es = event_study(p, "value", "kommune", "year", "first_treated")
    pre, post, _ = event_study_periods(es, p)
    times = pre + post
    b = es.coefficients.set_index("event_time").loc[times, "estimate"].to_numpy()
    S = es.vcov.loc[times, times].to_numpy()
    res = se.sensitivity_analysis(b, S, len(pre), len(post))
    assert res.original[0] > 0
    bd = res.breakdown_rm
    assert 0 < bd < math.inf
    below = se.rm_ci(b, S, len(pre), len(post), None, max(bd - 0.02, 0), refine=True,
                     grid_points=30)
    above = se.rm_ci(b, S, len(pre), len(post), None, bd + 0.02, refine=True, grid_points=30)
    assert below[0] > 0 and above[0] <= 0
    # and the Wald test of the leads is the one computed by hand
    w = float(b[:len(pre)] @ np.linalg.inv(S[:len(pre), :len(pre)]) @ b[:len(pre)])
    assert res.pretrend["statistic"] == pytest.approx(w)
    assert res.pretrend["df"] == len(pre)


def test_logic_chain_note_gets_the_clause(telemark):
    study, obs, _, breakdown = telemark
    effects = effects_frame(registry_effects(obs, study))
    plain = logic_chain_evidence(study, effects)
    with_sens = logic_chain_evidence(study, effects, sensitivity=breakdown.reset_index())
    # verdicts and everything but the registry rows' notes are unchanged
    pd.testing.assert_frame_equal(plain.drop(columns="note"), with_sens.drop(columns="note"))
    for (_, a), (_, b) in zip(plain.iterrows(), with_sens.iterrows(), strict=True):
        if a["source"] != "registry" or a["verdict"] == "insufficient_data":
            assert a["note"] == b["note"]
            continue
        clause = sensitivity_clause(breakdown.loc[a["indicator"]].to_dict()
                                    | {"indicator": a["indicator"]})
        assert b["note"] == f"{a['note']}; {clause}"
    bv = with_sens.set_index("indicator").loc["barnevern_tiltak_0_17", "note"]
    bv = bv if isinstance(bv, str) else bv.iloc[0]
    assert bv.endswith("Rambachan-Roth (average post-period effect): no breakdown M̄, the CI "
                       "includes 0 under parallel trends; pre-trend Wald χ²(3) p = 0.57")
    ung = with_sens.set_index("indicator").loc["psykiske_plager", "note"]
    ung = ung if isinstance(ung, str) else ung.iloc[0]
    assert ung.endswith("Rambachan-Roth: insufficient data: no pre-period event-study "
                        "coefficient next to the reference year -1 (event time 5 left out "
                        "(binned: 5 or later))")


def test_clause_with_a_breakdown_value():
    row = {"status": "ok", "breakdown_rm": 0.8125, "breakdown_sd": 0.0131, "m_scale": 0.1,
           "wald_df": 3.0, "wald_p": 0.4123}
    assert sensitivity_clause(row) == ("Rambachan-Roth (average post-period effect): "
                                       "breakdown M̄ = 0.81, M = 0.013; pre-trend Wald χ²(3) "
                                       "p = 0.41")
    assert "breakdown M̄ > 20" in sensitivity_clause(row | {"breakdown_rm": math.inf})


def test_labels_in_both_languages():
    keys = [k for k in LABELS["nb"] if k.startswith("sens_") or "breakdown" in k
            or k == "fig_registry_sensitivity"]
    assert len(keys) >= 10
    for k in keys:
        assert k in LABELS["en"] and t(k, "en") != t(k, "nb")
