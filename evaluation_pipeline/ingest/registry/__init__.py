"""Read registry statistics (SSB, FHI, Udir) into one tidy long table.

What lives here: :func:`read_registry`, which picks the reader from the file's extension,
and the public names of the registry frame. The readers: :mod:`.jsonstat` (JSON-stat
1.0/2.0), :mod:`.tables` (CSV and .xlsx files: decoding, title lines, sheets) and
:mod:`.layouts` (the PxWeb/Udir wide, FHI long and tidy table layouts); :mod:`.frame` holds
the columns and dtypes every reader returns.

Why: registry indicators arrive as JSON-stat from the SSB/PxWeb APIs, as CSV downloads from the
statbank (title line, ``;``, ISO-8859-1, ``"K-3001 Halden"``), as Udir statistikkbank exports
(UTF-16LE without BOM, a ``sep=`` first line, tabs, wide years) or as tidy CSVs written by
hand. Every reader here returns the same columns so the rest of the pipeline never sees the
format:

``kommune, kommune_name, period, indicator, indicator_label, value, status`` plus one str
column per other dimension of the table (named by the JSON-stat dimension id or the CSV header).

* ``kommune`` is the region code ("K-3001" -> "3001", "0101 Halden" -> "0101"); a region
  written without a code ("Hele landet", "Bamble" in FHI files) keeps its text in
  ``kommune_name`` and ``kommune`` is NA; NA when the table has no region dimension.
* ``value`` is float64; SSB status symbols (``.`` ``..`` ``:`` ``-``) and any other
  non-numeric cell text become NaN with the text kept in ``status`` -- never 0. In the value
  columns of a wide (PxWeb/Udir) CSV or sheet only the symbols of ``STATUS_SYMBOLS`` are
  allowed: other text is an error naming the line (row), the column and the symbols.
* Other dimensions hold the category *labels* (CSV files only carry labels, so JSON-stat uses
  labels too); the metric dimension gives ``indicator`` (code) and ``indicator_label``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ...errors import RegistryFileError
from .frame import REGISTRY_COLUMNS, STATUS_SYMBOLS, STR_COLUMNS
from .jsonstat import read_jsonstat_file
from .tables import read_csv_file, read_xlsx_file

__all__ = ["REGISTRY_COLUMNS", "STATUS_SYMBOLS", "STR_COLUMNS", "read_registry"]


def read_registry(
    path: str | Path,
    *,
    indicator: str | None = None,
    dataset: str | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read one registry file (JSON-stat 1.0/2.0, PxWeb/Udir/FHI CSV, tidy CSV, or a sheet of
    an .xlsx holding such a table) into the tidy registry columns.

    ``indicator`` names the indicator when the file does not carry one (no metric dimension,
    no contents text in the headers). ``dataset`` picks a named dataset of a JSON-stat 1.0
    bundle or a collection item by name/label (default: the first, with a warning).
    ``sheet`` picks the sheet of an .xlsx by name or 0-based index (default: the first), e.g.
    an SSB 13563 workbook whose first sheet is a read-me.
    """
    p = Path(path)
    if not p.is_file():
        raise RegistryFileError(p, "file not found")
    ext = p.suffix.lower()
    if ext in {".json", ".jsonstat", ".json-stat"}:
        return read_jsonstat_file(p, indicator=indicator, dataset=dataset)
    if ext in {".csv", ".tsv", ".txt"}:
        return read_csv_file(p, indicator=indicator)
    if ext in {".xlsx", ".xlsm"}:
        return read_xlsx_file(p, indicator=indicator, sheet=sheet)
    raise RegistryFileError(
        p,
        f"expected JSON-stat (.json), a PxWeb/tidy CSV (.csv) or an Excel sheet (.xlsx), "
        f"found a {ext or 'extension-less'!s} file",
    )
