"""The report: suppressed tables, figures in PNG and SVG, bokmål by default and English."""

import numpy as np
import pandas as pd

from evaluation_pipeline.analysis.effects import Effect, effects_frame
from evaluation_pipeline.report.study_report import build_study_report


def _inputs():
    effects = effects_frame([
        Effect("survey", "samarbeid", "w2016 - w2012", "Welch", 0.5, 0.03, 0.44, 0.56, 0.001,
               n_treated=400, n_control=410, n_obs=810, group="network"),
        Effect("survey", "samarbeid", "w2016 - w2012", "Welch", 0.9, 0.5, -0.1, 1.9, 0.2,
               n_treated=3, n_control=40, n_obs=43, group="comparison"),
    ])
    summary = pd.DataFrame({
        "scale": "samarbeid", "wave": ["w2012", "w2016", "w2012", "w2016"],
        "group": ["network", "network", "comparison", "comparison"],
        "mean": [2.9, 3.4, 2.9, 3.0], "sd": 0.5, "n": [410, 400, 40, 3],
        "ci_low": [2.85, 3.35, 2.7, 2.0], "ci_high": [2.95, 3.45, 3.1, 4.0],
    })
    rates = pd.DataFrame({
        "indicator": "completion_5y", "year": [2012, 2012, 2013, 2013],
        "group": ["network", "comparison"] * 2, "numerator": [700.0, 600, 720, 610],
        "denominator": [1000.0, 900, 1000, 900], "value": [70.0, 66.7, 72.0, 67.8],
        "n_kommuner": [9, 11, 9, 11],
    })
    themes = pd.DataFrame({
        "theme": ["Felles rutiner"] * 2, "wave": ["i2013", "i2019"], "n_segments": [9, 30],
        "n_sources": [6, 15], "sources_in_group": [20, 20], "share_sources": [0.3, 0.75],
    })
    return dict(effects=effects, survey_summary=summary, registry_means=rates, theme_freq=themes)


def test_bokmal_report_tables_and_figures(example_study, tmp_path):
    study = example_study.model_copy(update={"output_dir": str(tmp_path)})
    out = build_study_report(study, **_inputs())
    html = out.report.read_text(encoding="utf-8")
    assert out.report.name == "rapport.html"
    assert "Nettverk" in html and "Samarbeidskvalitet" in html and "0,500" in html
    assert "<td>810</td>" in html  # counts stay integers
    # the comparison row with 3 treated answers is suppressed in the table and the CSV
    eff = pd.read_csv(out.tables["effects"])
    row = eff[eff.group == "comparison"].iloc[0]
    assert row.suppressed and np.isnan(row.estimate) and np.isnan(row.n_treated)
    means = pd.read_csv(out.tables["survey_scale_means"])
    # w2016: comparison (n=3) is hidden, and so is network (secondary), since the wave's total
    # (403) is published and network = total - comparison
    assert means["suppressed"].tolist() == [False, True, False, True]
    assert means.loc[1, ["n", "mean"]].isna().all()
    assert "403" in html
    assert out.suppressed_cells == 3
    for paths in out.figures.values():
        assert {p.suffix for p in paths} == {".png", ".svg"}
        assert all(p.stat().st_size > 5000 for p in paths)


def test_english_edition(example_study, tmp_path):
    study = example_study.model_copy(update={"output_dir": str(tmp_path), "language": "en"})
    out = build_study_report(study, **_inputs())
    html = out.report.read_text(encoding="utf-8")
    assert out.report.name == "report.html"
    assert "Network" in html and "Collaboration quality" in html and "0.500" in html
    assert "Nettverk" not in html
