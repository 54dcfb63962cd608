"""The study report as one self-contained HTML file: CSS inline, figures embedded as base64 PNG,
print CSS so it prints on A4 (``@page``; no page break inside a table or a figure, table
headers repeated on each page). Published tables carry the kind of each column
(``data-kind`` on the header cells: count, estimate, p, share, ...) so the suppression scan can
check every number shown. The stylesheets of both HTML pages live here: the study report's
(:data:`CSS`) and the municipality profiles' (:data:`PROFILE_CSS`), sharing their base rules."""

from __future__ import annotations

import base64
import datetime as dt
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from .labels import t

# The stylesheets of both pages, the study report (:data:`CSS`) and the municipality profiles
# (:data:`PROFILE_CSS`, a narrower page on the model of FHI's oppvekstprofil): the shared rules
# first, then each page's own.
#: the font of both pages (the body rule continues with the page's width and spacing)
BASE_FONT = """
body{font-family:"Source Sans Pro","Segoe UI","DejaVu Sans",Helvetica,Arial,sans-serif;
"""
#: table cells of both pages: text columns left-aligned, a heavier rule under the header
BASE_TABLE_CELLS = "th.text,td.text{text-align:left} thead th{border-bottom:2px solid #444}\n"

CSS = BASE_FONT + """\
max-width:960px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;
margin-top:1.8em} h3{font-size:1.05em;margin-top:1.2em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
th,td{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:right;vertical-align:top}
""" + BASE_TABLE_CELLS + """\
.synthetic{background:#fff3cd;border:1px solid #e0c36b;padding:.6em 1em;font-weight:bold}
.note,figcaption{color:#444;font-size:.85em} figure{margin:1em 0} img{max-width:100%}
td.supports{background:#d4efe6} td.contrary{background:#f7d9c4}
td.no_clear_change{background:#eee} td.insufficient_data{background:#fafafa;color:#777}
.toc{font-size:.9em}
@page{size:A4;margin:18mm 16mm}
@media print{body{max-width:none;margin:0;padding:0;font-size:10pt}
h2,h3{break-after:avoid;page-break-after:avoid}
figure,table,tr,img{break-inside:avoid;page-break-inside:avoid}
thead{display:table-header-group} .toc{display:none}}
"""

#: the municipality profiles (:mod:`evaluation_pipeline.report.profiles`): the key-figure box,
#: the kommune's own cells, A4 print with smaller margins
PROFILE_CSS = BASE_FONT + """\
max-width:900px;margin:1.5em auto;padding:0 1em;color:#222;line-height:1.4}
header{border-bottom:3px solid #0072B2;margin-bottom:1em}
h1{font-size:1.6em;margin:.1em 0} .subtitle{font-size:1.1em;margin:.2em 0 .6em}
h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.15em;margin-top:1.4em}
ul.key{background:#f2f7fb;border-left:4px solid #0072B2;padding:.6em 1em .6em 2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.25em .5em;text-align:right;vertical-align:top}
""" + BASE_TABLE_CELLS + """\
td.kommune{font-weight:bold;color:#7a3b65}
.synthetic{background:#fff3cd;border:1px solid #e0c36b;padding:.5em 1em;font-weight:bold}
.note,figcaption{color:#444;font-size:.85em} figure{margin:.8em 0} img{max-width:100%}
@page{size:A4;margin:15mm 14mm}
@media print{body{max-width:none;margin:0;padding:0;font-size:9.5pt}
h2{break-after:avoid;page-break-after:avoid}
figure,table,tr,img,ul.key{break-inside:avoid;page-break-inside:avoid}
thead{display:table-header-group}}
"""


class Cell(NamedTuple):
    """A table cell with a CSS class (e.g. a logic-chain verdict coloured by its value)."""

    text: str
    css: str

    def __str__(self) -> str:
        return self.text


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    #: (caption, table as shown) or (caption, table as shown, kind of each column)
    tables: list[tuple] = field(default_factory=list)
    figures: list[tuple[str, bytes]] = field(default_factory=list)
    anchor: str = ""
    #: heading level: 2 a section, 3 a subsection of the section before it
    level: int = 2


def _table(caption: str, df: pd.DataFrame, language: str,
           kinds: list[str] | None = None) -> str:
    if kinds is None:  # a plain frame: numbers formatted here, kinds guessed from the dtypes
        dec = "," if language == "nb" else "."
        kinds = ["text" if not pd.api.types.is_numeric_dtype(df[c]) else
                 ("count" if pd.api.types.is_integer_dtype(df[c]) else "estimate")
                 for c in df.columns]
        df = df.astype(object).apply(lambda col: [
            "–" if pd.isna(v) else (f"{v:.3f}".replace(".", dec) if isinstance(v, float)
                                    else str(v)) for v in col])
    head = "".join(f"<th class='{'text' if k == 'text' else 'num'}' data-kind='{k}'>"
                   f"{html.escape(str(c))}</th>" for c, k in zip(df.columns, kinds, strict=True))
    rows = []
    for row in df.itertuples(index=False):
        cells = []
        for v, k in zip(row, kinds, strict=True):
            cls = "text" if k == "text" else "num"
            text = v
            if isinstance(v, Cell):
                cls, text = f"{cls} {html.escape(v.css)}", v.text
            cells.append(f"<td class='{cls}'>{html.escape(str(text))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<figure class='table'><figcaption><b>{html.escape(caption)}</b></figcaption>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"</figure>")


def render_report(
    title: str,
    sections: list[Section],
    *,
    language: str = "nb",
    synthetic: bool = False,
    generated: dt.datetime | None = None,
) -> str:
    """The report as an HTML string."""
    parts = [
        f"<!DOCTYPE html><html lang='{'nb' if language == 'nb' else 'en'}'><head>"
        f"<meta charset='utf-8'><title>{html.escape(title)}</title><style>{CSS}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>"
    ]
    when = (generated or dt.datetime.now()).strftime("%Y-%m-%d %H:%M")
    parts.append(f"<p class='note'>{t('generated', language)}: {when}</p>")
    if synthetic:
        parts.append(f"<p class='synthetic'>{t('synthetic_caveat', language)}</p>")
    for s in sections:
        h = f"h{s.level}"
        parts.append(f"<{h} id='{html.escape(s.anchor)}'>{html.escape(s.title)}</{h}>")
        parts += [f"<p>{html.escape(p)}</p>" for p in s.paragraphs]
        for cap, png in s.figures:
            b64 = base64.b64encode(png).decode("ascii")
            parts.append(
                f"<figure><img alt='{html.escape(cap)}' src='data:image/png;base64,{b64}'>"
                f"<figcaption>{html.escape(cap)}</figcaption></figure>"
            )
        parts += [_table(tb[0], tb[1], language, tb[2] if len(tb) > 2 else None)
                  for tb in s.tables]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(text: str, path: Path) -> Path:
    """Write the report atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
