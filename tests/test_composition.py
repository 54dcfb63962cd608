"""Composition of the survey waves: response rates, retention, role mix, weights, item
distributions."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation_pipeline.analysis.composition import (
    CompositionWarning,
    item_distributions,
    panel_retention,
    parse_invited,
    poststratification_cells,
    poststratification_weights,
    response_rates,
    role_mix,
    study_groups,
)
from evaluation_pipeline.analysis.scales import score_scales
from evaluation_pipeline.errors import AnalysisError
from evaluation_pipeline.study import Scale, Study

EXAMPLE = Path(__file__).parents[1] / "examples" / "sunnmore"
COLS = ["respondent_id", "wave", "kommune", "role", "item", "value"]


def _answers(people, items=("a", "b"), values=None):
    """people: (id, wave, kommune, role); every person answers every item (value 3 unless
    ``values[(id, wave)]`` gives the list)."""
    rows = []
    for pid, wave, kommune, role in people:
        vals = (values or {}).get((pid, wave), [3.0] * len(items))
        for item, v in zip(items, vals, strict=True):
            rows.append((pid, wave, kommune, role, item, v))
    return pd.DataFrame(rows, columns=COLS)


TINY = [
    ("r1", "w2012", "1508", "skole"), ("r2", "w2012", "1508", "skole"),
    ("r3", "w2012", "1508", "NAV"), ("r4", "w2012", "1580", "skole"),
    ("r1", "w2016", "1508", "skole"), ("r5", "w2016", "1508", "NAV"),
    ("r6", "w2016", "1508", "NAV"), ("r4", "w2016", "1508", "skole"),
    ("r7", "w2016", "1580", "PPT"),
]


@pytest.fixture(scope="module")
def study() -> Study:
    return Study.load(EXAMPLE)


@pytest.fixture(scope="module")
def example_answers(study):
    from evaluation_pipeline.ingest import read_survey

    return pd.concat(
        [read_survey(study.wave_file(w), wave=w) for w in study.wave_ids], ignore_index=True
    )


def _with_invited(study: Study, invited: dict[str, dict[str, int]]) -> Study:
    waves = [w.model_copy(update={"invited": invited.get(w.id)}) for w in study.survey.waves]
    return study.model_copy(update={"survey": study.survey.model_copy(update={"waves": waves})})


# ---- response rates ----------------------------------------------------------------------


def test_response_rates_by_hand(study):
    s = _with_invited(study, {
        "w2012": {"1508": 10, "1580/skole": 4, "1580/NAV": 2},
        "w2016": {"1508/skole": 5, "1508/NAV": 4, "1580/skole": 3},
    })
    with pytest.warns(CompositionWarning, match=r"1580: role\(s\) \['PPT'\]"):
        out = response_rates(_answers(TINY), s)
    t = out.set_index(["wave", "level", "kommune", "role"])
    # w2012: 1508 has 2 skole + 1 NAV of 10 invited; 1580 1 skole of 4, 0 NAV of 2
    k1508 = t.loc[("w2012", "kommune", "1508", "all")]
    assert (k1508["respondents"], k1508["invited"]) == (3, 10)
    assert t.loc[("w2012", "kommune", "1508", "all"), "rate"] == pytest.approx(0.3)
    assert t.loc[("w2012", "kommune_role", "1508", "skole"), "respondents"] == 2
    assert np.isnan(t.loc[("w2012", "kommune_role", "1508", "skole"), "invited"])
    assert t.loc[("w2012", "kommune_role", "1580", "NAV"), ["respondents", "invited"]].tolist() == [
        0, 2,
    ]
    assert t.loc[("w2012", "kommune_role", "1580", "NAV"), "rate"] == 0.0
    # 1580's total is the sum of its role keys (every role that answered has one): 4 + 2
    assert t.loc[("w2012", "kommune", "1580", "all"), "invited"] == 6
    assert t.loc[("w2012", "wave", "all", "all"), ["respondents", "invited"]].tolist() == [4, 16]
    assert t.loc[("w2012", "wave", "all", "all"), "rate"] == pytest.approx(4 / 16)
    # w2016: 1508 = 5 + 4 invited, 4 answered (2 skole, 2 NAV); 1580: PPT answered but only
    # skole has a count -> the kommune total (and so the wave total) is unknown
    assert t.loc[("w2016", "kommune", "1508", "all"), "rate"] == pytest.approx(4 / 9)
    assert t.loc[("w2016", "kommune_role", "1508", "NAV"), "rate"] == pytest.approx(2 / 4)
    assert np.isnan(t.loc[("w2016", "kommune", "1580", "all"), "invited"])
    assert np.isnan(t.loc[("w2016", "wave", "all", "all"), "rate"])
    # every study kommune × declared role is listed
    per = out[(out["wave"] == "w2012") & (out["level"] == "kommune_role")]
    assert len(per) == len(study.kommuner) * len(study.survey.roles)
    assert per["respondents"].sum() == 4


def test_response_rates_without_invited_and_bad_keys(study, example_answers):
    out = response_rates(example_answers, study)
    waves = out[out["level"] == "wave"].set_index("wave")
    assert waves["respondents"].to_dict() == {
        w: example_answers.loc[example_answers["wave"] == w, "respondent_id"].nunique()
        for w in study.wave_ids
    }
    assert out["invited"].isna().all() and out["rate"].isna().all()
    kom = out[out["level"] == "kommune"].groupby("wave")["respondents"].sum()
    assert kom.to_dict() == waves["respondents"].to_dict()
    roles = out[out["level"] == "kommune_role"].groupby("wave")["respondents"].sum()
    assert roles.to_dict() == waves["respondents"].to_dict()
    with pytest.raises(AnalysisError, match="'9999'.*not in the study"):
        parse_invited({"9999": 3}, kommuner=study.kommuner, roles=None)
    with pytest.raises(AnalysisError, match="'1508/prest'.*not in survey.roles"):
        parse_invited({"1508/prest": 3}, kommuner=study.kommuner, roles=study.survey.roles)
    with pytest.raises(AnalysisError, match="'x-1'"):
        parse_invited({"x-1": 3}, kommuner=study.kommuner, roles=None)
    assert parse_invited({"301": 5}, kommuner=["0301"], roles=None) == ({"0301": 5}, {})


# ---- panel retention ---------------------------------------------------------------------


def test_panel_retention_by_hand(study):
    out = panel_retention(_answers(TINY), study).set_index(["followup", "kommune"])
    # baseline r1..r4; r1 and r4 answered w2016 (r4 moved from 1580 to 1508)
    assert out.loc[("w2016", "all"), ["n_baseline", "n_followup", "retained", "moved"]].tolist() \
        == [4, 5, 2, 1]
    assert out.loc[("w2016", "all"), "share_of_baseline"] == pytest.approx(0.5)
    assert out.loc[("w2016", "1508"), ["n_baseline", "retained", "panel_in_followup"]].tolist() \
        == [3, 1, 2]
    assert out.loc[("w2016", "1508"), "share_of_followup"] == pytest.approx(2 / 4)
    assert out.loc[("w2016", "1580"), ["retained", "moved"]].tolist() == [1, 1]
    assert np.isnan(out.loc[("w2016", "1505"), "share_of_baseline"])  # nobody at baseline


def test_panel_retention_on_the_example_study(study, example_answers):
    out = panel_retention(example_answers, study)
    ids = {w: set(example_answers.loc[example_answers["wave"] == w, "respondent_id"])
           for w in study.wave_ids}
    base = ids["w2012"]
    overall = out[out["kommune"] == "all"].set_index("followup")
    for w, planted in (("w2016", 0.30), ("w2019", 0.20)):
        both = base & ids[w]
        assert overall.loc[w, "retained"] == len(both)
        assert overall.loc[w, "share_of_baseline"] == pytest.approx(len(both) / len(base))
        assert overall.loc[w, "share_of_baseline"] == pytest.approx(planted, abs=0.03)
    # per kommune the retained counts add up to the overall count
    per = out[out["kommune"] != "all"].groupby("followup")["retained"].sum()
    assert per.to_dict() == overall["retained"].to_dict()


def _retention_by_loops(answers, study):
    """Panel retention counted respondent by respondent with Python sets (the reference for
    the vectorised join): {(followup, kommune): (n_baseline, n_followup, retained, moved,
    panel_in_followup)}."""
    resp = answers[["respondent_id", "wave", "kommune"]].drop_duplicates()
    where = {w: dict(zip(g["respondent_id"], g["kommune"], strict=True))
             for w, g in resp.groupby("wave")}
    base = where[study.baseline_wave]
    out = {}
    for w in study.followup_waves:
        fol = where.get(w, {})
        both = set(base) & set(fol)
        out[(w, "all")] = (len(base), len(fol), len(both),
                           sum(base[i] != fol[i] for i in both), len(both))
        for k in study.kommuner:
            bk = {i for i, v in base.items() if v == k}
            fk = {i for i, v in fol.items() if v == k}
            ret = bk & set(fol)
            out[(w, k)] = (len(bk), len(fk), len(ret), sum(fol[i] != k for i in ret),
                           len(fk & set(base)))
    return out


def test_panel_retention_equals_a_respondent_by_respondent_count(study):
    """Random panel with movers between kommuner: every count equals the loop over
    respondents."""
    rng = np.random.default_rng(11)
    kommuner = list(study.kommuner)
    people = []
    for pid in range(600):
        home = kommuner[rng.integers(len(kommuner))]
        for wave in study.wave_ids:
            if rng.random() < 0.55:
                k = home if rng.random() < 0.85 else kommuner[rng.integers(len(kommuner))]
                people.append((f"r{pid}", wave, k, "teacher"))
    answers = _answers(people)
    out = panel_retention(answers, study).set_index(["followup", "kommune"])
    ref = _retention_by_loops(answers, study)
    cols = ["n_baseline", "n_followup", "retained", "moved", "panel_in_followup"]
    assert sum(v[3] for v in ref.values()) > 0  # there are movers
    for key, counts in ref.items():
        assert tuple(out.loc[key, cols].tolist()) == counts, key


# ---- role mix ----------------------------------------------------------------------------


def test_role_mix_by_hand(study):
    out = role_mix(_answers(TINY), study_groups(study))
    t = out.set_index(["wave", "level", "unit", "role"])
    assert t.loc[("w2012", "wave", "all", "skole"), ["respondents", "share"]].tolist() == [3, 0.75]
    assert t.loc[("w2012", "wave", "all", "PPT"), "respondents"] == 0  # listed with 0
    assert t.loc[("w2016", "kommune", "1508", "NAV"), "share"] == pytest.approx(0.5)
    assert t.loc[("w2016", "group", "network", "PPT"), "share"] == pytest.approx(0.2)
    sums = out.groupby(["wave", "level", "unit"])["share"].sum()
    np.testing.assert_allclose(sums, 1.0)
    assert set(out["level"]) == {"wave", "group", "kommune"}
    assert "group" not in set(role_mix(_answers(TINY))["level"])


# ---- post-stratification -----------------------------------------------------------------


def _weighted_mix(resp: pd.DataFrame, wave: str, cols=("role",)) -> pd.Series:
    sub = resp[resp["wave"] == wave]
    return sub.groupby(list(cols))["weight"].sum() / sub["weight"].sum()


def test_reweighted_role_mix_equals_baseline_on_the_example(study, example_answers):
    a = example_answers.copy()
    a["weight"] = poststratification_weights(a, "w2012")
    resp = a.drop_duplicates(["respondent_id", "wave"])
    assert (resp.loc[resp["wave"] == "w2012", "weight"] == 1).all()
    base = resp[resp["wave"] == "w2012"]["role"].value_counts(normalize=True).sort_index()
    for w in study.followup_waves:
        raw = resp[resp["wave"] == w]["role"].value_counts(normalize=True).sort_index()
        assert (raw - base).abs().max() > 0.01  # the mix did drift
        np.testing.assert_allclose(_weighted_mix(resp, w).sort_index(), base, rtol=0, atol=1e-12)
        # weights sum to the wave's respondents
        n_wave = (resp["wave"] == w).sum()
        assert resp.loc[resp["wave"] == w, "weight"].sum() == pytest.approx(n_wave)
    # every row of a respondent carries the same weight
    assert a.groupby(["respondent_id", "wave"])["weight"].nunique().max() == 1

    # per network / comparison group
    g = a.assign(weight=poststratification_weights(a, "w2012", groups=study_groups(study)))
    g["group"] = g["kommune"].map(study_groups(study))
    resp = g.drop_duplicates(["respondent_id", "wave"])
    for grp in ("network", "comparison"):
        r = resp[resp["group"] == grp]
        base = r[r["wave"] == "w2012"]["role"].value_counts(normalize=True).sort_index()
        for w in study.followup_waves:
            np.testing.assert_allclose(_weighted_mix(r, w).sort_index(), base, atol=1e-12)


def test_weights_on_scale_scores_and_a_weighted_mean_by_hand():
    # baseline: 2 skole, 2 NAV (50/50); follow-up: 3 skole, 1 NAV (75/25)
    people = [
        ("b1", "w1", "1508", "skole"), ("b2", "w1", "1508", "skole"),
        ("b3", "w1", "1508", "NAV"), ("b4", "w1", "1508", "NAV"),
        ("f1", "w2", "1508", "skole"), ("f2", "w2", "1508", "skole"),
        ("f3", "w2", "1508", "skole"), ("f4", "w2", "1508", "NAV"),
    ]
    values = {("f1", "w2"): [4.0, 4.0], ("f2", "w2"): [5.0, 5.0], ("f3", "w2"): [3.0, 3.0],
              ("f4", "w2"): [1.0, 2.0]}
    answers = _answers(people, values=values)
    scores = score_scales(answers, {"s": Scale(items=["a", "b"], range=(1, 5))})
    scores["weight"] = poststratification_weights(scores, "w1")
    fu = scores[scores["wave"] == "w2"].set_index("respondent_id")
    # skole: 0.5 / 0.75 = 2/3 ; NAV: 0.5 / 0.25 = 2
    assert fu["weight"].to_dict() == pytest.approx({"f1": 2 / 3, "f2": 2 / 3, "f3": 2 / 3, "f4": 2})
    weighted = np.average(fu["score"], weights=fu["weight"])
    # by hand: skole mean (4 + 5 + 3) / 3 = 4, NAV 1.5; baseline mix 50/50 -> 2.75
    assert weighted == pytest.approx(0.5 * 4 + 0.5 * 1.5)
    assert fu["score"].mean() == pytest.approx((4 + 5 + 3 + 1.5) / 4)  # unweighted: 3.375


def test_roles_missing_in_one_wave_warn():
    people = [
        ("b1", "w1", "1508", "skole"), ("b2", "w1", "1508", "NAV"),
        ("b3", "w1", "1508", "politi"),
        ("f1", "w2", "1508", "skole"), ("f2", "w2", "1508", "NAV"), ("f3", "w2", "1508", "NAV"),
        ("f4", "w2", "1508", "BUP"),
    ]
    answers = _answers(people)
    with pytest.warns(CompositionWarning) as rec:
        w = poststratification_weights(answers, "w1")
    msgs = " | ".join(str(r.message) for r in rec)
    assert "politi" in msgs and "cannot be reweighted" in msgs
    assert "BUP" in msgs and "weight 0" in msgs
    per = answers.assign(weight=w).drop_duplicates(["respondent_id", "wave"]).set_index(
        "respondent_id")["weight"]
    assert per["f4"] == 0
    # skole and NAV: baseline 1/2 each among the common cells; follow-up shares 1/4, 2/4
    assert per["f1"] == pytest.approx(0.5 / 0.25)
    assert per["f2"] == pytest.approx(0.5 / 0.5)
    assert per[["f1", "f2", "f3", "f4"]].sum() == pytest.approx(4)
    with pytest.warns(CompositionWarning):
        cells = poststratification_cells(answers, "w1").set_index(["wave", "cell"])
    assert np.isnan(cells.loc[("w2", "politi"), "weight"])
    with pytest.raises(AnalysisError, match="baseline w0"):
        poststratification_weights(answers, "w0")


# ---- item distributions ------------------------------------------------------------------


def test_item_distributions_by_hand(study):
    people = [("r1", "w1", "1508", "skole"), ("r2", "w1", "1508", "NAV"),
              ("r3", "w1", "1505", "NAV"), ("r4", "w2", "1508", "skole")]
    values = {("r1", "w1"): [1.0, 5.0], ("r2", "w1"): [1.0, np.nan], ("r3", "w1"): [4.0, 2.0],
              ("r4", "w2"): [np.nan, np.nan]}
    answers = _answers(people, values=values)
    scale = Scale(items=["a", "b"], reverse=["b"], range=(1, 5))
    out = item_distributions(answers, {"s": scale})
    t = out.set_index(["wave", "item", "category"])
    assert t.loc[("w1", "a"), "count"].tolist() == [2, 0, 0, 1, 0]  # every category listed
    assert t.loc[("w1", "a"), "share"].tolist() == pytest.approx([2 / 3, 0, 0, 1 / 3, 0])
    # b is reverse-coded but counted as asked: 5 stays 5
    assert t.loc[("w1", "b"), "count"].tolist() == [0, 1, 0, 0, 1]
    assert (t.loc[("w1", "b"), "n_answered"].iloc[0], t.loc[("w1", "b"), "n_missing"].iloc[0]) \
        == (2, 1)
    assert bool(t.loc[("w1", "b"), "reversed"].iloc[0])
    assert t.loc[("w2", "a"), "n_missing"].iloc[0] == 1
    assert t.loc[("w2", "a"), "share"].isna().all()
    g = item_distributions(answers, {"s": scale}, groups=study_groups(study))
    gt = g.set_index(["wave", "group", "item", "category"])
    assert gt.loc[("w1", "network", "a"), "count"].tolist() == [2, 0, 0, 0, 0]
    assert gt.loc[("w1", "comparison", "a"), "count"].tolist() == [0, 0, 0, 1, 0]
    bad = answers.copy()
    bad.loc[0, "value"] = 2.5
    with pytest.raises(AnalysisError, match="not a category 1-5"):
        item_distributions(bad, {"s": scale})
    with pytest.raises(AnalysisError, match="not in the groups mapping"):
        item_distributions(answers, {"s": scale}, groups={"1508": "network"})


def test_item_distribution_shares_sum_to_one_on_the_example(study, example_answers):
    out = item_distributions(example_answers, study.survey.scales, groups=study_groups(study))
    n_items = sum(len(s.items) for s in study.survey.scales.values())
    assert len(out) == len(study.wave_ids) * 2 * n_items * 5
    sums = out.groupby(["wave", "group", "item"])["share"].sum()
    np.testing.assert_allclose(sums, 1.0, atol=1e-12)
    one = out.drop_duplicates(["wave", "group", "item"])
    n_resp = example_answers.assign(group=example_answers["kommune"].map(study_groups(study))) \
        .groupby(["wave", "group"])["respondent_id"].nunique()
    tot = (one["n_answered"] + one["n_missing"]).to_numpy()
    assert (tot == one.set_index(["wave", "group"]).index.map(n_resp).to_numpy()).all()
    # raw sam4 (reverse-coded) is asked the other way round: its mean is below the reversed one
    a = example_answers[(example_answers["item"] == "sam4") & (example_answers["wave"] == "w2012")]
    w1 = out[(out["item"] == "sam4") & (out["wave"] == "w2012")]
    raw_mean = (w1["category"] * w1["count"]).sum() / w1["count"].sum()
    assert raw_mean == pytest.approx(a["value"].mean())
