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
    from evaluation_pipeline.observations.table import _joined_status

    two = pd.DataFrame({"status_numerator": [None, ":", "..", ":", None],
                        "status_denominator": [None, None, ":", ":", "."]})
    assert _joined_status(two).tolist() == [pd.NA, ":", "..,:", ":", "."]
    three = pd.DataFrame({"a": [":", None, "-"], "b": [".", None, "-"], "c": [":", None, "."]})
    assert _joined_status(three).tolist() == [".,:", pd.NA, "-,."]


# -- balanced_panel and registry_dynamic on hand-built panels ------------------------------


def test_balanced_panel_drops_empty_years_then_incomplete_kommuner():
    """Written out by hand: 2019 has no value at all (not yet published); B lacks 2016 (status
    ..), C lacks 2017 (status :), E has no row at all for 2016; A and D are complete."""
    from evaluation_pipeline.analysis.registry import balanced_panel

    years = [2015, 2016, 2017, 2018, 2019]
    rows = []
    for k in "ABCDE":
        for y in years:
            if k == "E" and y == 2016:
                continue
            value, status = float(10 * (ord(k) - 64) + y - 2015), None
            if y == 2019:
                value, status = np.nan, ".."
            elif (k, y) == ("B", 2016):
                value, status = np.nan, ".."
            elif (k, y) == ("C", 2017):
                value, status = np.nan, ":"
            rows.append((k, y, value, status))
    panel = pd.DataFrame(rows, columns=["kommune", "year", "value", "status"])
    out, note = balanced_panel(panel)
    expected = pd.DataFrame(
        [(k, y, float(10 * (ord(k) - 64) + y - 2015), None) for k in "AD"
         for y in years[:-1]], columns=["kommune", "year", "value", "status"])
    pd.testing.assert_frame_equal(out, expected)
    assert note == ("years without values dropped: 2019; kommuner with missing years dropped "
                    "(.., :, no row for some years): B, C, E")
    # every kommune x year of the result is there exactly once: what staggered_att needs
    assert out.groupby("kommune")["year"].apply(sorted).map(tuple).nunique() == 1
    # nothing missing: nothing dropped, no note
    full = panel[panel["kommune"].isin(["A", "D"]) & (panel["year"] < 2019)]
    same, none = balanced_panel(full.reset_index(drop=True))
    pd.testing.assert_frame_equal(same, expected)
    assert none == ""


def _dynamic_study():
    from types import SimpleNamespace

    network = {"1501": 2013, "1502": 2013, "1503": 2013, "1504": 2015, "1505": 2015}
    comparison = ["1511", "1512", "1513", "1514", "1515", "1516", "1517"]
    ind = SimpleNamespace(file="ind.csv", breaks=[])
    return SimpleNamespace(network=network, comparison=comparison,
                           kommuner=list(network) + comparison,
                           registry=SimpleNamespace(indicators={"ind": ind}))


def _dynamic_observations(study):
    """2010-2018; 2018 not yet published (all missing); 1516 misses 2012 (status :), 1517 has
    no row for 2016; a kommune outside the study and another indicator are ignored. Effects
    1, 2, 3, ... from the join year on; unit and year effects."""
    rng = np.random.default_rng(42)
    year_fx = dict(zip(range(2010, 2019), rng.normal(0, 1, 9).round(2), strict=True))
    rows = []
    for k in [*study.kommuner, "9999"]:
        unit_fx = rng.normal(50, 3)
        join = study.network.get(k)
        for y in range(2010, 2019):
            if (k, y) == ("1517", 2016):
                continue
            v = unit_fx + year_fx[y] + rng.normal(0, 0.5)
            if join and y >= join:
                v += 1 + (y - join)
            status = None
            if y == 2018:
                v, status = np.nan, ".."
            elif (k, y) == ("1516", 2012):
                v, status = np.nan, ":"
            rows.append((k, y, "ind", round(v, 3), status))
            rows.append((k, y, "other", 1.0, None))
    return pd.DataFrame(rows, columns=["kommune", "year", "indicator", "value", "status"])


def test_registry_dynamic_twfe_rows_equal_statsmodels_dummy_ols():
    import statsmodels.api as sm
    from scipy import stats

    from evaluation_pipeline.analysis.registry import registry_dynamic

    study = _dynamic_study()
    obs = _dynamic_observations(study)
    coefs, tests = registry_dynamic(obs, study, window=(-3, 3))
    twfe = coefs[coefs["estimator"] == "TWFE"].set_index("event_time")
    assert (twfe["indicator"] == "ind").all()
    assert list(twfe.index) == [-3, -2, -1, 0, 1, 2, 3]

    # by hand: the study's kommuner, rows with a value, event time clipped to the window,
    # reference -1 left out, never-joined kommuner all zero; unit and year dummies
    d = obs[(obs["indicator"] == "ind") & obs["kommune"].isin(study.kommuner)
            & obs["value"].notna()].reset_index(drop=True)
    join = d["kommune"].map(study.network)
    ev = (d["year"] - join).clip(-3, 3)
    D = pd.DataFrame({f"e{e}": ((ev == e) & join.notna()).astype(float)
                      for e in (-3, -2, 0, 1, 2, 3)})
    X = sm.add_constant(pd.concat([D, pd.get_dummies(d["kommune"], dtype=float).iloc[:, 1:],
                                   pd.get_dummies(d["year"], dtype=float).iloc[:, 1:]], axis=1))
    G = d["kommune"].nunique()
    assert G == 12 and len(d) == 12 * 8 - 2  # 2018 empty, 1516's 2012 and 1517's 2016 absent
    fit = sm.OLS(d["value"], X).fit(cov_type="cluster",
                                   cov_kwds={"groups": pd.factorize(d["kommune"])[0]},
                                   use_t=True)
    q = stats.t.ppf(0.975, G - 1)
    for e in (-3, -2, 0, 1, 2, 3):
        b, s = fit.params[f"e{e}"], fit.bse[f"e{e}"]
        row = twfe.loc[e]
        assert row["estimate"] == pytest.approx(b, rel=1e-9, abs=1e-10)
        assert row["se"] == pytest.approx(s, rel=1e-8)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((b - q * s, b + q * s), rel=1e-8)
        assert row["n_obs"] == int(D[f"e{e}"].sum())
    assert twfe.loc[-1, "estimate"] == 0 and np.isnan(twfe.loc[-1, "se"])
    # the binned lead: 2010-2012 of the 2015 cohort (event times -5, -4, -3; 2 kommuner) and
    # 2010 of the 2013 cohort (-3; 3 kommuner)
    assert twfe.loc[-3, "n_obs"] == 2 * 3 + 3
    # pre-trend: Wald F over the pre-period coefficients (-3 binned, -2) with F(2, G - 1)
    pre = ["e-3", "e-2"]
    b = fit.params[pre].to_numpy()
    F = float(b @ np.linalg.inv(fit.cov_params().loc[pre, pre].to_numpy()) @ b) / 2
    t = tests.set_index("estimator").loc["TWFE"]
    assert t["statistic"] == pytest.approx(F, rel=1e-8)
    assert (t["df1"], t["df2"]) == (2, G - 1)
    assert t["p_value"] == pytest.approx(stats.f.sf(F, 2, G - 1), rel=1e-8)
    assert list(tests["estimator"]) == ["TWFE"]  # Callaway-Sant'Anna has no pre-trend row


def test_registry_dynamic_callaway_santanna_rows_by_hand_and_csdid():
    """Callaway-Sant'Anna rows: on the balanced panel (2018 and kommuner 1516, 1517 dropped),
    the dynamic aggregation by hand from group means (cohort-size weights 3 and 2), the SEs
    from csdid on the same balanced panel; event times outside the window are left out (not
    binned)."""
    import contextlib
    import io
    import warnings

    from csdid.att_gt import ATTgt

    from evaluation_pipeline.analysis.registry import registry_dynamic

    study = _dynamic_study()
    obs = _dynamic_observations(study)
    coefs, _ = registry_dynamic(obs, study, window=(-3, 3))
    cs = coefs[coefs["estimator"] == "Callaway-Sant'Anna"].set_index("event_time")
    assert list(cs.index) == [-3, -2, -1, 0, 1, 2, 3]  # -4 and 4 exist but lie outside

    bal = obs[(obs["indicator"] == "ind") & obs["kommune"].isin(study.kommuner)
              & ~obs["kommune"].isin(["1516", "1517"]) & (obs["year"] <= 2017)]
    Y = bal.pivot(index="kommune", columns="year", values="value")
    assert Y.shape == (10, 8) and Y.notna().all().all()
    cohorts = {2013: ["1501", "1502", "1503"], 2015: ["1504", "1505"]}
    never = [k for k in study.comparison if k not in ("1516", "1517")]

    def att(g, t):
        base = t - 1 if t < g else g - 1  # varying base period
        dy = Y[t] - Y[base]
        return dy[cohorts[g]].mean() - dy[never].mean()

    for e in range(-3, 4):
        cells = [(g, g + e) for g in cohorts if 2011 <= g + e <= 2017]
        w = np.array([len(cohorts[g]) for g, _ in cells], dtype=float)
        hand = float(np.array([att(g, t) for g, t in cells]) @ w / w.sum())
        assert cs.loc[e, "estimate"] == pytest.approx(hand, rel=1e-12, abs=1e-12), e
        assert cs.loc[e, "n_obs"] == 80

    ref = bal.assign(id=pd.factorize(bal["kommune"], sort=True)[0] + 1,
                     g=bal["kommune"].map(study.network).fillna(0).astype(int))
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = ATTgt(yname="value", gname="g", idname="id", tname="year", data=ref.copy(),
                  control_group="nevertreated")
        m.fit(est_method="reg", bstrap=False)
        m.aggte(typec="dynamic", bstrap=False, cband=False)
    agg = m.atte
    z = 1.959963984540054
    for e, est, se in zip(agg["egt"], agg["att_egt"], np.ravel(agg["se_egt"]), strict=True):
        if -3 <= e <= 3:
            assert cs.loc[int(e), "estimate"] == pytest.approx(est, rel=0, abs=1e-6)
            assert cs.loc[int(e), "se"] == pytest.approx(se, rel=1e-6)
            assert (cs.loc[int(e), "ci_low"], cs.loc[int(e), "ci_high"]) == pytest.approx(
                (est - z * se, est + z * se), rel=1e-6)
