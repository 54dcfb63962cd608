"""Multiplicity (issue 23): adjusted p-values and simultaneous intervals against independent
references (statsmodels' multipletests and confint_proportions_2indep, scipy quantiles, hand
computations), the study.yaml ``inference:`` block, and logic-chain verdicts that follow the
adjusted inference."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep

from evaluation_pipeline.analysis.effects import Effect, effects_frame
from evaluation_pipeline.analysis.logic_chain import logic_chain_evidence
from evaluation_pipeline.analysis.multiplicity import (
    adjust_p,
    adjusted_p,
    simultaneous_level,
    wald_interval,
)
from evaluation_pipeline.errors import StudyConfigError
from evaluation_pipeline.study import Inference, Study

# --------------------------------------------------------------------------------------------
# adjusted p-values


@pytest.mark.parametrize("method", ["holm", "bonferroni", "fdr_bh"])
def test_adjusted_p_matches_multipletests(method):
    ps = np.random.default_rng(23).uniform(0, 0.1, 11)
    ps[3] = np.nan
    out = adjusted_p(ps, method)
    ok = ~np.isnan(ps)
    assert np.isnan(out[3])
    assert out[ok] == pytest.approx(multipletests(ps[ok], method=method)[1], rel=1e-12)


def test_adjusted_p_by_hand():
    p = [0.01, 0.04, 0.03, 0.02]
    # Holm: sorted 0.01 0.02 0.03 0.04 times 4 3 2 1 -> 0.04 0.06 0.06 0.04 -> monotone
    # 0.04 0.06 0.06 0.06
    assert list(adjusted_p(p, "holm")) == pytest.approx([0.04, 0.06, 0.06, 0.06])
    assert list(adjusted_p(p, "bonferroni")) == pytest.approx([0.04, 0.16, 0.12, 0.08])
    # BH: sorted p_(i) m / i = 0.04 0.04 0.04 0.04 -> min from the top: all 0.04
    assert list(adjusted_p(p, "fdr_bh")) == pytest.approx([0.04, 0.04, 0.04, 0.04])
    assert list(adjusted_p(p, "none")) == p
    with pytest.raises(ValueError, match="did you mean 'holm'"):
        adjusted_p(p, "holmes")


def test_adjust_p_fills_p_adjusted():
    effects = [Effect("registry", f"i{i}", "c", "x", 0.0, p_value=p)
               for i, p in enumerate([0.01, 0.2, math.nan])]
    out = adjust_p(effects, "bonferroni")
    assert [e.p_adjusted for e in out[:2]] == pytest.approx([0.02, 0.4])
    assert math.isnan(out[2].p_adjusted)


# --------------------------------------------------------------------------------------------
# simultaneous intervals


def test_simultaneous_level():
    assert simultaneous_level(7, "holm", 0.05) == pytest.approx(1 - 0.05 / 7)
    assert simultaneous_level(7, "bonferroni", 0.1) == pytest.approx(1 - 0.1 / 7)
    assert simultaneous_level(7, "none", 0.05) == pytest.approx(0.95)
    assert simultaneous_level(7, "fdr_bh") is None


def test_wald_interval_normal_and_t_by_hand():
    est, se = 1.2, 0.5
    z = stats.norm.ppf(0.975)
    lo, hi = wald_interval(est, se, est - z * se, est + z * se, 1 - 0.05 / 4)
    q = stats.norm.ppf(1 - 0.05 / 8)  # two-sided 1 - 0.05/4
    assert (lo, hi) == pytest.approx((est - q * se, est + q * se))
    t8 = stats.t.ppf(0.975, 8)  # a t(8) interval: the degrees of freedom are recovered
    lo, hi = wald_interval(est, se, est - t8 * se, est + t8 * se, 0.99)
    assert (lo, hi) == pytest.approx((est - stats.t.ppf(0.995, 8) * se,
                                      est + stats.t.ppf(0.995, 8) * se), rel=1e-6)
    # not a Wald interval (asymmetric) or no SE: none
    assert wald_interval(est, se, 0.1, 3.0, 0.99) is None
    assert wald_interval(est, math.nan, 0.2, 2.2, 0.99) is None


def test_bonferroni_interval_excludes_zero_iff_adjusted_p_below_alpha():
    """For Wald rows a Bonferroni interval and the Bonferroni-adjusted p agree."""
    rng = np.random.default_rng(1)
    est = rng.normal(0, 1, 30)
    se = rng.uniform(0.3, 0.6, 30)
    p = 2 * stats.norm.sf(np.abs(est / se))
    adj = adjusted_p(p, "bonferroni")
    level = simultaneous_level(30, "bonferroni")
    z = stats.norm.ppf(0.975)
    for e, s, a in zip(est, se, adj, strict=True):
        lo, hi = wald_interval(e, s, e - z * s, e + z * s, level)
        assert (not lo <= 0 <= hi) == (a < 0.05)


# --------------------------------------------------------------------------------------------
# study.yaml


def _write(tmp_path, example_study_dir, block: str):
    text = (example_study_dir / "study.yaml").read_text(encoding="utf-8")
    (tmp_path / "study.yaml").write_text(text + "\n" + block, encoding="utf-8")
    n = len((text + "\n").splitlines())
    return tmp_path, n


def test_inference_block_parses(tmp_path, example_study_dir):
    assert Study.load(example_study_dir).inference == Inference(
        family="logic_chain", method="holm", alpha=0.05)
    path, _ = _write(tmp_path, example_study_dir,
                     "inference:\n  family: source\n  method: fdr_bh\n  alpha: 0.1\n")
    inf = Study.load(path).inference
    assert (inf.family, inf.method, inf.alpha, inf.adjusted) == ("source", "fdr_bh", 0.1, True)
    assert not Inference(family="none").adjusted and not Inference(method="none").adjusted


@pytest.mark.parametrize(("block", "row", "message"), [
    ("inference:\n  method: holmes\n", 2,
     "key 'inference.method': unknown method 'holmes': use one of holm, bonferroni, fdr_bh, "
     "none; did you mean 'holm'?"),
    ("inference:\n  family: elements\n", 2,
     "key 'inference.family': unknown family 'elements': use one of logic_chain, element, "
     "source, none; did you mean 'element'?"),
    ("inference:\n  method: holm\n  famly: source\n", 3,
     "key 'inference.famly': not a key of inference (family, method, alpha); did you mean "
     "'family'?"),
    ("inference:\n  alpha: 1.5\n", 2, "key 'inference.alpha': Input should be less than 1"),
])
def test_inference_errors_name_key_and_line(tmp_path, example_study_dir, block, row, message):
    path, n = _write(tmp_path, example_study_dir, block)
    with pytest.raises(StudyConfigError) as err:
        Study.load(path)
    assert f"line {n + row}: {message}" in str(err.value)


# --------------------------------------------------------------------------------------------
# a constructed chain where the adjustment flips verdicts

DID = "network - comparison (after joining)"
TWFE = "TWFE DiD (unit and year FE, cluster-robust CR1)"
MIXED = "mixed model (random kommune intercept)"
SHIFT = "difference in shares, Fisher's exact test"
Z = stats.norm.ppf(0.975)


def _shift(theme, x1, x0, n=20):
    d = x1 / n - x0 / n
    lo, hi = confint_proportions_2indep(x1, n, x0, n, method="newcomb", compare="diff")
    p = stats.fisher_exact([[x1, n - x1], [x0, n - x0]])[1]
    return Effect("interviews", theme, "i2019 - i2013", SHIFT, d, ci_low=lo, ci_high=hi,
                  p_value=p, n_treated=n, n_control=n, n_obs=2 * n,
                  note=f"share {x0}/{n} = {x0 / n:.3f} at i2013, {x1}/{n} = {x1 / n:.3f} at "
                       "i2019; CI Newcombe hybrid score")


def _did(scale, est, p):
    se = abs(est) / stats.norm.isf(p / 2)
    return Effect("survey", scale, "w2019 - w2012, network - comparison", MIXED, est, se=se,
                  ci_low=est - Z * se, ci_high=est + Z * se, p_value=p, n_treated=9,
                  n_control=11, n_obs=3000)


def _twfe(ind, est, lo, hi, p):
    note = (f"20 clusters (kommune); CR1 SE, t(19) inference; wild cluster bootstrap (WCR, "
            f"Rademacher, 9999 draws): p={p:.3f}, 95% CI [{lo:.4g}, {hi:.4g}] (test inversion)")
    return Effect("registry", ind, DID, TWFE, est, ci_low=lo, ci_high=hi, p_value=p / 2,
                  n_treated=9, n_control=11, n_obs=360, note=note)


@pytest.fixture
def example_study(example_study):
    """The example study's logic chain without its collaboration-network element: the hand
    computations below are for its 7 survey, registry and interview indicators."""
    chain = example_study.logic_chain
    outcomes = [el for el in chain.outcomes
                if not any(ref.startswith("network:") for ref in el.indicators)]
    return example_study.model_copy(
        update={"logic_chain": chain.model_copy(update={"outcomes": outcomes})})


@pytest.fixture
def flip_effects():
    return effects_frame([
        _shift("Felles rutiner", 15, 7), _shift("Møteplasser og strukturer", 13, 5),
        _did("samarbeid", 0.3, 0.03), _did("felles_forstaelse", 0.4, 0.001),
        _twfe("completion_5y", 2.0, 0.05, 3.9, 0.045),
        _twfe("neet_15_29", -1.2, -2.1, -0.3, 0.010),
        _twfe("cw_measures_0_17", -3.0, -5.0, -1.0, 0.004),
    ])


def test_adjustment_flips_verdicts(example_study, flip_effects):
    """Unadjusted every indicator supports; Holm across the 7 indicators of the logic chain
    keeps only the two smallest p-values (by hand: sorted p 0.001, 0.004, 0.010, 0.0248,
    0.0248, 0.03, 0.045 times 7, 6, ..., 1 -> 0.007, 0.024, 0.050, 0.0994 ...)."""
    unadj = logic_chain_evidence(example_study, flip_effects,
                                 inference=Inference(method="none")).set_index("indicator")
    assert set(unadj["verdict"]) == {"supports"}
    assert (unadj["p_adjusted"] == unadj["p_value"]).all()

    ev = logic_chain_evidence(example_study, flip_effects).set_index("indicator")
    p = ev["p_value"]
    assert p["completion_5y"] == 0.045  # the wild cluster bootstrap p, not the CR1 p
    assert p["Felles rutiner"] == pytest.approx(0.02484172037782329)
    assert list(ev["p_adjusted"]) == pytest.approx(list(multipletests(p, method="holm")[1]))
    assert ev.loc["felles_forstaelse", "p_adjusted"] == pytest.approx(0.007)
    assert ev.loc["cw_measures_0_17", "p_adjusted"] == pytest.approx(0.024)
    assert ev.loc["neet_15_29", "p_adjusted"] == pytest.approx(0.05)  # not < 0.05
    supports = {"felles_forstaelse", "cw_measures_0_17"}
    for ind, row in ev.iterrows():
        assert row.verdict == ("supports" if ind in supports else "no_clear_change"), ind
        assert row.adjustment == "holm, family: 7 indicators of the logic chain"
    assert ev.loc["samarbeid", "note"].startswith(
        "p = 0.03; Holm-adjusted p = 0.0994 ≥ 0.05 (family: 7 indicators of the logic chain)")
    # the simultaneous intervals: Bonferroni level 1 - 0.05/7
    level = 1 - 0.05 / 7
    row = ev.loc["samarbeid"]
    se = 0.3 / stats.norm.isf(0.015)
    q = stats.norm.ppf(1 - (1 - level) / 2)
    assert (row.sim_ci_low, row.sim_ci_high) == pytest.approx((0.3 - q * se, 0.3 + q * se))
    row = ev.loc["Felles rutiner"]
    ref = confint_proportions_2indep(15, 20, 7, 20, method="newcomb", compare="diff",
                                     alpha=1 - level)
    assert (row.sim_ci_low, row.sim_ci_high) == pytest.approx(ref)
    assert math.isnan(ev.loc["neet_15_29", "sim_ci_low"])  # bootstrap: 95 % only
    assert "no simultaneous CI" in ev.loc["neet_15_29", "note"]
    # Holm rejects felles_forstaelse; its Bonferroni interval excludes 0 too
    assert ev.loc["felles_forstaelse", "sim_ci_low"] > 0


def test_family_and_method_options(example_study, flip_effects):
    """By source the families are smaller: interviews 2 (0.0248 * 2 = 0.0497), survey 2,
    registry 3 (0.004 * 3, 0.010 * 2, 0.045) -- everything supports again. Bonferroni over
    the chain: p * 7."""
    ev = logic_chain_evidence(example_study, flip_effects,
                              inference=Inference(family="source")).set_index("indicator")
    assert set(ev["verdict"]) == {"supports"}
    assert ev.loc["Felles rutiner", "p_adjusted"] == pytest.approx(2 * 0.02484172037782329)
    assert ev.loc["completion_5y", "adjustment"] == \
        "holm, family: 3 registry indicators of the logic chain"
    ev = logic_chain_evidence(example_study, flip_effects,
                              inference=Inference(family="element")).set_index("indicator")
    assert ev.loc["neet_15_29", "p_adjusted"] == 0.010  # alone in its element
    assert ev.loc["samarbeid", "p_adjusted"] == pytest.approx(0.03)  # Holm of (0.001, 0.03)
    ev = logic_chain_evidence(example_study, flip_effects,
                              inference=Inference(method="bonferroni")).set_index("indicator")
    assert list(ev["p_adjusted"]) == pytest.approx(list(np.minimum(1, 7 * ev["p_value"])))
    # 0.001 * 7 and 0.004 * 7 = 0.028 < 0.05; 0.010 * 7 = 0.07 not
    assert set(ev.index[ev["verdict"] == "supports"]) == {"felles_forstaelse",
                                                           "cw_measures_0_17"}
    ev = logic_chain_evidence(example_study, flip_effects,
                              inference=Inference(method="fdr_bh")).set_index("indicator")
    assert list(ev["p_adjusted"]) == pytest.approx(
        list(multipletests(ev["p_value"], method="fdr_bh")[1]))
    assert ev["sim_ci_low"].isna().all()  # BH gives no simultaneous intervals
    ev = logic_chain_evidence(example_study, flip_effects,
                              inference=Inference(alpha=0.1)).set_index("indicator")
    assert ev.loc["neet_15_29", "verdict"] == "supports"  # Holm 0.05 < 0.1


def test_contrary_by_adjusted_p(example_study, flip_effects):
    eff = flip_effects.copy()
    eff.loc[eff["outcome"] == "cw_measures_0_17", ["estimate", "ci_low", "ci_high"]] = \
        [3.0, 1.0, 5.0]
    eff.loc[eff["outcome"] == "cw_measures_0_17", "note"] = eff.loc[
        eff["outcome"] == "cw_measures_0_17", "note"].str.replace("[-5, -1]", "[1, 5]",
                                                                  regex=False)
    row = logic_chain_evidence(example_study, eff).set_index("indicator").loc[
        "cw_measures_0_17"]
    assert row.verdict == "contrary" and "increase, expected decrease" in row.note


def test_no_chain_keeps_columns(example_study):
    from evaluation_pipeline.analysis.logic_chain import EVIDENCE_COLUMNS

    study = example_study.model_copy(update={"logic_chain": None})
    ev = logic_chain_evidence(study, pd.DataFrame())
    assert list(ev.columns) == EVIDENCE_COLUMNS
    assert {"p_value", "p_adjusted", "sim_ci_low", "sim_ci_high", "adjustment"} <= set(ev)


# --------------------------------------------------------------------------------------------
# registry effects carry p_adjusted


def test_registry_p_adjusted_per_estimator_of_the_bootstrap_p():
    from evaluation_pipeline.analysis.registry import registry_p_adjusted

    cs = "Callaway-Sant'Anna group-time DiD, simple aggregation (never-treated controls)"
    twfe = [_twfe("a", 1.0, 0.2, 1.8, 0.012), _twfe("b", 1.0, -0.1, 2.1, 0.300),
            Effect("registry", "c", DID, TWFE, 0.5, ci_low=0.1, ci_high=0.9, p_value=0.02,
                   n_treated=30, n_control=30)]  # no bootstrap: its own p
    css = [Effect("registry", x, DID, cs, 1.0, p_value=p)
           for x, p in (("a", 0.04), ("b", 0.01), ("c", math.nan))]
    out = registry_p_adjusted(twfe + css)
    # TWFE: Holm of (0.012, 0.300, 0.02) by hand: sorted 0.012*3, 0.02*2, 0.3 -> 0.036 0.04 0.3
    assert [e.p_adjusted for e in out[:3]] == pytest.approx([0.036, 0.3, 0.04])
    assert [e.p_adjusted for e in out[3:5]] == pytest.approx(
        list(multipletests([0.04, 0.01], method="holm")[1]))
    assert math.isnan(out[5].p_adjusted)
    assert out[0].note.endswith("p_adjusted: Holm across 3 registry indicators, of the wild "
                                "cluster bootstrap p")
    assert out[2].note.endswith("p_adjusted: Holm across 3 registry indicators")
    assert [e.p_value for e in out] == pytest.approx([e.p_value for e in twfe + css],
                                                     nan_ok=True)


# --------------------------------------------------------------------------------------------
# the report says which family and method


@pytest.mark.parametrize(("inf", "lang", "says"), [
    (Inference(), "nb", ["Holm-justerte p-verdier (α = 0,05)",
                         "alle 7 indikatorer i endringsteorien", "Bonferroni-intervall"]),
    (Inference(), "en", ["Holm-adjusted p-values (α = 0.05)",
                         "all 7 indicators of the logic chain", "Bonferroni intervals"]),
    (Inference(method="fdr_bh", family="source", alpha=0.1), "en",
     ["Benjamini–Hochberg-adjusted p-values (α = 0.1)", "from each source of evidence",
      "false discovery rate"]),
    (Inference(method="none"), "nb", ["ujusterte p-verdier (α = 0,05)", "uten justering"]),
])
def test_report_names_family_and_method(example_study, flip_effects, inf, lang, says):
    from evaluation_pipeline.report.sections.logic_chain import inference_paragraphs
    from evaluation_pipeline.report.tables import PublishedTable

    study = example_study.model_copy(update={"inference": inf})
    ev = logic_chain_evidence(study, flip_effects)
    (text,) = inference_paragraphs(study, {"logic_chain": PublishedTable("logic_chain", ev)},
                                    lang)
    for s in says:
        assert s in text, (s, text)
    assert inference_paragraphs(study, {}, lang) == []


@pytest.mark.parametrize("language", ["nb", "en"])
def test_report_shows_adjusted_next_to_unadjusted(example_study, flip_effects, tmp_path,
                                                  language):
    import re

    from evaluation_pipeline.report.study_report import build_study_report

    study = example_study.model_copy(update={"output_dir": str(tmp_path), "language": language})
    ev = logic_chain_evidence(study, flip_effects)
    out = build_study_report(
        study, effects=flip_effects, logic_chain=ev,
        survey_summary=pd.DataFrame(columns=["scale", "wave", "group", "mean", "sd", "n",
                                             "ci_low", "ci_high"]),
        theme_freq=pd.DataFrame(columns=["theme", "wave", "n_segments", "n_sources",
                                         "sources_in_group", "share_sources"]),
        registry_means=pd.DataFrame([
            {"indicator": "completion_5y", "year": y, "group": g, "numerator": 700.0,
             "denominator": 1000.0, "value": 70.0, "n_kommuner": 4}
            for y in range(2012, 2020) for g in ("network", "comparison")]))
    html = out.report.read_text(encoding="utf-8")

    def section(anchor):
        start = html.index(f"id='{anchor}'")
        nxt = html.find("<h2", start + 1)
        return re.sub(r"<[^>]+>", " ", html[start:nxt if nxt > 0 else None])

    lc, methods = section("logic-chain"), section("methods")
    words = {"nb": ("Holm-justerte p-verdier", "p justert", "Simultant KI nedre"),
             "en": ("Holm-adjusted p-values", "p adjusted", "Simultaneous CI low")}[language]
    assert words[0] in lc and words[0] in methods
    assert words[1] in lc and words[2] in lc
    # the Møteplasser row: unadjusted Fisher p and its Holm-adjusted p both printed
    padj = ev.set_index("indicator").loc["Møteplasser og strukturer", "p_adjusted"]
    assert f"{padj:.3f}".replace(".", "," if language == "nb" else ".") in lc
