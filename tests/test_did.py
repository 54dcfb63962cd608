"""TWFE DiD with wild cluster bootstrap, and the event study, against independent references:
linearmodels PanelOLS (estimate and CR1 SE), wildboottest (WCR bootstrap t-statistics and
p-values), a slow loop-over-draws dummy regression written here, and statsmodels dummy OLS."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from evaluation_pipeline.analysis.did import did_twfe, event_study
from evaluation_pipeline.analysis.effects import EFFECT_COLUMNS
from evaluation_pipeline.analysis.linear_model import bootstrap_weight_matrix

ORGAN = Path(__file__).parent / "fixtures" / "did" / "organ_donations.csv"


def _panel(seed=0, units=20, years=18, treated_units=5, start=10, effect=2.0, rho=0.5,
           staggered=False):
    """Units × years with unit and year effects, AR(1) errors within unit; treated units adopt
    at ``start`` (or, if staggered, at start-2 .. start+2)."""
    rng = np.random.default_rng(seed)
    year_fx = rng.normal(0, 1, years)
    rows = []
    for u in range(units):
        ue = rng.normal(0, 2)
        first = (start + (u % 5) - 2 if staggered else start) if u < treated_units else 0
        e = rng.normal(0, 1 / math.sqrt(1 - rho**2))
        for t in range(years):
            e = rho * e + rng.normal()
            tr = int(u < treated_units and t >= first)
            rows.append((f"k{u:02d}", 2000 + t, 50 + ue + year_fx[t] + effect * tr + e, tr,
                         2000 + first if first else 0))
    return pd.DataFrame(rows, columns=["unit", "year", "y", "treated", "first_treated"])


def _organ():
    d = pd.read_csv(ORGAN)
    # California's active-choice policy from Q3 2011 (Quarter_Num 4 = Q32011)
    assert d.loc[d.Quarter == "Q32011", "Quarter_Num"].unique().tolist() == [4]
    d["treated"] = ((d.State == "California") & (d.Quarter_Num >= 4)).astype(int)
    return d


def _dummies(p, unit, time_, cols):
    X = pd.concat([p[cols].astype(float),
                   pd.get_dummies(p[unit], prefix="u", drop_first=True, dtype=float),
                   pd.get_dummies(p[time_], prefix="t", drop_first=True, dtype=float)], axis=1)
    return sm.add_constant(X, has_constant="add")


# --- TWFE estimate and CR1 SE vs linearmodels ---------------------------------------------------


@pytest.mark.parametrize("which", ["simulated", "organ_donations"])
def test_twfe_matches_linearmodels_panelols(which):
    import linearmodels.panel as lm  # a test dependency: missing means a broken install
    if which == "simulated":
        p, args = _panel(seed=11), ("y", "unit", "year", "treated")
    else:
        p, args = _organ(), ("Rate", "State", "Quarter_Num", "treated")
    y, unit, time_, tr = args
    e = did_twfe(p, *args, bootstrap=None)
    idx = p.set_index([unit, time_])
    # debiased=True scales by n/(n - d - k) with the effects d counted (two-way effects are not
    # nested in the clusters), group_debias=True by G/(G-1)·(n-1)/n: together exactly CR1's
    # G/(G-1)·(n-1)/(n-K) of the dummy regression, so no constant is needed.
    fit = lm.PanelOLS(idx[y], idx[[tr]], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True, debiased=True, group_debias=True)
    assert e.estimate == pytest.approx(fit.params[tr], rel=1e-6, abs=1e-12)
    assert e.se == pytest.approx(fit.std_errors[tr], rel=1e-6, abs=1e-12)
    assert abs(e.se - fit.std_errors[tr]) < 1e-6


def test_organ_donations_known_estimate():
    e, det = did_twfe(_organ(), "Rate", "State", "Quarter_Num", "treated", return_details=True)
    # the textbook TWFE estimate (The Effect, ch. 18): about -0.0225
    assert e.estimate == pytest.approx(-0.02246, abs=1e-5)
    assert e.n_treated == 1 and e.n_control == 26 and e.n_obs == 162
    assert det["n_treated_clusters"] == 1 and det["weights"] == "rademacher"
    assert "wild cluster bootstrap (WCR, Rademacher, 9999 draws)" in e.note
    # one treated cluster: WCR is far more cautious than CR1 (MacKinnon & Webb 2017)
    assert det["boot_p"] > e.p_value


# --- Wild cluster bootstrap vs wildboottest -----------------------------------------------------


def _wildboottest_cl(X, y, clusters, weights, seed, draws, inject=None):
    import wildboottest.wildboottest as wbt  # a test dependency (pyproject [test])
    codes = np.unique(clusters, return_inverse=True)[1].ravel()  # our cluster order
    R = np.zeros(X.shape[1])
    R[list(X.columns).index("treated")] = 1.0
    b = wbt.WildboottestCL(X=X.to_numpy(), Y=y.to_numpy(float), cluster=codes, R=R, B=draws,
                           seed=seed, parallel=False)
    b.get_scores(bootstrap_type="11", impose_null=True)
    if inject is None:
        b.get_weights(weights_type=weights)
    else:
        b.v, b.B = inject.T.copy(), inject.shape[0]
    b.get_numer()
    b.get_denom()
    b.get_tboot()
    b.get_vcov()
    b.get_tstat()
    b.get_pvalue(pval_type="two-tailed")
    return b


@pytest.mark.parametrize("which,weights", [("simulated", "rademacher"), ("simulated", "webb"),
                                           ("organ_donations", "rademacher"),
                                           ("organ_donations", "webb")])
def test_wild_bootstrap_matches_wildboottest(which, weights):
    if which == "simulated":
        p, args = _panel(seed=4, effect=0.4), ("y", "unit", "year", "treated")
    else:
        p, args = _organ(), ("Rate", "State", "Quarter_Num", "treated")
    y, unit, time_, tr = args
    e, det = did_twfe(p, *args, bootstrap_weights=weights, return_details=True)
    X = _dummies(p, unit, time_, [tr])
    G = p[unit].nunique()

    # 1. the same draws injected into wildboottest: identical bootstrap t-statistics
    V, _ = bootstrap_weight_matrix(9999, G, weights, 20131)
    ref = _wildboottest_cl(X, p[y], p[unit].to_numpy(), weights, 1, 9999, inject=V)
    assert float(np.ravel(ref.t_stat)[0]) == pytest.approx(det["t_stat"], rel=1e-9)
    np.testing.assert_allclose(ref.t_boot, det["t_boot"], rtol=1e-8, atol=1e-10)
    t = abs(det["t_stat"])
    assert det["boot_p"] == np.mean(np.abs(ref.t_boot) >= t * (1 - 1e-10))
    # wildboottest counts only strict exceedances; ties (|t*| == |t|) have probability ~0 here
    assert abs(ref.pvalue - det["boot_p"]) <= 2 / 9999

    # 2. wildboottest's own random draws: Monte Carlo agreement. Two independent p-values from
    # 9999 draws each differ with SD sqrt(2 p (1-p) / 9999) <= 0.0071; allow 4 SD.
    own = _wildboottest_cl(X, p[y], p[unit].to_numpy(), weights, 777, 9999)
    pbar = 0.5 * (own.pvalue + det["boot_p"])
    tol = 4 * math.sqrt(2 * max(pbar * (1 - pbar), 1e-4) / 9999)
    assert abs(own.pvalue - det["boot_p"]) < tol
    # the same statistic, and the whole bootstrap distribution of |t*| is the same one, not only
    # its tail share: two-sample Kolmogorov-Smirnov on the 9999 + 9999 draws (its p-value is
    # uniform when both come from one distribution; 0.18 to 0.73 in the four cases here)
    assert float(np.ravel(own.t_stat)[0]) == pytest.approx(det["t_stat"], rel=1e-9)
    ks = stats.ks_2samp(np.abs(np.ravel(own.t_boot)), np.abs(det["t_boot"]))
    assert ks.pvalue > 0.001


# --- Wild cluster bootstrap vs a slow, obviously-correct reference -----------------------------


def _slow_wcr_pvalue(p, beta0, V, weights=None):
    """Loop over draws: impose beta = beta0, regress, build y* = fitted + v_g·residual, run the
    full dummy regression and its CR1 sandwich on y*, and count |t*| >= |t|."""
    X = _dummies(p, "unit", "year", ["treated"]).to_numpy()
    yv = p["y"].to_numpy(float)
    sw = np.ones(len(p)) if weights is None else np.sqrt(p[weights].to_numpy(float))
    Xw, yw = X * sw[:, None], yv * sw
    j = 1  # column of 'treated' (after the constant)
    clusters = np.unique(p["unit"], return_inverse=True)[1].ravel()
    G = clusters.max() + 1
    n, k = X.shape

    def t_stat(yy):
        beta = np.linalg.lstsq(Xw, yy, rcond=None)[0]
        u = yy - Xw @ beta
        bread = np.linalg.inv(Xw.T @ Xw)
        meat = np.zeros((k, k))
        for g in range(G):
            s = Xw[clusters == g].T @ u[clusters == g]
            meat += np.outer(s, s)
        vc = bread @ meat @ bread * G / (G - 1) * (n - 1) / (n - k)
        return (beta[j] - beta0) / math.sqrt(vc[j, j])

    Xr = np.delete(Xw, j, axis=1)
    yr = yw - beta0 * Xw[:, j]
    gamma = np.linalg.lstsq(Xr, yr, rcond=None)[0]
    fitted, resid = Xr @ gamma + beta0 * Xw[:, j], yr - Xr @ gamma
    t_obs = t_stat(yw)
    t_boot = np.array([t_stat(fitted + v[clusters] * resid) for v in V])
    return float(np.mean(np.abs(t_boot) >= abs(t_obs) * (1 - 1e-10))), t_boot


@pytest.mark.parametrize("weights", [None, "w"])
def test_wild_bootstrap_equals_slow_reference(weights):
    p = _panel(seed=8, units=8, years=6, treated_units=3, start=3, effect=0.8)
    p["w"] = np.random.default_rng(1).uniform(0.5, 2.0, len(p))
    e, det = did_twfe(p, "y", "unit", "year", "treated", weights=weights, bootstrap=999,
                      return_details=True)
    assert det["weights"] == "webb" and det["draws"] == 999  # G = 8 < 12: Webb by default
    V, enumerated = bootstrap_weight_matrix(999, 8, "webb", 20131)
    assert not enumerated and set(np.round(np.abs(V).ravel() ** 2, 12)) == {0.5, 1.0, 1.5}
    slow_p, slow_t = _slow_wcr_pvalue(p, 0.0, V, weights)
    np.testing.assert_allclose(det["t_boot"], slow_t, rtol=1e-8, atol=1e-10)
    assert det["boot_p"] == slow_p
    # the CI ends are where the slow p-value crosses alpha
    lo, hi = det["boot_ci"]
    assert lo < e.estimate < hi
    d = 1e-5 * e.se
    assert _slow_wcr_pvalue(p, lo - d, V, weights)[0] <= 0.05
    assert _slow_wcr_pvalue(p, lo + d, V, weights)[0] > 0.05
    assert _slow_wcr_pvalue(p, hi - d, V, weights)[0] > 0.05
    assert _slow_wcr_pvalue(p, hi + d, V, weights)[0] <= 0.05


def test_rademacher_full_enumeration_when_few_clusters():
    V, enumerated = bootstrap_weight_matrix(9999, 10, "rademacher", 1)
    assert enumerated and V.shape == (1024, 10)
    assert len({tuple(r) for r in V}) == 1024
    p = _panel(seed=2, units=10, years=8, treated_units=4, start=4)
    e, det = did_twfe(p, "y", "unit", "year", "treated", bootstrap_weights="rademacher",
                      return_details=True)
    assert det["enumerated"] and det["draws"] == 1024
    assert "full enumeration of 1024 draws" in e.note
    slow_p, _ = _slow_wcr_pvalue(p, 0.0, V)
    assert det["boot_p"] == slow_p


# --- Few clusters: note, details, reproducibility, speed ---------------------------------------


def test_few_clusters_note_and_reproducible():
    p = _panel(seed=5, units=12, years=10, treated_units=6, start=5, effect=1.0)
    e1, d1 = did_twfe(p, "y", "unit", "year", "treated", return_details=True)
    e2, d2 = did_twfe(p, "y", "unit", "year", "treated", return_details=True)
    assert "fewer than 50 clusters" in e1.note and "wild cluster bootstrap (WCR" in e1.note
    assert 0.0 <= d1["boot_p"] <= 1.0
    assert e1 == e2 and d1["boot_p"] == d2["boot_p"] and d1["boot_ci"] == d2["boot_ci"]
    assert set(d1) >= {"boot_p", "boot_ci", "draws", "weights"}
    lo, hi = d1["boot_ci"]
    assert lo < e1.estimate < hi
    assert f"p={d1['boot_p']:.3f}" in e1.note and f"[{lo:.4g}, {hi:.4g}]" in e1.note
    # the CR1 outputs are unchanged by the bootstrap
    e0 = did_twfe(p, "y", "unit", "year", "treated", bootstrap=None)
    assert (e0.estimate, e0.se, e0.ci_low, e0.ci_high, e0.p_value) == (
        e1.estimate, e1.se, e1.ci_low, e1.ci_high, e1.p_value)
    assert "wild cluster bootstrap" not in e0.note
    # random (Webb) draws: the seed decides them
    w1 = did_twfe(p, "y", "unit", "year", "treated", bootstrap_weights="webb",
                  return_details=True)[1]
    w2 = did_twfe(p, "y", "unit", "year", "treated", bootstrap_weights="webb",
                  return_details=True)[1]
    w3 = did_twfe(p, "y", "unit", "year", "treated", bootstrap_weights="webb", seed=1,
                  return_details=True)[1]
    assert np.array_equal(w1["t_boot"], w2["t_boot"])
    assert not np.array_equal(w1["t_boot"], w3["t_boot"])


def test_when_the_bootstrap_runs():
    many = _panel(seed=1, units=60, years=6, treated_units=20, start=3)
    e, det = did_twfe(many, "y", "unit", "year", "treated", return_details=True)
    assert det["draws"] == 0 and math.isnan(det["boot_p"]) and "bootstrap" not in e.note
    few_treated = _panel(seed=1, units=60, years=6, treated_units=5, start=3)
    e, det = did_twfe(few_treated, "y", "unit", "year", "treated", return_details=True)
    assert det["draws"] == 9999 and det["weights"] == "rademacher" and "WCR" in e.note
    with pytest.raises(ValueError, match="at least 999"):
        did_twfe(few_treated, "y", "unit", "year", "treated", bootstrap=500)
    with pytest.raises(ValueError, match="bootstrap_weights"):
        did_twfe(few_treated, "y", "unit", "year", "treated", bootstrap_weights="mammen")


# --- Event study --------------------------------------------------------------------------------

TRUE_PATH = {e: (0.0 if e < 0 else float(min(e + 1, 3))) for e in range(-5, 6)}


def _event_panel(seed=0, units=40, years=16, pretrend=0.0, noise=1.0):
    """Staggered adoption (years 6..10 of 16) for half the units; effect 1, 2, 3, 3, ... at
    event times 0, 1, 2, 3, ...; optionally a linear pre-trend in treated units before adoption."""
    rng = np.random.default_rng(seed)
    year_fx = rng.normal(0, 1, years)
    rows = []
    for u in range(units):
        ue = rng.normal(0, 2)
        first = 2000 + 6 + u % 5 if u < units // 2 else 0
        for t in range(years):
            yr = 2000 + t
            y = 10 + ue + year_fx[t] + rng.normal(0, noise)
            if first:
                ev = yr - first
                y += 0.0 if ev < 0 else min(ev + 1, 3)
                y += pretrend * ev if ev < 0 else 0.0
            rows.append((f"k{u:02d}", yr, y, first))
    return pd.DataFrame(rows, columns=["unit", "year", "y", "first_treated"])


def test_event_study_recovers_dynamic_path():
    p = _event_panel(seed=3)
    res = event_study(p, "y", "unit", "year", "first_treated")
    c = res.coefficients.set_index("event_time")
    assert list(c.index) == list(range(-5, 6))
    assert c.loc[-1, "estimate"] == 0 and math.isnan(c.loc[-1, "se"])
    for e, truth in TRUE_PATH.items():
        if e != -1:
            assert c.loc[e, "ci_low"] < truth < c.loc[e, "ci_high"], e
    assert res.pretrend_test["p_value"] > 0.05
    assert res.pretrend_test["df1"] == 4 and res.pretrend_test["df2"] == 39
    assert [x.contrast for x in res.effects] == [f"event time {e}" for e in range(-5, 6)
                                                 if e != -1]
    frame = res.to_frame()
    assert list(frame.columns) == EFFECT_COLUMNS and len(frame) == 10


def test_event_study_detects_planted_pretrend():
    p = _event_panel(seed=3, pretrend=0.4)
    res = event_study(p, "y", "unit", "year", "first_treated")
    assert res.pretrend_test["p_value"] < 0.01


def test_event_study_equals_hand_dummy_ols_and_wald():
    p = _event_panel(seed=9, units=24, years=14)
    p.loc[p.unit == "k23", "first_treated"] = np.nan  # NaN = never treated, as 0
    res = event_study(p, "y", "unit", "year", "first_treated", window=(-3, 4), reference=-2)
    # hand-built: event time, binned at -3 and 4, reference -2 omitted, never-treated all 0
    ft = p["first_treated"].where(p["first_treated"] > 0)
    ev = (p["year"] - ft).clip(-3, 4)
    D = pd.DataFrame({f"e{e}": ((ev == e) & ft.notna()).astype(float)
                      for e in range(-3, 5) if e != -2})
    X = sm.add_constant(pd.concat([D, pd.get_dummies(p.unit, dtype=float).iloc[:, 1:],
                                   pd.get_dummies(p.year, dtype=float).iloc[:, 1:]], axis=1))
    G = p.unit.nunique()
    fit = sm.OLS(p["y"], X).fit(cov_type="cluster",
                                cov_kwds={"groups": pd.factorize(p.unit)[0]}, use_t=True)
    c = res.coefficients.set_index("event_time")
    for e in range(-3, 5):
        if e == -2:
            continue
        assert c.loc[e, "estimate"] == pytest.approx(fit.params[f"e{e}"], abs=1e-8)
        assert c.loc[e, "se"] == pytest.approx(fit.bse[f"e{e}"], rel=1e-8)
        assert c.loc[e, "n_obs"] == int(D[f"e{e}"].sum())
        q = stats.t.ppf(0.975, G - 1)
        assert c.loc[e, "ci_low"] == pytest.approx(fit.params[f"e{e}"] - q * fit.bse[f"e{e}"])
    # binned endpoints hold every event time beyond the window
    assert c.loc[4, "n_obs"] == int(((p.year - ft) >= 4).sum())
    assert c.loc[-3, "n_obs"] == int(((p.year - ft) <= -3).sum())
    # Wald: R b (R V R')^-1 (R b)' / k over the pre-period coefficients: -3 (binned) and -1
    pre = ["e-3", "e-1"]
    b = fit.params[pre].to_numpy()
    Vpre = fit.cov_params().loc[pre, pre].to_numpy()
    F = float(b @ np.linalg.inv(Vpre) @ b) / len(pre)
    assert res.pretrend_test["statistic"] == pytest.approx(F, rel=1e-8)
    assert res.pretrend_test["df1"] == 2 and res.pretrend_test["df2"] == G - 1
    assert res.pretrend_test["p_value"] == pytest.approx(stats.f.sf(F, 2, G - 1), rel=1e-8)


def test_event_study_input_errors():
    p = _event_panel(seed=1, units=10)
    with pytest.raises(ValueError, match="reference"):
        event_study(p, "y", "unit", "year", "first_treated", window=(-3, 3), reference=-4)
    bad = p.copy()
    bad.loc[bad.index[0], "first_treated"] = 2003
    with pytest.raises(ValueError, match="varies within a unit"):
        event_study(bad, "y", "unit", "year", "first_treated")


@pytest.mark.parametrize("case", ["balanced", "unbalanced", "weighted", "cluster_by_region"])
def test_twfe_demeaning_equals_statsmodels_dummy_ols(case):
    """did_twfe partials the fixed effects out by alternating projections; statsmodels' OLS
    (WLS) on the full dummy design with cluster-robust CR1 and t(G-1) is the reference."""
    rng = np.random.default_rng({"balanced": 1, "unbalanced": 2, "weighted": 3,
                                 "cluster_by_region": 4}[case])
    p = _panel(seed=int(rng.integers(100)), units=40, years=12, treated_units=12, start=5)
    if case != "balanced":
        p = p.drop(index=rng.choice(p.index, size=len(p) // 7, replace=False))
    p["w"] = rng.uniform(0.5, 3.0, len(p)) if case == "weighted" else 1.0
    p["region"] = p["unit"].str[1:].astype(int) % 15
    cluster = "region" if case == "cluster_by_region" else None
    e = did_twfe(p, "y", "unit", "year", "treated", cluster=cluster,
                 weights="w" if case == "weighted" else None, bootstrap=None)
    X = _dummies(p, "unit", "year", ["treated"])
    groups = pd.factorize(p[cluster or "unit"])[0]
    model = sm.WLS(p["y"], X, weights=p["w"]) if case == "weighted" else sm.OLS(p["y"], X)
    ref = model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    assert e.estimate == pytest.approx(ref.params["treated"], rel=1e-9, abs=1e-10)
    assert e.se == pytest.approx(ref.bse["treated"], rel=1e-8)
    assert e.p_value == pytest.approx(ref.pvalues["treated"], rel=1e-7, abs=1e-12)
    lo, hi = ref.conf_int(0.05).loc["treated"]
    assert (e.ci_low, e.ci_high) == (pytest.approx(lo, rel=1e-8), pytest.approx(hi, rel=1e-8))
