"""Periods as published -> years: calendar years and dates, school years (``2016/17`` -> 2017)
and rolling windows (``2016/17-2018/19`` -> 2019), and the notes that say so."""

from __future__ import annotations

import re

import pandas as pd

from ..errors import RegistryFileError

_P_YEAR = re.compile(r"^(\d{4})$")
_P_DATE = re.compile(r"^(\d{4})-\d{2}-\d{2}(?:[T ].*)?$")
_P_SUBYEAR = re.compile(r"^(\d{4})\s*(?:K|Q|M|H|U|T)\d{1,2}$", re.I)
_P_SCHOOL = re.compile(r"^(\d{4})\s*(/|-)\s*(\d{2}|\d{4})$")
_P_ROLLING_SCHOOL = re.compile(
    r"^(\d{4})\s*[/-]\s*(\d{2}|\d{4})\s*-\s*(\d{4})\s*[/-]\s*(\d{2}|\d{4})$")
_P_ROLLING_YEARS = re.compile(r"^(\d{4})\s*-\s*(\d{4})$")
KIND_RANK = {"rolling": 2, "school_year": 1, "year": 0}


def _school_end(start: str, end: str) -> int | None:
    s = int(start)
    e = int(end) if len(end) == 4 else (s // 100) * 100 + int(end)
    if len(end) == 2 and e < s:
        e += 100
    return e if e == s + 1 else None


def parse_period(text: str) -> tuple[int | None, str, int]:
    """(year, kind, window) of a period as published: kind is 'year' (2015, 2015-01-01,
    2015K4, 2015M03), 'school_year' (2016/17, Udir's 2016-17: the end year 2017) or 'rolling'
    (2016/17-2018/19 -> 2019, 2021-2023 -> 2023: the end year); window = years covered."""
    t = str(text).strip()
    if m := _P_YEAR.match(t):
        return int(m.group(1)), "year", 1
    if m := _P_DATE.match(t):
        return int(m.group(1)), "year", 1
    if m := _P_SUBYEAR.match(t):
        return int(m.group(1)), "year", 1
    if m := _P_ROLLING_SCHOOL.match(t):
        first = _school_end(m.group(1), m.group(2))
        last = _school_end(m.group(3), m.group(4))
        if first is not None and last is not None and last > first:
            return last, "rolling", last - first + 1
    if m := _P_SCHOOL.match(t):
        end = _school_end(m.group(1), m.group(3))
        if end is not None and not (m.group(2) == "-" and len(m.group(3)) == 4):
            return end, "school_year", 1
    if m := _P_ROLLING_YEARS.match(t):
        a, b = int(m.group(1)), int(m.group(2))
        if b > a:
            return b, "rolling", b - a + 1
    if m := re.match(r"^(\d{4})", t):
        return int(m.group(1)), "year", 1
    return None, "unknown", 0


def period_kinds(values: pd.Series) -> pd.DataFrame | None:
    """year/kind/window per row, or None when a value is not a period."""
    uniq = pd.unique(values.astype("string").fillna(""))
    parsed = {u: parse_period(u) for u in uniq}
    if any(v[0] is None for v in parsed.values()):
        return None
    t = values.astype("string").fillna("")
    return pd.DataFrame({
        "year": t.map(lambda u: parsed[u][0]).astype("int64"),
        "kind": t.map(lambda u: parsed[u][1]),
        "window": t.map(lambda u: parsed[u][2]).astype("int64"),
    }, index=values.index)


def period_notes(periods: pd.Series) -> list[str]:
    """Notes for the Effect and the report on periods that are not calendar years, e.g.
    'values are rolling 3-year averages (2016/17-2018/19 → 2019: the end year)'."""
    notes = []
    kinds = period_kinds(periods.dropna())
    if kinds is None or kinds.empty:
        return notes
    rolling = kinds["kind"] == "rolling"
    if rolling.any():
        first = periods.dropna()[rolling].astype(str).iloc[0]
        windows = sorted(set(kinds.loc[rolling, "window"]))
        w = "/".join(map(str, windows))
        notes.append(f"values are rolling {w}-year averages ({first} → "
                     f"{kinds.loc[rolling, 'year'].iloc[0]}: periods are dated by their end year)")
    elif (kinds["kind"] == "school_year").any():
        first = periods.dropna()[kinds["kind"] == "school_year"].astype(str).iloc[0]
        notes.append(f"school years dated by their end year ({first} → "
                     f"{kinds.loc[kinds['kind'] == 'school_year', 'year'].iloc[0]})")
    return notes


def period_year(periods: pd.Series, path: str) -> pd.Series:
    kinds = period_kinds(periods)
    if kinds is None:
        bad = next(u for u in pd.unique(periods.astype("string").fillna(""))
                   if parse_period(u)[0] is None)
        raise RegistryFileError(
            path, f"period {bad!r} is not a year, date, school year (2016/17) or rolling "
            "window (2016/17-2018/19)")
    return kinds["year"]
