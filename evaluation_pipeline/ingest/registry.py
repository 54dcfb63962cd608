"""Read registry statistics (SSB, FHI, Udir) into one tidy long table.

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

Layouts of CSV files (and of the first sheet of an .xlsx):

* PxWeb "wide": optional title lines and a blank line, then stub columns and value columns
  headed ``<contents> <period>`` (``Persons 2022``, ``2022K4``, ``Andel (2021-2023)``).
* Udir statistikkbank: UTF-16LE (found from the NUL bytes), a ``sep=`` first line, value
  columns headed ``<period>.<breakdown>....<measure>`` (``2011-12.Alle trinn.Andel sluttet``):
  the breakdown goes to a ``breakdown`` column; ``...Brudd`` columns (break-in-series notes,
  text) are dropped.
* "long": a year column (Tid/år/year/...) and one numeric value column (FHI Kommunehelsa
  exports; ``2015-01-01`` periods become ``2015``).
* tidy: columns kommune, period (or year), indicator, value [, status, numerator,
  denominator], passed through with types normalized.

JSON-stat is parsed here rather than with the ``jsonstat.py`` PyPI package, which is
unmaintained (no release since 2018, no JSON-stat 2.0 sparse/role support). The parser is
vectorized: every cell's category positions come from one ``numpy.unravel_index`` of the flat
(row-major) value index, so national tables with millions of cells read in seconds.
"""

from __future__ import annotations

import io
import json
import math
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import RegistryFileError
from .text import decode_text, garbled, header_line, sniff_separator

REGISTRY_COLUMNS = [
    "kommune",
    "kommune_name",
    "period",
    "indicator",
    "indicator_label",
    "value",
    "status",
]
STR_COLUMNS = ["kommune", "kommune_name", "period", "indicator", "indicator_label", "status"]

#: SSB symbols (and Udir's "*" for suppressed cells) that stand for a missing value.
STATUS_SYMBOLS = frozenset({".", "..", "...", ":", "-", "*", "x", "…"})

_GEO_DIM_RE = re.compile(r"region|kommune|KOKkommuneregion", re.I)
_TIME_DIM_RE = re.compile(r"^(Tid|time|year|år)$", re.I)
_METRIC_DIM_RE = re.compile(r"ContentsCode|contents|statistikkvariabel", re.I)

# CSV headers
_GEO_COL_RE = re.compile(r"region|kommune|geografi|municipality", re.I)
_GEO_CODE_COL_RE = re.compile(r"(nr|nummer|kode|code|_id|id)$", re.I)
_TIME_COL_RE = re.compile(r"^(tid|time|year|years|år|aar|årstall|periode|period)$", re.I)
#: a school-year column (FHI ``Skoleår``: 2016/17 or 2016/17-2018/19), the time column when
#: there is no year column (with both, the school year stays a column and the observations
#: step takes the more specific one as the period; see ``observations.choose_period``)
_SCHOOL_YEAR_COL_RE = re.compile(r"^(skoleår|skoleaar|skolear|school[ _]?year)$", re.I)
_CONTENTS_COL_RE = re.compile(
    r"^(contents|contentscode|statistikkvariabel|indikatorkode|indikator|indicator)$", re.I
)
_SSB_CONTENTS_COL_RE = re.compile(r"^(contents|contentscode|statistikkvariabel)$", re.I)
_CONTENTS_LABEL_COL_RE = re.compile(r"^(indikatornavn|indicator_label|contents_label)$", re.I)
_VALUE_COL_PREFERRED_RE = re.compile(r"^(value|values|verdi|andel|antall|prosent|rate)$", re.I)
_NOT_VALUE_COL_RE = re.compile(r"sort|^id$|_id$|kode$|code$|nr$|nummer$", re.I)

_YEAR = r"(?:18|19|20)\d{2}"
_PERIOD = rf"{_YEAR}(?:K[1-4]|M(?:0[1-9]|1[0-2])|H[12]|\s*-\s*{_YEAR}|-\d{{2}})?"
_HEADER_END_PERIOD_RE = re.compile(rf"^(?:(?P<label>.*?)[\s(]+)?(?P<period>{_PERIOD})\)?$")
_HEADER_START_PERIOD_RE = re.compile(rf"^(?P<period>{_YEAR}(?:-\d{{2}}|-{_YEAR})?)\.(?P<rest>.+)$")
_UDIR_NOTE_TOKENS = frozenset({"brudd"})

_NA_FREE = {"kommune_name", "period", "indicator", "indicator_label"}


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _looks_like(text: str) -> str | None:
    """'an HTML page', 'an XML document', 'JSON' or None, judged from the first characters."""
    head = text.lstrip()[:2048].lower()
    if head.startswith("<"):
        if "<html" in head or "<!doctype html" in head:
            return "an HTML page"
        return "an XML document"
    if head.startswith("{") or head.startswith("["):
        return "JSON"
    return None


def _normalize_kommune_codes(codes: pd.Series) -> pd.Series:
    """'K-3001' -> '3001', '301'/'301.0' -> '0301'; other codes are kept as they are."""
    s = codes.astype("string").str.strip()
    s = s.str.replace(r"^K-", "", regex=True)
    s = s.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    three = s.str.fullmatch(r"\d{3}").fillna(False)
    s = s.mask(three, s.str.zfill(4))
    return s.mask(s == "", pd.NA)


def _string(values: Any, index: pd.Index | None = None) -> pd.Series:
    return pd.Series(values, index=index, dtype="string")


# --------------------------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------------------------
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
        return _read_jsonstat_file(p, indicator=indicator, dataset=dataset)
    if ext in {".csv", ".tsv", ".txt"}:
        return _read_csv_file(p, indicator=indicator)
    if ext in {".xlsx", ".xlsm"}:
        return _read_xlsx_file(p, indicator=indicator, sheet=sheet)
    raise RegistryFileError(
        p,
        f"expected JSON-stat (.json), a PxWeb/tidy CSV (.csv) or an Excel sheet (.xlsx), "
        f"found a {ext or 'extension-less'!s} file",
    )


# --------------------------------------------------------------------------------------------
# JSON-stat
# --------------------------------------------------------------------------------------------
def _read_jsonstat_file(p: Path, *, indicator: str | None, dataset: str | None) -> pd.DataFrame:
    text, _ = decode_text(p.read_bytes())
    if not text.strip():
        raise RegistryFileError(p, "expected JSON-stat (JSON), found an empty file")
    kind = _looks_like(text)
    if kind is not None and kind != "JSON":
        raise RegistryFileError(p, f"expected JSON-stat (JSON), found {kind}")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise RegistryFileError(
            p, f"line {e.lineno}, column {e.colno}: invalid JSON ({e.msg})"
        ) from None
    ds, name = _pick_dataset(obj, p, dataset)
    return _jsonstat_frame(ds, p, indicator=indicator, name=name)


def _is_dataset(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("dimension"), dict) and "value" in obj


def _pick_dataset(obj: Any, p: Path, wanted: str | None) -> tuple[dict, str | None]:
    """The dataset object to read from a JSON-stat response (dataset, 1.0/2.0 bundle,
    collection)."""
    what = (
        "expected JSON-stat: an object with class 'dataset' (2.0), {'dataset': {...}} (1.0) "
        "or a collection with embedded datasets"
    )
    if not isinstance(obj, dict):
        raise RegistryFileError(p, f"{what}, found a JSON {type(obj).__name__}")
    cls = obj.get("class")
    if cls == "dataset" or (cls is None and _is_dataset(obj)):
        if not _is_dataset(obj):
            raise RegistryFileError(p, "JSON-stat dataset without 'dimension' and 'value'")
        return obj, obj.get("label")
    if cls == "collection":
        items = (obj.get("link") or {}).get("item") or []
        embedded = [it for it in items if _is_dataset(it)]
        if not embedded:
            hrefs = [it.get("href") for it in items if isinstance(it, dict) and it.get("href")]
            first = f" (first: {hrefs[0]})" if hrefs else ""
            raise RegistryFileError(
                p,
                f"JSON-stat collection {obj.get('label')!r} links to {len(items)} item(s) but "
                f"embeds no dataset{first}; download the dataset itself",
            )
        chosen = embedded[0]
        if wanted is not None:
            hits = [it for it in embedded if wanted in (it.get("label"), it.get("href"))]
            if not hits:
                raise RegistryFileError(p, f"no dataset {wanted!r} in the collection")
            chosen = hits[0]
        warnings.warn(
            f"{p}: JSON-stat collection with {len(embedded)} embedded dataset(s); "
            f"reading {chosen.get('label') or chosen.get('href')!r}",
            UserWarning,
            stacklevel=3,
        )
        return chosen, chosen.get("label")
    named = {k: v for k, v in obj.items() if _is_dataset(v)}
    if named:
        if wanted is not None:
            if wanted not in named:
                raise RegistryFileError(
                    p, f"no dataset {wanted!r} in the file (found: {', '.join(named)})"
                )
            key = wanted
        else:
            key = next(iter(named))
            if len(named) > 1:
                warnings.warn(
                    f"{p}: JSON-stat bundle with {len(named)} datasets "
                    f"({', '.join(named)}); reading the first, {key!r}",
                    UserWarning,
                    stacklevel=3,
                )
        return named[key], named[key].get("label") or key
    keys = ", ".join(list(obj)[:8])
    raise RegistryFileError(p, f"{what}, found a JSON object with keys: {keys}")


def _categories(p: Path, dim_id: str, dim: Any, size: int) -> tuple[list[str], list[str | None]]:
    """(codes in index order, labels or None where the category has no label)."""
    if not isinstance(dim, dict):
        raise RegistryFileError(p, f"JSON-stat dimension {dim_id!r} is not an object")
    cat = dim.get("category") or {}
    index = cat.get("index")
    label = cat.get("label") or {}
    if index is None:
        if not isinstance(label, dict) or not label:
            raise RegistryFileError(p, f"JSON-stat dimension {dim_id!r} has no categories")
        codes = [str(k) for k in label]
    elif isinstance(index, list):
        codes = [str(c) for c in index]
    elif isinstance(index, dict):
        try:
            pos = {str(k): int(v) for k, v in index.items()}
        except (TypeError, ValueError):
            raise RegistryFileError(
                p, f"JSON-stat dimension {dim_id!r}: category index positions must be integers"
            ) from None
        if sorted(pos.values()) != list(range(len(pos))):
            raise RegistryFileError(
                p,
                f"JSON-stat dimension {dim_id!r}: category index positions must be "
                f"0..{len(pos) - 1}",
            )
        codes = sorted(pos, key=pos.__getitem__)
    else:
        raise RegistryFileError(p, f"JSON-stat dimension {dim_id!r}: invalid category index")
    if len(codes) != size:
        raise RegistryFileError(
            p, f"JSON-stat dimension {dim_id!r} has {len(codes)} categories but size says {size}"
        )
    if not isinstance(label, dict):
        label = {}
    labels = [str(label[c]) if label.get(c) is not None else None for c in codes]
    return codes, labels


def _int_or_none(k: Any) -> int | None:
    try:
        return int(k)
    except (TypeError, ValueError):
        return None


def _cell_keys(p: Path, obj: dict, what: str, n: int) -> np.ndarray:
    try:
        keys = np.fromiter((int(k) for k in obj), dtype=np.int64, count=len(obj))
    except (TypeError, ValueError):
        bad = next(k for k in obj if _int_or_none(k) is None)
        raise RegistryFileError(
            p, f"JSON-stat {what} key {bad!r}: expected an integer cell position 0..{n - 1}"
        ) from None
    outside = (keys < 0) | (keys >= n)
    if outside.any():
        bad = list(obj)[int(np.argmax(outside))]
        raise RegistryFileError(
            p,
            f"JSON-stat {what} key {bad!r}: expected a cell position 0..{n - 1} (the product "
            "of 'size'), found one outside the cube",
        )
    return keys


def _numbers(values: list) -> tuple[np.ndarray, np.ndarray | None]:
    """Float array of a JSON value list; non-numeric entries -> NaN plus their text."""
    try:
        return np.asarray(values, dtype=np.float64), None
    except (TypeError, ValueError):
        pass
    s = pd.Series(values, dtype=object)
    num = pd.to_numeric(s, errors="coerce")
    text = s.where(num.isna() & s.notna())
    text_arr = text.map(lambda x: x if x is None or isinstance(x, str) else str(x)).to_numpy()
    text_arr = np.where(pd.isna(text_arr), None, text_arr)
    return num.to_numpy(dtype=np.float64), text_arr


def _jsonstat_frame(ds: dict, p: Path, *, indicator: str | None, name: str | None) -> pd.DataFrame:
    dimension = ds["dimension"]
    ids = ds.get("id", dimension.get("id"))
    sizes = ds.get("size", dimension.get("size"))
    role = ds.get("role", dimension.get("role")) or {}
    if not isinstance(ids, list) or not isinstance(sizes, list):
        raise RegistryFileError(p, "JSON-stat dataset without 'id' and 'size' lists")
    if len(ids) != len(sizes):
        raise RegistryFileError(
            p, f"JSON-stat 'id' has {len(ids)} dimensions but 'size' has {len(sizes)}"
        )
    ids = [str(i) for i in ids]
    try:
        sizes = [int(s) for s in sizes]
    except (TypeError, ValueError):
        raise RegistryFileError(p, "JSON-stat 'size' must hold integers") from None
    missing = [i for i in ids if i not in dimension]
    if missing:
        raise RegistryFileError(
            p, f"JSON-stat 'id' names dimension(s) {missing} that 'dimension' does not describe"
        )
    if not isinstance(role, dict):
        role = {}
    for r, dims in role.items():
        for d in dims or []:
            if d not in ids:
                raise RegistryFileError(
                    p, f"JSON-stat role.{r} names dimension {d!r}, which is not in 'id'"
                )
    cats = {i: _categories(p, i, dimension[i], s) for i, s in zip(ids, sizes, strict=True)}
    n = math.prod(sizes)

    # values and status, dense or sparse
    value = ds.get("value")
    status = ds.get("status")
    if isinstance(value, list):
        if len(value) != n:
            raise RegistryFileError(
                p,
                f"JSON-stat 'value' has {len(value)} cells: expected {n} (the product of "
                f"'size' {sizes})",
            )
        cells = None
        vals, vtext = _numbers(value)
    elif isinstance(value, dict):
        keys = _cell_keys(p, value, "value", n)
        svals, stext = _numbers(list(value.values()))
        cells = keys
        if isinstance(status, dict):
            cells = np.union1d(keys, _cell_keys(p, status, "status", n))
        elif isinstance(status, list) and len(status) == n:
            present = np.flatnonzero(pd.notna(pd.Series(status, dtype=object)).to_numpy())
            cells = np.union1d(keys, present)
        cells = np.unique(cells)
        pos = np.searchsorted(cells, keys)
        vals = np.full(len(cells), np.nan)
        vals[pos] = svals
        vtext = None
        if stext is not None:
            vtext = np.full(len(cells), None, dtype=object)
            vtext[pos] = stext
    else:
        raise RegistryFileError(p, "JSON-stat dataset without a 'value' list or object")
    m = n if cells is None else len(cells)

    stat = np.full(m, None, dtype=object)
    if isinstance(status, str):
        stat[:] = status
    elif isinstance(status, list):
        if len(status) == 1 and n != 1:
            stat[:] = status[0]
        elif len(status) == n:
            arr = np.asarray(status, dtype=object)
            stat = arr if cells is None else arr[cells]
        else:
            raise RegistryFileError(
                p, f"JSON-stat 'status' has {len(status)} entries but the sizes give {n} cells"
            )
    elif isinstance(status, dict):
        skeys = _cell_keys(p, status, "status", n)
        svals = np.asarray(list(status.values()), dtype=object)
        if cells is None:
            stat[skeys] = svals
        else:
            stat[np.searchsorted(cells, skeys)] = svals
    elif status is not None:
        raise RegistryFileError(p, "JSON-stat 'status' must be a string, list or object")
    if vtext is not None:
        stat = np.where(pd.isna(stat) & pd.notna(vtext), vtext, stat)

    flat = np.arange(n, dtype=np.int64) if cells is None else cells
    idx = np.unravel_index(flat, sizes) if sizes else ()

    def first_dim(kind: str, rx: re.Pattern) -> str | None:
        for d in role.get(kind) or []:
            return d
        return next((i for i in ids if rx.search(i)), None)

    geo = first_dim("geo", _GEO_DIM_RE)
    time = first_dim("time", _TIME_DIM_RE)
    metric = first_dim("metric", _METRIC_DIM_RE)
    metric = None if metric in (geo, time) else metric

    out: dict[str, Any] = {}

    def take(dim: str, which: int, fallback: bool = True) -> np.ndarray:
        codes, labels = cats[dim]
        if which == 0:
            arr = codes
        else:
            arr = [
                c if lab is None and fallback else lab for c, lab in zip(codes, labels, strict=True)
            ]
        return np.asarray(arr, dtype=object)[idx[ids.index(dim)]]

    label = ds.get("label") or name or p.stem
    if geo is not None:
        k = ids.index(geo)
        codes = _normalize_kommune_codes(pd.Series(cats[geo][0], dtype="string")).to_numpy(
            dtype=object
        )
        out["kommune"] = codes[idx[k]]
        out["kommune_name"] = take(geo, 1, fallback=False)
    else:
        out["kommune"] = np.full(m, None, dtype=object)
        out["kommune_name"] = np.full(m, None, dtype=object)
    out["period"] = take(time, 0) if time is not None else np.full(m, None, dtype=object)
    if metric is not None:
        out["indicator"] = take(metric, 0)
        out["indicator_label"] = take(metric, 1)
    else:
        out["indicator"] = np.full(m, indicator or label, dtype=object)
        out["indicator_label"] = np.full(m, label, dtype=object)
    out["value"] = vals
    out["status"] = stat
    for d in ids:
        if d in (geo, time, metric):
            continue
        col = d if d not in REGISTRY_COLUMNS else f"{d}_dim"
        out[col] = take(d, 1)
    return _finish(out)


def _finish(cols: dict[str, Any] | pd.DataFrame) -> pd.DataFrame:
    """Column order and dtypes of every registry frame (str columns as pandas "string")."""
    if isinstance(cols, pd.DataFrame):
        cols = {c: cols[c].to_numpy(dtype=object) for c in cols.columns}
    extra = [c for c in cols if c not in REGISTRY_COLUMNS]
    out: dict[str, Any] = {}
    for c in REGISTRY_COLUMNS + extra:
        v = cols[c]
        if c in ("value", "numerator", "denominator"):
            out[c] = pd.to_numeric(pd.Series(v), errors="coerce").to_numpy(dtype=np.float64)
        else:
            arr = np.asarray(v, dtype=object)
            if arr.ndim == 0:
                arr = np.full(_length(cols), arr.item(), dtype=object)
            out[c] = pd.array(arr, dtype="string")
    df = pd.DataFrame(out)
    blank = df["status"] == ""
    if blank.any():
        df["status"] = df["status"].mask(blank.fillna(False), pd.NA)
    return df


def _length(cols: dict[str, Any]) -> int:
    return max((len(v) for v in cols.values() if np.ndim(v) == 1), default=0)


# --------------------------------------------------------------------------------------------
# CSV / XLSX tables
# --------------------------------------------------------------------------------------------
def _read_csv_file(p: Path, *, indicator: str | None) -> pd.DataFrame:
    text, encoding = decode_text(p.read_bytes())
    if not text.strip():
        raise RegistryFileError(p, "expected a CSV table, found an empty file")
    kind = _looks_like(text)
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

    return _table_to_registry(
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


def _read_xlsx_file(
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
        return _table_to_registry(
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


def _parse_values(s: pd.Series, decimal_comma: bool) -> tuple[pd.Series, pd.Series]:
    """(float64 values, status text) from cell strings: numbers with optional decimal comma
    and space/NBSP thousands separators; anything else non-empty is kept as status."""
    t = s.astype("string").str.strip().fillna("")
    empty = t == ""
    num_str = t.str.replace(r"[\s\u00a0\u202f]", "", regex=True)
    if decimal_comma:
        num_str = num_str.str.replace(",", ".", regex=False)
    num = pd.to_numeric(num_str.mask(empty | t.isin(STATUS_SYMBOLS), None), errors="coerce")
    num = num.astype("float64")
    status = t.mask(empty | num.notna(), pd.NA)
    return num, status


def _is_valueish(s: pd.Series, decimal_comma: bool) -> bool:
    num, status = _parse_values(s, decimal_comma)
    if not num.notna().any():
        return False
    return bool(status.dropna().isin(STATUS_SYMBOLS).all())


def _split_regions(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """'K-1508 Ålesund' / '0101 Halden' / '3001' / 'Hele landet' -> (code, name)."""
    uniq = pd.Series(pd.unique(values.astype("string").fillna("")), dtype="string").str.strip()
    ext = uniq.str.extract(r"^K-(?P<kc>\S+)\s*(?P<kn>.*)$")
    num = uniq.str.extract(r"^(?P<nc>\d{1,4})(?:\s+(?P<nn>.+))?$")
    code = ext["kc"].fillna(num["nc"])
    name = ext["kn"].where(ext["kc"].notna(), num["nn"].where(num["nc"].notna(), uniq))
    name = name.mask(name.str.strip() == "", pd.NA)
    code = _normalize_kommune_codes(code)
    key = pd.unique(values.astype("string").fillna(""))
    code_map = dict(zip(key, code.to_numpy(dtype=object), strict=True))
    name_map = dict(zip(key, name.to_numpy(dtype=object), strict=True))
    v = values.astype("string").fillna("")
    return v.map(code_map), v.map(name_map)


def _geo_columns(stubs: list[str], df: pd.DataFrame) -> tuple[str | None, str | None]:
    geo = [c for c in stubs if _GEO_COL_RE.search(c) and "sort" not in c.lower()]
    if not geo:
        return None, None
    code_col = next((c for c in geo if _GEO_CODE_COL_RE.search(c)), None)
    if code_col is None and len(geo) > 1:
        code_col = next(
            (c for c in geo if df[c].str.strip().str.fullmatch(r"(K-)?\d{3,4}").all()), None
        )
    name_col = next((c for c in geo if c != code_col), None)
    return code_col, name_col


def _geo_frame(df: pd.DataFrame, code_col: str | None, name_col: str | None) -> pd.DataFrame:
    n = len(df)
    if code_col is None and name_col is None:
        na = _string([pd.NA] * n, df.index)
        return pd.DataFrame({"kommune": na, "kommune_name": na})
    if code_col is not None and name_col is not None:
        return pd.DataFrame(
            {
                "kommune": _normalize_kommune_codes(df[code_col]),
                "kommune_name": df[name_col].astype("string").str.strip(),
            }
        )
    code, name = _split_regions(df[code_col or name_col])
    return pd.DataFrame({"kommune": code, "kommune_name": name}, index=df.index)


def _table_to_registry(
    df: pd.DataFrame,
    p: Path,
    *,
    indicator: str | None,
    decimal_comma: bool,
    locate: Any = None,
    titled: bool = False,
) -> pd.DataFrame:
    """``locate(index label)`` names a row's place in the file ("line 7"); ``titled``: the
    table came after title lines (an SSB statbank download)."""
    df = df.copy()
    df.columns = [str(c).strip() for c in df.columns]
    # footnotes after the table: trailing rows with only the first cell filled
    end = len(df)
    if len(df.columns) > 1:
        while end > 0 and all(str(v).strip() == "" for v in df.iloc[end - 1, 1:]):
            end -= 1
    df = df.iloc[:end]
    lower = {c.lower(): c for c in df.columns}
    if {"kommune", "indicator", "value"} <= set(lower) and ("period" in lower or "year" in lower):
        return _tidy_table(df, lower, decimal_comma)
    end_hits = {c: _HEADER_END_PERIOD_RE.match(c) for c in df.columns}
    start_hits = {c: _HEADER_START_PERIOD_RE.match(c) for c in df.columns}
    if any(end_hits.values()) or any(start_hits.values()):
        return _wide_table(
            df, p, end_hits, start_hits, indicator, decimal_comma, locate=locate, titled=titled
        )
    time_col = next((c for c in df.columns if _TIME_COL_RE.match(c)), None)
    if time_col is None:
        time_col = next((c for c in df.columns if _SCHOOL_YEAR_COL_RE.match(c)), None)
    if time_col is not None:
        return _long_table(df, p, time_col, indicator, decimal_comma)
    raise RegistryFileError(
        p,
        "expected a PxWeb table (value columns headed '<contents> <year>'), a long table with "
        "a year column and one value column, or a tidy table (kommune, period, indicator, "
        f"value); found columns: {', '.join(list(df.columns)[:8])}",
    )


def _tidy_table(df: pd.DataFrame, lower: dict[str, str], decimal_comma: bool) -> pd.DataFrame:
    def col(name: str) -> pd.Series:
        return df[lower[name]]

    value, sym = _parse_values(col("value"), decimal_comma)
    status = sym
    if "status" in lower:
        given = col("status").astype("string").str.strip()
        status = given.mask(given == "", pd.NA).fillna(sym)
    name_key = next((k for k in ("kommune_name", "kommunenavn") if k in lower), None)
    out = pd.DataFrame(
        {
            "kommune": _normalize_kommune_codes(col("kommune")),
            "kommune_name": col(name_key) if name_key else pd.NA,
            "period": col("period") if "period" in lower else col("year"),
            "indicator": col("indicator"),
            "indicator_label": col("indicator_label") if "indicator_label" in lower else pd.NA,
            "value": value,
            "status": status,
        },
        index=df.index,
    )
    used = {
        "kommune",
        "kommune_name",
        "kommunenavn",
        "period",
        "indicator",
        "indicator_label",
        "value",
        "status",
    }
    if "period" not in lower:
        used.add("year")
    for k, c in lower.items():
        if k in used:
            continue
        if k in ("numerator", "denominator"):
            out[k] = _parse_values(df[c], decimal_comma)[0]
        else:
            out[c if c not in REGISTRY_COLUMNS else f"{c}_dim"] = df[c]
    for c in ("kommune_name", "period", "indicator", "indicator_label"):
        s = out[c].astype("string").str.strip()
        out[c] = s.mask(s == "", pd.NA)
    return _finish(out)


def _contents_columns(stubs: list[str]) -> tuple[str | None, str | None]:
    code = next((c for c in stubs if _CONTENTS_COL_RE.match(c)), None)
    label = next((c for c in stubs if _CONTENTS_LABEL_COL_RE.match(c)), None)
    return code, label


def _wide_table(
    df: pd.DataFrame,
    p: Path,
    end_hits: dict[str, re.Match | None],
    start_hits: dict[str, re.Match | None],
    indicator: str | None,
    decimal_comma: bool,
    *,
    locate: Any = None,
    titled: bool = False,
) -> pd.DataFrame:
    value_cols: list[str] = []
    note_cols: list[str] = []
    periods: list[str] = []
    labels: list[str] = []
    measures: list[str | None] = []
    breakdowns: list[str | None] = []
    for c in df.columns:
        ms, me = start_hits[c], end_hits[c]
        if ms is not None:
            tokens = ms.group("rest").split(".")
            if tokens[-1].strip().lower() in _UDIR_NOTE_TOKENS:
                note_cols.append(c)
                continue
            value_cols.append(c)
            periods.append(ms.group("period"))
            labels.append(tokens[-1].strip())
            measures.append(tokens[-1].strip())
            breakdowns.append(".".join(t.strip() for t in tokens[:-1]) or None)
        elif me is not None:
            value_cols.append(c)
            periods.append(re.sub(r"\s+", "", me.group("period")))
            labels.append((me.group("label") or "").strip())
            measures.append(None)
            breakdowns.append(None)
    stubs = [c for c in df.columns if c not in value_cols and c not in note_cols]
    n, m = len(df), len(value_cols)

    code_col, name_col = _geo_columns(stubs, df)
    ssb = titled or any(_SSB_CONTENTS_COL_RE.match(c) for c in stubs)
    if code_col is None and name_col is None and ssb:
        raise RegistryFileError(
            p,
            "expected a region column (headed region, kommune, geografi or municipality; "
            "values like 'K-1508 Ålesund' or '1508 Ålesund') before the period columns; "
            f"found: {', '.join(stubs) or 'no columns'}",
        )
    geo = _geo_frame(df, code_col, name_col)
    contents_col, contents_label_col = _contents_columns(stubs)

    def rep(values: Any) -> np.ndarray:
        return np.repeat(np.asarray(values, dtype=object), m)

    def tile(values: list) -> np.ndarray:
        return np.tile(np.asarray(values, dtype=object), n)

    cells = df[value_cols].to_numpy(dtype=object).ravel()
    value, status = _parse_values(pd.Series(cells, dtype="string"), decimal_comma)
    bad = (status.notna() & ~status.isin(STATUS_SYMBOLS)).to_numpy(dtype=bool)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        r, c = divmod(k, m)
        where = locate(df.index[r]) if locate is not None else f"row {r + 1}"
        symbols = ", ".join(f"'{s}'" for s in sorted(STATUS_SYMBOLS))
        raise RegistryFileError(
            p,
            f"{where}, column {value_cols[c]}: expected a number or an SSB status symbol "
            f"({symbols}), found {str(cells[k]).strip()!r}",
        )
    label_arr = tile(labels)
    has_label = label_arr != ""
    fallback = indicator or p.stem
    if contents_col is not None:
        stub_ind = rep(df[contents_col].str.strip().to_numpy(dtype=object))
        stub_lab = (
            rep(df[contents_label_col].str.strip().to_numpy(dtype=object))
            if contents_label_col
            else stub_ind
        )
        udir = any(mm is not None for mm in measures)
        if udir:
            ind, ind_label = stub_ind, stub_lab
        else:
            ind = np.where(has_label, label_arr, stub_ind)
            ind_label = np.where(has_label, label_arr, stub_lab)
    else:
        ind = np.where(has_label, label_arr, fallback)
        ind_label = np.where(has_label, label_arr, None)
    out: dict[str, Any] = {
        "kommune": rep(geo["kommune"].to_numpy(dtype=object)),
        "kommune_name": rep(geo["kommune_name"].to_numpy(dtype=object)),
        "period": tile(periods),
        "indicator": ind,
        "indicator_label": ind_label,
        "value": value.to_numpy(),
        "status": status.to_numpy(dtype=object),
    }
    used = {code_col, name_col}
    if contents_col is not None:
        used |= {contents_col, contents_label_col}
        if any(mm is not None for mm in measures):
            out["measure"] = tile(measures)
    elif any(mm is not None for mm in measures):
        pass  # the measure is the indicator
    if any(b is not None for b in breakdowns):
        out["breakdown"] = tile(breakdowns)
    for c in stubs:
        if c in used:
            continue
        name = c if c not in REGISTRY_COLUMNS and c not in out else f"{c}_dim"
        out[name] = rep(df[c].to_numpy(dtype=object))
    return _finish(out)


def _long_table(
    df: pd.DataFrame, p: Path, time_col: str, indicator: str | None, decimal_comma: bool
) -> pd.DataFrame:
    stubs = [c for c in df.columns if c != time_col]
    code_col, name_col = _geo_columns(stubs, df)
    contents_col, contents_label_col = _contents_columns(stubs)
    skip = {code_col, name_col, contents_col, contents_label_col}
    candidates = [
        c
        for c in stubs
        if c not in skip and not _NOT_VALUE_COL_RE.search(c) and _is_valueish(df[c], decimal_comma)
    ]
    preferred = [c for c in candidates if _VALUE_COL_PREFERRED_RE.match(c)]
    if len(preferred) == 1:
        value_col = preferred[0]
    elif len(candidates) == 1:
        value_col = candidates[0]
    elif not candidates:
        raise RegistryFileError(
            p, f"long table with time column {time_col!r} but no numeric value column"
        )
    else:
        raise RegistryFileError(
            p,
            f"long table with several numeric columns ({', '.join(candidates)}); expected one "
            "value column (name it 'value')",
        )
    geo = _geo_frame(df, code_col, name_col)
    value, status = _parse_values(df[value_col], decimal_comma)
    period = (
        df[time_col]
        .astype("string")
        .str.strip()
        .str.replace(r"^(\d{4})-01-01(?:T00:00:00)?$", r"\1", regex=True)
    )
    if contents_col is not None:
        ind = df[contents_col].astype("string").str.strip()
        ind_label = (
            df[contents_label_col].astype("string").str.strip() if contents_label_col else ind
        )
    else:
        ind = _string([indicator or p.stem] * len(df), df.index)
        ind_label = _string([value_col] * len(df), df.index)
    out = pd.DataFrame(
        {
            "kommune": geo["kommune"].to_numpy(dtype=object),
            "kommune_name": geo["kommune_name"].to_numpy(dtype=object),
            "period": period.to_numpy(dtype=object),
            "indicator": ind.to_numpy(dtype=object),
            "indicator_label": ind_label.to_numpy(dtype=object),
            "value": value.to_numpy(),
            "status": status.to_numpy(dtype=object),
        }
    )
    for c in stubs:
        if c in skip or c == value_col:
            continue
        out[c if c not in out.columns else f"{c}_dim"] = df[c].to_numpy(dtype=object)
    return _finish(out)
