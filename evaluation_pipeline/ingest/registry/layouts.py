"""Registry table layouts (PxWeb/Udir wide, FHI long, tidy) -> the registry frame.

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

What lives here: :func:`table_to_registry`, which tells the layout from the headers, and
the readers of each layout: region and contents columns, values with their status symbols.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...errors import RegistryFileError
from .frame import (
    REGISTRY_COLUMNS,
    STATUS_SYMBOLS,
    finish_frame,
    normalize_kommune_codes,
    string_series,
)

# CSV headers
_GEO_COL_RE = re.compile(r"region|kommune|geografi|municipality", re.I)
_GEO_CODE_COL_RE = re.compile(r"(nr|nummer|kode|code|_id|id)$", re.I)
_TIME_COL_RE = re.compile(r"^(tid|time|year|years|år|aar|årstall|periode|period)$", re.I)
#: a school-year column (FHI ``Skoleår``: 2016/17 or 2016/17-2018/19), the time column when
#: there is no year column (with both, the school year stays a column and the observations
#: step takes the more specific one as the period; see
#: ``observations.dimensions.resolve_dimensions``)
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
    code = normalize_kommune_codes(code)
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
        na = string_series([pd.NA] * n, df.index)
        return pd.DataFrame({"kommune": na, "kommune_name": na})
    if code_col is not None and name_col is not None:
        return pd.DataFrame(
            {
                "kommune": normalize_kommune_codes(df[code_col]),
                "kommune_name": df[name_col].astype("string").str.strip(),
            }
        )
    code, name = _split_regions(df[code_col or name_col])
    return pd.DataFrame({"kommune": code, "kommune_name": name}, index=df.index)


def table_to_registry(
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
            "kommune": normalize_kommune_codes(col("kommune")),
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
    return finish_frame(out)


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
    return finish_frame(out)


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
        ind = string_series([indicator or p.stem] * len(df), df.index)
        ind_label = string_series([value_col] * len(df), df.index)
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
    return finish_frame(out)
