"""The study report as a reader sees it: the example study materialized end to end, its
rapport.html rendered by headless Chromium to text (DOM after layout), to a PNG screenshot and
printed to PDF (A4 pages).

Chromium missing is a failure: CI installs the Debian package (see tests/chromium.py).
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from chromium import (
    A4_POINTS,
    chromium,
    dump_dom,
    example_run,
    pdf_page_sizes,
    png_stats,
    print_pdf,
    screenshot,
    visible_text,
)

from evaluation_pipeline.geography import kommune_name
from evaluation_pipeline.study import Study


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    chromium()  # fails loudly when Chromium is not installed
    study_dir = example_run()
    study = Study.load(study_dir)
    page = study.output / "report" / "rapport.html"
    tmp = tmp_path_factory.mktemp("render")
    text = visible_text(dump_dom(page))
    png = screenshot(page, tmp / "rapport.png")
    pdf = print_pdf(page, tmp / "rapport.pdf")
    return study, text, png, pdf


def test_sections_in_order(rendered):
    _, text, _, _ = rendered
    heads = ["Design og data", "Validering", "Endringsteori og evidens", "Spørreundersøkelse",
             "Registerdata", "Intervjuer", "Metode", "Forbehold"]
    pos = [text.find("\n" + h + "\n") for h in heads]
    assert all(p >= 0 for p in pos), dict(zip(heads, pos, strict=True))
    assert pos == sorted(pos)
    assert "SYNTETISKE" in text


def test_design_names_every_kommune_and_the_waves(rendered):
    study, text, _, _ = rendered
    design = text[text.find("Design og data"):text.find("\nValidering\n")]
    for code in study.kommuner:
        assert kommune_name(code) in design, code
    for code, year in study.network.items():
        assert f"{kommune_name(code)} ({year})" in design
    # the wave sizes shown equal the respondents counted independently from the warehouse
    import duckdb

    con = duckdb.connect(str(study.output / "warehouse.duckdb"), read_only=True)
    try:
        n = con.execute("select wave, count(distinct respondent_id) from "
                        "evaluation.scale_scores group by wave order by wave").fetchall()
    finally:
        con.close()
    for wave, count in n:
        assert f"{wave} (n = {count})" in design


def test_logic_chain_table_is_first_among_results(rendered):
    study, text, _, _ = rendered
    lc = text[text.find("\nEndringsteori og evidens\n"):text.find("\nSpørreundersøkelse\n")]
    for level in ("outputs", "outcomes", "impact"):
        for el in getattr(study.logic_chain, level):
            assert el.name in lc, el.name
    # the verdict, then the caveat column: 9 network kommuner are few (fewer than 10), so
    # the DiD rows say "få kommuner"; interview shifts count interviews and have none
    rows = re.findall(r"\| (?:Økning|Nedgang) \| "
                      r"(Støtter|Ingen klar endring|Motsier|For lite data) \|( få kommuner)?"
                      r"\s*$", lc, re.M)
    verdicts = [v for v, _ in rows]
    assert any(c for _, c in rows) and not all(c for _, c in rows)
    n_indicators = sum(len(el.indicators) for level in ("outputs", "outcomes", "impact")
                       for el in getattr(study.logic_chain, level))
    assert len(verdicts) == n_indicators
    # estimates with a decimal comma, in the row of the completion indicator
    row = next(line for line in lc.splitlines() if "Fullført videregående" in line)
    assert re.search(r"\| -?\d+,\d\d \| -?\d+,\d\d \| -?\d+,\d\d \|", row), row


def test_numbers_match_the_machine_readable_tables(rendered):
    study, text, _, _ = rendered
    means = pd.read_csv(study.output / "tables" / "survey_scale_means.csv")
    r = means.dropna(subset=["mean"]).iloc[0]
    shown = f"{r['mean']:.2f}".replace(".", ",")
    assert shown in text and "." not in shown
    assert re.search(r"\| \d+,\d\d \|", text)  # decimal comma in the tables
    assert not re.search(r"\| \d+\.\d\d \|", text)  # and no decimal point


def test_screenshot_is_not_blank(rendered):
    _, _, png, _ = rendered
    stats = png_stats(png)
    assert (stats.width, stats.height) == (1200, 2400)
    assert stats.distinct_colours > 50  # text, figures and table rules, not a blank page
    assert 0.02 < stats.non_white_share < 0.9


def test_prints_on_a4_pages(rendered):
    _, _, _, pdf = rendered
    sizes = pdf_page_sizes(pdf)
    assert len(sizes) >= 5
    for w, h in sizes:
        assert abs(w - A4_POINTS[0]) < 2 and abs(h - A4_POINTS[1]) < 2
