"""The study report as one self-contained HTML file (figures embedded as base64 PNG, print CSS
for A4)."""

from __future__ import annotations

import base64
import datetime as dt
import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .labels import COLUMNS, VALUES, t

CSS = """
body{font-family:"Source Sans Pro","Segoe UI",Helvetica,Arial,sans-serif;max-width:960px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;
margin-top:1.8em} table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
th,td{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:right}
th:first-child,td:first-child{text-align:left} thead th{border-bottom:2px solid #444}
.synthetic{background:#fff3cd;border:1px solid #e0c36b;padding:.6em 1em;font-weight:bold}
.note{color:#555;font-size:.85em} figure{margin:1em 0} img{max-width:100%}
@media print{@page{size:A4;margin:18mm} body{max-width:none;margin:0}
h2{page-break-after:avoid} figure,table{page-break-inside:avoid}}
"""


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)  # shown as given
    figures: list[tuple[str, bytes]] = field(default_factory=list)


def display_table(
    df: pd.DataFrame, language: str, names: dict[str, str] | None = None
) -> pd.DataFrame:
    """A table as shown in the report: technical columns dropped, counts as integers, group
    and source values and column headers in the report language, outcome ids as labels."""
    out = df.drop(columns=[c for c in ("suppressed", "data") if c in df.columns]).copy()
    for c in out.columns:
        if c in ("n", "n_obs", "n_treated", "n_control", "n_segments", "n_sources",
                 "sources_in_group", "numerator", "denominator"):
            out[c] = pd.to_numeric(out[c], errors="coerce").round().astype("Int64")
    vals = VALUES.get(language, VALUES["nb"])
    for c in ("group", "source"):
        if c in out.columns:
            out[c] = out[c].map(lambda v: vals.get(v, v))
    for c in ("outcome", "scale", "indicator"):
        if c in out.columns and names:
            out[c] = out[c].map(lambda v: names.get(v, v))
    return out.rename(columns=COLUMNS.get(language, COLUMNS["nb"]))


def _table(caption: str, df: pd.DataFrame, language: str) -> str:
    dec = "," if language == "nb" else "."
    body = df.to_html(index=False, na_rep="–", float_format=lambda v: f"{v:.3f}".replace(".", dec),
                      border=0, escape=True)
    return f"<figure><figcaption><b>{html.escape(caption)}</b></figcaption>{body}</figure>"


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
        parts.append(f"<h2>{html.escape(s.title)}</h2>")
        parts += [f"<p>{html.escape(p)}</p>" for p in s.paragraphs]
        for cap, png in s.figures:
            b64 = base64.b64encode(png).decode("ascii")
            parts.append(
                f"<figure><img alt='{html.escape(cap)}' src='data:image/png;base64,{b64}'>"
                f"<figcaption>{html.escape(cap)}</figcaption></figure>"
            )
        parts += [_table(cap, df, language) for cap, df in s.tables]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(text: str, path: Path) -> Path:
    """Write the report atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
