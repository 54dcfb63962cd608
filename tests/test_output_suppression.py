"""Scan every published output of the example study for disclosure: no published count below
the study's small-cell threshold, in any format (machine CSV, publication CSV, XLSX, LaTeX,
the HTML report, the municipality profiles), and no hidden cell recoverable from the margins
published with it (checked by ``evaluation_pipeline.publication.recoverable_cells``, a linear
programme independent of how the tables were suppressed), and nothing an informed attacker
(issue 23: hidden counts are >= 1, whole numbers, the threshold known) learns from every line
of counts and its total, in the report's tables and across the profiles (``tests/sdc_scan.py``
with the attacker of ``tests/sdc_attacker.py``, which share no code with the pipeline).

Count columns are the ones ``tables/manifest.json`` marks ``count``; in the HTML, the header
cells with ``data-kind='count'``. A table of Effect rows says per row what ``n_treated`` /
``n_control`` count (``n_unit``, named in the manifest's ``count_unit``): counts of kommuner
are not person counts and are not suppressed (issue #22); every other row is scanned.
"""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from chromium import example_run
from sdc_scan import exposed_in, profile_lines, report_lines

from evaluation_pipeline.publication import recoverable_cells
from evaluation_pipeline.report.tables import KINDS
from evaluation_pipeline.study import Study


@pytest.fixture(scope="module")
def run():
    study_dir = example_run()
    study = Study.load(study_dir)
    out = study_dir / "output"
    manifest = json.loads((out / "tables" / "manifest.json").read_text(encoding="utf-8"))
    return study, out, manifest


def _bad_count(value, k: int) -> bool:
    """True when ``value`` is a published count 1..k-1 (hidden, nil and zero are fine)."""
    if value is None:
        return False
    if isinstance(value, str):
        v = value.strip().replace("\u00a0", "").replace(" ", "")
        if v in ("", ":", "–", "-", ".", "nan"):
            return False
        value = float(v.replace(",", "."))
    if isinstance(value, float) and math.isnan(value):
        return False
    return 0 < float(value) < k


def test_manifest_lists_every_published_table(run):
    _, out, manifest = run
    csvs = {p.stem for p in (out / "tables").glob("*.csv")}
    assert csvs == set(manifest["tables"]), "a table without its column kinds is published"
    assert manifest["small_cell_threshold"] == run[0].small_cell_threshold
    # the tables that hold people's counts declare them
    for name in ("effects", "survey_scale_means", "survey_response",
                 "survey_item_distributions", "interview_theme_counts"):
        assert manifest["tables"][name]["count_columns"], name
    unit = manifest["tables"]["effects"]["count_unit"]
    assert unit == {"column": "n_unit", "columns": ["n_treated", "n_control"],
                    "not_persons": ["kommuner"]}


def _scanned(meta: dict, column: str, units: pd.Series) -> pd.Series:
    """Rows whose ``column`` holds a count of persons (all rows but those whose ``n_unit``
    says the count is of kommuner)."""
    cu = meta.get("count_unit")
    if not cu or column not in cu["columns"]:
        return pd.Series(True, index=units.index)
    return ~units.isin(cu["not_persons"])


def test_no_small_count_in_any_table_format(run):
    study, out, manifest = run
    k = study.small_cell_threshold
    wb = openpyxl.load_workbook(out / "tables" / manifest["tables"]["effects"]["files"]["xlsx"])
    checked = 0
    for name, meta in manifest["tables"].items():
        cols = list(meta["columns"])
        counts = meta["count_columns"]
        if not counts:
            continue
        files = meta["files"]
        machine = pd.read_csv(out / "tables" / files["csv"])
        unit_col = (meta.get("count_unit") or {}).get("column")
        units = (machine[unit_col].astype(str) if unit_col
                 else pd.Series("", index=machine.index))
        for c in counts:
            bad = machine[c].map(lambda v: _bad_count(v, k)) & _scanned(meta, c, units)
            if c in (meta.get("count_unit") or {}).get("columns", []):
                persons = _scanned(meta, c, units)
                assert persons.any() and not persons.all(), name  # both kinds of rows
            assert not bad.any(), f"{name}.csv column {c}: {machine.loc[bad, c].tolist()}"
            checked += len(machine)
        # publication CSV: same column order after the 'data' column
        sep = ";" if manifest["language"] == "nb" else ","
        pub = pd.read_csv(out / "tables" / files["publication_csv"], sep=sep, dtype=str,
                          encoding="utf-8-sig", keep_default_na=False)
        pub = pub.drop(columns=[c for c in ("data",) if c in pub.columns])
        assert len(pub.columns) == len(cols)
        for c in counts:
            col = pub.iloc[:, cols.index(c)]
            scan = _scanned(meta, c, units).to_numpy()
            assert not (col.map(lambda v: _bad_count(v, k)).to_numpy() & scan).any(), \
                f"publication/{name} {c}"
        # XLSX sheet: header on row 4, data from row 5
        ws = wb[name[:31]]
        for c in counts:
            j = cols.index(c) + 1
            vals = [ws.cell(i, j).value for i in range(5, ws.max_row + 1)]
            scan = _scanned(meta, c, units).to_numpy()
            assert not any(_bad_count(v, k) and s for v, s in zip(vals, scan, strict=True)), \
                f"xlsx {name} {c}"
        # LaTeX: the rows between \midrule and \bottomrule
        tex = (out / "tables" / files["latex"]).read_text(encoding="utf-8")
        body = tex[tex.index(r"\midrule"):tex.index(r"\bottomrule")].splitlines()[1:]
        for i, line in enumerate(body):
            cells = [x.strip() for x in re.split(r"(?<!\\)&", line.rstrip("\\ "))]
            assert len(cells) == len(cols), line
            for c in counts:
                if not _scanned(meta, c, units).to_numpy()[i]:
                    continue
                assert not _bad_count(cells[cols.index(c)], k), f"latex {name} {c}: {line}"
    assert checked > 1000  # the scan saw the tables, not an empty folder


def _margin_table(frame: pd.DataFrame, spec: dict, group: tuple, keys: list[str],
                  total_frame: pd.DataFrame | None) -> pd.DataFrame:
    cat, count = spec["category"], spec["count"]
    body = frame
    for key, val in zip(keys, group, strict=True):
        body = body[body[key] == val]
    if "total_label" in spec:
        tot_rows = body[body[cat] == spec["total_label"]]
        body = body[body[cat] != spec["total_label"]]
        total = tot_rows[count].iloc[0] if len(tot_rows) else float("nan")
    elif "total_table" in spec:
        t = total_frame
        for key, val in zip(keys, group, strict=True):
            t = t[t[key] == val]
        total = t[spec["total_column"]].iloc[0] if len(t) else float("nan")
    else:
        total = body[spec["total_column"]].iloc[0]
    body = body.drop_duplicates(cat)
    return pd.concat([
        pd.DataFrame({"cell": body[cat].astype(str), "published": body[count].astype(float)}),
        pd.DataFrame({"cell": ["Total"], "published": [float(total)]}),
    ], ignore_index=True)


def test_no_hidden_cell_is_recoverable_from_published_margins(run):
    _, out, manifest = run
    groups_checked = hidden_seen = 0
    for name, meta in manifest["tables"].items():
        for spec in meta.get("margins") or []:
            frame = pd.read_csv(out / "tables" / meta["files"]["csv"],
                                dtype={"kommune": str, "wave": str})
            total_frame = pd.read_csv(out / "tables" / manifest["tables"][spec["total_table"]][
                "files"]["csv"]) if "total_table" in spec else None
            keys = spec["within"]
            for group, _ in frame.groupby(keys, sort=False):
                group = group if isinstance(group, tuple) else (group,)
                table = _margin_table(frame, spec, group, keys, total_frame)
                if math.isnan(table["published"].iloc[-1]):
                    continue  # total hidden too: nothing to subtract from
                hidden_seen += int(table["published"].isna().sum())
                assert recoverable_cells(table, rows="cell") == [], (name, spec["count"], group)
                groups_checked += 1
    assert groups_checked > 50 and hidden_seen > 0


class _Tables(HTMLParser):
    """Every <table> of a page: the data-kind of each header cell and the text of each row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append({"kinds": [], "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag == "th" and self.tables:
            self.tables[-1]["kinds"].append(a.get("data-kind", "unknown"))
            self._cell = None
        elif tag == "td" and self.tables:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.tables[-1]["rows"][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _scan_html(page: Path, k: int) -> int:
    p = _Tables()
    p.feed(page.read_text(encoding="utf-8"))
    seen = 0
    for tb in p.tables:
        counts = [j for j, kind in enumerate(tb["kinds"]) if kind == "count"]
        for row in tb["rows"]:
            if not row:
                continue
            for j in counts:
                assert not _bad_count(row[j], k), f"{page.name}: {tb['kinds']} {row}"
                seen += 1
    text = re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8"))
    for m in re.finditer(r"\bn = (\d+)", text):  # counts quoted in the text
        assert not _bad_count(m[1], k), f"{page.name}: n = {m[1]}"
    return seen


def test_no_small_count_in_the_html_report(run):
    study, out, _ = run
    page = out / "report" / ("rapport.html" if study.language == "nb" else "report.html")
    assert _scan_html(page, study.small_cell_threshold) > 100


def test_no_small_count_in_the_profiles(run):
    """The municipality profiles `evaluation-pipeline run` published (one per network
    kommune): every CSV column named as a count and every HTML table column marked as a
    count."""
    study, out, _ = run
    k = study.small_cell_threshold
    prof = out / "profiles"
    pages = sorted(p.name[:4] for p in prof.glob("*.html"))
    assert pages == sorted(study.network)
    counts = {c for c, kind in KINDS.items() if kind == "count"}
    for csv in prof.rglob("*.csv"):
        df = pd.read_csv(csv, sep=None, engine="python", dtype=str, encoding="utf-8-sig")
        for c in counts & set(df.columns):
            assert not df[c].map(lambda v: _bad_count(v, k)).any(), f"{csv.name} {c}"
    for page in prof.rglob("*.html"):
        _scan_html(page, k)


# ------------------------------------------------------------------------------------------
# the informed attacker (issue 23)
# ------------------------------------------------------------------------------------------


def test_informed_attacker_learns_nothing_from_the_report_tables(run):
    """Every line of counts with its published total (the manifest's margins, and the role
    counts of interview_theme_role against interview_theme_counts): no hidden count is
    pinned down and none is proven below the threshold."""
    study, out, _ = run
    bad, attacked, hidden = exposed_in(report_lines(out), study.small_cell_threshold)
    assert bad == []
    assert attacked > 20 and hidden > 100  # the example really has lines with hidden counts


def test_informed_attacker_learns_nothing_across_the_profiles(run):
    """The survey n of the network kommuner in each scale and wave (each kommune's own
    profile, survey.csv and survey_change.csv) add up to the network n every profile shows;
    the report's group n add up to its wave n, with a group's n taken from the profiles where
    the report hides it."""
    study, out, manifest = run
    means = pd.read_csv(out / "tables" / manifest["tables"]["survey_scale_means"]["files"][
        "csv"], dtype={"wave": str})
    lines = profile_lines(out, means)
    scales_waves = len(study.survey.scales) * len(study.wave_ids)
    assert len(lines) == 2 * scales_waves
    bad, _, _ = exposed_in(lines, study.small_cell_threshold)
    assert bad == []


def _hidden_in_formats(out: Path, manifest: dict, name: str, column: str) -> dict[str, list]:
    """Which rows of ``column`` are hidden in each format (machine CSV, publication CSV,
    XLSX sheet, LaTeX)."""
    meta = manifest["tables"][name]
    cols = list(meta["columns"])
    j = cols.index(column)
    symbols = {"", ":", "nan", "–", "-", ".", "None"}
    machine = pd.read_csv(out / "tables" / meta["files"]["csv"])
    sep = ";" if manifest["language"] == "nb" else ","
    pub = pd.read_csv(out / "tables" / meta["files"]["publication_csv"], sep=sep, dtype=str,
                      encoding="utf-8-sig", keep_default_na=False)
    pub = pub.drop(columns=[c for c in ("data",) if c in pub.columns])
    ws = openpyxl.load_workbook(out / "tables" / meta["files"]["xlsx"])[name[:31]]
    xlsx = [ws.cell(i, j + 1).value for i in range(5, ws.max_row + 1)]
    tex = (out / "tables" / meta["files"]["latex"]).read_text(encoding="utf-8")
    body = tex[tex.index(r"\midrule"):tex.index(r"\bottomrule")].splitlines()[1:]
    latex = [re.split(r"(?<!\\)&", line.rstrip("\\ "))[j].strip() for line in body]
    return {
        "csv": machine[column].isna().tolist(),
        "publication": [str(v).strip() in symbols for v in pub.iloc[:, j]],
        "xlsx": [v is None or str(v).strip() in symbols for v in xlsx],
        "latex": [v in symbols for v in latex],
    }


def test_every_format_hides_what_the_attacked_csv_hides(run):
    """The attack reads the machine CSV; the publication CSV, the XLSX sheet and the LaTeX
    table of each table with margins hide exactly the same counts."""
    _, out, manifest = run
    seen = 0
    for name, meta in manifest["tables"].items():
        for spec in meta.get("margins") or []:
            formats = _hidden_in_formats(out, manifest, name, spec["count"])
            for fmt, hidden in formats.items():
                assert hidden == formats["csv"], (name, spec["count"], fmt)
            seen += sum(formats["csv"])
    assert seen > 50  # hidden counts in the example's tables with margins


def test_left_out_role_breakdowns_are_said(run):
    """A theme × round whose role counts only a hidden total could protect is left out of
    interview_theme_role whole; the table's method note says how many, and the count equals
    the theme × round combinations of interview_theme_counts missing from the role table."""
    _, out, manifest = run
    meta = manifest["tables"]
    roles = pd.read_csv(out / "tables" / meta["interview_theme_role"]["files"]["csv"],
                        dtype={"wave": str})
    themes = pd.read_csv(out / "tables" / meta["interview_theme_counts"]["files"]["csv"],
                         dtype={"wave": str})
    pairs = set(map(tuple, themes[["theme", "wave"]].drop_duplicates().to_numpy()))
    shown = set(map(tuple, roles[["theme", "wave"]].drop_duplicates().to_numpy()))
    missing = pairs - shown
    assert shown <= pairs
    method = meta["interview_theme_role"]["method"]
    if missing:
        assert f"utelatt for {len(missing)} kombinasjon" in method, method
    else:
        assert "utelatt" not in method
