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
    assert "Nettverk" in html and "Samarbeidskvalitet" in html and "0,50" in html
    assert "<td class='num'>810</td>" in html  # counts stay integers
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
    assert "Network" in html and "Collaboration quality" in html and "0.50" in html
    assert "Nettverk" not in html


# --------------------------------------------------------------------------------------------
# Publication tables: rounding rule, CSV / XLSX / LaTeX
# --------------------------------------------------------------------------------------------

import re  # noqa: E402

import openpyxl  # noqa: E402
import pytest  # noqa: E402

from evaluation_pipeline.publication import (  # noqa: E402
    recoverable_cells,
    suppress_item_distributions,
    suppress_theme_role,
)
from evaluation_pipeline.report import figures as F  # noqa: E402
from evaluation_pipeline.report.study_report import validation_summary  # noqa: E402
from evaluation_pipeline.report.tables import (  # noqa: E402
    PublishedTable,
    format_value,
    to_latex,
    write_tables,
)


@pytest.mark.parametrize("x, kind, lang, expected", [
    # hand-rounded, halves away from zero on the decimal value (float formatting and Python's
    # round give 2.67, 0.12 and 0.12 for the first three)
    (2.675, "estimate", "nb", "2,68"),
    (0.125, "estimate", "nb", "0,13"),
    (-0.125, "estimate", "nb", "-0,13"),
    (-0.004, "estimate", "nb", "0,00"),
    (1234.5, "estimate", "en", "1234.50"),
    (0.0004, "p", "nb", "<0,001"),
    (0.00099, "p", "en", "<0.001"),
    (0.001, "p", "nb", "0,001"),
    (0.0495, "p", "nb", "0,050"),
    (0.2345, "p", "en", "0.235"),
    (12.5, "count", "nb", "13"),
    (810.0, "count", "nb", "810"),
    (0.12345, "share", "nb", "12,3"),
    (0.3335, "share", "en", "33.4"),   # 33.35 % -> 33.4
    (66.65, "rate", "nb", "66,7"),
    (float("nan"), "count", "nb", "–"),
])
def test_publication_rounding_rule(x, kind, lang, expected):
    assert format_value(x, kind, lang) == expected


def test_suppressed_cells_show_the_confidentiality_symbol():
    assert format_value(float("nan"), "count", "nb", suppressed=True) == ":"
    assert format_value(float("nan"), "estimate", "nb", suppressed=True) == ":"


def _table():
    return PublishedTable(
        "effects_demo",
        pd.DataFrame({
            "outcome": ["andel_50%", "R&D_{x}"], "group": ["network", "comparison"],
            "estimate": [0.5, np.nan], "ci_low": [0.125, np.nan], "p_value": [0.0004, np.nan],
            "n": [810.0, np.nan], "share": [0.3335, np.nan], "suppressed": [False, True],
        }),
        title="Effekter & 95 % KI", source="spørreundersøkelsen", method="Welch",
    )


def test_tables_in_three_formats(tmp_path):
    tb = _table()
    paths = write_tables([tb], tmp_path, "nb", 5, synthetic=True)["effects_demo"]
    # machine-readable CSV: comma separated, decimal point, unformatted, suppression flag
    machine = pd.read_csv(paths["csv"])
    assert machine.loc[0, "estimate"] == 0.5 and machine.loc[1, "suppressed"]
    assert set(machine["data"]) == {"SYNTHETIC"}
    # Norwegian Excel CSV: ';' and decimal comma, BOM
    raw = paths["publication_csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    pub = pd.read_csv(paths["publication_csv"], sep=";", decimal=",", encoding="utf-8-sig",
                      dtype=str)
    assert list(pub.columns)[:4] == ["data", "Utfall", "Gruppe", "Estimat"]
    assert pub.loc[0, "Estimat"] == "0,50" and pub.loc[0, "KI nedre"] == "0,13"
    assert pub.loc[0, "p"] == "<0,001" and pub.loc[0, "Andel (%)"] == "33,4"
    assert pub.loc[1].tolist()[3:] == [":"] * 5 and pub.loc[0, "Gruppe"] == "Nettverk"

    # XLSX: one sheet per table, title, notes row, header on row 4, rounded numbers
    wb = openpyxl.load_workbook(paths["xlsx"])
    assert wb.sheetnames == ["effects_demo"]
    ws = wb["effects_demo"]
    assert ws["A1"].value == "Effekter & 95 % KI (SYNTHETIC)"
    note = ws["A2"].value
    assert "Kilde: spørreundersøkelsen." in note and "Metode: Welch." in note
    assert "færre enn 5 enheter" in note
    header = [c.value for c in ws[4]]
    assert header == ["Utfall", "Gruppe", "Estimat", "KI nedre", "p", "n", "Andel (%)"]
    row = [c.value for c in ws[5]]
    assert row == ["andel_50%", "Nettverk", 0.5, 0.13, "<0,001", 810, 33.4]
    assert ws["C5"].number_format == "0.00" and ws["F5"].number_format == "0"
    assert [c.value for c in ws[6]][2:] == [":"] * 5

    # LaTeX: booktabs rules, decimal comma, special characters escaped
    tex = paths["latex"].read_text(encoding="utf-8")
    assert tex.index(r"\toprule") < tex.index(r"\midrule") < tex.index(r"\bottomrule")
    assert r"\caption{Effekter \& 95 \% KI (SYNTHETIC)}" in tex
    assert r"andel\_50\% & Nettverk & 0,50 & 0,13 & \textless{}0,001 & 810 & 33,4 \\" in tex
    assert r"R\&D\_\{x\}" in tex
    assert r"\begin{tabular}{llrrrrr}" in tex
    # every data row has as many cells as the header
    body = tex[tex.index(r"\midrule"):tex.index(r"\bottomrule")].splitlines()[1:]
    assert all(len(re.split(r"(?<!\\)&", line)) == 7 for line in body)
    # the manifest says which columns are counts
    import json

    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tables"]["effects_demo"]["count_columns"] == ["n"]


def test_english_tables_use_decimal_point(tmp_path):
    paths = write_tables([_table()], tmp_path, "en", 5)["effects_demo"]
    pub = pd.read_csv(paths["publication_csv"], dtype=str)
    assert pub.loc[0, "Estimate"] == "0.50" and pub.loc[0, "p"] == "<0.001"
    assert paths["xlsx"].name == "tables.xlsx"
    assert "0.50" in to_latex(_table(), "en", 5)


# --------------------------------------------------------------------------------------------
# Suppression with margins, validation summary
# --------------------------------------------------------------------------------------------


def test_item_distribution_small_categories_hidden_with_their_complement():
    # 3 + 40 + 57 = 100 answered: category 1 (3 answers) is below 5, and since n_answered is
    # published, one more category must go too, or 1 = 100 - 40 - 57
    dist = pd.DataFrame({
        "wave": "w1", "group": "network", "scale": "s", "item": "q1", "reversed": False,
        "category": [1, 2, 3], "count": [3, 40, 57], "share": [0.03, 0.40, 0.57],
        "n_answered": 100, "n_missing": 0,
    })
    out = suppress_item_distributions(dist, 5)
    assert out["suppressed"].tolist() == [True, True, False]
    assert out.loc[2, "count"] == 57 and np.isnan(out.loc[0, "share"])
    pub = pd.concat([
        pd.DataFrame({"category": out["category"], "published": out["count"]}),
        pd.DataFrame({"category": ["Total"], "published": [100.0]}),
    ], ignore_index=True)
    assert recoverable_cells(pub, rows="category") == []


def test_small_lines_that_only_a_hidden_total_protects():
    """Issue 23: roles 2 + 2 + 2 = 6 interviews of a theme in a round, 6 published in
    interview_theme_counts. Hidden, each is >= 1, so each is at most 4 < 5: only hiding the 6
    protects them, and it stands in another table, so the role lines are left out. Answer
    categories 2 + 2 + 2 + 0 of 6 answered: n_answered is hidden with them."""
    roles = pd.DataFrame({
        "theme": "T", "role": ["a", "b", "c", "a", "b", "c"],
        "wave": ["i1"] * 3 + ["i2"] * 3, "n_segments": [9, 9, 9, 9, 9, 9],
        "n_sources": [2, 2, 2, 6, 7, 8], "sources_in_group": [6, 7, 8, 6, 7, 8],
        "share_sources": [0.3, 0.3, 0.25, 1.0, 1.0, 1.0],
    })
    out = suppress_theme_role(roles, 5)
    assert out["wave"].tolist() == ["i2"] * 3 and not out["suppressed"].any()
    dist = pd.DataFrame({
        "wave": "w1", "group": "network", "scale": "s", "item": "q1", "reversed": False,
        "category": [1, 2, 3, 4], "count": [2, 2, 2, 0], "share": [1 / 3, 1 / 3, 1 / 3, 0],
        "n_answered": 6, "n_missing": 1,
    })
    out = suppress_item_distributions(dist, 5)
    assert out["count"].isna().tolist() == [True, True, True, False]
    assert out["n_answered"].isna().all() and out["n_missing"].isna().all()


def test_validation_summary_counts_rows_and_rules():
    valid = {"survey_answers": pd.DataFrame({"wave": ["w1", "w1", "w2"]}),
             "registry_observations": pd.DataFrame({"x": range(4)})}
    rejected = {"survey_answers": pd.DataFrame({
        "wave": ["w2", "w2", "w3"],
        "reason": ["value in 1-5", "value in 1-5; role known", "role known"]}),
        "registry_observations": pd.DataFrame(columns=["x", "reason"])}
    v = validation_summary(valid, rejected)
    # w3: every row rejected, still a line with 0 valid rows
    assert v[["table", "wave", "rows_valid", "rows_rejected"]].values.tolist() == [
        ["survey_answers", "w1", 2, 0], ["survey_answers", "w2", 1, 2],
        ["survey_answers", "w3", 0, 1], ["registry_observations", "", 4, 0]]
    assert v.loc[1, "rules"] == "value in 1-5 (2); role known (1)"


# --------------------------------------------------------------------------------------------
# Figures: one style
# --------------------------------------------------------------------------------------------

# Okabe & Ito (2008), "Color Universal Design": blue (0, 114, 178), orange (230, 159, 0),
# bluish green (0, 158, 115)
OKABE_BLUE, OKABE_ORANGE, OKABE_GREEN = (0, 114, 178), (230, 159, 0), (0, 158, 115)


def _rgb(c):
    from matplotlib.colors import to_rgb

    return tuple(round(255 * v) for v in to_rgb(c))


def _line_colours(fig):
    return {ln.get_label(): _rgb(ln.get_color()) for ax in fig.axes for ln in ax.get_lines()
            if not ln.get_label().startswith("_")}


def test_network_and_comparison_colours_are_the_same_in_every_figure():
    inputs = _inputs()
    trends = F.registry_trends(inputs["registry_means"], {"completion_5y": "Fullført"}, [2013],
                               language="nb")
    means = F.survey_means(inputs["survey_summary"], {"samarbeid": "Samarbeid"}, language="nb")
    prepost = F.pre_post(inputs["survey_summary"], {"samarbeid": "Samarbeid"}, "w2012",
                         "w2016", language="nb")
    for fig in (trends,):
        cols = _line_colours(fig)
        assert cols["Nettverkskommuner"] == OKABE_BLUE
        assert cols["Sammenligningskommuner"] == OKABE_ORANGE
    for fig in (means, prepost):  # error bars: the line of each container
        conts = {c.get_label(): _rgb(c.lines[0].get_color()) for c in fig.axes[0].containers}
        assert conts == {"Nettverkskommuner": OKABE_BLUE,
                         "Sammenligningskommuner": OKABE_ORANGE}
    # the legend is in the figure, with both groups
    labels = [t.get_text() for t in trends.legends[0].get_texts()]
    assert labels[:2] == ["Nettverkskommuner", "Sammenligningskommuner"]
    # pooled estimate of a forest plot in bluish green
    eff = pd.DataFrame({"outcome": "s", "group": ["1508", "all"], "estimate": [0.2, 0.3],
                        "ci_low": [0.1, 0.2], "ci_high": [0.3, 0.4]})
    forest = F.forest(eff, {"1508": "Ålesund"}, language="en")
    marks = {ln.get_marker(): _rgb(ln.get_color()) for ln in forest.axes[0].get_lines()
             if ln.get_marker() in ("D", "o")}
    assert marks == {"D": OKABE_GREEN, "o": OKABE_BLUE}
    assert [t.get_text() for t in forest.axes[0].get_yticklabels()] == ["Ålesund", "All"]
    import matplotlib.pyplot as plt

    plt.close("all")


def test_synthetic_watermark_and_png_300_dpi(tmp_path):
    from PIL import Image

    inputs = _inputs()
    fig = F.registry_trends(inputs["registry_means"], {}, [2013], synthetic=True,
                            language="en")
    assert "SYNTHETIC DATA" in [t.get_text() for t in fig.texts]
    png, svg = F.save(fig, tmp_path / "trend")
    with Image.open(png) as im:
        assert [round(d) for d in im.info["dpi"]] == [300, 300]
    assert "SYNTHETIC DATA" in svg.read_text(encoding="utf-8")
    plain = F.registry_trends(inputs["registry_means"], {}, [2013], synthetic=False)
    assert not any("SYNTET" in t.get_text() for t in plain.texts)
    assert not list(tmp_path.glob(".*.tmp"))  # atomic: no temporary file left


def test_an_unchanged_figure_is_not_rasterised_again(tmp_path, monkeypatch):
    """save_with_preview with a cache: the same drawing twice gives the same SVG, PNG and
    preview as saving without the cache, and the second time no PNG is drawn; a changed
    drawing is drawn anew and replaces the kept entry."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    inputs = _inputs()
    means = inputs["registry_means"]

    def draw(m):
        fig = F.registry_trends(m, {}, [2013], synthetic=True, language="nb")
        return fig, F.tight_bbox(fig)

    real_savefig = Figure.savefig
    formats = []

    def counting(self, fname, *args, **kw):
        formats.append(kw.get("format"))
        return real_savefig(self, fname, *args, **kw)

    monkeypatch.setattr(Figure, "savefig", counting)
    cache = tmp_path / "cache"
    fig, bbox = draw(means)
    (png, svg), preview = F.save_with_preview(fig, tmp_path / "a" / "trend", bbox,
                                              cache_dir=cache)
    assert formats == ["svg", "png"]
    first = png.read_bytes(), svg.read_bytes(), preview
    assert preview == F.preview_png(png)  # the preview of the saved PNG
    formats.clear()
    fig2, bbox2 = draw(means)
    (png2, svg2), preview2 = F.save_with_preview(fig2, tmp_path / "b" / "trend", bbox2,
                                                 cache_dir=cache)
    assert formats == ["svg"]  # the PNG and the preview come from the cache
    assert (png2.read_bytes(), svg2.read_bytes(), preview2) == first
    # the same image as drawing it without the cache (the PNG's pixels; the SVG's drawing)
    from PIL import Image

    fig3, bbox3 = draw(means)
    png3, _ = F.save(fig3, tmp_path / "c" / "trend", bbox3)
    with Image.open(png2) as a, Image.open(png3) as b:
        assert a.size == b.size and a.tobytes() == b.tobytes()

    changed = means.assign(value=means["value"] * 1.5)
    formats.clear()
    fig4, bbox4 = draw(changed)
    (png4, _), preview4 = F.save_with_preview(fig4, tmp_path / "d" / "trend", bbox4,
                                              cache_dir=cache)
    assert formats == ["svg", "png"] and png4.read_bytes() != first[0]
    assert len(list(cache.glob("figure-trend-*.pickle"))) == 1
    assert not list(tmp_path.rglob(".*.tmp"))
    plt.close("all")


def test_a_figure_whose_inputs_did_not_change_is_not_built_again(tmp_path):
    """draw_and_save with a cache: the same function on the same inputs is built once; the
    second time the files and the preview come from the cache, with the pixels of a fresh
    drawing; changed data or a changed keyword builds anew; an argument that cannot be hashed
    (an object) builds every time."""
    import matplotlib.pyplot as plt
    from PIL import Image

    means = _inputs()["registry_means"]
    calls = []

    def trends(m, labels, joins, **kw):
        calls.append(kw.get("language"))
        return F.registry_trends(m, labels, joins, **kw)

    cache = tmp_path / "cache"

    def draw(stem, m, **kw):
        return F.draw_and_save(tmp_path / stem / "trend", trends, m, {}, [2013],
                               cache_dir=cache, **{"synthetic": True, "language": "nb", **kw})

    (png, svg), preview = draw("a", means)
    (png2, svg2), preview2 = draw("b", means)
    assert calls == ["nb"]  # built once
    assert (png2.read_bytes(), svg2.read_bytes(), preview2) == \
        (png.read_bytes(), svg.read_bytes(), preview)
    fig = F.registry_trends(means, {}, [2013], synthetic=True, language="nb")
    fresh, _ = F.save(fig, tmp_path / "c" / "trend", F.tight_bbox(fig))
    with Image.open(png2) as a, Image.open(fresh) as b:
        assert a.size == b.size and a.tobytes() == b.tobytes()
    assert preview2 == F.preview_png(fresh)

    (png3, _), _ = draw("d", means.assign(value=means["value"] * 1.5))
    assert calls == ["nb", "nb"] and png3.read_bytes() != png.read_bytes()
    draw("e", means, language="en")
    assert calls == ["nb", "nb", "en"]
    assert len(list(cache.glob("figure-inputs-trend-*.pickle"))) == 1  # one kept per name

    def with_object(m, obj, **kw):
        calls.append("object")
        return F.registry_trends(m, {}, [2013], **kw)

    for stem in ("f", "g"):
        F.draw_and_save(tmp_path / stem / "t2", with_object, means, object(), cache_dir=cache)
    assert calls[-2:] == ["object", "object"]
    assert not list(tmp_path.rglob(".*.tmp"))
    plt.close("all")


def test_report_sections_in_order_and_print_css(example_study, tmp_path):
    study = example_study.model_copy(update={"output_dir": str(tmp_path)})
    evidence = pd.DataFrame({
        "level": ["outcome"], "element": ["Bedre samhandling"], "indicator": ["samarbeid"],
        "source": ["survey"], "estimate": [0.3], "ci_low": [0.1], "ci_high": [0.5],
        "expected": ["increase"], "verdict": ["supports"], "basis": ["DiD"], "note": [""],
    })
    val = validation_summary({"survey_answers": pd.DataFrame({"wave": ["w2012"] * 7})},
                             {"survey_answers": pd.DataFrame(columns=["wave", "reason"])})
    out = build_study_report(study, logic_chain=evidence, validation=val, **_inputs())
    html = out.report.read_text(encoding="utf-8")
    heads = re.findall(r"<h2 id='[^']*'>([^<]+)</h2>", html)
    assert heads == ["Design og data", "Validering", "Endringsteori og evidens",
                     "Spørreundersøkelse", "Registerdata", "Intervjuer", "Metode", "Forbehold"]
    assert "@page{size:A4" in html and "break-inside:avoid" in html
    assert "<td class='text supports'>Støtter</td>" in html
    assert not re.search(r"(src|href)=['\"]https?:", html)  # self-contained
    # the UI preview: aggregates only, level and verdict as labels
    assert "| Effekter | Bedre samhandling | Samarbeidskvalitet | 0,30 | 0,10 | 0,50 | Støtter |" \
        in out.preview_markdown
    assert "Støtter" in out.preview_markdown and "0,30" in out.preview_markdown
