"""The logic-chain evidence table, its verdict rules, the aggregation and the figure."""

import math

import matplotlib.colors as mcolors
import pandas as pd
import pytest

from evaluation_pipeline.analysis.effects import Effect, effects_frame
from evaluation_pipeline.analysis.logic_chain import (
    ELEMENT_COLUMNS,
    EVIDENCE_COLUMNS,
    element_verdicts,
    indicator_verdict,
    logic_chain_evidence,
)
from evaluation_pipeline.errors import StudyConfigError
from evaluation_pipeline.report.logic_chain_figure import VERDICT_STYLE, logic_chain_figure
from evaluation_pipeline.study import ChainElement, LogicChain, Study
from evaluation_pipeline.synthetic import PLANTED

DID = "network - comparison (after joining)"
TWFE = "TWFE DiD (unit and year FE, cluster-robust CR1)"
CS = "Callaway-Sant'Anna group-time DiD, simple aggregation (never-treated controls)"
MIXED = "mixed model (random kommune intercept)"
REWEIGHTED = ("OLS with kommune fixed effects, cluster-robust SE, reweighted to the baseline "
              "role mix")
SHIFT = "difference in shares, Fisher's exact test"


def _boot(lo, hi, p=0.010):
    # the bootstrap p and CI of one test inversion agree: p < 0.05 iff the CI excludes 0
    assert (p < 0.05) == (not lo <= 0 <= hi)
    return (f"20 clusters (kommune); CR1 SE, t(19) inference; wild cluster bootstrap (WCR, "
            f"Rademacher, 9999 draws): p={p:.3f}, 95% CI [{lo:.4g}, {hi:.4g}] (test inversion)")


# --------------------------------------------------------------------------------------------
# one estimate: every branch of the rule


@pytest.mark.parametrize(
    ("args", "kw", "verdict"),
    [
        ((0.5, 0.1, 0.9, "increase"), {}, "supports"),
        ((-0.5, -0.9, -0.1, "decrease"), {}, "supports"),
        ((-0.5, -0.9, -0.1, "increase"), {}, "contrary"),
        ((0.5, 0.1, 0.9, "decrease"), {}, "contrary"),
        ((0.2, -0.1, 0.5, "increase"), {}, "no_clear_change"),
        ((0.2, -0.1, 0.5, "decrease"), {}, "no_clear_change"),
        ((0.4, 0.0, 0.8, "increase"), {}, "no_clear_change"),  # a bound at 0 includes 0
        ((math.nan, math.nan, math.nan, "increase"), {}, "insufficient_data"),
        ((0.5, math.nan, math.nan, "increase"), {}, "insufficient_data"),
        ((0.5, 0.1, 0.9, "increase"), {"suppressed": True}, "insufficient_data"),
        ((0.5, 0.1, 0.9, "increase"), {"n_treated": 4, "n_control": 40}, "insufficient_data"),
        ((0.5, 0.1, 0.9, "increase"), {"n_treated": 40, "n_control": 0}, "insufficient_data"),
        ((0.5, 0.1, 0.9, "increase"), {"n_treated": 5, "n_control": 5}, "supports"),
    ],
)
def test_indicator_verdict_branches(args, kw, verdict):
    assert indicator_verdict(*args, min_units=5, **kw)[0] == verdict


def test_indicator_verdict_rejects_unknown_direction():
    with pytest.raises(ValueError, match="'increase' or 'decrease'"):
        indicator_verdict(0.5, 0.1, 0.9, "up")


# --------------------------------------------------------------------------------------------
# the evidence table on constructed Effect rows


@pytest.fixture
def chain_study(example_study):
    inds = dict(example_study.registry.indicators)
    inds["cw_measures_0_17"] = inds["cw_measures_0_17"].model_copy(
        update={"higher_is_better": None})
    registry = example_study.registry.model_copy(update={"indicators": inds})
    chain = LogicChain(
        goal="Mål",
        interventions=["Nettverk"],
        outputs=[ChainElement(name="Rutiner", indicators=[
            "interviews:Felles rutiner", "interviews:Ukjent tema"])],
        outcomes=[ChainElement(name="Samhandling", indicators=[
            "survey:samarbeid", "survey:felles_forstaelse"])],
        impact=[
            ChainElement(name="Fullføring", indicators=["registry:completion_5y"]),
            ChainElement(name="NEET", indicators=["registry:neet_15_29"]),
            ChainElement(name="Barnevern", indicators=["registry:cw_measures_0_17"],
                         expected={"registry:cw_measures_0_17": "increase"}),
            ChainElement(name="Barnevern uten retning", indicators=["registry:cw_measures_0_17"]),
        ],
    )
    return example_study.model_copy(update={"logic_chain": chain, "registry": registry})


def _constructed_effects() -> pd.DataFrame:
    e = [
        # survey samarbeid: the DiD at the last wave is primary, not w2016 nor pre/post
        Effect("survey", "samarbeid", "w2019 - w2012, network - comparison", MIXED, 0.6,
               ci_low=0.5, ci_high=0.7, n_treated=9, n_control=11, n_obs=3000),
        Effect("survey", "samarbeid", "w2019 - w2012, network - comparison", REWEIGHTED, 0.62,
               ci_low=0.52, ci_high=0.72, n_treated=9, n_control=11, n_obs=3000),
        Effect("survey", "samarbeid", "w2016 - w2012, network - comparison", MIXED, -0.4,
               ci_low=-0.5, ci_high=-0.3, n_treated=9, n_control=11, n_obs=3000),
        Effect("survey", "samarbeid", "w2019 - w2012", "paired t-test (165 pairs)", -0.3,
               ci_low=-0.4, ci_high=-0.2, n_treated=165, n_control=165, n_obs=330,
               group="network"),
        # survey felles_forstaelse: no DiD -> pooled network pre/post; CI includes 0
        Effect("survey", "felles_forstaelse", "w2019 - w2012", "paired t-test (165 pairs)",
               0.05, ci_low=-0.02, ci_high=0.12, n_treated=165, n_control=165, n_obs=330,
               group="network"),
        Effect("survey", "felles_forstaelse", "w2019 - w2012", "Welch", 0.9, ci_low=0.5,
               ci_high=1.3, n_treated=20, n_control=20, n_obs=40, group="1508"),
        # registry completion: TWFE supports but C&S is contrary -> downgraded
        Effect("registry", "completion_5y", DID, TWFE, 3.0, ci_low=1.0, ci_high=5.0,
               n_treated=9, n_control=11, n_obs=360, note=_boot(0.8, 5.2)),
        Effect("registry", "completion_5y", DID, CS, -2.0, ci_low=-3.5, ci_high=-0.5,
               n_treated=9, n_control=11, n_obs=360),
        # registry neet: the CR1 CI excludes 0, the bootstrap CI (used) does not
        Effect("registry", "neet_15_29", DID, TWFE, -1.6, ci_low=-2.0, ci_high=-1.2,
               n_treated=9, n_control=11, n_obs=360, note=_boot(-2.5, 0.3, 0.080)),
        Effect("registry", "neet_15_29", DID, CS, -1.2, ci_low=-1.7, ci_high=-0.7,
               n_treated=9, n_control=11, n_obs=360),
        # registry child welfare: 3 network kommuner -> a verdict (kommuner are not persons),
        # judged by the wild cluster bootstrap CI, with the few-kommuner caveat
        Effect("registry", "cw_measures_0_17", DID, TWFE, 3.19, ci_low=1.62, ci_high=4.77,
               n_treated=3, n_control=11, n_obs=250, note=_boot(1.68, 4.73, 0.002)),
        # interviews: the pooled shift i2019 - i2013 is primary, not a role's
        Effect("interviews", "Felles rutiner", "i2019 - i2013", SHIFT, 0.45, ci_low=0.14,
               ci_high=0.66, p_value=0.0104, p_adjusted=0.0727, n_treated=20, n_control=20,
               n_obs=40),
        Effect("interviews", "Felles rutiner", "i2019 - i2013", SHIFT, -1.0, ci_low=-1.0,
               ci_high=-0.2, n_treated=6, n_control=6, n_obs=12, group="skole"),
    ]
    return effects_frame(e)


def test_evidence_on_constructed_effects(chain_study):
    ev = logic_chain_evidence(chain_study, _constructed_effects())
    assert list(ev.columns) == EVIDENCE_COLUMNS
    assert list(zip(ev["level"], ev["element"], ev["indicator"], strict=True)) == [
        ("output", "Rutiner", "Felles rutiner"), ("output", "Rutiner", "Ukjent tema"),
        ("outcome", "Samhandling", "samarbeid"), ("outcome", "Samhandling", "felles_forstaelse"),
        ("impact", "Fullføring", "completion_5y"), ("impact", "NEET", "neet_15_29"),
        ("impact", "Barnevern", "cw_measures_0_17"),
        ("impact", "Barnevern uten retning", "cw_measures_0_17"),
    ]
    r = ev.set_index(["element", "indicator"])

    row = r.loc[("Rutiner", "Felles rutiner")]
    assert (row.verdict, row.estimate, row.ci_low, row.source) == ("supports", 0.45, 0.14,
                                                                    "interviews")
    assert "i2019 - i2013" in row.basis and "Holm" in row.note
    row = r.loc[("Rutiner", "Ukjent tema")]
    assert row.verdict == "insufficient_data" and math.isnan(row.estimate)
    assert "no interview theme shift" in row.note

    row = r.loc[("Samhandling", "samarbeid")]
    assert (row.verdict, row.estimate, row.ci_low, row.ci_high) == ("supports", 0.6, 0.5, 0.7)
    assert "network vs comparison DiD, w2019 - w2012" in row.basis and MIXED in row.basis
    assert "reweighted" in row.note and "supports" in row.note
    row = r.loc[("Samhandling", "felles_forstaelse")]
    assert (row.verdict, row.estimate) == ("no_clear_change", 0.05)
    assert "pre/post" in row.basis and "not an effect" in row.note

    row = r.loc[("Fullføring", "completion_5y")]
    assert (row.expected, row.verdict) == ("increase", "no_clear_change")
    assert (row.ci_low, row.ci_high) == (0.8, 5.2)  # the bootstrap CI
    assert "disagree" in row.note and "Callaway" in row.note

    row = r.loc[("NEET", "neet_15_29")]  # higher_is_better: false -> decrease
    assert (row.expected, row.verdict) == ("decrease", "no_clear_change")
    assert (row.estimate, row.ci_low, row.ci_high) == (-1.6, -2.5, 0.3)
    assert "wild cluster bootstrap" in row.basis and "CR1 CI -2 to -1.2" in row.note

    for el in ("Barnevern", "Barnevern uten retning"):
        row = r.loc[(el, "cw_measures_0_17")]
        assert row.verdict == "supports"
        assert (row.estimate, row.ci_low, row.ci_high) == (3.19, 1.68, 4.73)
        assert row.caveat == "few_kommuner"
        assert "few kommuner: 3 network kommuner" in row.note
        assert "wild cluster bootstrap" in row.note
    for ind in ("completion_5y", "neet_15_29", "samarbeid"):  # 9 network kommuner: caveat
        assert (ev.loc[ev["indicator"] == ind, "caveat"] == "few_kommuner").all()
    for ind in ("Felles rutiner", "felles_forstaelse", "Ukjent tema"):  # persons: none
        assert (ev.loc[ev["indicator"] == ind, "caveat"] == "").all()
    assert r.loc[("Barnevern", "cw_measures_0_17")].expected == "increase"  # declared
    row = r.loc[("Barnevern uten retning", "cw_measures_0_17")]
    assert row.expected == "increase" and "assumed" in row.note


def test_evidence_contrary_and_suppressed_column(chain_study):
    eff = _constructed_effects()
    sel = ((eff["outcome"] == "samarbeid") & (eff["estimator"] == MIXED)
           & eff["contrast"].str.startswith("w2019"))
    eff.loc[sel, ["estimate", "ci_low", "ci_high"]] = [-0.6, -0.7, -0.5]
    eff.loc[(eff["outcome"] == "samarbeid") & (eff["estimator"] == REWEIGHTED),
            ["estimate", "ci_low", "ci_high"]] = [-0.1, -0.3, 0.1]
    eff["suppressed"] = eff["outcome"] == "Felles rutiner"  # as in a published table
    r = logic_chain_evidence(chain_study, eff).set_index(["element", "indicator"])
    assert r.loc[("Samhandling", "samarbeid"), "verdict"] == "contrary"
    row = r.loc[("Rutiner", "Felles rutiner")]
    assert row.verdict == "insufficient_data" and "suppressed" in row.note


def test_registry_estimator_option(chain_study):
    ev = logic_chain_evidence(chain_study, _constructed_effects(),
                              registry_estimator="callaway_santanna")
    row = ev[ev["indicator"] == "neet_15_29"].iloc[0]
    assert (row.estimate, row.ci_low, row.ci_high, row.verdict) == (-1.2, -1.7, -0.7,
                                                                     "supports")
    row = ev[ev["indicator"] == "completion_5y"].iloc[0]  # C&S contrary, TWFE check supports
    assert row.verdict == "no_clear_change" and "disagree" in row.note


def test_no_chain_and_bad_effects(example_study):
    study = example_study.model_copy(update={"logic_chain": None})
    ev = logic_chain_evidence(study, _constructed_effects())
    assert ev.empty and list(ev.columns) == EVIDENCE_COLUMNS
    with pytest.raises(ValueError, match="lacks the Effect column"):
        logic_chain_evidence(example_study, pd.DataFrame({"source": ["survey"]}))


def test_expected_must_name_bound_indicators(study_copy):
    yml = study_copy / "study.yaml"
    text = yml.read_text(encoding="utf-8")
    old = 'indicators: ["registry:neet_15_29"], expected: decrease}'
    assert old in text
    yml.write_text(text.replace(
        old, 'indicators: ["registry:neet_15_29"], expected: {"registry:completion_5y": '
        'decrease}}'), encoding="utf-8")
    with pytest.raises(StudyConfigError, match="not among its indicators") as err:
        Study.load(study_copy)
    assert "study.yaml" in str(err.value) and "logic_chain" in str(err.value)
    yml.write_text(text.replace(old, 'indicators: ["registry:neet_15_29"], expected: down}'),
                   encoding="utf-8")
    with pytest.raises(StudyConfigError, match="logic_chain"):
        Study.load(study_copy)


# --------------------------------------------------------------------------------------------
# aggregation per element and per link


def _evidence(rows) -> pd.DataFrame:
    return pd.DataFrame(
        [{"level": lv, "element": el, "indicator": f"i{i}", "source": "survey",
          "estimate": 0.0, "ci_low": 0.0, "ci_high": 0.0, "expected": "increase",
          "verdict": v, "basis": "", "note": ""} for i, (lv, el, v) in enumerate(rows)],
        columns=EVIDENCE_COLUMNS,
    )


def test_element_and_link_aggregation():
    ev = _evidence([
        ("output", "A", "supports"), ("output", "A", "insufficient_data"),   # -> supports
        ("outcome", "B", "supports"), ("outcome", "B", "no_clear_change"),   # -> no clear
        ("outcome", "C", "supports"), ("outcome", "C", "contrary"),          # -> contrary
        ("impact", "D", "insufficient_data"), ("impact", "D", "insufficient_data"),
        ("impact", "E", "supports"),
    ])
    out = element_verdicts(ev)
    assert list(out.columns) == ELEMENT_COLUMNS
    el = out[out["kind"] == "element"].set_index("element")
    assert el["verdict"].to_dict() == {"A": "supports", "B": "no_clear_change",
                                       "C": "contrary", "D": "insufficient_data",
                                       "E": "supports"}
    assert el.loc["A", ["n_indicators", "n_supports", "n_insufficient_data"]].tolist() == [
        2, 1, 1]
    links = out[out["kind"] == "link"]
    got = dict(zip(zip(links["from_element"], links["to_element"], strict=True),
                   links["verdict"], strict=True))
    assert got == {
        ("A", "B"): "no_clear_change", ("A", "C"): "contrary",
        ("B", "D"): "insufficient_data", ("B", "E"): "no_clear_change",
        ("C", "D"): "contrary", ("C", "E"): "contrary",
    }


def test_element_verdicts_with_study_adds_unmeasured(chain_study):
    ev = _evidence([("output", "Rutiner", "supports"), ("outcome", "Samhandling", "supports"),
                    ("impact", "Fullføring", "supports"), ("impact", "NEET", "contrary")])
    out = element_verdicts(ev, chain_study)
    el = out[out["kind"] == "element"]
    assert el["element"].tolist() == ["Mål", "Nettverk", "Rutiner", "Samhandling",
                                      "Fullføring", "NEET", "Barnevern",
                                      "Barnevern uten retning"]
    v = dict(zip(el["element"], el["verdict"], strict=True))
    assert v["Mål"] == v["Nettverk"] == v["Barnevern"] == "not_measured"
    links = out[out["kind"] == "link"]
    got = dict(zip(zip(links["from_element"], links["to_element"], strict=True),
                   links["verdict"], strict=True))
    assert got[("Mål", "Nettverk")] == "not_measured"
    assert got[("Nettverk", "Rutiner")] == "supports"  # one end measured
    assert got[("Rutiner", "Samhandling")] == "supports"
    assert got[("Samhandling", "NEET")] == "contrary"
    assert got[("Samhandling", "Barnevern")] == "supports"  # unmeasured impact element
    assert len(links) == 1 + 1 + 1 + 4


# --------------------------------------------------------------------------------------------
# the example study: the planted effects come out as supported


@pytest.fixture(scope="module")
def example_effects():
    from conftest import EXAMPLE

    from evaluation_pipeline.analysis.collaboration import collaboration_did
    from evaluation_pipeline.analysis.interviews import theme_shift
    from evaluation_pipeline.analysis.registry import registry_effects
    from evaluation_pipeline.analysis.scales import score_scales
    from evaluation_pipeline.analysis.survey import survey_effects
    from evaluation_pipeline.geography import add_rates, harmonize
    from evaluation_pipeline.ingest import read_interview_codes, read_registry, read_survey
    from evaluation_pipeline.observations import registry_observations

    s = Study.load(EXAMPLE)
    answers = pd.concat([read_survey(s.wave_file(w), wave=w) for w in s.wave_ids],
                        ignore_index=True)
    survey = survey_effects(score_scales(answers, s.survey.scales), s)
    inds = s.registry.indicators
    raw = pd.concat([registry_observations(read_registry(s.path(i.file)), k, i,
                                           str(s.path(i.file))) for k, i in inds.items()],
                    ignore_index=True)
    obs = add_rates(harmonize(raw, s.geography_year,
                              age_groups={k: v.age_group for k, v in inds.items()}),
                    {k: v.per for k, v in inds.items()})
    segments = pd.concat([read_interview_codes(s.path(f)) for f in s.interviews.files],
                         ignore_index=True)
    shifts = theme_shift(segments, "i2013", "i2019", by="role")
    network = collaboration_did(answers, s.survey.collaboration, s, services=s.survey.roles)
    return s, effects_frame(survey + registry_effects(obs, s) + shifts + network)


def test_example_study_planted_effects_supported(example_effects):
    """Every planted effect is inside its CI; every one is supported except the interview
    theme "Møteplasser og strukturer": its planted shift is real, but with the example's
    interviews Fisher's test gives p = 0.056 -- not below 0.05 even unadjusted -- so under
    the multiplicity-adjusted verdicts (issue 23) it is no clear change, not supports."""
    study, effects = example_effects
    ev = logic_chain_evidence(study, effects).set_index("indicator")
    collab = PLANTED["collaboration"]
    planted = {
        "samarbeid": PLANTED["survey"]["did"]["samarbeid"]["w2019"],
        "felles_forstaelse": PLANTED["survey"]["did"]["felles_forstaelse"]["w2019"],
        **PLANTED["registry"],
        **{th: PLANTED["interviews"][th]["i2019"] - PLANTED["interviews"][th]["i2013"]
           for th in ("Felles rutiner", "Møteplasser og strukturer")},
        # the collaboration roster: the model's density (share of directed ties whose model
        # mean is regular) and each pair's latent change, network minus comparison, w2019
        "density": _did(PLANTED["collaboration"]["density"], "w2019", "w2012"),
        **{f"tie:{pair}": (collab["network_all_ties"]["w2019"] + effect["w2019"]
                           - collab["comparison_trend"]["w2019"])
           for pair, effect in collab["ties"].items()},
    }
    assert set(ev.index) == set(planted)
    for ind, true in planted.items():
        row = ev.loc[ind]
        want = "no_clear_change" if ind == "Møteplasser og strukturer" else "supports"
        assert row.verdict == want, (ind, row.note)
        assert row.expected == ("increase" if true > 0 else "decrease")
        assert row.ci_low <= true <= row.ci_high, (ind, true, row.ci_low, row.ci_high)
    assert ev.loc["samarbeid", "basis"].startswith("survey, network vs comparison DiD, "
                                                   "w2019 - w2012: two-step DiD")
    # 9 network kommuner: the caveat names the survey DiD's few-cluster inference
    assert "few-cluster inference: t(K - 2) on the kommuner's changes" in \
        ev.loc["samarbeid", "note"]
    for ind in PLANTED["registry"]:
        assert "wild cluster bootstrap" in ev.loc[ind, "basis"]
        twfe = effects[(effects["outcome"] == ind) & effects["estimator"].str.startswith("TWFE")]
        assert ev.loc[ind, "estimate"] == twfe["estimate"].iloc[0]
    verdicts = element_verdicts(ev.reset_index()[EVIDENCE_COLUMNS], study)
    measured = verdicts[verdicts["verdict"] != "not_measured"]
    el = verdicts.set_index("element")["verdict"]
    assert el["Felles rutiner og møteplasser etablert"] == "no_clear_change"
    assert set(measured["verdict"]) == {"supports", "no_clear_change"}
    assert len(verdicts[verdicts["kind"] == "element"]) == 9
    assert el["Tettere samarbeid mellom tjenestene"] == "supports"
    # the network rows: the randomization DiD at the last wave, with its bootstrap check
    for ind in ("density", "tie:skole-barnevern", "tie:barnevern-helsestasjon"):
        assert ev.loc[ind, "source"] == "network"
        assert ev.loc[ind, "basis"].startswith("network, network vs comparison DiD of the "
                                               "kommuner's changes, w2019 - w2012")
        assert "check: wild cluster bootstrap (WCR)" in ev.loc[ind, "note"]
        assert "randomization inference over kommune labels" in ev.loc[ind, "note"]


def _did(by_group: dict, wave: str, base: str) -> float:
    return ((by_group["network"][wave] - by_group["network"][base])
            - (by_group["comparison"][wave] - by_group["comparison"][base]))


def test_example_meeting_places_theme_is_not_supports(example_effects):
    """Issue 23's example: the theme "Møteplasser og strukturer" (Fisher p 0.056, Holm
    across themes 0.337 in the interview table) cannot be "supports" -- under no family and
    no method, because the unadjusted Fisher p is already at least 0.05."""
    from evaluation_pipeline.study import Inference

    study, effects = example_effects
    shift = effects[(effects["outcome"] == "Møteplasser og strukturer")
                    & (effects["group"] == "all")].iloc[0]
    assert 0.05 <= shift["p_value"] < 0.06 and shift["ci_low"] > 0  # the numbers
    assert 0.3 < shift["p_adjusted"] < 0.35
    for family in ("logic_chain", "element", "source", "none"):
        for method in ("holm", "bonferroni", "fdr_bh", "none"):
            ev = logic_chain_evidence(study, effects,
                                      inference=Inference(family=family, method=method))
            row = ev.set_index("indicator").loc["Møteplasser og strukturer"]
            assert row.verdict == "no_clear_change", (family, method, row.note)
            assert row.p_value == pytest.approx(shift["p_value"])
            assert row.p_adjusted >= row.p_value
    ev = logic_chain_evidence(study, effects).set_index("indicator")
    row = ev.loc["Møteplasser og strukturer"]
    assert "Holm-adjusted p = " in row.note and "family: 10 indicators of the logic chain" \
        in row.note and row.adjustment == "holm, family: 10 indicators of the logic chain"


# --------------------------------------------------------------------------------------------
# the figure


def _mixed_evidence(study) -> pd.DataFrame:
    rows = [("output", "Felles rutiner og møteplasser etablert", "contrary"),
            ("outcome", "Bedre samhandling", "no_clear_change"),
            ("impact", "Flere fullfører videregående", "supports"),
            ("impact", "Færre unge utenfor arbeid og utdanning", "insufficient_data")]
    ev = _evidence(rows)
    ev["indicator"] = ["Felles rutiner", "samarbeid", "completion_5y", "neet_15_29"]
    ev["source"] = ["interviews", "survey", "registry", "registry"]
    ev.loc[3, "expected"] = "decrease"
    return ev


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [
        t.get_text() for t in fig.texts] + [
        t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().texts]


def _patches(fig, prefix) -> dict:
    return {p.get_gid().removeprefix(prefix): p for ax in fig.axes for p in ax.patches
            if (p.get_gid() or "").startswith(prefix)}


def test_figure_texts_and_colours(example_study):
    import matplotlib.pyplot as plt

    ev = _mixed_evidence(example_study)
    fig = logic_chain_figure(ev, example_study, lang="nb")
    texts = _texts(fig)
    joined = " ".join(texts)
    for header in ("Mål", "Tiltak", "Resultater", "Effekter", "Samfunnseffekter"):
        assert header in texts
    chain = example_study.logic_chain
    for name in [chain.goal, *chain.interventions,
                 *[e.name for e in chain.outputs + chain.outcomes + chain.impact]]:
        assert name in joined, name  # wrapped over lines, joined back in order
    for label in ("Vurdering: Motsier", "Vurdering: Ingen klar endring", "Vurdering: Støtter",
                  "Vurdering: For lite data"):
        assert label in texts
    assert {"Støtter", "Ingen klar endring", "Motsier", "For lite data", "Ikke målt"} <= set(
        texts)  # the legend
    assert "✗ Felles rutiner\u00a0↑" in texts and "✓ Samarbeidskvalitet\u00a0↑" not in texts
    assert any(t.startswith("? Unge 15–29") for t in texts)
    assert "SYNTETISKE DATA (SYNTHETIC)" in texts

    expected = {"output:Felles rutiner og møteplasser etablert": "contrary",
                "outcome:Bedre samhandling": "no_clear_change",
                "impact:Flere fullfører videregående": "supports",
                "impact:Færre unge utenfor arbeid og utdanning": "insufficient_data",
                "impact:Færre barn trenger barnevernstiltak": "not_measured",
                f"goal:{chain.goal}": "not_measured"}
    boxes, strips = _patches(fig, "element:"), _patches(fig, "verdict:")
    assert len(boxes) == 1 + 2 + 1 + 2 + 3
    for key, v in expected.items():
        assert mcolors.same_color(boxes[key].get_facecolor(), VERDICT_STYLE[v]["tint"]), key
        if v == "not_measured":
            assert key not in strips and boxes[key].get_linestyle() == "--"
        else:
            assert mcolors.same_color(strips[key].get_facecolor(), VERDICT_STYLE[v]["colour"])
            assert (strips[key].get_hatch() or "") == VERDICT_STYLE[v]["hatch"]

    arrows = _patches(fig, "link:")
    out_to_outcome = arrows["Felles rutiner og møteplasser etablert → Bedre samhandling"]
    assert mcolors.same_color(out_to_outcome.get_edgecolor(), VERDICT_STYLE["contrary"]["colour"])
    assert out_to_outcome.get_linestyle() == "-."
    to_neet = arrows["Bedre samhandling → Færre unge utenfor arbeid og utdanning"]
    assert to_neet.get_linestyle() == ":"
    assert len(arrows) == 2 + 2 + 2 + 2 * 3
    plt.close(fig)


def test_figure_palette_reads_in_greyscale_and_english(example_study):
    import matplotlib.pyplot as plt

    okabe_ito = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
                 "#999999", "#000000"}
    four = ["supports", "no_clear_change", "contrary", "insufficient_data"]
    assert {VERDICT_STYLE[v]["colour"] for v in four} <= okabe_ito
    assert len({VERDICT_STYLE[v]["hatch"] for v in four}) == 4
    assert len({str(VERDICT_STYLE[v]["linestyle"]) for v in [*four, "not_measured"]}) == 5

    study = example_study.model_copy(update={"synthetic": False})
    fig = logic_chain_figure(_mixed_evidence(study), study, lang="en")
    texts = _texts(fig)
    assert {"Goal", "Interventions", "Outputs", "Outcomes", "Impact"} <= set(texts)
    assert "Verdict: Contrary" in texts and "Not measured" in texts
    assert "Mål" not in texts and "Vurdering: Motsier" not in texts
    assert not any("SYNTHETIC" in t for t in texts)
    plt.close(fig)


# --------------------------------------------------------------------------------------------
# the Dagster asset


def test_asset_materializes_with_preview(example_study):
    import dagster as dg

    from assets.logic_chain import logic_chain_evidence as asset
    from assets.resources import StudyResource

    effects = _constructed_effects()

    @dg.asset(name="effects")
    def effects_stub() -> pd.DataFrame:
        return effects

    res = dg.materialize_to_memory(
        [effects_stub, asset],
        resources={"study": StudyResource(study_path=str(example_study.source_file))},
    )
    assert res.success
    out = res.output_for_node("logic_chain_evidence")
    pd.testing.assert_frame_equal(out, logic_chain_evidence(example_study, effects))
    (mat,) = res.asset_materializations_for_node("logic_chain_evidence")
    md = mat.metadata["evidence"].value
    assert "| level" in md and "verdict" in md and "samarbeid" in md
    assert "1508" not in md  # no per-kommune rows
    assert mat.metadata["indicators_supports"].value == int((out["verdict"] == "supports").sum())
    assert mat.metadata["figure"].value.startswith("![logic chain](data:image/png;base64,")
    spec = asset.specs_by_key[dg.AssetKey("logic_chain_evidence")]
    assert spec.group_name == "analyse"
    assert dg.AssetKey("effects") in {d.asset_key for d in spec.deps}


# --------------------------------------------------------------------------------------------
# the collaboration network's indicators (network:<measure>, network:tie:<A>-<B>)

RI = "randomization inference over kommune labels, difference in mean changes"
NET_DID = "w2019 - w2012, network - comparison"


def _wcr(lo, hi, p):
    return (f"each kommune's change ...; check, wild cluster bootstrap (WCR on the kommune × "
            f"wave values, Webb weights, 9999 draws, kommune clusters): p={p:.3f}, 95% CI "
            f"[{lo:.4g}, {hi:.4g}]")


def test_network_evidence_on_constructed_effects(example_study):
    chain = LogicChain(goal="Mål", outcomes=[ChainElement(name="Nettverk", indicators=[
        "network:density", "network:asymmetry", "network:isolated",
        "network:tie:skole-barnevern", "network:centralization"])])
    study = example_study.model_copy(update={"logic_chain": chain})
    e = effects_frame([
        # density: the DiD at w2016 only -> the pooled network change at the last wave
        Effect("network", "density", "w2016 - w2012, network - comparison", RI, 0.2,
               ci_low=0.1, ci_high=0.3, p_value=0.001, n_treated=9, n_control=11,
               n_unit="kommuner"),
        Effect("network", "density", "w2019 - w2012", "respondent bootstrap", 0.15,
               ci_low=0.05, ci_high=0.25, n_treated=900, n_control=880, group="network",
               n_unit="respondents"),
        # asymmetry and isolated are expected to decrease without expected:
        Effect("network", "asymmetry", NET_DID, RI, -0.2, ci_low=-0.3, ci_high=-0.1,
               p_value=0.002, n_treated=9, n_control=11, n_unit="kommuner"),
        Effect("network", "isolated", NET_DID, RI, 1.0, ci_low=0.4, ci_high=1.6,
               p_value=0.003, n_treated=9, n_control=11, n_unit="kommuner"),
        # the tie: the RI DiD (primary) and its bootstrap check in the note; a per-kommune
        # change of the same outcome is not evidence
        Effect("network", "tie:skole-barnevern", NET_DID, RI, 1.1, ci_low=0.7, ci_high=1.5,
               p_value=0.001, n_treated=9, n_control=11, n_unit="kommuner",
               note=_wcr(-0.1, 2.3, 0.09)),
        Effect("network", "tie:skole-barnevern", "w2019 - w2012", "respondent bootstrap",
               -2.0, ci_low=-2.5, ci_high=-1.5, n_treated=30, n_control=30, group="1508",
               n_unit="respondents"),
    ])
    ev = logic_chain_evidence(study, e).set_index("indicator")
    assert (ev["source"] == "network").all()
    row = ev.loc["density"]
    assert (row.verdict, row.estimate, row.expected) == ("supports", 0.15, "increase")
    assert "pre/post in the network kommuner pooled, w2019 - w2012" in row.basis
    assert "not an effect" in row.note and "no p-value: judged by its 95 % CI" in row.note
    row = ev.loc["asymmetry"]
    assert (row.expected, row.verdict) == ("decrease", "supports")
    assert "default for network:asymmetry" in row.note
    row = ev.loc["isolated"]
    assert (row.expected, row.verdict) == ("decrease", "contrary")
    row = ev.loc["tie:skole-barnevern"]
    assert (row.expected, row.verdict, row.estimate) == ("increase", "supports", 1.1)
    assert (row.ci_low, row.ci_high) == (0.7, 1.5)  # the randomization CI, not the check's
    assert "check: wild cluster bootstrap (WCR)" in row.note and "no clear change" in row.note
    assert row.caveat == "few_kommuner"
    assert "few-cluster inference: randomization inference over kommune labels" in row.note
    # the randomization CI is inverted at 95 % only: no simultaneous CI
    assert math.isnan(row.sim_ci_low) and math.isnan(row.sim_ci_high)
    assert row.p_value == 0.001 and row.adjustment.startswith("holm")
    row = ev.loc["centralization"]
    assert row.verdict == "insufficient_data" and "no network Effect" in row.note
    # an explicit expected: wins over the default
    chain = LogicChain(goal="Mål", outcomes=[ChainElement(
        name="Nettverk", indicators=["network:isolated"], expected="increase")])
    ev = logic_chain_evidence(example_study.model_copy(update={"logic_chain": chain}), e)
    assert (ev["expected"].iloc[0], ev["verdict"].iloc[0]) == ("increase", "supports")


def test_network_labels_in_the_figure(example_study):
    import matplotlib.pyplot as plt

    chain = LogicChain(goal="Mål", outcomes=[ChainElement(name="Nettverk", indicators=[
        "network:density", "network:tie:skole-barnevern"])])
    study = example_study.model_copy(update={"logic_chain": chain})
    ev = _evidence([("outcome", "Nettverk", "supports"), ("outcome", "Nettverk", "supports")])
    ev["indicator"] = ["density", "tie:skole-barnevern"]
    ev["source"] = "network"
    for lang, want in (("nb", ("Tetthet i samarbeidsnettverket", "Bånd skole–barnevern")),
                       ("en", ("Density of the collaboration network", "Tie skole–barnevern"))):
        fig = logic_chain_figure(ev, study, lang=lang)
        joined = " ".join(" ".join(_texts(fig)).split())  # wrapped lines joined back
        plt.close(fig)
        for label in want:
            assert label in joined, (lang, label)
        assert "tie:skole" not in joined


def test_insufficient_network_rows_per_kommune_counted_in_one_line():
    from evaluation_pipeline.analysis.effects import insufficient_data_notes, insufficient_effect

    rows = [insufficient_effect("network", f"tie:skole-{b}", "w2019 - w2012", "bootstrap",
                                f"network:tie:skole-{b}, {k}: undefined in wave(s) w2012",
                                group=k)
            for b in ("PPT", "NAV", "BUP") for k in ("1515", "1535")]
    rows += [insufficient_effect("network", "reciprocity", NET_DID, RI, "too few kommuner"),
             insufficient_effect("survey", "samarbeid", "w2019 - w2012", "Welch", "n < 5",
                                 group="1515")]
    e = effects_frame(rows)
    assert len(insufficient_data_notes(e)) == 8  # every row listed
    notes = insufficient_data_notes(e, count_kommuner_of=("network",))
    assert notes == [
        "network: 6 per-kommune result(s) of 3 outcome(s) in 2 kommune(r) could not be "
        "estimated (the effects table's notes say why for each)",
        "network:reciprocity: too few kommuner", "survey:samarbeid: n < 5"]
