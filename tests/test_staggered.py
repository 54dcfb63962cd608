"""Callaway & Sant'Anna group-time ATT (analysis/staggered.py).

The reference is ``csdid`` (the maintained Python port of the ``did`` R package) run on the SAME
data, mpdta (tests/fixtures/did/mpdta.csv), with analytic (not bootstrap) standard errors. The
estimands are the same (ATT(g,t) with the varying base period; the simple, dynamic and group
aggregations with cohort-share weights; the aggregations' influence functions include the
estimation of the weights, csdid's ``wif`` term), so estimates and SEs agree to rounding (about
1e-15 on mpdta); the tests hold them to 1e-6 absolute for estimates, 1e-6 relative for SEs.
"""

import contextlib
import io
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import FIXTURES
from scipy import stats

from evaluation_pipeline.analysis.effects import EFFECT_COLUMNS
from evaluation_pipeline.analysis.staggered import ATT_GT_COLUMNS, staggered_att
from evaluation_pipeline.errors import AnalysisError

MPDTA = FIXTURES / "did" / "mpdta.csv"
CSDID_CONTROL = {"never": "nevertreated", "notyet": "notyettreated"}


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(MPDTA)


def _csdid(data, control, anticipation=0, bstrap=False, cband=False):
    """csdid's ATT(g,t) and its simple/dynamic/group aggregations (it prints; keep it quiet)."""
    from csdid.att_gt import ATTgt

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = ATTgt(yname="lemp", gname="first.treat", idname="countyreal", tname="year",
                  data=data, control_group=CSDID_CONTROL[control], anticipation=anticipation,
                  biters=999, cband=cband)
        m.fit(est_method="reg", bstrap=bstrap)
        res = m.results
        att_gt = pd.DataFrame({"group": res["group"], "time": res["year"],
                               "att": res["att"], "se": res["se"]})
        aggs = {}
        for kind in ("simple", "dynamic", "group"):
            m.aggte(typec=kind, bstrap=bstrap, cband=cband)
            aggs[kind] = m.atte
    return att_gt, aggs


def _by_contrast(effects):
    return {e.contrast: e for e in effects}


# -- 1. the reference implementation on the same data ------------------------------------

EST_TOL = 1e-6  # absolute, point estimates
SE_TOL = 1e-6  # relative, analytic standard errors


def _assert_aggregations_match(ours, ref):
    """simple, dynamic (pre-treatment event times included) and by-group Effects against
    csdid's aggte(typec=...) on the same data: estimates to EST_TOL, SEs to SE_TOL."""
    # simple (overall ATT: post cells weighted by cohort share, SE with the weights' wif)
    assert ours.simple.estimate == pytest.approx(ref["simple"]["overall_att"], rel=0,
                                                 abs=EST_TOL)
    assert ours.simple.se == pytest.approx(ref["simple"]["overall_se"], rel=SE_TOL, abs=0)

    # dynamic (event study), pre-treatment event times included
    dyn = _by_contrast(ours.dynamic)
    ref_e = ref["dynamic"]
    assert len(dyn) == len(ref_e["egt"])
    for e, est, se in zip(ref_e["egt"], ref_e["att_egt"], np.ravel(ref_e["se_egt"]), strict=True):
        mine = dyn[f"event time {int(e)}"]
        assert mine.estimate == pytest.approx(est, rel=0, abs=EST_TOL)
        assert mine.se == pytest.approx(se, rel=SE_TOL, abs=0)

    # by group
    grp = _by_contrast(ours.by_group)
    ref_g = ref["group"]
    assert len(grp) == len(ref_g["egt"])
    for g, est, se in zip(ref_g["egt"], ref_g["att_egt"], np.ravel(ref_g["se_egt"]), strict=True):
        mine = grp[f"group {int(g)}"]
        assert mine.estimate == pytest.approx(est, rel=0, abs=EST_TOL)
        assert mine.se == pytest.approx(se, rel=SE_TOL, abs=0)
        assert mine.group == str(int(g))


@pytest.mark.parametrize("control", ["never", "notyet"])
def test_matches_csdid_on_mpdta(mpdta, control):
    ours = staggered_att(mpdta, "lemp", "countyreal", "year", "first.treat", control=control)
    ref_gt, ref = _csdid(mpdta, control)

    # ATT(g,t): the same 12 cells, estimates to 1e-6 absolute, analytic SEs to 1e-6 relative
    assert len(ours.att_gt) == len(ref_gt) == 12
    m = ours.att_gt.merge(ref_gt, on=["group", "time"], suffixes=("", "_ref"), validate="1:1")
    assert len(m) == 12
    np.testing.assert_allclose(m["att"], m["att_ref"], rtol=0, atol=EST_TOL)
    np.testing.assert_allclose(m["se"], m["se_ref"], rtol=SE_TOL, atol=0)
    assert (ours.att_gt["note"] == "").all()

    assert (len(ours.dynamic), len(ours.by_group)) == (7, 3)
    _assert_aggregations_match(ours, ref)


@pytest.mark.parametrize("anticipation", [1, 2])
def test_anticipation_base_periods_match_csdid(mpdta, anticipation):
    """With anticipation a, periods t >= g - a use the last period before g - a as base."""
    ours = staggered_att(mpdta, "lemp", "countyreal", "year", "first.treat",
                         control="notyet", anticipation=anticipation, bootstrap=0)
    ref_gt, ref = _csdid(mpdta, "notyet", anticipation=anticipation)
    m = ours.att_gt.merge(ref_gt, on=["group", "time"], suffixes=("", "_ref"), validate="1:1")
    assert len(m) == len(ref_gt) == len(ours.att_gt)
    np.testing.assert_allclose(m["att"], m["att_ref"], rtol=0, atol=EST_TOL)
    np.testing.assert_allclose(m["se"], m["se_ref"], rtol=SE_TOL, atol=0)
    # cohort 2004 is treated (net of anticipation) in the first period 2003: dropped
    assert 2004 not in set(ours.att_gt["group"])
    assert "treated in the first period dropped" in ours.simple.note
    # the aggregations over the cells that remain (cohorts 2006, 2007)
    _assert_aggregations_match(ours, ref)


def test_uniform_band_critical_value_close_to_csdid(mpdta):
    """The simultaneous band's critical value against csdid's (both multiplier bootstraps).

    Bootstrap noise: over 20 seeds on mpdta, csdid's critical value (999 draws, t-statistics
    scaled by the bootstrap IQR SE) was 2.554 (sd 0.044) and ours (999 draws, scaled by the
    analytic SE) 2.588 (sd 0.047); a difference of one draw each has sd ~0.065 around a 0.03
    offset, so 0.25 is about 3.5 sd.
    """
    np.random.seed(12345)  # csdid draws from numpy's global generator
    _, ref = _csdid(mpdta, "never", bstrap=True, cband=True)
    ours = staggered_att(mpdta, "lemp", "countyreal", "year", "first.treat")
    assert ours.crit_value == pytest.approx(ref["dynamic"]["crit_val_egt"], abs=0.25)
    z = stats.norm.ppf(0.975)
    assert ours.crit_value > z
    band = ours.dynamic_band.set_index("event_time")
    for e in ours.dynamic:
        row = band.loc[int(e.contrast.split()[-1])]
        assert row.band_low < e.ci_low < e.estimate < e.ci_high < row.band_high
        assert row.band_high - e.estimate == pytest.approx(ours.crit_value * e.se)
        assert "simultaneous 95% band" in e.note and "Rademacher" in e.note
    again = staggered_att(mpdta, "lemp", "countyreal", "year", "first.treat")
    assert again.crit_value == ours.crit_value  # seeded
    other = staggered_att(mpdta, "lemp", "countyreal", "year", "first.treat", seed=7)
    assert other.crit_value != ours.crit_value
    assert other.dynamic[0].ci_low == ours.dynamic[0].ci_low  # pointwise CIs are analytic


# -- 2. a hand computation --------------------------------------------------------------


def _toy() -> pd.DataFrame:
    y = {  # unit: (first treated, outcomes in periods 1, 2, 3); integers keep means exact
        "a": (2, [10, 13, 15]), "b": (2, [12, 16, 17]),
        "c": (3, [5, 6, 10]), "d": (3, [7, 9, 12]),
        "e": (0, [3, 4, 6]), "f": (np.nan, [1, 3, 4]),
    }
    return pd.DataFrame([(u, t, g, v) for u, (g, ys) in y.items()
                         for t, v in zip([1, 2, 3], ys, strict=True)],
                        columns=["unit", "period", "first", "y"])


def test_att_gt_equals_hand_computed_group_means():
    toy = _toy()
    mean = toy.groupby(["unit", "period"]).y.first().unstack()

    def did(treated, controls, t, base):
        tr, co = mean.loc[treated], mean.loc[controls]
        return (tr[t].mean() - tr[base].mean()) - (co[t].mean() - co[base].mean())

    g2, g3, never = ["a", "b"], ["c", "d"], ["e", "f"]
    hand = {
        "never": {(2, 2): did(g2, never, 2, 1), (2, 3): did(g2, never, 3, 1),
                  (3, 2): did(g3, never, 2, 1), (3, 3): did(g3, never, 3, 2)},
        # not yet treated: cohort 3 is a control for cohort 2 in period 2 only
        "notyet": {(2, 2): did(g2, never + g3, 2, 1), (2, 3): did(g2, never, 3, 1),
                   (3, 2): did(g3, never, 2, 1), (3, 3): did(g3, never, 3, 2)},
    }
    for control, cells in hand.items():
        r = staggered_att(toy, "y", "unit", "period", "first", control=control,
                          bootstrap=0, min_group_size=2)
        got = r.att_gt.set_index(["group", "time"])
        assert len(got) == 4
        for (g, t), value in cells.items():
            assert got.loc[(g, t), "att"] == value  # exact
        assert got.loc[(2, 2), "n_control"] == (4 if control == "notyet" else 2)
        post = [cells[(2, 2)], cells[(2, 3)], cells[(3, 3)]]
        assert r.simple.estimate == pytest.approx(np.mean(post))  # equal group sizes
        dyn = _by_contrast(r.dynamic)
        assert dyn["event time 0"].estimate == pytest.approx((cells[(2, 2)] + cells[(3, 3)]) / 2)
        assert dyn["event time -1"].estimate == cells[(3, 2)]
        assert _by_contrast(r.by_group)["group 2"].estimate == pytest.approx(
            (cells[(2, 2)] + cells[(2, 3)]) / 2)
    assert hand["never"][(2, 2)] == 2.0


# -- 3. and 4. planted effects -------------------------------------------------------------


def _simulate(seed, n_units, effect, years=range(2010, 2021), cohorts=(2013, 2015, 2017),
              noise=1.0):
    """Staggered panel: 3 cohorts + never-treated (equal shares), unit and year effects,
    ``effect(e)`` added from the first treated year on (e = year - cohort)."""
    rng = np.random.default_rng(seed)
    years = np.array(list(years))
    first = np.resize(np.array([0, *cohorts]), n_units)
    unit_fe = rng.normal(0, 3, n_units)
    year_fe = np.cumsum(rng.normal(0.3, 0.5, len(years)))
    rows = []
    for i in range(n_units):
        for j, t in enumerate(years):
            e = t - first[i]
            y = 50 + unit_fe[i] + year_fe[j] + rng.normal(0, noise)
            if first[i] > 0 and e >= 0:
                y += effect(e)
            rows.append((f"k{i:03d}", t, first[i], y))
    return pd.DataFrame(rows, columns=["kommune", "year", "join_year", "y"])


@pytest.mark.parametrize("control", ["never", "notyet"])
def test_planted_constant_effect_is_recovered(control):
    p = _simulate(20131, 60, lambda e: 2.0)
    r = staggered_att(p, "y", "kommune", "year", "join_year", control=control)
    assert r.simple.ci_low < 2.0 < r.simple.ci_high
    assert r.simple.n_treated == 45
    pre = [e for e in r.dynamic if int(e.contrast.split()[-1]) < 0]
    assert len(pre) == 6
    for e in pre:
        assert e.ci_low < 0 < e.ci_high, e
        assert abs(e.estimate) < 1.0


def test_heterogeneous_dynamic_effects_are_recovered():
    def path(e):  # grows with exposure
        return 1.0 + 0.5 * e

    p = _simulate(20131, 200, path, noise=0.5)
    r = staggered_att(p, "y", "kommune", "year", "join_year")
    band = r.dynamic_band.set_index("event_time")
    dyn = _by_contrast(r.dynamic)
    # e runs from 2011 - 2017 (the first period is only a base) to 2020 - 2013
    assert list(band.index) == list(range(-6, 8))
    for e in range(-6, 8):
        truth = path(e) if e >= 0 else 0.0
        est = dyn[f"event time {e}"]
        assert band.loc[e, "band_low"] < truth < band.loc[e, "band_high"], est
        assert est.estimate == pytest.approx(truth, abs=0.3)
    # the overall ATT is the size-weighted mean of the post cells, not one event time's effect
    post = r.att_gt[r.att_gt.time >= r.att_gt.group]
    truth_simple = np.mean([path(t - g) for g, t in zip(post.group, post.time, strict=True)])
    assert r.simple.ci_low < truth_simple < r.simple.ci_high


# -- 5. degenerate cases ------------------------------------------------------------------


def test_one_unit_group_is_nan_with_reason():
    p = _simulate(3, 40, lambda e: 2.0)
    lone = p.kommune == "k001"  # cohort 2013 gets a single unit
    p.loc[p.join_year == 2013, "join_year"] = 2015
    p.loc[lone, "join_year"] = 2013
    r = staggered_att(p, "y", "kommune", "year", "join_year", min_group_size=2)
    cells = r.att_gt[r.att_gt.group == 2013]
    assert len(cells) == 10 and cells.att.isna().all() and cells.se.isna().all()
    assert cells.note.str.contains("group 2013 has 1 unit").all()
    assert cells.note.str.contains("min_group_size=2").all()
    g2013 = _by_contrast(r.by_group)["group 2013"]
    assert math.isnan(g2013.estimate) and "min_group_size=2" in g2013.note
    assert math.isfinite(r.simple.estimate) and "left out ATT(2013,2013)" in r.simple.note
    only_2013 = _by_contrast(r.dynamic)["event time 7"]  # only cohort 2013 reaches e = 7
    assert math.isnan(only_2013.estimate) and "fewer than min_group_size" in only_2013.note
    assert math.isnan(r.dynamic_band.set_index("event_time").loc[7, "band_low"])
    ok = r.att_gt[r.att_gt.group != 2013]
    assert ok.att.notna().all() and (ok.note == "").all()
    # with min_group_size=1 the single unit is estimated
    r1 = staggered_att(p, "y", "kommune", "year", "join_year", min_group_size=1, bootstrap=0)
    assert r1.att_gt[r1.att_gt.group == 2013].att.notna().all()


def test_no_never_treated_units_with_never_control():
    p = _simulate(5, 40, lambda e: 2.0)
    p = p[p.join_year > 0]
    r = staggered_att(p, "y", "kommune", "year", "join_year", control="never")
    assert r.att_gt.att.isna().all()
    assert (r.att_gt.note == "no never-treated comparison units").all()
    assert (r.att_gt.n_control == 0).all()
    for e in [r.simple, *r.dynamic, *r.by_group]:
        assert math.isnan(e.estimate) and "no never-treated comparison units" in e.note
    assert math.isnan(r.crit_value)
    assert len(r.to_frame()) == 1 + len(r.dynamic) + len(r.by_group)
    # not-yet-treated controls still identify the early cells; the last cohort has none
    ny = staggered_att(p, "y", "kommune", "year", "join_year", control="notyet")
    last = ny.att_gt[(ny.att_gt.group == 2017) & (ny.att_gt.time >= 2017)]
    assert last.att.isna().all()
    assert (last.note == "no never- or not-yet-treated comparison units").all()
    assert ny.att_gt[(ny.att_gt.group == 2013) & (ny.att_gt.time < 2017)].att.notna().all()
    assert ny.simple.ci_low < 2.0 < ny.simple.ci_high


def test_unbalanced_panel_is_an_error_naming_unit_and_period():
    p = _simulate(1, 20, lambda e: 1.0)
    gap = p.drop(p[(p.kommune == "k007") & (p.year == 2014)].index)
    with pytest.raises(AnalysisError, match=r"unit k007 has no row for year 2014.*balanced"):
        staggered_att(gap, "y", "kommune", "year", "join_year")


def test_missing_outcome_is_an_error():
    p = _simulate(1, 20, lambda e: 1.0)
    p.loc[(p.kommune == "k003") & (p.year == 2012), "y"] = np.nan
    with pytest.raises(AnalysisError, match=r"missing y for unit k003 in year 2012"):
        staggered_att(p, "y", "kommune", "year", "join_year")


def test_other_input_errors():
    p = _simulate(1, 20, lambda e: 1.0)
    with pytest.raises(AnalysisError, match="more than one row"):
        staggered_att(pd.concat([p, p.iloc[[5]]]), "y", "kommune", "year", "join_year")
    moved = p.copy()
    moved.loc[(moved.kommune == "k001") & (moved.year == 2020), "join_year"] = 2019
    with pytest.raises(AnalysisError, match="changes over time for unit k001"):
        staggered_att(moved, "y", "kommune", "year", "join_year")
    with pytest.raises(AnalysisError, match="control must be"):
        staggered_att(p, "y", "kommune", "year", "join_year", control="later")
    with pytest.raises(AnalysisError, match="not in the panel"):
        staggered_att(p, "lemp", "kommune", "year", "join_year")


def test_never_treated_as_zero_or_nan_and_late_cohorts():
    p = _simulate(2, 40, lambda e: 1.0)
    r0 = staggered_att(p, "y", "kommune", "year", "join_year", bootstrap=0)
    nan = p.assign(join_year=p.join_year.replace(0, np.nan))
    rn = staggered_att(nan, "y", "kommune", "year", "join_year", bootstrap=0)
    pd.testing.assert_frame_equal(r0.att_gt, rn.att_gt)
    # a cohort joining after the last period is never treated within the panel
    late = p.assign(join_year=p.join_year.replace(0, 2030))
    rl = staggered_att(late, "y", "kommune", "year", "join_year", bootstrap=0)
    pd.testing.assert_frame_equal(r0.att_gt, rl.att_gt)
    assert "first treated after the last period counted as never treated" in rl.simple.note
    # registry_panel's dtypes: nullable Int64 years, Float64 join years with <NA> for never
    nullable = p.astype({"year": "Int64", "y": "Float64"}).assign(
        join_year=p.join_year.replace(0, np.nan).astype("Float64"))
    rr = staggered_att(nullable, "y", "kommune", "year", "join_year", bootstrap=0)
    pd.testing.assert_frame_equal(r0.att_gt, rr.att_gt)


# -- the result shape and speed -----------------------------------------------------------


def test_result_shape(mpdta):
    r = staggered_att(mpdta, "lemp", "countyreal", "year", "first.treat", control="notyet")
    assert list(r.att_gt.columns) == ATT_GT_COLUMNS
    frame = r.to_frame()
    assert list(frame.columns) == EFFECT_COLUMNS
    assert len(frame) == 1 + 7 + 3
    assert (frame.source == "registry").all() and (frame.outcome == "lemp").all()
    assert frame.estimator.str.contains("Callaway-Sant'Anna").all()
    assert frame.estimator.str.contains("not-yet-treated controls").all()
    assert r.simple.n_treated == 191 and r.simple.n_obs == 2500
    assert r.simple.p_value == pytest.approx(
        2 * stats.norm.sf(abs(r.simple.estimate / r.simple.se)))
    z = stats.norm.ppf(0.975)
    assert r.simple.ci_high - r.simple.estimate == pytest.approx(z * r.simple.se)
    assert r.dynamic[0].contrast == "event time -3" and "placebo" in r.dynamic[0].note


def test_357_units_21_periods_5_groups_recovers_the_planted_effect():
    """National size (357 kommuner × 21 years, 5 cohorts): the planted ATT of 2 is recovered
    with both control groups (its speed is measured in benchmarks/micro.py)."""
    rng = np.random.default_rng(0)
    first = rng.choice([0, 2004, 2008, 2011, 2014, 2017], size=357)
    years = np.arange(2000, 2021)
    p = pd.DataFrame({"unit": np.repeat(np.arange(357), 21), "year": np.tile(years, 357),
                      "g": np.repeat(first, 21)})
    p["y"] = rng.normal(size=len(p)) + 2.0 * ((p.g > 0) & (p.year >= p.g))
    for control in ("never", "notyet"):
        r = staggered_att(p, "y", "unit", "year", "g", control=control, bootstrap=0)
        assert len(r.att_gt) == 5 * 20
        assert r.simple.ci_low < 2.0 < r.simple.ci_high
        assert r.simple.estimate == pytest.approx(2.0, abs=0.1)
    r = staggered_att(p, "y", "unit", "year", "g")
    post = [e for e in r.dynamic if int(e.contrast.rsplit(" ", 1)[1]) >= 0]
    assert all(e.ci_low < 2.0 < e.ci_high for e in post)
