import numpy as np
import pandas as pd
import pytest

from evaluation_pipeline.analysis.registry import did_twfe


def _panel(seed=0, units=12, years=range(2010, 2020), effect=2.0, treated_units=5, start=2015):
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(units):
        ue = rng.normal(0, 3)
        for t in years:
            tr = int(u < treated_units and t >= start)
            rows.append((f"u{u}", t, 50 + ue + 0.3 * (t - 2010) + effect * tr
                         + rng.normal(0, 1), tr))
    return pd.DataFrame(rows, columns=["unit", "year", "y", "treated"])


def test_two_period_twfe_equals_hand_2x2_did():
    p = _panel(years=[2014, 2015])
    e = did_twfe(p, "y", "unit", "year", "treated")
    m = p.assign(tg=p.unit.isin([f"u{i}" for i in range(5)])).groupby(["tg", "year"]).y.mean()
    hand = (m[True, 2015] - m[True, 2014]) - (m[False, 2015] - m[False, 2014])
    assert e.estimate == pytest.approx(hand)


def test_cr1_standard_error_matches_hand_sandwich():
    p = _panel(seed=3)
    e = did_twfe(p, "y", "unit", "year", "treated")
    X = pd.concat([
        pd.Series(1.0, index=p.index, name="c"), p["treated"].astype(float),
        pd.get_dummies(p.unit, drop_first=True, dtype=float),
        pd.get_dummies(p.year, drop_first=True, dtype=float),
    ], axis=1).to_numpy()
    y = p["y"].to_numpy()
    xtx_inv = np.linalg.inv(X.T @ X)
    beta = xtx_inv @ X.T @ y
    u = y - X @ beta
    meat = np.zeros((X.shape[1], X.shape[1]))
    for g in p.unit.unique():
        idx = (p.unit == g).to_numpy()
        s = X[idx].T @ u[idx]
        meat += np.outer(s, s)
    n, k, G = len(y), X.shape[1], p.unit.nunique()
    V = xtx_inv @ meat @ xtx_inv * G / (G - 1) * (n - 1) / (n - k)
    assert e.estimate == pytest.approx(beta[1])
    assert e.se == pytest.approx(np.sqrt(V[1, 1]))
    from scipy import stats
    q = stats.t.ppf(0.975, G - 1)
    assert e.ci_low == pytest.approx(beta[1] - q * np.sqrt(V[1, 1]))
    assert "fewer than 50 clusters" in e.note


def test_planted_effect_recovered():
    p = _panel(seed=7, units=40, effect=2.0, treated_units=15)
    e = did_twfe(p, "y", "unit", "year", "treated")
    assert e.ci_low < 2.0 < e.ci_high
    assert e.n_treated == 15 and e.n_control == 25


def test_tidy_registry_file_with_numerator_and_denominator(tmp_path):
    from evaluation_pipeline.ingest import read_registry
    from evaluation_pipeline.observations import registry_observations
    from evaluation_pipeline.study import Indicator

    p = tmp_path / "tidy.csv"
    p.write_text(
        "kommune,period,indicator,value,numerator,denominator,status\n"
        "1508,2020,completion_5y,75.0,150,200,\n"
        "1580,2020,completion_5y,,,,:\n"
        "1508,2020,other,1,1,1,\n",
        encoding="utf-8",
    )
    ind = Indicator(file="tidy.csv", numerator="numerator", denominator="denominator")
    obs = registry_observations(read_registry(p), "completion_5y", ind, str(p)).set_index("kommune")
    assert obs.loc["1508", "numerator"] == 150 and obs.loc["1508", "denominator"] == 200
    assert obs.loc["1508", "year"] == 2020
    assert np.isnan(obs.loc["1580", "numerator"]) and obs.loc["1580", "status"] == ":"
    assert len(obs) == 2


def test_joined_status_keeps_every_distinct_symbol_sorted():
    """The status of an observation joins the distinct SSB symbols of its numerator,
    denominator (and value) cells, sorted; none -> missing (hand-written expectations)."""
    from evaluation_pipeline.observations import _joined_status

    two = pd.DataFrame({"status_numerator": [None, ":", "..", ":", None],
                        "status_denominator": [None, None, ":", ":", "."]})
    assert _joined_status(two).tolist() == [pd.NA, ":", "..,:", ":", "."]
    three = pd.DataFrame({"a": [":", None, "-"], "b": [".", None, "-"], "c": [":", None, "."]})
    assert _joined_status(three).tolist() == [".,:", pd.NA, "-,."]
