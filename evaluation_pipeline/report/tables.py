"""Publication tables: small cells suppressed upstream, rounded for publication, written
atomically as CSV (machine-readable and the edition's spreadsheet convention), one XLSX workbook
and LaTeX (booktabs).

Rounding rule, by column kind (round half away from zero on the decimal value, as in
published statistics; Python's ``round`` would give 0.12 for 0.125):

=============  ==========================================  ===================
kind           columns                                     shown as
=============  ==========================================  ===================
``estimate``   estimates, CIs, SDs, means, alpha, kappa     2 decimals
``p``          p-values                                    3 decimals; below
                                                           0.001 ``<0,001``
``count``      counts of people / interviews (suppressed)  integer
``integer``    other whole numbers (years, kommuner)       integer
``share``      shares 0–1                                  percent, 1 decimal
``rate``       rates already per 100 (registry)            1 decimal
``text``       labels                                      as is
=============  ==========================================  ===================

Suppressed cells are shown as ``:`` (Statistics Norway's symbol for "not published for
confidentiality"), other missing values as ``–``, an infinite CI end (a CI by test inversion
that no value can be rejected beyond) as "ubegrenset" / "unbounded" (``inf`` in the
machine-readable CSV).

Files: ``tables/<name>.csv`` is the machine-readable table (UTF-8, ``,`` separator, decimal
point, unformatted numbers rounded to 6 decimals, ``suppressed`` column) for researchers'
scripts; ``tables/publication/<name>.csv`` is the formatted table in the edition's convention
(bokmål: ``;`` separator, decimal comma, UTF-8 with BOM, which Norwegian Excel opens directly;
English: ``,`` and decimal point); ``tables/<tabeller|tables>.xlsx`` has one sheet per table
with a notes row (source, method, suppression); ``tables/latex/<name>.tex`` is a booktabs
table. ``tables/manifest.json`` lists every table with the kind of each column, so a reader
(and the suppression scan) knows which columns are counts. A table of Effect rows has a
column ``n_unit`` saying what its ``n_treated`` / ``n_control`` count in each row; the
manifest's ``count_unit`` names it and the units that are not persons (``kommuner``): those
counts are published as they are (a count of kommuner is never suppressed), the others
passed small-cell suppression.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd

from .labels import COLUMNS, SOURCE_VALUES, VALUES, t

SUPPRESSED = ":"
MISSING = "–"

#: default kind of a column by name (a table may override)
KINDS: dict[str, str] = {
    **{c: "count" for c in (
        "n", "n_obs", "n_treated", "n_control", "n_used", "n_segments", "n_sources",
        "sources_in_group", "numerator", "respondents", "n_both", "n_a", "n_b", "count",
        "n_answered", "n_wave", "n_baseline", "n_followup", "retained", "panel_in_followup",
    )},
    **{c: "integer" for c in (
        "year", "n_kommuner", "n_units", "n_coders", "rows_valid", "rows_rejected",
        "join_year", "denominator", "invited", "rows", "n_missing", "category",
    )},
    **{c: "p" for c in ("p_value", "p_adjusted", "twfe_p", "boot_p", "cs_p",
                        "twfe_p_adjusted", "boot_p_adjusted", "cs_p_adjusted")},
    **{c: "share" for c in ("share_sources", "share", "rate", "share_of_baseline",
                            "share_of_followup", "percent_agreement")},
    "value": "rate",
}
TEXT_DTYPES = ("object", "string", "bool", "category")


def kind_of(column: str, series: pd.Series) -> str:
    if column in KINDS:
        return KINDS[column]
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return "text"
    return "estimate"


@dataclass
class PublishedTable:
    """A report table after suppression, with what a reader needs to use it."""

    name: str
    frame: pd.DataFrame  # suppressed; a boolean ``suppressed`` column marks hidden rows
    title: str = ""
    source: str = ""
    method: str = ""
    kinds: dict[str, str] = field(default_factory=dict)  # overrides of :data:`KINDS`
    #: additive structure the suppression must protect: within ``within``, the ``count`` of
    #: the ``category`` cells sums to ``total`` (a column), published in the same table
    margins: dict | None = None

    def kind(self, column: str) -> str:
        return self.kinds.get(column) or kind_of(column, self.frame[column])

    @property
    def columns(self) -> list[str]:
        return [c for c in self.frame.columns if c not in ("suppressed", "data")]

    @property
    def count_columns(self) -> list[str]:
        return [c for c in self.columns if self.kind(c) == "count"]


def round_half_up(x: float, digits: int) -> float:
    """``x`` rounded to ``digits`` decimals, halves away from zero on the decimal value
    (2.675 -> 2.68, 0.125 -> 0.13, -0.125 -> -0.13)."""
    q = Decimal(1).scaleb(-digits)
    return float(Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP))


def _fixed(x: float, digits: int, dec: str) -> str:
    text = f"{round_half_up(x, digits):.{digits}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]  # no "-0,00"
    return text.replace(".", dec)


def format_value(x, kind: str, language: str = "nb", suppressed: bool = False) -> str:
    """One cell as published (see the module docstring for the rule)."""
    dec = "," if language == "nb" else "."
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return SUPPRESSED if suppressed and kind != "text" else MISSING
    if kind == "text":
        return str(x)
    x = float(x)
    if math.isinf(x):  # a CI by test inversion with too few kommuner to reject any value
        return t("unbounded", language)
    if kind == "estimate":
        return _fixed(x, 2, dec)
    if kind == "p":
        return f"<0{dec}001" if x < 0.001 else _fixed(x, 3, dec)
    if kind in ("count", "integer"):
        return str(int(round_half_up(x, 0)))
    if kind == "share":
        return _fixed(100 * x, 1, dec)
    if kind == "rate":
        return _fixed(x, 1, dec)
    raise ValueError(f"unknown column kind {kind!r}")


def header(table: PublishedTable, column: str, language: str) -> str:
    label = COLUMNS.get(language, COLUMNS["nb"]).get(column, column)
    return f"{label} (%)" if table.kind(column) == "share" else label


def formatted(table: PublishedTable, language: str = "nb",
              names: dict[str, str] | None = None) -> pd.DataFrame:
    """The table as strings, as published: headers and group/source values in the edition's
    language, outcome ids as labels, numbers by the rounding rule."""
    df = table.frame
    sup = df["suppressed"].fillna(False).astype(bool).to_numpy() if "suppressed" in df \
        else [False] * len(df)
    vals = VALUES.get(language, VALUES["nb"])
    out = {}
    for c in table.columns:
        kind = table.kind(c)
        col = [format_value(v, kind, language, s) for v, s in zip(df[c], sup, strict=True)]
        if c in ("group", "source"):
            named = {**vals, **SOURCE_VALUES.get(language, {})} if c == "source" else vals
            col = [named.get(v, v) for v in col]
        if c in ("outcome", "scale", "indicator", "kommune") and names:
            col = [names.get(v, v) for v in col]
        out[header(table, c, language)] = col
    return pd.DataFrame(out)


def _atomic(path: Path, write) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def round_for_publication(df: pd.DataFrame, digits: int = 6) -> pd.DataFrame:
    """The machine-readable table: float columns rounded to ``digits`` decimals."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(digits)
    return out


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """Write ``df`` to ``path`` (UTF-8, comma-separated) via a temporary file, so a failed
    write never leaves a half-written table."""
    return _atomic(path, lambda tmp: df.to_csv(tmp, index=False, encoding="utf-8"))


def write_publication_csv(text: pd.DataFrame, path: Path, language: str) -> Path:
    """The formatted table in the edition's spreadsheet convention (bokmål: ``;`` and
    decimal comma, UTF-8 with BOM; English: ``,`` and decimal point)."""
    sep, enc = (";", "utf-8-sig") if language == "nb" else (",", "utf-8")
    return _atomic(path, lambda tmp: text.to_csv(tmp, index=False, sep=sep, encoding=enc))


_NOTES = {
    "nb": {"source": "Kilde", "method": "Metode",
           "suppression": "Prikking: celler med færre enn {k} enheter vises ikke (:), og "
                          "celler som kunne vært regnet ut fra summer er også skjult."},
    "en": {"source": "Source", "method": "Method",
           "suppression": "Suppression: cells with fewer than {k} units are not shown (:), and "
                          "cells that could be derived from totals are hidden too."},
}


def notes(table: PublishedTable, language: str, threshold: int) -> str:
    n = _NOTES.get(language, _NOTES["nb"])
    parts = []
    if table.source:
        parts.append(f"{n['source']}: {table.source}.")
    if table.method:
        parts.append(f"{n['method']}: {table.method}.")
    parts.append(n["suppression"].format(k=threshold))
    return " ".join(parts)


def _sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:31]
    out, i = base, 2
    while out.lower() in used:
        out = f"{base[:28]}_{i}"
        i += 1
    used.add(out.lower())
    return out


_XLSX_FORMATS = {"estimate": "0.00", "p": "0.000", "count": "0", "integer": "0",
                 "share": "0.0", "rate": "0.0"}


def write_xlsx(tables: list[PublishedTable], path: Path, language: str, threshold: int,
               names: dict[str, str] | None = None, synthetic: bool = False) -> Path:
    """One workbook, one sheet per table: row 1 the title, row 2 the notes (source, method,
    suppression), row 4 the header, then the rows. Numbers are stored rounded by the
    publication rule with a matching number format (Excel shows them with the reader's decimal
    separator); suppressed cells hold ``:`` and p-values below 0.001 the text ``<0,001``."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    def write(tmp: Path) -> None:
        wb = Workbook()
        wb.remove(wb.active)
        used: set[str] = set()
        for table in tables:
            ws = wb.create_sheet(_sheet_name(table.name, used))
            title = table.title or table.name
            ws.cell(1, 1, f"{title} (SYNTHETIC)" if synthetic else title).font = Font(bold=True)
            ws.cell(2, 1, notes(table, language, threshold)).alignment = Alignment(
                wrap_text=False)
            text = formatted(table, language, names)
            for j, h in enumerate(text.columns, start=1):
                ws.cell(4, j, h).font = Font(bold=True)
            df = table.frame
            for j, c in enumerate(table.columns, start=1):
                kind = table.kind(c)
                for i, (v, shown) in enumerate(zip(df[c], text.iloc[:, j - 1], strict=True),
                                               start=5):
                    if kind == "text" or shown in (SUPPRESSED, MISSING) or shown.startswith("<"):
                        ws.cell(i, j, shown)
                        continue
                    x = float(v)
                    if math.isinf(x):
                        ws.cell(i, j, shown)
                        continue
                    digits = {"estimate": 2, "p": 3, "count": 0, "integer": 0, "share": 1,
                              "rate": 1}[kind]
                    val = round_half_up(100 * x if kind == "share" else x, digits)
                    cell = ws.cell(i, j, int(val) if digits == 0 else val)
                    cell.number_format = _XLSX_FORMATS[kind]
        wb.save(tmp)

    return _atomic(path, write)


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def to_latex(table: PublishedTable, language: str, threshold: int,
             names: dict[str, str] | None = None, synthetic: bool = False) -> str:
    """A booktabs table (``\\toprule``, ``\\midrule``, ``\\bottomrule``; needs
    ``\\usepackage{booktabs}``), text left-aligned, numbers right-aligned, the notes below."""
    text = formatted(table, language, names)
    align = "".join("l" if table.kind(c) == "text" else "r" for c in table.columns)
    title = (table.title or table.name) + (" (SYNTHETIC)" if synthetic else "")
    lines = [
        r"\begin{table}[htbp]",
        r"\centering",
        rf"\caption{{{latex_escape(title)}}}",
        rf"\label{{tab:{re.sub(r'[^A-Za-z0-9:-]', '-', table.name)}}}",
        rf"\begin{{tabular}}{{{align}}}",
        r"\toprule",
        " & ".join(latex_escape(h) for h in text.columns) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(latex_escape(v) for v in row) + r" \\" for row in text.itertuples(
        index=False)]
    lines += [
        r"\bottomrule",
        r"\end{tabular}",
        r"\par\smallskip\footnotesize " + latex_escape(notes(table, language, threshold)),
        r"\end{table}",
        "",
    ]
    return "\n".join(lines)


def write_tables(tables: list[PublishedTable], out_dir: Path, language: str, threshold: int,
                 names: dict[str, str] | None = None, synthetic: bool = False
                 ) -> dict[str, dict[str, Path]]:
    """Write every table in every format under ``out_dir`` (see the module docstring); return
    ``{table: {format: path}}``."""
    paths: dict[str, dict[str, Path]] = {}
    manifest = {"language": language, "small_cell_threshold": threshold,
                "synthetic": synthetic, "suppressed_symbol": SUPPRESSED, "tables": {}}
    for table in tables:
        machine = round_for_publication(table.frame)
        if synthetic:
            machine.insert(0, "data", "SYNTHETIC")
        p = {"csv": write_csv(machine, out_dir / f"{table.name}.csv")}
        text = formatted(table, language, names)
        if synthetic:
            text.insert(0, "data", "SYNTHETIC")
        p["publication_csv"] = write_publication_csv(
            text, out_dir / "publication" / f"{table.name}.csv", language)
        p["latex"] = _atomic(out_dir / "latex" / f"{table.name}.tex",
                             lambda tmp, tb=table: tmp.write_text(
                                 to_latex(tb, language, threshold, names, synthetic),
                                 encoding="utf-8"))
        paths[table.name] = p
        manifest["tables"][table.name] = {
            "title": table.title, "source": table.source, "method": table.method,
            "columns": {c: table.kind(c) for c in table.columns},
            "count_columns": table.count_columns,
            "margins": table.margins,
            **({"count_unit": {
                "column": "n_unit", "columns": [c for c in ("n_treated", "n_control")
                                                if c in table.columns],
                "not_persons": ["kommuner"]}} if "n_unit" in table.columns else {}),
            "files": {k: str(v.relative_to(out_dir)) for k, v in p.items()},
        }
    book = out_dir / ("tabeller.xlsx" if language == "nb" else "tables.xlsx")
    write_xlsx(tables, book, language, threshold, names, synthetic)
    for name in paths:
        paths[name]["xlsx"] = book
        manifest["tables"][name]["files"]["xlsx"] = book.name
    _atomic(out_dir / "manifest.json", lambda tmp: tmp.write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8"))
    return paths


_BOOT = re.compile(  # the note did_twfe writes when it ran the wild cluster bootstrap
    r"wild cluster bootstrap \([^)]*\): p=([0-9.]+), [0-9.]+% CI \[([^,]+), ([^\]]+)\]"
)


def registry_did_table(effects: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Registry effects with the two estimators side by side, one row per indicator: TWFE
    (CR1 CI, and the wild cluster bootstrap p and CI read from the Effect's note when it was
    run) and Callaway & Sant'Anna's simple ATT with its CI.

    ``effects`` are the published (suppressed) Effect rows: an estimator's row that is
    suppressed contributes no number -- not its estimate, not the bootstrap CI or p of its
    note -- and the table row says ``suppressed``."""
    reg = effects[effects["source"] == "registry"]
    hidden = (reg["suppressed"].fillna(False).astype(bool) if "suppressed" in reg
              else pd.Series(False, index=reg.index))
    rows = []
    for ind, grp in reg.groupby("outcome", sort=False):
        twfe = grp[grp["estimator"].str.startswith("TWFE")]
        cs = grp[grp["estimator"].str.startswith("Callaway")]
        row = {"indicator": names.get(ind, ind), "suppressed": False}
        if len(twfe):
            e = twfe.iloc[0]
            if hidden.loc[twfe.index[0]]:
                row["suppressed"] = True
            else:
                row |= {"twfe": e["estimate"], "twfe_ci_low": e["ci_low"],
                        "twfe_ci_high": e["ci_high"], "twfe_p": e["p_value"]}
                m = _BOOT.search(str(e["note"]))
                row |= ({"boot_p": float(m[1]), "boot_ci_low": float(m[2]),
                         "boot_ci_high": float(m[3])} if m else {})
                # p_adjusted of a TWFE row is of the bootstrap p where it ran
                # (analysis.registry.registry_p_adjusted)
                row |= {"boot_p_adjusted" if m else "twfe_p_adjusted": e.get("p_adjusted",
                                                                             math.nan)}
        if len(cs):
            e = cs.iloc[0]
            if hidden.loc[cs.index[0]]:
                row["suppressed"] = True
            else:
                row |= {"cs": e["estimate"], "cs_ci_low": e["ci_low"],
                        "cs_ci_high": e["ci_high"], "cs_p": e["p_value"],
                        "cs_p_adjusted": e.get("p_adjusted", math.nan)}
        rows.append(row)
    cols = ["indicator", "twfe", "twfe_ci_low", "twfe_ci_high", "twfe_p", "twfe_p_adjusted",
            "boot_p", "boot_p_adjusted", "boot_ci_low", "boot_ci_high", "cs", "cs_ci_low",
            "cs_ci_high", "cs_p", "cs_p_adjusted"]
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(columns=[*cols, "suppressed"])
    keep = [c for c in cols if c in out] + [c for c in out if c not in cols + ["suppressed"]]
    return out[keep + ["suppressed"]]
