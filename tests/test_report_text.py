"""Report text about what was actually estimated and only the study's own kommuner (issue
#22): split-kommune caveats only where the study is affected, "not computed" instead of
``F(0, 8) = nan``, whole-year axis ticks, the methods text following the estimator of each
scale, and never ``n = :``."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from evaluation_pipeline.analysis.effects import Effect, effects_frame
from evaluation_pipeline.analysis.survey_did import network_effect
from evaluation_pipeline.report import figures as F
from evaluation_pipeline.report import profiles as P
from evaluation_pipeline.report.study_report import build_study_report

TELEMARK_NETWORK = {"4001": 2017, "4003": 2017, "4005": 2019, "4012": 2019}
TELEMARK_COMPARISON = ["4010", "4014", "4016", "4018", "4020", "4022"]


def _paragraphs(html: str, anchor: str) -> str:
    """The text of one report section (tags removed)."""
    start = html.index(f"id='{anchor}'")
    nxt = html.find("<h2", start + 1)
    return re.sub(r"<[^>]+>", " ", html[start:nxt if nxt > 0 else None])


def _rates(codes, years) -> pd.DataFrame:
    rows = [{"indicator": "completion_5y", "year": y, "group": g, "numerator": 700.0,
             "denominator": 1000.0, "value": 70.0, "n_kommuner": 4}
            for y in years for g in ("network", "comparison")]
    return pd.DataFrame(rows)


def _empty_inputs() -> dict:
    return dict(
        survey_summary=pd.DataFrame(columns=["scale", "wave", "group", "mean", "sd", "n",
                                             "ci_low", "ci_high"]),
        theme_freq=pd.DataFrame(columns=["theme", "wave", "n_segments", "n_sources",
                                         "sources_in_group", "share_sources"]))


def _registry_effects() -> pd.DataFrame:
    return effects_frame([Effect(
        "registry", "completion_5y", "network - comparison (after joining)",
        "TWFE DiD (unit and year FE, cluster-robust CR1)", 1.2, ci_low=0.2, ci_high=2.2,
        n_treated=4, n_control=6, n_obs=120,
        note="10 clusters (kommune); CR1 SE, t(9) inference; wild cluster bootstrap (WCR, "
             "Webb, 9999 draws): p=0.030, 95% CI [0.1, 2.4] (test inversion)")])


# --------------------------------------------------------------------------------------------
# caveats only about the study's own kommuner and data


def test_split_caveat_only_when_the_study_is_affected(example_study, tmp_path):
    telemark = example_study.model_copy(update={
        "network": TELEMARK_NETWORK, "comparison": TELEMARK_COMPARISON, "survey": None,
        "interviews": None, "logic_chain": None, "output_dir": str(tmp_path / "tm")})
    out = build_study_report(telemark, effects=_registry_effects(),
                             registry_means=_rates(telemark.kommuner, range(2015, 2024)),
                             **_empty_inputs())
    caveats = _paragraphs(out.report.read_text(encoding="utf-8"), "caveats")
    assert "1507" not in caveats and "Ålesund" not in caveats
    assert "4 nettverkskommuner og 6 sammenligningskommuner" in caveats

    # Sunnmøre: Ålesund 1508 and Haram 1580 are the successors of the split 1507
    sunnmore = example_study.model_copy(update={"output_dir": str(tmp_path / "sm")})
    out = build_study_report(sunnmore, effects=_registry_effects(),
                             registry_means=_rates(sunnmore.kommuner, range(2012, 2024)),
                             **_empty_inputs())
    caveats = _paragraphs(out.report.read_text(encoding="utf-8"), "caveats")
    assert ("Tall for Ålesund 1507 i 2020–2023, som senere ble delt, er fordelt på "
            "Ålesund 1508, Haram 1580 etter befolkningsandel") in caveats
    # the same kommuner, but registry data ending before the split period: no caveat
    sunnmore = example_study.model_copy(update={"output_dir": str(tmp_path / "sm2")})
    out = build_study_report(sunnmore, effects=_registry_effects(),
                             registry_means=_rates(sunnmore.kommuner, range(2012, 2020)),
                             **_empty_inputs())
    assert "1507" not in _paragraphs(out.report.read_text(encoding="utf-8"), "caveats")


def test_pretrend_not_computed_says_so(example_study, tmp_path):
    study = example_study.model_copy(update={"output_dir": str(tmp_path)})
    pretrend = pd.DataFrame({
        "indicator": ["completion_5y", "neet_15_29", "cw_measures_0_17"],
        "estimator": "TWFE", "statistic": [np.nan, 1.2345, np.nan], "df1": [0, 3, 2],
        "df2": [8, 19, 19], "p_value": [np.nan, 0.3214, np.nan]})
    out = build_study_report(study, effects=_registry_effects(),
                             registry_means=_rates(study.kommuner, range(2012, 2020)),
                             pretrend=pretrend, **_empty_inputs())
    text = _paragraphs(out.report.read_text(encoding="utf-8"), "registry")
    assert "nan" not in text.lower() and "F(0," not in text
    ind = {k: study.label(v.label, k) for k, v in study.registry.indicators.items()}
    assert (f"{ind['completion_5y']}: ikke beregnet (ingen år før innmelding i vinduet)"
            in text)
    assert f"{ind['neet_15_29']}: F(3, 19) = 1,23, p = 0,321" in text
    assert (f"{ind['cw_measures_0_17']}: ikke beregnet (testen kunne ikke beregnes fra "
            "koeffisientene)") in text
    en = example_study.model_copy(update={"output_dir": str(tmp_path / "en"),
                                          "language": "en"})
    out = build_study_report(en, effects=_registry_effects(),
                             registry_means=_rates(en.kommuner, range(2012, 2020)),
                             pretrend=pretrend, **_empty_inputs())
    text = _paragraphs(out.report.read_text(encoding="utf-8"), "registry")
    assert "not computed (no years before joining in the window)" in text
    assert "F(3, 19) = 1.23, p = 0.321" in text and "nan" not in text.lower()


# --------------------------------------------------------------------------------------------
# whole years on the axes


def _tick_texts(fig, axes) -> list[str]:
    fig.canvas.draw()
    return [t.get_text().replace("\u2212", "-") for ax in axes
            for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]


def _panel(study, years) -> pd.DataFrame:
    """Ranges of years where matplotlib's default locator puts ticks on half years (three
    years; twelve years: ticks every 2.5 years, 2017.5 as in the issue)."""
    rows = []
    for k in study.kommuner:
        for y in years:
            rows.append({"indicator": "completion_5y", "kommune": k, "year": y,
                         "numerator": 700.0 + y - 2016, "denominator": 1000.0,
                         "value": 70.0 + 0.1 * (y - 2016), "estimated": False,
                         "network": int(k in study.network),
                         "join_year": study.network.get(k), "status": None})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("years", [range(2016, 2019), range(2012, 2024)])
def test_profile_trends_have_whole_year_ticks(example_study, years):
    study = example_study
    kommune = "1515"  # Herøy, joined 2017
    shared: dict = {}
    tabs = P.profile_tables(study, kommune, _panel(study, years), None, shared=shared)
    P.trends_png(tabs, study, shared)
    (fig,) = [f for k, f in shared["figures"].items() if k[0] == "trends"]
    ticks = _tick_texts(fig.fig, fig.axes)
    assert len(ticks) >= 3, ticks
    assert all(re.fullmatch(r"\d{4}", t) for t in ticks), ticks
    assert len(set(ticks) & {str(y) for y in years}) >= 2, ticks


@pytest.mark.parametrize("years", [range(2016, 2019), range(2012, 2024)])
def test_report_trend_and_event_study_figures_have_whole_number_ticks(years):
    import matplotlib.pyplot as plt

    n = len(years)
    means = pd.DataFrame({"indicator": "x", "year": list(years) * 2,
                          "group": ["network"] * n + ["comparison"] * n,
                          "value": np.arange(2 * n, dtype=float)})
    fig = F.registry_trends(means, {"x": "X"}, [2017, 2018])
    ticks = _tick_texts(fig, fig.axes[:1])
    assert len(ticks) >= 3 and all(re.fullmatch(r"\d{4}", t) for t in ticks), ticks
    plt.close(fig)
    coefs = pd.DataFrame({"indicator": "x", "event_time": [-1, 0, 1],
                          "estimate": [0.0, 0.5, 0.7], "ci_low": [0, 0.2, 0.3],
                          "ci_high": [0, 0.8, 1.1], "estimator": "TWFE"})
    fig = F.event_study(coefs, {"x": "X"})
    ticks = _tick_texts(fig, fig.axes[:1])
    assert len(ticks) >= 2 and all(re.fullmatch(r"-?\d+", t) for t in ticks), ticks
    plt.close(fig)


# --------------------------------------------------------------------------------------------
# the methods text follows the estimator actually used


def _scores(study, kommuner, seed=7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for k in kommuner:
        for w in (study.baseline_wave, study.followup_waves[-1]):
            for i in range(25):
                lift = 0.4 if (k in study.network and w != study.baseline_wave) else 0.0
                rows.append({"respondent_id": f"R-{k}-{w}-{i}", "wave": w, "kommune": k,
                             "role": ["skole", "barnevern"][i % 2], "scale": "samarbeid",
                             "score": 3 + lift + rng.normal(0, 0.5)})
    return pd.DataFrame(rows)


def test_methods_text_follows_the_estimator_per_scale(example_study, tmp_path):
    network = dict(list(example_study.network.items())[:3])
    comparison = list(example_study.comparison[:3])
    study = example_study.model_copy(update={"network": network, "comparison": comparison,
                                             "output_dir": str(tmp_path)})
    two = network_effect(_scores(study, study.kommuner), "samarbeid", study)
    assert two.estimator.startswith("two-step")  # the survey DiD since issue 23
    # rows written before issue 23 (a stored effects table): the mixed model or its fallback
    mixed = Effect("survey", "felles_forstaelse", two.contrast,
                   "mixed model (random kommune intercept)", 0.2, ci_low=0.1, ci_high=0.3,
                   n_treated=3, n_control=3, n_obs=300)
    out = build_study_report(study, effects=effects_frame([two, mixed]),
                             registry_means=_rates(study.kommuner, range(2012, 2020)),
                             **_empty_inputs())
    methods = _paragraphs(out.report.read_text(encoding="utf-8"), "methods")
    scales = {k: study.label(v.label, k) for k, v in study.survey.scales.items()}
    assert (f"For {scales['samarbeid']} er forskjellen mellom nettverk og sammenligning "
            "estimert i to trinn (Donald og Lang 2007)") in methods
    assert "antall kommuner minus 2 frihetsgrader" in methods
    assert (f"blandet modell med kommune som tilfeldig effekt for "
            f"{scales['felles_forstaelse']}.") in methods
    # only the two-step rows: no mixed model and no OLS in the text; no registry rows: no DiD
    out = build_study_report(study.model_copy(update={"output_dir": str(tmp_path / "b")}),
                             effects=effects_frame([two]),
                             registry_means=_rates(study.kommuner, range(2012, 2020)),
                             **_empty_inputs())
    methods = _paragraphs(out.report.read_text(encoding="utf-8"), "methods")
    assert "i to trinn" in methods and "blandet modell" not in methods
    assert "forskjell-i-forskjeller" not in methods and "OLS" not in methods
    # an old OLS-fallback row still gets its reason
    ols = Effect("survey", "samarbeid", two.contrast, "OLS with kommune fixed effects, "
                 "cluster-robust SE", 0.5, ci_low=0.1, ci_high=0.9, n_treated=3, n_control=3,
                 n_obs=300, note="fallback from the mixed model (fewer than 10 kommuner (6)). "
                 "OLS with kommune FE")
    out = build_study_report(study.model_copy(update={"output_dir": str(tmp_path / "c")}),
                             effects=effects_frame([ols]),
                             registry_means=_rates(study.kommuner, range(2012, 2020)),
                             **_empty_inputs())
    methods = _paragraphs(out.report.read_text(encoding="utf-8"), "methods")
    assert "estimert med OLS med faste kommuneeffekter" in methods
    assert "færre enn 10 kommuner: 6" in methods


# --------------------------------------------------------------------------------------------
# never "n = :"


@pytest.mark.parametrize("language", ["nb", "en"])
def test_no_n_colon_in_text(example_study, tmp_path, language):
    study = example_study.model_copy(update={"output_dir": str(tmp_path),
                                             "language": language})
    themes = pd.DataFrame({
        "theme": ["Felles rutiner"] * 2, "wave": ["i2013", "i2019"], "n_segments": [5, 30],
        "n_sources": [3, 15], "sources_in_group": [3, 20], "share_sources": [1.0, 0.75]})
    inputs = _empty_inputs() | {"theme_freq": themes}
    out = build_study_report(study, effects=_registry_effects(),
                             registry_means=_rates(study.kommuner, range(2012, 2020)),
                             **inputs)
    html = out.report.read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", " ", html)
    assert not re.search(r"n\s*=\s*:", text)
    design = _paragraphs(html, "design")
    assert "i2013 (n &lt; 5)" in design and "i2019 (n = 20)" in design
