"""pre_post, adjust_p and network_effect against independent references (scipy, pingouin,
statsmodels, hand computations) and against the effects planted in the example study."""

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.multitest import multipletests

from evaluation_pipeline.analysis.effect_sizes import hedges_g, hedges_g_av
from evaluation_pipeline.analysis.effects import Effect
from evaluation_pipeline.analysis.multiplicity import adjust_p
from evaluation_pipeline.analysis.survey import pre_post
from evaluation_pipeline.analysis.survey_did import (
    DID_ESTIMATOR,
    network_effect,
    network_effects,
)
from evaluation_pipeline.errors import AnalysisError
from evaluation_pipeline.synthetic import PLANTED


def _scores(ids_b, sb, ids_f, sf, kommune="1508"):
    """A scores table of one scale 's' with baseline 'b' and follow-up 'f'."""
    return pd.DataFrame({
        "respondent_id": list(ids_b) + list(ids_f),
        "wave": ["b"] * len(ids_b) + ["f"] * len(ids_f),
        "kommune": kommune, "role": "skole", "scale": "s",
        "score": np.r_[sb, sf], "n_items": 4, "n_answered": 4,
    })


def _j(df):
    return 1 - 3 / (4 * df - 1)


# --------------------------------------------------------------------------------------------
# pre_post: paired analysis


@pytest.fixture
def panel():
    rng = np.random.default_rng(7)
    n = 60
    person = rng.normal(0, 0.6, n)
    b = 3.0 + person + rng.normal(0, 0.4, n)
    f = 3.3 + person + rng.normal(0, 0.5, n)
    ids = [f"r{i}" for i in range(n)]
    # shuffle the follow-up rows: pairing must go by respondent_id, not by row order
    order = rng.permutation(n)
    return _scores(ids, b, [ids[i] for i in order], f[order]), b, f


def test_paired_matches_scipy_and_hand(panel):
    scores, b, f = panel
    (e,) = pre_post(scores, "s", "b", "f")
    n = len(b)
    d = f - b
    se = d.std(ddof=1) / np.sqrt(n)
    q = stats.t.ppf(0.975, n - 1)
    assert e.estimator == f"paired t-test ({n} pairs)" and e.group == "all"
    assert e.contrast == "f - b" and e.source == "survey"
    assert e.estimate == pytest.approx(d.mean(), abs=1e-12)
    assert e.se == pytest.approx(se, rel=1e-12)
    assert (e.ci_low, e.ci_high) == pytest.approx((d.mean() - q * se, d.mean() + q * se),
                                                  rel=1e-10)
    assert e.p_value == pytest.approx(stats.ttest_rel(f, b).pvalue, rel=1e-10)
    assert f"Wilcoxon signed-rank p={stats.wilcoxon(f, b).pvalue:.3g}" in e.note
    assert (e.n_treated, e.n_control, e.n_obs) == (n, n, 2 * n)
    # Hedges' g_av by hand: mean difference / average SD, J with df = n - 1
    s_av = (f.std(ddof=1) + b.std(ddof=1)) / 2
    assert e.effect_size_kind == "hedges_g_av"
    assert e.effect_size == pytest.approx(d.mean() / s_av * (1 - 3 / (4 * (n - 1) - 1)),
                                          rel=1e-12)


def test_g_av_ci_is_the_noncentral_t_interval(panel):
    _, b, f = panel
    n = len(b)
    g, lo, hi = hedges_g_av(f, b)
    d = f - b
    t_obs = d.mean() / (d.std(ddof=1) / np.sqrt(n))
    s_av = (f.std(ddof=1) + b.std(ddof=1)) / 2
    scale = d.std(ddof=1) / (s_av * np.sqrt(n)) * _j(n - 1)
    # defining property: the observed t is the 97.5% / 2.5% quantile of t(n-1, lambda) at
    # the lower / upper limit of lambda
    assert stats.nct.cdf(t_obs, n - 1, lo / scale) == pytest.approx(0.975, abs=1e-9)
    assert stats.nct.cdf(t_obs, n - 1, hi / scale) == pytest.approx(0.025, abs=1e-9)
    assert lo < g < hi
    # close to the large-sample normal approximation of lambda's SD sqrt(1 + t^2 / (2 df))
    half = 1.96 * np.sqrt(1 + t_obs**2 / (2 * (n - 1))) * scale
    assert (lo, hi) == pytest.approx((t_obs * scale - half, t_obs * scale + half), abs=0.03)
    (e,) = pre_post(_scores([f"r{i}" for i in range(n)], b, [f"r{i}" for i in range(n)], f),
                    "s", "b", "f")
    assert f"hedges_g_av 95% CI {lo:.4g} to {hi:.4g}" in e.note


# --------------------------------------------------------------------------------------------
# pre_post: independent samples


@pytest.fixture
def two_samples():
    rng = np.random.default_rng(11)
    y = rng.normal(3.2, 0.5, 45)  # baseline
    x = rng.normal(3.6, 0.7, 38)  # follow-up
    scores = _scores([f"b{i}" for i in range(45)], y, [f"f{i}" for i in range(38)], x)
    return scores, y, x


def test_independent_matches_scipy_welch_and_hand_g(two_samples):
    scores, y, x = two_samples
    (e,) = pre_post(scores, "s", "b", "f")
    ref = stats.ttest_ind(x, y, equal_var=False)
    ci = ref.confidence_interval(0.95)
    n1, n2 = len(x), len(y)
    assert e.estimator == "Welch t-test (independent samples)"
    assert e.estimate == pytest.approx(x.mean() - y.mean(), abs=1e-12)
    assert e.se == pytest.approx(np.sqrt(x.var(ddof=1) / n1 + y.var(ddof=1) / n2), rel=1e-12)
    assert (e.ci_low, e.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert e.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    mw = stats.mannwhitneyu(x, y, alternative="two-sided").pvalue
    assert f"Mann-Whitney U p={mw:.3g}" in e.note
    assert (e.n_treated, e.n_control, e.n_obs) == (n1, n2, n1 + n2)
    sp = np.sqrt(((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / (n1 + n2 - 2))
    g_hand = (x.mean() - y.mean()) / sp * (1 - 3 / (4 * (n1 + n2) - 9))
    assert e.effect_size_kind == "hedges_g"
    assert e.effect_size == pytest.approx(g_hand, rel=1e-12)
    assert e.effect_size == pytest.approx(pg.compute_effsize(x, y, eftype="hedges"), rel=1e-12)


def test_hedges_g_ci_matches_pingouin_compute_esci(two_samples):
    _, y, x = two_samples
    g, lo, hi = hedges_g(x, y)
    ref = pg.compute_esci(stat=g, nx=len(x), ny=len(y), eftype="cohen", confidence=0.95,
                          decimals=12)
    assert (lo, hi) == pytest.approx(tuple(ref), abs=1e-10)
    g90, lo90, hi90 = hedges_g(x, y, alpha=0.10)
    ref90 = pg.compute_esci(stat=g90, nx=len(x), ny=len(y), eftype="cohen", confidence=0.90,
                            decimals=12)
    assert (lo90, hi90) == pytest.approx(tuple(ref90), abs=1e-10)


# --------------------------------------------------------------------------------------------
# pre_post: which analysis


def test_choice_fully_paired_and_disjoint(panel, two_samples):
    assert pre_post(panel[0], "s", "b", "f")[0].estimator.startswith("paired t-test")
    assert pre_post(two_samples[0], "s", "b", "f")[0].estimator.startswith("Welch")


def test_choice_partial_overlap_pairs_and_counts_the_unpaired():
    rng = np.random.default_rng(3)
    pairs = [f"p{i}" for i in range(30)]
    ids_b = pairs + [f"b{i}" for i in range(20)]
    ids_f = pairs + [f"f{i}" for i in range(25)]
    sb, sf = rng.normal(3, 0.5, 50), rng.normal(3.3, 0.5, 55)
    scores = _scores(ids_b, sb, ids_f, sf)
    (e,) = pre_post(scores, "s", "b", "f")
    assert e.estimator == "paired t-test (30 pairs)"
    assert "20 baseline-only and 25 follow-up-only" in e.note
    assert e.estimate == pytest.approx((sf[:30] - sb[:30]).mean(), abs=1e-12)
    assert e.p_value == pytest.approx(stats.ttest_rel(sf[:30], sb[:30]).pvalue, rel=1e-10)
    # paired=False: Welch on every score, the overlap counted in the note
    (w,) = pre_post(scores, "s", "b", "f", paired=False)
    assert w.estimator == "Welch t-test (independent samples)"
    assert (w.n_treated, w.n_control) == (55, 50)
    assert w.p_value == pytest.approx(stats.ttest_ind(sf, sb, equal_var=False).pvalue,
                                      rel=1e-10)
    assert "30 respondents answered both waves" in w.note and "paired=False" in w.note
    # fewer pairs than min_pairs: independent, and the note says why
    (m,) = pre_post(scores, "s", "b", "f", min_pairs=31)
    assert m.estimator.startswith("Welch") and "30 pairs, fewer than min_pairs=31" in m.note
    # paired=True forces pairs; with fewer than 2 pairs it refuses
    assert pre_post(scores, "s", "b", "f", paired=True, min_pairs=31)[0].estimator.startswith(
        "paired")
    lone = _scores(["a", "b1"], [3, 3.5], ["a", "f1"], [4, 2.5])
    with pytest.raises(AnalysisError, match="paired=True"):
        pre_post(lone, "s", "b", "f", paired=True)


def test_by_kommune_gives_the_pooled_and_one_per_kommune(panel, two_samples):
    a = panel[0].assign(kommune="1508")
    c = two_samples[0].assign(kommune="1531")
    scores = pd.concat([a, c], ignore_index=True)
    effects = pre_post(scores, "s", "b", "f", by="kommune")
    assert [e.group for e in effects] == ["all", "1508", "1531"]
    assert effects[1] == replace(pre_post(a, "s", "b", "f")[0], group="1508")
    assert effects[2].estimate == pytest.approx(pre_post(c, "s", "b", "f")[0].estimate)
    assert effects[1].estimator.startswith("paired") and effects[2].estimator.startswith("Welch")
    # the pooled one pairs the 60 panel respondents and leaves the others out
    assert effects[0].estimator == "paired t-test (60 pairs)"
    assert "45 baseline-only and 38 follow-up-only" in effects[0].note


def test_a_kommune_with_too_few_scores_gets_a_nan_effect(two_samples):
    tiny = _scores(["x1"], [3.0], ["x2"], [4.0], kommune="1580")
    scores = pd.concat([two_samples[0], tiny], ignore_index=True)
    effects = pre_post(scores, "s", "b", "f", by="kommune")
    k = {e.group: e for e in effects}["1580"]
    assert np.isnan(k.estimate) and "need at least 2 scores" in k.note
    with pytest.raises(AnalysisError, match="need at least 2 scores"):
        pre_post(tiny, "s", "b", "f")


# --------------------------------------------------------------------------------------------
# adjust_p


def _effects(ps):
    return [Effect(source="survey", outcome=f"o{i}", contrast="f - b", estimator="x",
                   estimate=0.0, p_value=p) for i, p in enumerate(ps)]


@pytest.mark.parametrize("method", ["holm", "fdr_bh"])
def test_adjust_p_matches_multipletests(method):
    ps = np.random.default_rng(5).uniform(0, 0.2, 9)
    out = adjust_p(_effects(ps), method)
    assert [e.p_adjusted for e in out] == pytest.approx(
        list(multipletests(ps, method=method)[1]), rel=1e-12)
    assert [e.p_value for e in out] == pytest.approx(list(ps))


def test_adjust_p_holm_by_hand_and_nan():
    # Holm: sorted 0.01, 0.03, 0.04 times 3, 2, 1 -> 0.03, 0.06, 0.04, made monotone -> 0.06
    effects = _effects([0.01, 0.04, 0.03, np.nan])
    out = adjust_p(effects)
    assert [e.p_adjusted for e in out[:3]] == pytest.approx([0.03, 0.06, 0.06])
    assert np.isnan(out[3].p_adjusted)
    assert all(np.isnan(e.p_adjusted) for e in effects)  # the inputs are not changed
    with pytest.raises(ValueError):
        adjust_p(effects, "bonferroni-ish")


# --------------------------------------------------------------------------------------------
# network_effect on simulated data


def _study(n_network, n_comparison):
    net = {f"{1500 + i}": 2013 for i in range(n_network)}
    comp = [f"{1600 + i}" for i in range(n_comparison)]
    return SimpleNamespace(network=net, comparison=comp, kommuner=list(net) + comp,
                           baseline_wave="b", followup_waves=["f"],
                           survey=SimpleNamespace(scales={"s": None}))


def _did_data(study, *, seed=0, n=(25, 60), kommune_sd=0.3, shock_sd=0.15, did=0.4,
              roles=("skole", "NAV", "PPT")):
    """Scores of scale 's' in waves 'b' and 'f': kommune effect, kommune × wave shock, a
    secular change of 0.1, the planted ``did`` in the network kommuner at 'f', a role effect
    (NAV +0.2) and individual noise (SD 0.6); the role mix differs between kommuner."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in study.kommuner:
        u = rng.normal(0, kommune_sd)
        p = rng.dirichlet(np.ones(len(roles)))
        for wave in ("b", "f"):
            size = int(rng.integers(*n))
            r = rng.choice(list(roles), size, p=p)
            post = wave == "f"
            y = (3 + u + rng.normal(0, shock_sd) + 0.1 * post
                 + did * (post and k in study.network) + 0.2 * (r == "NAV")
                 + rng.normal(0, 0.6, size))
            rows += [(f"{k}-{wave}-{i}", wave, k, ri, "s", v)
                     for i, (ri, v) in enumerate(zip(r, y, strict=True))]
    return pd.DataFrame(rows, columns=["respondent_id", "wave", "kommune", "role", "scale",
                                       "score"])


def _reference_two_step(scores, study, weights=None):
    """Donald & Lang's two steps, computed independently: stage 1 with statsmodels
    ``score ~ C(cell) + C(role)`` (no intercept: one coefficient per kommune × wave cell, at the
    first role; WLS with ``weights``), its residual variance s² = sum of squared residuals /
    residual df, each cell's sampling variance s² / n_eff (Kish); stage 2 by hand and
    statsmodels: the kommuner's changes, tau² by moments, weights 1 / (tau² + var), and
    ``smf.wls("change ~ network")`` with classical inference (residual df K - 2)."""
    d = scores.assign(cell=scores["kommune"] + ":" + scores["wave"])
    formula = "score ~ 0 + C(cell)" + (" + C(role)" if d["role"].nunique() > 1 else "")
    first = (smf.ols(formula, d).fit() if weights is None
             else smf.wls(formula, d, weights=weights).fit())
    s2 = float((first.resid ** 2).sum() / first.df_resid)
    w = pd.Series(1.0 if weights is None else np.asarray(weights), index=d.index)
    n_eff = (w.groupby(d["cell"]).sum() ** 2 / (w ** 2).groupby(d["cell"]).sum())
    cells = first.params.filter(like="C(cell)[").rename("mean").to_frame()
    cells.index = [c.split("[")[1].rstrip("]") for c in cells.index]
    cells["var"] = s2 / n_eff.reindex(cells.index)
    cells["kommune"] = [c.split(":")[0] for c in cells.index]
    cells["wave"] = [c.split(":")[1] for c in cells.index]
    wide = cells.pivot(index="kommune", columns="wave", values=["mean", "var"])
    ch = pd.DataFrame({"change": wide[("mean", "f")] - wide[("mean", "b")],
                       "var": wide[("var", "f")] + wide[("var", "b")]})
    ch["network"] = ch.index.isin(list(study.network)).astype(float)
    K, k_g = len(ch), ch.groupby("network")["change"].transform("size")
    ss = ch.groupby("network")["change"].transform(lambda x: (x - x.mean()) ** 2).sum()
    tau2 = max(0.0, (ss - ((1 - 1 / k_g) * ch["var"]).sum()) / (K - 2))
    ch["w"] = 1 / (tau2 + ch["var"])
    return smf.wls("change ~ network", ch, weights=ch["w"]).fit(), cells, ch, tau2


@pytest.mark.parametrize("case", [((2, 6), 1), ((3, 9), 2), ((9, 11), 3)])
def test_two_step_equals_statsmodels_on_cell_means(case):
    """Estimate, SE, CI and p equal the independent two-step computation (statsmodels stage 1,
    moments by hand, statsmodels WLS stage 2 with classical inference and residual df =
    kommuner - 2)."""
    (n_net, n_cmp), seed = case
    study = _study(n_net, n_cmp)
    scores = _did_data(study, seed=seed)
    e, det = network_effect(scores, "s", study, return_details=True)
    ref, cells, ch, tau2 = _reference_two_step(scores, study)
    K = n_net + n_cmp
    assert ref.df_resid == K - 2 == det["df"]
    assert e.estimator == DID_ESTIMATOR
    assert det["tau2"] == pytest.approx(tau2, rel=1e-9, abs=1e-14)
    assert e.estimate == pytest.approx(ref.params["network"], rel=1e-9)
    assert e.se == pytest.approx(ref.bse["network"], rel=1e-9)
    assert e.p_value == pytest.approx(ref.pvalues["network"], rel=1e-8)
    assert (e.ci_low, e.ci_high) == pytest.approx(tuple(ref.conf_int().loc["network"]),
                                                  rel=1e-9)
    # the stage-1 cell means and their sampling variances are statsmodels'
    ours = det["cells"].set_index(["kommune", "wave"]).sort_index()
    theirs = cells.set_index(["kommune", "wave"]).sort_index()
    np.testing.assert_allclose(ours["mean"], theirs["mean"], rtol=1e-9)
    np.testing.assert_allclose(ours["var"], theirs["var"], rtol=1e-9)
    assert (e.n_treated, e.n_control, e.n_obs) == (n_net, n_cmp, len(scores))
    assert e.contrast == "f - b, network - comparison"
    assert "Donald & Lang" in e.note and f"t({K - 2})" in e.note
    assert "weighted by precision" in e.note and f"tau² = {tau2:.3g}" in e.note
    assert "kommune × wave shocks" in e.note and "unit of inference" in e.note


def test_equal_cells_give_the_pooled_t_test_on_the_changes():
    """Equal cell sizes and one role: every change has the same sampling variance, so the
    weights are equal and the estimate is scipy's pooled two-sample t-test on the changes."""
    study = _study(3, 5)
    scores = _did_data(study, seed=4, n=(40, 41), roles=("skole",))
    e = network_effect(scores, "s", study)
    change = scores.groupby(["kommune", "wave"])["score"].mean().unstack("wave").eval("f - b")
    net = change.index.isin(list(study.network))
    tt = stats.ttest_ind(change[net], change[~net], equal_var=True)
    assert e.estimate == pytest.approx(change[net].mean() - change[~net].mean(), rel=1e-12)
    assert e.p_value == pytest.approx(tt.pvalue, rel=1e-8)
    assert e.estimate / e.se == pytest.approx(tt.statistic, rel=1e-9)


def test_without_roles_the_cell_means_are_plain_means():
    study = _study(3, 5)
    scores = _did_data(study, seed=5, roles=("skole",))
    e, det = network_effect(scores, "s", study, return_details=True)
    g = scores.groupby(["kommune", "wave"])["score"]
    cells = det["cells"].set_index(["kommune", "wave"]).sort_index()
    np.testing.assert_allclose(cells["mean"], g.mean().sort_index(), rtol=1e-12)
    # sampling variance: the pooled within-cell variance over the cell's n
    s2 = ((scores["score"] - g.transform("mean")) ** 2).sum() / (len(scores) - g.ngroups)
    np.testing.assert_allclose(cells["var"], s2 / g.size().sort_index(), rtol=1e-10)
    assert det["residual_variance"] == pytest.approx(s2, rel=1e-10)
    assert "role-adjusted" not in e.note


def test_one_respondent_per_cell_gives_equal_weights():
    """No residual df in stage 1 (one score per kommune and wave): no sampling variance, so the
    kommuner are weighted equally (the unweighted pooled t-test on the changes)."""
    study = _study(2, 3)
    scores = _did_data(study, seed=13, n=(1, 2), roles=("skole",))
    e, det = network_effect(scores, "s", study, return_details=True)
    assert np.isnan(det["residual_variance"])
    change = scores.groupby(["kommune", "wave"])["score"].mean().unstack("wave").eval("f - b")
    net = change.index.isin(list(study.network))
    tt = stats.ttest_ind(change[net], change[~net], equal_var=True)
    assert e.estimate == pytest.approx(change[net].mean() - change[~net].mean(), rel=1e-12)
    assert e.p_value == pytest.approx(tt.pvalue, rel=1e-8)


def test_weighted_stage_one_is_wls():
    study = _study(4, 6)
    scores = _did_data(study, seed=6)
    rng = np.random.default_rng(6)
    scores["weight"] = rng.uniform(0.5, 2.0, len(scores))
    e = network_effect(scores, "s", study, weighted=True)
    ref, *_ = _reference_two_step(scores, study, weights=scores["weight"])
    assert e.estimate == pytest.approx(ref.params["network"], rel=1e-9)
    assert e.se == pytest.approx(ref.bse["network"], rel=1e-9)
    assert "WLS, weighted" in e.note
    # unit weights: the unweighted estimate; weighted=False ignores the column
    ones = network_effect(scores.assign(weight=1.0), "s", study, weighted=True)
    plain = network_effect(scores, "s", study)
    assert ones.estimate == pytest.approx(plain.estimate, rel=1e-12)
    assert plain.estimate != pytest.approx(e.estimate, rel=1e-6)
    with pytest.raises(AnalysisError, match="no 'weight' column"):
        network_effect(scores.drop(columns="weight"), "s", study, weighted=True)


def test_wild_bootstrap_check_is_wildboottest_on_the_cell_means():
    """The WCR p-value in the note: wildboottest's restricted bootstrap t-statistics on the
    stage-2 design (cell means on constant, kommune and wave dummies, treatment), with the same
    Webb draws injected, give the same p-value."""
    import wildboottest.wildboottest as wbt  # a test dependency (pyproject [test])

    from evaluation_pipeline.analysis.linear_model import bootstrap_weight_matrix

    study = _study(2, 6)
    scores = _did_data(study, seed=8, did=0.5)
    e, det = network_effect(scores, "s", study, return_details=True)
    assert det["weights"] == "webb" and det["draws"] == 9999
    cells = det["cells"].sort_values(["kommune", "wave"])
    treat = ((cells["wave"] == "f") & (cells["network"] == 1)).astype(float).rename("treat")
    X = pd.concat([pd.Series(1.0, index=cells.index, name="const"),
                   pd.get_dummies(cells["kommune"], drop_first=True, dtype=float),
                   (cells["wave"] == "f").astype(float).rename("post"), treat], axis=1)
    # the precision weights of stage 2 (one per kommune): WLS as OLS on sqrt(w)-scaled data
    sw = np.sqrt(cells["kommune_weight"].to_numpy())
    codes = np.unique(cells["kommune"], return_inverse=True)[1].ravel()
    R = np.zeros(X.shape[1])
    R[-1] = 1.0
    b = wbt.WildboottestCL(X=X.to_numpy() * sw[:, None], Y=cells["mean"].to_numpy() * sw,
                           cluster=codes, R=R, B=9999, seed=1, parallel=False)
    b.get_scores(bootstrap_type="11", impose_null=True)
    V, _ = bootstrap_weight_matrix(9999, len(np.unique(codes)), "webb", 20131)
    b.v, b.B = V.T.copy(), V.shape[0]
    b.get_numer()
    b.get_denom()
    b.get_tboot()
    b.get_vcov()
    b.get_tstat()
    t = abs(float(np.ravel(b.t_stat)[0]))
    assert det["boot_p"] == pytest.approx(np.mean(np.abs(b.t_boot) >= t * (1 - 1e-10)),
                                          abs=1e-12)
    lo, hi = det["boot_ci"]
    assert f"p={det['boot_p']:.3f}" in e.note and f"CI [{lo:.4g}, {hi:.4g}]" in e.note
    assert "Webb weights, 9999 draws" in e.note
    assert "conservative with 2 or fewer network kommuner" in e.note  # BENCHMARKS.md
    # not in the registry's format: the logic chain must not take it for the primary CI
    assert "wild cluster bootstrap (" not in e.note
    # no bootstrap when switched off, or with 50 kommuner of which 10 or more in the network
    off = network_effect(scores, "s", study, bootstrap=None)
    assert "bootstrap" not in off.note and off.estimate == e.estimate
    many = _study(12, 38)
    _, det = network_effect(_did_data(many, seed=9, n=(3, 6)), "s", many,
                            return_details=True)
    assert det["draws"] == 0


def test_planted_effect_recovered_and_kommune_level_se():
    """40 kommuner, a planted DiD of 0.4: the CI covers it and excludes 0. The SE is of the
    order of the kommune × wave shock's contribution, sqrt(2·0.15²·(1/20 + 1/20)) ≈ 0.067 plus
    the respondents' noise, far above what 4,000 independent answers would suggest (~0.04)."""
    study = _study(20, 20)
    scores = _did_data(study, seed=10, did=0.4)
    e = network_effect(scores, "s", study)
    assert e.ci_low <= 0.4 <= e.ci_high and e.ci_low > 0
    assert 0.06 < e.se < 0.12


def test_kommune_with_one_wave_only_is_left_out_of_stage_two():
    study = _study(3, 5)
    scores = _did_data(study, seed=11)
    scores = scores[~((scores["kommune"] == "1601") & (scores["wave"] == "f"))]
    e, det = network_effect(scores, "s", study, return_details=True)
    assert (e.n_treated, e.n_control) == (3, 4) and det["df"] == 5
    assert "1 kommune with scores in one wave only left out of stage 2 (1601)" in e.note
    assert "1601" not in set(det["cells"]["kommune"])
    # ... but its baseline scores still inform the role coefficients (and count in n_obs)
    assert e.n_obs == len(scores)


def test_too_few_kommuner_is_an_error():
    study = _study(1, 1)
    with pytest.raises(AnalysisError, match="at least 1 network and 1 comparison kommune and "
                                            "3 in all"):
        network_effect(_did_data(study, seed=12), "s", study)
    study = _study(2, 2)
    scores = _did_data(study, seed=12)
    with pytest.raises(AnalysisError, match="need scores of network and comparison"):
        network_effect(scores[scores["kommune"].isin(list(study.network))], "s", study)


def test_simulation_benchmark_smoke():
    """The benchmark's data generator and one replication run (the simulation itself is in
    benchmarks/survey_did_simulation.py, its table in BENCHMARKS.md)."""
    from benchmarks.survey_did_simulation import COLS, one_replication, simulate

    d = simulate(1, 2, 8, 0.15, 0.3)
    assert set(d["kommune"]) == {"1500", "1501", *(f"{1600 + i}" for i in range(6))}
    n = d.groupby(["kommune", "wave"]).size()
    assert len(n) == 16 and n.between(25, 60).all()
    row = one_replication((1, 2, 8, 0.15, 0.3, 999))
    assert len(row) == len(COLS) and np.isfinite(row[0])


# --------------------------------------------------------------------------------------------
# the example study: planted effects


@pytest.fixture(scope="module")
def example():
    from evaluation_pipeline.analysis.scales import score_scales
    from evaluation_pipeline.ingest import read_survey
    from evaluation_pipeline.study import Study

    s = Study.load(Path(__file__).resolve().parents[1] / "examples" / "sunnmore")
    answers = pd.concat([read_survey(s.wave_file(w), wave=w) for w in s.wave_ids])
    return s, score_scales(answers, s.survey.scales)


@pytest.mark.parametrize("scale", ["samarbeid", "felles_forstaelse"])
@pytest.mark.parametrize("wave", ["w2016", "w2019"])
def test_example_pre_post_recovers_planted_change(example, scale, wave):
    study, scores = example
    net = scores[scores["kommune"].isin(list(study.network))]
    truth = PLANTED["survey"][scale][wave]
    (auto,) = pre_post(net, scale, study.baseline_wave, wave)
    assert auto.estimator.startswith("paired t-test")  # the generator's panel members
    assert "baseline-only" in auto.note
    assert auto.ci_low <= truth <= auto.ci_high
    (ind,) = pre_post(net, scale, study.baseline_wave, wave, paired=False)
    assert ind.estimator == "Welch t-test (independent samples)"
    assert ind.ci_low <= truth <= ind.ci_high


@pytest.mark.parametrize("scale", ["samarbeid", "felles_forstaelse"])
@pytest.mark.parametrize("wave", ["w2016", "w2019"])
def test_example_network_effect_recovers_planted_did(example, scale, wave):
    study, scores = example
    truth = PLANTED["survey"]["did"][scale][wave]
    e = network_effect(scores, scale, study, followup=wave)
    assert e.estimator == DID_ESTIMATOR and "t(18)" in e.note  # 20 kommuner
    assert e.ci_low <= truth <= e.ci_high and e.ci_low > 0
    # the weighted path (unit weights) gives the same
    w = network_effect(scores.assign(weight=1.0), scale, study, followup=wave, weighted=True)
    assert w.estimate == pytest.approx(e.estimate, rel=1e-12)


def test_example_network_effects_holm(example):
    study, scores = example
    effects = network_effects(scores, study)
    assert [(e.outcome, e.contrast.split(",")[0]) for e in effects] == [
        (s, f"{w} - w2012") for s in study.survey.scales for w in study.followup_waves]
    ps = [e.p_value for e in effects]
    assert [e.p_adjusted for e in effects] == pytest.approx(
        list(multipletests(ps, method="holm")[1]))
    assert network_effect(scores, "samarbeid", study).contrast.startswith("w2019 - w2012")


def test_wilcoxon_p_equals_scipy_including_small_tied_samples():
    """wilcoxon_p gives scipy.stats.wilcoxon's p-value in every branch: small samples with
    ties or zeros (exact permutation), without ties (exact distribution), larger ones
    (normal approximation)."""
    from evaluation_pipeline.analysis.effect_sizes import wilcoxon_p

    rng = np.random.default_rng(3)
    checked = 0
    for n in [5, 8, 10, 12, 13, 14, 20, 60] * 6:
        x = np.round(rng.normal(3, 0.6, n) * 2) / 2  # half-points: ties and zeros
        y = np.round(rng.normal(3.1, 0.6, n) * 2) / 2
        if checked % 3 == 0:
            x = x + rng.normal(0, 1e-3, n)  # no ties
        if np.all(x == y):
            continue
        assert wilcoxon_p(x, y) == pytest.approx(stats.wilcoxon(x, y).pvalue, rel=1e-12)
        checked += 1
    assert checked >= 40
    with pytest.raises(ValueError):
        wilcoxon_p(np.ones(5), np.ones(5))


# --------------------------------------------------------------------------------------------
# survey_effects: the study's whole set, and its cache of unchanged contrasts


def _effects_table(effects):
    from evaluation_pipeline.analysis.effects import effects_frame

    return effects_frame(effects).reset_index(drop=True)


def test_survey_effects_is_the_public_analyses_in_report_order(example):
    """survey_effects (each contrast computed from its two waves) gives exactly the Effects of
    pre_post on all of the network's and the comparison's scores, network_effects as answered
    and network_effects on the post-stratification weights, with the Holm families."""
    from evaluation_pipeline.analysis.composition import poststratification_weights, study_groups
    from evaluation_pipeline.analysis.survey import survey_effects

    study, scores = example
    base, fus = study.baseline_wave, study.followup_waves
    net = scores[scores["kommune"].isin(list(study.network))]
    cmp_ = scores[scores["kommune"].isin(list(study.comparison))]
    pooled, per_k, comp = [], [], []
    for s in study.survey.scales:
        for fu in fus:
            effs = pre_post(net, s, base, fu, by="kommune")
            pooled += [replace(e, group="network") for e in effs if e.group == "all"]
            per_k += [e for e in effs if e.group != "all"]
            comp += [replace(e, group="comparison") for e in pre_post(cmp_, s, base, fu)]
    weighted = scores.assign(weight=poststratification_weights(
        scores, base, ("role",), groups=study_groups(study)))
    expected = (adjust_p(pooled) + adjust_p(comp) + per_k + network_effects(scores, study)
                + [replace(e, estimator=f"{e.estimator}, reweighted to the baseline role mix",
                           note="post-stratified to the baseline role mix within network and "
                                f"comparison; {e.note}")
                   for e in network_effects(weighted, study, weighted=True)])
    pd.testing.assert_frame_equal(_effects_table(survey_effects(scores, study)),
                                  _effects_table(expected))


def test_unchanged_contrasts_come_from_the_cache(example, tmp_path, monkeypatch):
    """With a cache folder the second run computes nothing and gives the same Effects; a
    changed score in one follow-up wave recomputes only that wave's contrasts (one per scale),
    and the result equals a run without the cache on the changed scores; other settings
    (alpha) miss the cache."""
    from evaluation_pipeline.analysis import survey as sv

    study, scores = example
    calls = []
    real = sv._contrast

    def counting(pair, scale, fu, study, alpha):
        calls.append((scale, fu))
        return real(pair, scale, fu, study, alpha)

    monkeypatch.setattr(sv, "_contrast", counting)
    n = len(study.survey.scales) * len(study.followup_waves)
    plain = _effects_table(sv.survey_effects(scores, study))
    calls.clear()
    first = _effects_table(sv.survey_effects(scores, study, cache_dir=tmp_path))
    assert len(calls) == n and len(list(tmp_path.glob("survey-contrast-*.pickle"))) == n
    pd.testing.assert_frame_equal(first, plain)
    calls.clear()
    again = _effects_table(sv.survey_effects(scores, study, cache_dir=tmp_path))
    assert calls == []
    pd.testing.assert_frame_equal(again, plain)

    changed = scores.copy()
    last = study.followup_waves[-1]
    row = changed.index[(changed["wave"] == last) & changed["score"].notna()][0]
    changed.loc[row, "score"] += 0.5
    calls.clear()
    cached = _effects_table(sv.survey_effects(changed, study, cache_dir=tmp_path))
    assert sorted(calls) == sorted((s, last) for s in study.survey.scales
                                   if s == changed.loc[row, "scale"])
    pd.testing.assert_frame_equal(cached, _effects_table(sv.survey_effects(changed, study)))
    assert not cached.equals(plain)

    # a changed role moves the post-stratification weights of its wave: every scale's
    # contrast of that wave is computed again, and equals a run without the cache
    moved = scores.copy()
    resp = moved.loc[(moved["wave"] == last), "respondent_id"].iloc[0]
    roles = sorted(moved["role"].dropna().unique())
    this = (moved["wave"] == last) & (moved["respondent_id"] == resp)
    moved.loc[this, "role"] = next(r for r in roles if r != moved.loc[this, "role"].iloc[0])
    calls.clear()
    cached = _effects_table(sv.survey_effects(moved, study, cache_dir=tmp_path))
    assert sorted(calls) == sorted((s, last) for s in study.survey.scales)
    pd.testing.assert_frame_equal(cached, _effects_table(sv.survey_effects(moved, study)))

    calls.clear()
    sv.survey_effects(scores, study, alpha=0.1, cache_dir=tmp_path)
    assert len(calls) == n


def test_weights_of_a_follow_up_come_from_its_own_and_the_baseline_rows(example):
    """survey_effects computes each follow-up's post-stratification weights from the rows of
    the baseline and that wave only: the same weights as computed on every wave at once."""
    from evaluation_pipeline.analysis.composition import poststratification_weights, study_groups

    study, scores = example
    groups, base = study_groups(study), study.baseline_wave
    every = poststratification_weights(scores, base, ("role",), groups=groups)
    for fu in study.followup_waves:
        both = scores["wave"].isin([base, fu])
        alone = poststratification_weights(scores[both], base, ("role",), groups=groups)
        pd.testing.assert_series_equal(alone, every[both])
        assert (alone[scores.loc[both, "wave"] == fu] != 1).any()  # really reweighted
