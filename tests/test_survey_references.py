"""Survey statistics against references written or published outside this library.

- ``adjust_p(method="fdr_bh")``: the Benjamini & Hochberg (1995) step-up written out by hand on
  a small vector with ties and missing p-values.
- ``hedges_g_av`` / ``hedges_g``: the paired movie-rating example of Lakens (2013),
  "Calculating and reporting effect sizes to facilitate cumulative science: a practical primer
  for t-tests and ANOVAs", *Frontiers in Psychology* 4:863, doi:10.3389/fpsyg.2013.00863,
  Table 1 (ten people rate two movies). Published: Movie 1 mean 8.7 (SD 0.82), Movie 2 mean
  7.7 (SD 0.95); paired t(9) = 4.74, p = .001, 95% CI of the mean difference [0.52, 1.48],
  Cohen's d_z = 1.50; Cohen's d_av = 1.13 (equal to d_s, since n1 = n2), Hedges' g_av = 1.08;
  independent-samples t(18) = 2.52, p = .022, d_s = 1.13, Hedges' g_s = 1.08. (The data, t
  values, d_s, g_s and d_z are also the test data of the R package ``apa``,
  tests/testthat/test-cohens-d.R and test-t-apa.R.)
- ``scale_summary`` and ``wave_differences``: recomputed here from the raw answers with pandas
  and scipy (reverse coding, the share-answered rule, means, SDs, t intervals, Welch tests and
  Hedges' g by their textbook formulas), never through the library's own scoring.
"""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from evaluation_pipeline.analysis.effect_sizes import hedges_g, hedges_g_av
from evaluation_pipeline.analysis.effects import Effect
from evaluation_pipeline.analysis.multiplicity import adjust_p
from evaluation_pipeline.analysis.scales import scale_summary, score_scales
from evaluation_pipeline.analysis.survey import pre_post, wave_differences
from evaluation_pipeline.study import Scale

# --------------------------------------------------------------------------------------------
# Benjamini-Hochberg by hand


def _effects(ps):
    return [Effect(source="survey", outcome=f"o{i}", contrast="f - b", estimator="x",
                   estimate=0.0, p_value=p) for i, p in enumerate(ps)]


def test_fdr_bh_step_up_by_hand_with_ties_and_nan():
    ps = [0.01, 0.04, 0.03, 0.04, np.nan, 0.20, 0.005, np.nan]
    # The two NaN do not count: m = 6. Sorted, with rank i and p * m / i:
    #   0.005 (1) -> 0.030     0.01 (2) -> 0.030     0.03 (3) -> 0.060
    #   0.04  (4) -> 0.060     0.04 (5) -> 0.048     0.20 (6) -> 0.200
    # Step-up: the adjusted p of rank i is the smallest p * m / j over j >= i:
    #   rank 6: 0.20; rank 5: 0.048; ranks 4 and 3: min(0.06, 0.048) = 0.048;
    #   rank 2: min(0.03, 0.048) = 0.03; rank 1: 0.03.
    # The tied 0.04 (ranks 4 and 5) both get 0.048, whichever rank each took.
    hand = [0.03, 0.048, 0.048, 0.048, np.nan, 0.20, 0.03, np.nan]
    out = adjust_p(_effects(ps), "fdr_bh")
    got = [e.p_adjusted for e in out]
    np.testing.assert_allclose(got, hand, rtol=0, atol=1e-15)  # NaN where NaN
    assert [e.p_value for e in out] == pytest.approx(ps, nan_ok=True)
    # the decision at q = 0.05 by the step-up rule itself: the largest k with
    # p_(k) <= k q / m is k = 5 (0.04 <= 5 * 0.05 / 6 = 0.0417; 0.20 > 0.05), so the five
    # smallest are rejected -- exactly those with an adjusted p <= 0.05
    assert [p <= 0.05 for p in got] == [True, True, True, True, False, False, True, False]


def test_fdr_bh_family_of_one_and_all_missing():
    assert adjust_p(_effects([0.2]), "fdr_bh")[0].p_adjusted == 0.2
    assert all(np.isnan(e.p_adjusted) for e in adjust_p(_effects([np.nan, np.nan]), "fdr_bh"))
    # equal p-values: p * m / m for all of them
    assert [e.p_adjusted for e in adjust_p(_effects([0.03] * 3), "fdr_bh")] == pytest.approx(
        [0.03] * 3, abs=1e-15)


# --------------------------------------------------------------------------------------------
# Hedges' g_av: Lakens (2013), Table 1

MOVIE_1 = np.array([9, 7, 8, 9, 8, 9, 9, 10, 9, 9], dtype=float)
MOVIE_2 = np.array([9, 6, 7, 8, 7, 9, 8, 8, 8, 7], dtype=float)


def _j(df):
    return 1 - 3 / (4 * df - 1)


def test_lakens_2013_table_1_as_published():
    """The data are the published ones: their summaries and tests round to the paper's."""
    assert (MOVIE_1.mean(), MOVIE_2.mean()) == (8.7, 7.7)
    assert (round(MOVIE_1.std(ddof=1), 2), round(MOVIE_2.std(ddof=1), 2)) == (0.82, 0.95)
    paired = stats.ttest_rel(MOVIE_1, MOVIE_2)
    assert round(paired.statistic, 2) == 4.74 and round(paired.pvalue, 3) == 0.001
    d = MOVIE_1 - MOVIE_2
    assert round(d.mean() / d.std(ddof=1), 2) == 1.50  # d_z
    indep = stats.ttest_ind(MOVIE_1, MOVIE_2)
    assert round(indep.statistic, 2) == 2.52 and round(indep.pvalue, 3) == 0.022


def test_hedges_g_av_on_lakens_2013_movies():
    g, lo, hi = hedges_g_av(MOVIE_1, MOVIE_2)
    # published d_av = 1.13: the mean difference over the average of the two SDs
    d_av = g / _j(10 - 1)
    assert round(d_av, 2) == 1.13
    s_av = (MOVIE_1.std(ddof=1) + MOVIE_2.std(ddof=1)) / 2
    assert d_av == pytest.approx(1.0 / s_av, rel=1e-12)
    # Hedges' correction: this library uses J(n - 1) for n pairs (Borenstein et al. 2009,
    # p. 27; documented in hedges_g_av), J(9) = 32/35. Lakens (2013) applies the
    # between-subjects factor on n1 + n2 = 20 observations, 1 - 3 / (4 * 20 - 9), which gives
    # the published g_av = 1.08 from the same d_av; with J(9) the value is 1.03.
    assert round(d_av * (1 - 3 / (4 * 20 - 9)), 2) == 1.08
    assert g == pytest.approx(1.0 / s_av * 32 / 35, rel=1e-12)
    assert round(g, 2) == 1.03


def test_pre_post_on_lakens_2013_movies_reports_the_published_paired_test():
    """Ten people, two ratings each: the paired analysis (10 pairs = MIN_PAIRS)."""
    ids = [f"p{i}" for i in range(10)]
    scores = pd.DataFrame({
        "respondent_id": ids * 2, "wave": ["movie_2"] * 10 + ["movie_1"] * 10,
        "kommune": "1508", "role": "x", "scale": "rating",
        "score": np.r_[MOVIE_2, MOVIE_1]})
    (e,) = pre_post(scores, "rating", "movie_2", "movie_1")
    assert e.estimator == "paired t-test (10 pairs)"
    assert e.estimate == pytest.approx(1.0, abs=1e-12)
    assert (round(e.ci_low, 2), round(e.ci_high, 2)) == (0.52, 1.48)
    assert round(e.p_value, 3) == 0.001
    assert e.effect_size == pytest.approx(hedges_g_av(MOVIE_1, MOVIE_2)[0], rel=1e-12)


def test_hedges_g_on_lakens_2013_movies_is_the_published_g_s():
    g, lo, hi = hedges_g(MOVIE_1, MOVIE_2)
    assert round(g, 2) == 1.08  # published Hedges' g_s (d_s = 1.13, J(18) = 1 - 3 / 71)
    assert round(g / _j(18), 2) == 1.13
    # CI: Hedges & Olkin's large-sample SE with a t(18) quantile, by hand
    se = np.sqrt(20 / 100 + g**2 / 40)
    q = stats.t.ppf(0.975, 18)
    assert (lo, hi) == pytest.approx((g - q * se, g + q * se), rel=1e-12)


def _lambda_limit(t_obs: float, df: int, prob: float) -> float:
    """The noncentrality lambda with P(T <= t_obs) = prob for T ~ t(df, lambda), by plain
    bisection (the cdf falls as lambda grows)."""
    lo, hi = t_obs - 20.0, t_obs + 20.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if stats.nct.cdf(t_obs, df, mid) > prob:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def test_hedges_g_av_ci_on_lakens_2013_movies():
    """Lakens (2013) gives no CI for g_av. The CI is checked against its definition, computed
    here independently: the 95% noncentral-t interval of lambda for the paired t(9) = 4.74
    (Steiger & Fouladi 1997) by bisection, rescaled to the SD_av metric by
    sd_diff / (SD_av sqrt(n)) and times J(9) (Algina & Keselman 2003; Cumming 2012, ch. 11)."""
    g, lo, hi = hedges_g_av(MOVIE_1, MOVIE_2)
    n = 10
    d = MOVIE_1 - MOVIE_2
    t_obs = d.mean() / (d.std(ddof=1) / np.sqrt(n))
    lam_lo = _lambda_limit(t_obs, n - 1, 0.975)
    lam_hi = _lambda_limit(t_obs, n - 1, 0.025)
    s_av = (MOVIE_1.std(ddof=1) + MOVIE_2.std(ddof=1)) / 2
    scale = d.std(ddof=1) / (s_av * np.sqrt(n)) * _j(n - 1)
    assert (lo, hi) == pytest.approx((lam_lo * scale, lam_hi * scale), abs=1e-9)
    assert lo < g < hi
    # the lambda interval, independently again: scipy's root finder on the survival function
    lam_lo2 = optimize.brentq(lambda m: stats.nct.sf(t_obs, n - 1, m) - 0.025, 0, t_obs)
    assert lam_lo2 == pytest.approx(lam_lo, abs=1e-9)
    # 90% interval: narrower, inside the 95% one
    _, lo90, hi90 = hedges_g_av(MOVIE_1, MOVIE_2, alpha=0.10)
    assert lo90 == pytest.approx(_lambda_limit(t_obs, n - 1, 0.95) * scale, abs=1e-9)
    assert hi90 == pytest.approx(_lambda_limit(t_obs, n - 1, 0.05) * scale, abs=1e-9)
    assert lo < lo90 < hi90 < hi


# --------------------------------------------------------------------------------------------
# scale_summary and wave_differences from the raw answers

SCALES = {
    "tillit": Scale(items=["t1", "t2", "t3", "t4"], reverse=["t4"], range=(1, 5)),
    "samarbeid": Scale(items=["s1", "s2", "s3"], range=(1, 7), min_share_answered=0.6),
}
NETWORK = {"1508": 2013, "1531": 2015}
COMPARISON = ["1520", "1525", "1528"]
WAVES = ["w2012", "w2016", "w2019"]


def _study():
    return SimpleNamespace(
        network=NETWORK, comparison=COMPARISON, kommuner=list(NETWORK) + COMPARISON,
        baseline_wave=WAVES[0], followup_waves=WAVES[1:], wave_ids=WAVES,
        survey=SimpleNamespace(scales=SCALES))


@pytest.fixture(scope="module")
def raw_answers() -> pd.DataFrame:
    """Long answers of ~25 respondents per kommune and wave, with item nonresponse; follow-up
    waves in network kommuner are shifted upwards."""
    rng = np.random.default_rng(2024)
    rows = []
    kommuner = list(NETWORK) + COMPARISON
    for w, wave in enumerate(WAVES):
        for k in kommuner:
            for r in range(int(rng.integers(20, 30))):
                rid = f"{wave}-{k}-{r}"
                role = ["skole", "NAV", "helse"][r % 3]
                person = rng.normal(0, 0.8)
                shift = 0.4 * w if k in NETWORK else 0.1 * w
                for spec in SCALES.values():
                    lo, hi = spec.range
                    mid = (lo + hi) / 2
                    for item in spec.items:
                        v = np.clip(np.round(mid + person + shift + rng.normal(0, 0.9)), lo, hi)
                        if item in spec.reverse:
                            v = lo + hi - v
                        if rng.random() < 0.12:
                            v = np.nan
                        rows.append((rid, wave, k, role, item, v))
    return pd.DataFrame(rows, columns=["respondent_id", "wave", "kommune", "role", "item",
                                       "value"])


def _hand_scores(answers: pd.DataFrame) -> pd.DataFrame:
    """Respondent x wave x scale scores written out with pandas: reverse-coded items as
    low + high - value, the mean of the answered items, NaN when fewer than
    min_share_answered of the items are answered."""
    out = []
    meta = answers.drop_duplicates("respondent_id").set_index("respondent_id")
    for name, spec in SCALES.items():
        wide = answers[answers["item"].isin(spec.items)].pivot(
            index="respondent_id", columns="item", values="value")[spec.items]
        lo, hi = spec.range
        for item in spec.reverse:
            wide[item] = lo + hi - wide[item]
        answered = wide.notna().sum(axis=1)
        score = wide.mean(axis=1).where(answered >= spec.min_share_answered * len(spec.items))
        out.append(pd.DataFrame({
            "respondent_id": wide.index, "scale": name, "score": score.to_numpy(),
            "wave": meta.loc[wide.index, "wave"].to_numpy(),
            "kommune": meta.loc[wide.index, "kommune"].to_numpy()}))
    return pd.concat(out, ignore_index=True)


def test_scale_summary_equals_pandas_and_scipy_from_raw_answers(raw_answers):
    study = _study()
    got = scale_summary(score_scales(raw_answers, SCALES), study)

    hand = _hand_scores(raw_answers).dropna(subset=["score"])
    assert hand["score"].notna().sum() < len(_hand_scores(raw_answers))  # the rule bites
    hand["group"] = np.where(hand["kommune"].isin(list(NETWORK)), "network", "comparison")
    rows = []
    for (scale, wave, group), s in hand.groupby(["scale", "wave", "group"]):
        x = s["score"].to_numpy()
        ci = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
        rows.append((scale, wave, group, x.mean(), x.std(ddof=1), len(x), *ci))
    ref = pd.DataFrame(rows, columns=["scale", "wave", "group", "mean", "sd", "n", "ci_low",
                                      "ci_high"])
    assert len(got) == len(ref) == 2 * 3 * 2
    m = got.merge(ref, on=["scale", "wave", "group"], suffixes=("", "_ref"), validate="1:1")
    assert len(m) == len(ref)
    for col in ("mean", "sd", "ci_low", "ci_high"):
        np.testing.assert_allclose(m[col], m[f"{col}_ref"], rtol=1e-12, atol=0)
    assert (m["n"] == m["n_ref"]).all()
    # order: scale, then group, then the study's wave order
    expected = sorted(ref[["scale", "group", "wave"]].itertuples(index=False, name=None),
                      key=lambda r: (r[0], r[1], WAVES.index(r[2])))
    assert list(got[["scale", "group", "wave"]].itertuples(index=False, name=None)) == expected
    # a 90% interval is the 0.95 quantile of t(n - 1) times the SE
    got90 = scale_summary(score_scales(raw_answers, SCALES), study, alpha=0.10)
    r = got90.iloc[0]
    q = stats.t.ppf(0.95, r["n"] - 1)
    assert r["ci_high"] - r["mean"] == pytest.approx(q * r["sd"] / np.sqrt(r["n"]), rel=1e-12)


def test_wave_differences_equal_welch_and_hedges_g_from_raw_answers(raw_answers):
    study = _study()
    got = wave_differences(score_scales(raw_answers, SCALES), study)

    hand = _hand_scores(raw_answers).dropna(subset=["score"])
    expected_keys = []
    for scale in SCALES:
        for fu in WAVES[1:]:
            for group in ("network", "comparison"):
                expected_keys.append((scale, f"{fu} - {WAVES[0]}", group))
    assert [(e.outcome, e.contrast, e.group) for e in got] == expected_keys

    for e in got:
        fu = e.contrast.split(" - ")[0]
        codes = list(NETWORK) if e.group == "network" else COMPARISON
        s = hand[(hand["scale"] == e.outcome) & hand["kommune"].isin(codes)]
        x = s.loc[s["wave"] == fu, "score"].to_numpy()
        y = s.loc[s["wave"] == WAVES[0], "score"].to_numpy()
        n1, n2, v1, v2 = len(x), len(y), x.var(ddof=1), y.var(ddof=1)
        se = np.sqrt(v1 / n1 + v2 / n2)
        df = (v1 / n1 + v2 / n2) ** 2 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1))
        diff = x.mean() - y.mean()
        q = stats.t.ppf(0.975, df)
        sp = np.sqrt(((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2))
        assert e.estimate == pytest.approx(diff, rel=1e-12, abs=1e-14)
        assert e.se == pytest.approx(se, rel=1e-12)
        assert (e.ci_low, e.ci_high) == pytest.approx((diff - q * se, diff + q * se), rel=1e-10)
        assert e.p_value == pytest.approx(2 * stats.t.sf(abs(diff / se), df), rel=1e-9)
        # Hedges' g: pooled SD, J(n1 + n2 - 2) = 1 - 3 / (4 (n1 + n2) - 9) (Hedges 1981)
        assert e.effect_size == pytest.approx(diff / sp * _j(n1 + n2 - 2), rel=1e-12)
        assert e.effect_size_kind == "hedges_g"
        assert (e.n_treated, e.n_control, e.n_obs) == (n1, n2, n1 + n2)
        assert e.note.startswith("0 respondents answered both waves")
