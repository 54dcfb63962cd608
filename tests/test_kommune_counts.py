"""Kommune counts are not person counts (issue #22): the small-cell threshold applies to counts
of persons only, a network of a few kommuner gets estimates and verdicts with a "few kommuner"
caveat, and a row hidden for a small person count leaks nowhere (CI, bootstrap CI and p in
the note, figures, CSV, XLSX, LaTeX, HTML, the logic-chain table and preview)."""

from __future__ import annotations

import math
import re

import numpy as np
import openpyxl
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from evaluation_pipeline.analysis.did import did_twfe
from evaluation_pipeline.analysis.effects import (
    EFFECT_COLUMNS,
    Effect,
    count_unit,
    count_units,
    effects_frame,
)
from evaluation_pipeline.analysis.logic_chain import indicator_verdict, logic_chain_evidence
from evaluation_pipeline.analysis.registry import registry_effects
from evaluation_pipeline.publication import suppress_effects
from evaluation_pipeline.report import figures as F
from evaluation_pipeline.report.study_report import build_study_report
from evaluation_pipeline.study import ChainElement, LogicChain

NETWORK = {"4001": 2017, "4003": 2017, "4005": 2019, "4012": 2019}
COMPARISON = ["4010", "4014", "4016", "4018", "4020", "4022", "4024", "4026", "4028", "4030"]
TRUE_EFFECT = -11.3  # per 1,000, as the barnevern DiD of the issue


def _telemark(example_study, tmp_path, expected="decrease"):
    """The example study turned into a registry study of four Telemark network kommuner
    (joined 2017 and 2019) against ten other Telemark kommuner."""
    chain = LogicChain(
        goal="Tidlig hjelp", interventions=["Nettverk"],
        impact=[ChainElement(name="Færre barn med tiltak",
                             indicators=["registry:cw_measures_0_17"], expected=expected)])
    registry = example_study.registry.model_copy(update={"indicators": {
        "cw_measures_0_17": example_study.registry.indicators["cw_measures_0_17"]}})
    return example_study.model_copy(update={
        "network": dict(NETWORK), "comparison": list(COMPARISON), "logic_chain": chain,
        "registry": registry, "survey": None, "interviews": None, "synthetic": False,
        "output_dir": str(tmp_path)})


def _observations(seed: int = 22) -> pd.DataFrame:
    """A kommune × year panel 2012–2023 with kommune and year effects, noise, and a clear
    effect of joining: -11.3 per 1,000."""
    rng = np.random.default_rng(seed)
    rows = []
    years = range(2012, 2024)
    level = {k: rng.normal(45, 6) for k in [*NETWORK, *COMPARISON]}
    trend = {y: 0.4 * (y - 2012) + rng.normal(0, 0.5) for y in years}
    for k in [*NETWORK, *COMPARISON]:
        for y in years:
            treated = k in NETWORK and y >= NETWORK[k]
            value = level[k] + trend[y] + TRUE_EFFECT * treated + rng.normal(0, 1.2)
            rows.append({"indicator": "cw_measures_0_17", "kommune": k, "year": y,
                         "value": value, "numerator": np.nan, "denominator": np.nan,
                         "status": None, "estimated": False})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# what n_treated / n_control count


def test_count_unit_rule_and_column():
    assert count_unit("registry", "network - comparison (after joining)", "TWFE DiD") == \
        "kommuner"
    assert count_unit("registry", "event time 2", "TWFE event study") == "kommuner"
    assert count_unit("survey", "w2019 - w2012, network - comparison", "mixed model") == \
        "kommuner"
    assert count_unit("survey", "w2019 - w2012", "paired t-test (165 pairs)") == "pairs"
    assert count_unit("survey", "w2019 - w2012", "Welch t-test") == "respondents"
    assert count_unit("interviews", "i2019 - i2013", "difference in shares") == "interviews"
    assert count_unit("other") == ""
    frame = effects_frame([
        Effect("registry", "x", "network - comparison (after joining)", "TWFE DiD", 1.0),
        Effect("survey", "y", "w2 - w1", "Welch t-test", 1.0),
        Effect("survey", "y", "w2 - w1", "Welch t-test", 1.0, n_unit="pairs"),  # as set
    ])
    assert "n_unit" in EFFECT_COLUMNS and list(frame.columns) == EFFECT_COLUMNS
    assert frame["n_unit"].tolist() == ["kommuner", "respondents", "pairs"]
    # a frame written before the column existed: the rule decides
    assert count_units(frame.drop(columns="n_unit")).tolist() == [
        "kommuner", "respondents", "respondents"]


def test_suppress_effects_by_persons_only():
    note = ("14 clusters (kommune); CR1 SE, t(13) inference; wild cluster bootstrap (WCR, "
            "Webb, 9999 draws): p=0.023, 95% CI [-20.9, -1.7] (test inversion)")
    frame = effects_frame([
        # 4 network kommuner: not suppressed
        Effect("registry", "cw", "network - comparison (after joining)",
               "TWFE DiD (unit and year FE, cluster-robust CR1)", -11.3, ci_low=-19.0,
               ci_high=-3.6, p_value=0.01, n_treated=4, n_control=10, n_obs=168, note=note),
        # 3 follow-up respondents: suppressed, note and the pair count in the name go too
        Effect("survey", "s", "w2 - w1", "paired t-test (3 pairs)", 0.81, ci_low=0.2,
               ci_high=1.4, p_value=0.04, n_treated=3, n_control=3, n_obs=6,
               note="paired on 3 respondents; Wilcoxon signed-rank p=0.0625", group="1508"),
        # a network vs comparison model on 4 scores: kommuner kept, numbers hidden
        Effect("survey", "s", "w2 - w1, network - comparison", "OLS with kommune fixed "
               "effects, cluster-robust SE", 0.5, ci_low=0.1, ci_high=0.9, n_treated=2,
               n_control=2, n_obs=4, note="fallback ...; 4 kommuner (2 network, 2 comparison)"),
        # 40 interviews: kept
        Effect("interviews", "t", "i2 - i1", "difference in shares", 0.3, ci_low=0.1,
               ci_high=0.5, n_treated=20, n_control=20, n_obs=40),
    ])
    out = suppress_effects(frame, 5)
    assert out["suppressed"].tolist() == [False, True, True, False]
    reg = out.iloc[0]
    assert (reg.estimate, reg.ci_low, reg.n_treated, reg.note) == (-11.3, -19.0, 4, note)
    pp = out.iloc[1]
    assert np.isnan([pp.estimate, pp.se, pp.ci_low, pp.ci_high, pp.p_value, pp.n_treated,
                     pp.n_control, pp.n_obs]).all()
    assert pp.note == "suppressed: fewer than 5 persons" and pp.estimator == "paired t-test"
    did = out.iloc[2]
    assert np.isnan([did.estimate, did.ci_low, did.ci_high, did.n_obs]).all()
    assert (did.n_treated, did.n_control) == (2, 2)  # kommuner are not persons
    assert "4 kommuner" not in did.note
    assert out.iloc[3].estimate == 0.3
    # a row suppressed upstream stays suppressed and loses its note's numbers
    again = suppress_effects(frame.assign(suppressed=[True, False, False, False]), 5)
    assert again.iloc[0]["suppressed"] and "20.9" not in again.iloc[0]["note"]


@pytest.mark.parametrize(("n_treated", "unit", "verdict"), [
    (4, "kommuner", "supports"), (2, "kommuner", "supports"),
    (1, "kommuner", "insufficient_data"), (4, "respondents", "insufficient_data"),
    (4, "", "insufficient_data"), (4, "interviews", "insufficient_data"),
])
def test_verdict_counts_persons_not_kommuner(n_treated, unit, verdict):
    v, reason = indicator_verdict(-11.3, -20.9, -1.7, "decrease", n_treated=n_treated,
                                  n_control=10, min_units=5, unit=unit)
    assert v == verdict
    if n_treated == 1:
        assert "too few kommuner: 1 network kommune" in reason


# --------------------------------------------------------------------------------------------
# a four-kommune network with a clear registry DiD gets a verdict


@pytest.mark.parametrize(("expected", "verdict"), [("decrease", "supports"),
                                                   ("increase", "contrary")])
def test_four_kommune_network_gets_a_verdict(example_study, tmp_path, expected, verdict):
    study = _telemark(example_study, tmp_path, expected)
    obs = _observations()
    effects = effects_frame(registry_effects(obs, study))
    twfe = effects[effects["estimator"].str.startswith("TWFE")].iloc[0]
    assert (twfe.n_treated, twfe.n_control, twfe.n_unit) == (4, 10, "kommuner")
    # independent reference: the TWFE coefficient from statsmodels' OLS with dummies
    panel = obs.assign(treated=[int(k in NETWORK and y >= NETWORK[k])
                                for k, y in zip(obs["kommune"], obs["year"], strict=True)])
    ols = smf.ols("value ~ treated + C(kommune) + C(year)", data=panel).fit()
    assert twfe.estimate == pytest.approx(ols.params["treated"], rel=1e-9)
    assert twfe.estimate == pytest.approx(TRUE_EFFECT, abs=2.0)
    _, details = did_twfe(panel, "value", "kommune", "year", "treated", return_details=True)

    ev = logic_chain_evidence(study, effects)
    row = ev.iloc[0]
    assert row.verdict == verdict, row.note
    assert row.caveat == "few_kommuner"
    assert "few kommuner: 4 network kommuner" in row.note
    assert row.estimate == pytest.approx(twfe.estimate)
    # judged by the wild cluster bootstrap CI (few clusters), not the CR1 CI
    assert (row.ci_low, row.ci_high) == pytest.approx(details["boot_ci"], rel=1e-3)
    assert row.ci_high < 0

    out = build_study_report(study, effects=effects, survey_summary=_no_means(),
                             registry_means=_rates(obs), theme_freq=_no_themes(),
                             logic_chain=ev)
    html = out.report.read_text(encoding="utf-8")
    lc = html[html.index("id='logic-chain'"):html.index("id='registry'")]
    assert {"supports": "Støtter", "contrary": "Motsier"}[verdict] in lc
    assert "få kommuner" in lc and "Forbehold" in lc
    assert "For lite data" not in lc and "suppressed" not in lc
    assert "Få kommuner: nettverket har 4 kommuner (færre enn 10)" in html
    published = pd.read_csv(out.tables["effects"])
    reg = published[published["source"] == "registry"]
    assert not reg["suppressed"].any() and reg["estimate"].notna().all()
    assert reg["n_treated"].tolist() == [4, 4] and set(reg["n_unit"]) == {"kommuner"}
    did = pd.read_csv(out.tables["registry_did"])
    assert did.loc[0, "boot_ci_high"] < 0 and not did.loc[0, "suppressed"]
    assert "få kommuner" in out.preview_markdown  # the Dagster preview says it too
    lct = pd.read_csv(out.tables["logic_chain"])
    assert lct.loc[0, "caveat"] == "few_kommuner" and lct.loc[0, "verdict"] == verdict
    # the figure says it in the indicator's line
    import matplotlib.pyplot as plt

    from evaluation_pipeline.report.logic_chain_figure import logic_chain_figure

    fig = logic_chain_figure(ev, study, "nb")
    lines = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("(få kommuner)" in line for line in lines), lines
    plt.close(fig)


def test_two_kommune_network_gets_an_estimate_and_a_verdict(example_study, tmp_path):
    study = _telemark(example_study, tmp_path)
    two = {"4001": 2017, "4005": 2019}
    study = study.model_copy(update={"network": two})
    obs = _observations()
    obs = obs[~obs["kommune"].isin(set(NETWORK) - set(two))]
    effects = effects_frame(registry_effects(obs, study))
    row = logic_chain_evidence(study, effects).iloc[0]
    assert row.verdict in ("supports", "no_clear_change", "contrary"), row.note
    assert not math.isnan(row.estimate) and row.caveat == "few_kommuner"
    assert "few kommuner: 2 network kommuner" in row.note
    one = study.model_copy(update={"network": {"4001": 2017}})
    row = logic_chain_evidence(one, effects_frame(registry_effects(
        obs[obs["kommune"] != "4005"], one))).iloc[0]
    assert row.verdict == "insufficient_data" and "too few kommuner: 1 network" in row.note


def _no_means() -> pd.DataFrame:
    return pd.DataFrame(columns=["scale", "wave", "group", "mean", "sd", "n", "ci_low",
                                 "ci_high"])


def _no_themes() -> pd.DataFrame:
    return pd.DataFrame(columns=["theme", "wave", "n_segments", "n_sources",
                                 "sources_in_group", "share_sources"])


def _rates(obs: pd.DataFrame) -> pd.DataFrame:
    g = obs.assign(group=np.where(obs["kommune"].isin(list(NETWORK)), "network",
                                  "comparison"))
    out = g.groupby(["indicator", "year", "group"], as_index=False)["value"].mean()
    return out.assign(numerator=np.nan, denominator=np.nan, n_kommuner=7)


# --------------------------------------------------------------------------------------------
# a row hidden for a small person count leaks nowhere


#: the hidden rows' numbers, each in a form nothing else in these outputs has
HIDDEN = {"estimate": 7.7771, "ci_low": 6.5432, "ci_high": 9.2194, "p": 0.0417,
          "boot_lo": 5.1316, "boot_hi": 9.9172, "boot_p": 0.0219, "wilcoxon": 0.0789,
          "shift": 0.6181, "shift_lo": 0.3377, "shift_hi": 0.8464}


def _forms(x: float) -> set[str]:
    out = set()
    for fmt in ("{:.4g}", "{:.3g}", "{:.2f}", "{:.3f}", "{:.4f}"):
        text = fmt.format(x)
        out |= {text, text.replace(".", ",")}
    return out


def _leaky_effects() -> pd.DataFrame:
    boot = (f"wild cluster bootstrap (WCR, Webb, 9999 draws): p={HIDDEN['boot_p']:.3f}, "
            f"95% CI [{HIDDEN['boot_lo']:.4g}, {HIDDEN['boot_hi']:.4g}] (test inversion)")
    e = effects_frame([
        # the survey pre/post of one kommune with 3 follow-up respondents
        Effect("survey", "samarbeid", "w2019 - w2012", "Welch t-test (independent samples)",
               HIDDEN["estimate"], ci_low=HIDDEN["ci_low"], ci_high=HIDDEN["ci_high"],
               p_value=HIDDEN["p"], n_treated=3, n_control=40, n_obs=43, group="1520",
               note=f"Mann-Whitney U p={HIDDEN['wilcoxon']:.3g}"),
        # the pooled network pre/post with 3 pairs: primary evidence of a chain element
        Effect("survey", "samarbeid", "w2019 - w2012", "paired t-test (3 pairs)",
               HIDDEN["estimate"], ci_low=HIDDEN["ci_low"], ci_high=HIDDEN["ci_high"],
               p_value=HIDDEN["p"], n_treated=3, n_control=3, n_obs=6, group="network",
               note=f"Wilcoxon signed-rank p={HIDDEN['wilcoxon']:.3g}"),
        # an interview theme shift over 3 baseline interviews
        Effect("interviews", "Felles rutiner", "i2019 - i2013",
               "difference in shares, Fisher's exact test", HIDDEN["shift"],
               ci_low=HIDDEN["shift_lo"], ci_high=HIDDEN["shift_hi"], p_value=HIDDEN["p"],
               n_treated=20, n_control=3, n_obs=23),
        # a registry DiD suppressed upstream (as published before): its bootstrap CI and p
        # are in the note
        Effect("registry", "completion_5y", "network - comparison (after joining)",
               "TWFE DiD (unit and year FE, cluster-robust CR1)", HIDDEN["estimate"],
               ci_low=HIDDEN["ci_low"], ci_high=HIDDEN["ci_high"], p_value=HIDDEN["p"],
               n_treated=9, n_control=11, n_obs=240, note=f"20 clusters (kommune); {boot}"),
        # rows that are shown
        Effect("survey", "samarbeid", "w2019 - w2012", "Welch t-test (independent samples)",
               0.31, ci_low=0.12, ci_high=0.5, p_value=0.002, n_treated=400, n_control=410,
               n_obs=810, group="1508"),
        Effect("registry", "neet_15_29", "network - comparison (after joining)",
               "TWFE DiD (unit and year FE, cluster-robust CR1)", -1.4, ci_low=-2.2,
               ci_high=-0.6, p_value=0.003, n_treated=9, n_control=11, n_obs=240,
               note="20 clusters (kommune); wild cluster bootstrap (WCR, Webb, 9999 draws): "
                    "p=0.004, 95% CI [-2.3, -0.5] (test inversion)"),
    ])
    e["suppressed"] = [False, False, False, True, False, False]
    return e


def _texts_of_outputs(out_dir) -> dict[str, str]:
    texts = {}
    for p in out_dir.rglob("*"):
        if p.suffix in (".csv", ".tex", ".html", ".json"):
            texts[str(p)] = p.read_text(encoding="utf-8-sig")
        elif p.suffix == ".xlsx":
            wb = openpyxl.load_workbook(p)
            texts[str(p)] = "\n".join(
                str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row
                if c.value is not None)
    return texts


def test_hidden_rows_leak_nowhere(example_study, tmp_path, monkeypatch):
    study = example_study.model_copy(update={"output_dir": str(tmp_path)})
    effects = _leaky_effects()
    drawn = []
    real = F.draw_and_save

    def spy(path_stem, build, *args, **kwargs):
        drawn.append((path_stem.name, args, kwargs))
        return real(path_stem, build, *args, **kwargs)

    monkeypatch.setattr(F, "draw_and_save", spy)
    ev = logic_chain_evidence(study, effects)
    by = ev.set_index("indicator")
    assert by.loc["samarbeid", "verdict"] == "insufficient_data"
    assert by.loc["Felles rutiner", "verdict"] == "insufficient_data"
    assert by.loc["completion_5y", "verdict"] == "insufficient_data"
    assert by.loc["neet_15_29", "verdict"] == "supports"
    out = build_study_report(study, effects=effects, survey_summary=_no_means(),
                             registry_means=pd.DataFrame(columns=[
                                 "indicator", "year", "group", "numerator", "denominator",
                                 "value", "n_kommuner"]),
                             theme_freq=_no_themes(), logic_chain=ev)
    texts = _texts_of_outputs(tmp_path)
    assert any(p.endswith("effects.csv") for p in texts) and any(
        p.endswith(".xlsx") for p in texts) and any(p.endswith(".tex") for p in texts)
    texts["preview"] = out.preview_markdown
    texts["evidence"] = ev.to_csv()
    # what is shown is in the outputs (the scan reads them) ...
    assert any("0.31" in t for t in texts.values()) and any("-1.4" in t for t in texts.values())
    # ... and nothing of the hidden rows
    for name, x in HIDDEN.items():
        for form in _forms(x):
            hits = [p for p, t in texts.items() if re.search(rf"(?<![\d.,]){re.escape(form)}"
                                                            r"(?![\d])", t)]
            assert not hits, (name, form, hits)
    assert not any("3 pairs" in t for t in texts.values())
    # the figures were drawn from frames without the hidden numbers
    assert drawn
    for name, args, kwargs in drawn:
        for a in [*args, *kwargs.values()]:
            if isinstance(a, pd.DataFrame):
                nums = a.select_dtypes("number").to_numpy(dtype=float).ravel()
                for x in HIDDEN.values():
                    assert not np.isclose(nums, x).any(), (name, x)
                assert not a.astype(str).apply(
                    lambda c: c.str.contains("9.917|5.132|0.022", regex=True)).any().any(), \
                    name
    # the published effects table marks the rows and says why
    eff = pd.read_csv(out.tables["effects"])
    assert eff["suppressed"].tolist() == [True, True, True, True, False, False]
    assert (eff.loc[:3, "note"] == "suppressed: fewer than 5 persons").all()
    did = pd.read_csv(out.tables["registry_did"])  # completion_5y first, then NEET
    assert did["suppressed"].tolist() == [True, False]
    assert math.isnan(did.loc[0, "twfe"]) and math.isnan(did.loc[0, "boot_ci_low"])
    assert did.loc[1, "boot_ci_high"] == -0.5
