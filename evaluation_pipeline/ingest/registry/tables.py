"""Registry CSV and .xlsx files -> a table of strings -> the registry frame.

What lives here: :func:`read_csv_file` (decoding, a ``sep=`` first line, title lines before
the header, line numbers for messages) and :func:`read_xlsx_file` (the sheet to read, the
header row); both hand the table to :func:`.layouts.table_to_registry`.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from ...errors import RegistryFileError
from ..text import decode_text, garbled, header_line, looks_like, sniff_separator
from .layouts import table_to_registry


def read_csv_file(p: Path, *, indicator: str | None) -> pd.DataFrame:
    text, encoding = decode_text(p.read_bytes())
    if not text.strip():
        raise RegistryFileError(p, "expected a CSV table, found an empty file")
    kind = looks_like(text)
    if kind is not None:
        extra = " (name it .json if it is JSON-stat)" if kind == "JSON" else ""
        raise RegistryFileError(p, f"expected a CSV table, found {kind}{extra}")
    garbled_line = garbled(text, encoding)
    if garbled_line:
        raise RegistryFileError(p, garbled_line)
    lines = text.splitlines()
    hint = None
    sep_line = re.fullmatch(r'"?sep=(.)"?', lines[0]) if lines else None
    skipped = 0
    if sep_line:
        hint = sep_line.group(1)
        lines = lines[1:]
        skipped = 1
    sep, h = sniff_separator(lines, find_header=True, hint=hint)
    body = "\n".join(lines[h:])
    try:
        df = pd.read_csv(
            io.StringIO(body),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            engine="c",
        )
    except pd.errors.ParserError as e:
        msg = re.sub(
            r"line (\d+)",
            lambda m: f"line {int(m.group(1)) + h + skipped}",
            str(e).strip(),
        )
        raise RegistryFileError(p, f"cannot read the CSV table: {msg}") from None
    except pd.errors.EmptyDataError:
        raise RegistryFileError(p, "expected a CSV table, found no rows") from None
    # file line of each data row (pandas skips blank lines)
    first = skipped + h + 2
    row_lines = [first + k for k, line in enumerate(lines[h + 1 :]) if line.strip()]

    def locate(row: Any) -> str:
        return f"line {row_lines[row]}" if 0 <= row < len(row_lines) else f"row {row + 1}"

    return table_to_registry(
        df, p, indicator=indicator, decimal_comma=sep != ",", locate=locate, titled=h > 0
    )


def _xlsx_cell_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def _pick_sheet(p: Path, names: list[str], wanted: str | int | None) -> str:
    """The sheet to read: ``wanted`` by name (exact, then trimmed and case-insensitive) or by
    0-based index; the first sheet by default."""
    listed = ", ".join(f"{i}: {n!r}" for i, n in enumerate(names))
    if wanted is None:
        return names[0]
    if isinstance(wanted, int) or (isinstance(wanted, str) and wanted.strip().isdigit()
                                   and wanted not in names):
        i = int(wanted)
        if not 0 <= i < len(names):
            raise RegistryFileError(
                p, f"sheet: {wanted} is not a sheet index of this workbook (0-based; sheets: "
                f"{listed})"
            )
        return names[i]
    if wanted in names:
        return wanted
    hits = [n for n in names if n.strip().casefold() == wanted.strip().casefold()]
    if len(hits) == 1:
        return hits[0]
    raise RegistryFileError(p, f"sheet: no sheet {wanted!r} in this workbook (sheets: {listed})")


def read_xlsx_file(
    p: Path, *, indicator: str | None, sheet: str | int | None = None
) -> pd.DataFrame:
    try:
        with pd.ExcelFile(p) as xl:
            names = [str(n) for n in xl.sheet_names]
            chosen = _pick_sheet(p, names, sheet)
            raw = xl.parse(chosen, header=None, dtype=object)
    except RegistryFileError:
        raise
    except Exception as e:  # noqa: BLE001 - openpyxl raises many types for a bad workbook
        raise RegistryFileError(p, f"expected an Excel workbook (.xlsx): {e}") from None
    where = f"the first sheet ({chosen!r})" if sheet is None else f"sheet {chosen!r}"
    others = [n for n in names if n != chosen]
    listed = ", ".join(f"{i}: {n!r}" for i, n in enumerate(names))
    if not others:
        hint = ""
    elif sheet is None:
        hint = (f"; the workbook's sheets are {listed}: pick the sheet holding the table "
                "with `sheet: <name or 0-based index>` on the indicator in study.yaml")
    else:
        hint = f" (the workbook's sheets: {listed})"
    grid = raw.map(_xlsx_cell_text) if raw.size else raw.astype(str)
    counts = [int((row != "").sum()) for row in grid.to_numpy()[:60]]
    h = header_line(counts)
    if h is None:
        raise RegistryFileError(
            p, f"expected a table with a header row on {where}{hint}"
        )
    header = [str(c).strip() for c in grid.iloc[h]]
    df = grid.iloc[h + 1 :].copy()
    keep = [i for i, c in enumerate(header) if c != ""]
    df = df.iloc[:, keep]
    names: list[str] = []
    for i in keep:
        name, k = header[i], 1
        while name in names:
            name, k = f"{header[i]}.{k}", k + 1
        names.append(name)
    df.columns = names
    df = df[(df != "").any(axis=1)]
    try:
        return table_to_registry(
            df,
            p,
            indicator=indicator,
            decimal_comma=True,
            locate=lambda row: f"row {row + 1}",  # the index is the sheet's 0-based row
            titled=h > 0,
        )
    except RegistryFileError as e:
        if not others:
            raise
        raise RegistryFileError(p, f"{where}: {e.detail}{hint}") from None
