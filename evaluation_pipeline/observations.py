"""From a registry file as read (long, one row per contents code) to the study's tidy registry
observations: kommune, period, year, indicator (the study's id), numerator, denominator, value,
status, borders, source_scale; the file's country and fylke rows as reference series; and the
cells a revised registry table changed between two versions.

Files as researchers download them (FHI Kommunehelsa, Udir, SSB) are read as published, each
step driven by study.yaml only where the file cannot tell:

* **kommune names** ("Porsgrunn", "Bø") become codes through SSB's code history for the
  period's year (:func:`geography.codes_for_names`); a name of several kommuner is resolved by
  the file's fylke rows, then by the study's kommuner, else it is an error listing the
  candidates. "Hele landet" and fylke rows ("Telemark") are **reference series**
  (:attr:`IndicatorRead.reference`), never kommune rows.
* **borders**: FHI publishes whole histories on today's borders (Midt-Telemark for 2015,
  4001 Porsgrunn for 2015). When a name or code appears in a year it did not exist although
  it exists in the study's ``geography_year``, the file is on current borders: names map to
  ``geography_year`` codes and codes are kept (``borders: current``; the contract then checks
  the code against ``geography_year``). ``borders: current | as_published`` overrides this.
* **periods**: ``2015-01-01`` -> 2015; school years ``2016/17`` (and Udir's ``2016-17``) -> the
  end year 2017; rolling windows ``2016/17-2018/19`` or ``2021-2023`` -> the end year (2019,
  2023), noted as rolling averages (:func:`period_notes`). When a file has several columns for
  the same periods (FHI: ``Skoleår`` 2016/17-2018/19, ``År`` 2018-01-01, ``Skoleår_slutt``
  2018/19) the most specific one is the period: a rolling window over a school year over a
  year or date; the others are labels.
* **extra dimensions**: ``filter:`` keeps one value per dimension (case-insensitive, trimmed);
  a dimension with one value needs none; columns that label another column one-to-one
  (``Label`` = ``Kommune``, ``SortKommune``, ``Skoleår_slutt``) are ignored. Any other
  dimension with several values is an error naming it, its values and the ``filter:`` line.
* **published rates** (``value:``): the scale (proportion 0–1, percent, per 1,000) is taken
  from ``scale:`` or detected from the values (all within 0–1: a proportion, whatever the
  label says) and the label, and the value is stored per the indicator's ``per``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import geography
from .errors import RegistryFileError
from .study import Indicator

OBSERVATION_COLUMNS = [
    "kommune", "period", "year", "indicator", "numerator", "denominator", "value", "status",
]
#: the columns of :func:`registry_observations`: the observations plus how the file was
#: published (``borders``: as_published | current; ``source_scale``: counts, or the scale of
#: a published rate: proportion | percent | per_1000 | per_100000)
RAW_OBSERVATION_COLUMNS = [*OBSERVATION_COLUMNS, "borders", "source_scale"]
REFERENCE_COLUMNS = [
    "level", "area", "period", "year", "indicator", "numerator", "denominator", "value",
    "status",
]
_REGISTRY_CORE = {
    "kommune", "kommune_name", "period", "indicator", "indicator_label", "value", "status",
}
_NA_KEY = "<missing>\u241e"  # stands for a missing key value while merging
SCALE_BASE = {"proportion": 1.0, "percent": 100.0, "per_1000": 1000.0, "per_100000": 100000.0}


@dataclass
class IndicatorRead:
    """One study indicator read from its file: the kommune observations
    (:data:`RAW_OBSERVATION_COLUMNS`), the country/fylke reference series
    (:data:`REFERENCE_COLUMNS`) and notes on what was decided (borders, scale, periods,
    ignored label columns, filters)."""

    observations: pd.DataFrame
    reference: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    borders: str = "as_published"
    scale: str = "counts"


# ---- periods ---------------------------------------------------------------------------------
_P_YEAR = re.compile(r"^(\d{4})$")
_P_DATE = re.compile(r"^(\d{4})-\d{2}-\d{2}(?:[T ].*)?$")
_P_SUBYEAR = re.compile(r"^(\d{4})\s*(?:K|Q|M|H|U|T)\d{1,2}$", re.I)
_P_SCHOOL = re.compile(r"^(\d{4})\s*(/|-)\s*(\d{2}|\d{4})$")
_P_ROLLING_SCHOOL = re.compile(
    r"^(\d{4})\s*[/-]\s*(\d{2}|\d{4})\s*-\s*(\d{4})\s*[/-]\s*(\d{2}|\d{4})$")
_P_ROLLING_YEARS = re.compile(r"^(\d{4})\s*-\s*(\d{4})$")
_KIND_RANK = {"rolling": 2, "school_year": 1, "year": 0}


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


def _period_kinds(values: pd.Series) -> pd.DataFrame | None:
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
    kinds = _period_kinds(periods.dropna())
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


def _period_year(periods: pd.Series, path: str) -> pd.Series:
    kinds = _period_kinds(periods)
    if kinds is None:
        bad = next(u for u in pd.unique(periods.astype("string").fillna(""))
                   if parse_period(u)[0] is None)
        raise RegistryFileError(
            path, f"period {bad!r} is not a year, date, school year (2016/17) or rolling "
            "window (2016/17-2018/19)")
    return kinds["year"]


# ---- the columns of a file -------------------------------------------------------------------
def _key(s: pd.Series) -> pd.Series:
    return s.astype("string").fillna(_NA_KEY)


def _one_to_one(df: pd.DataFrame, a: str, b: str) -> bool:
    """True when the values of columns a and b label each other (a bijection on the rows)."""
    x, y = _key(df[a]), _key(df[b])
    pairs = pd.DataFrame({"x": x, "y": y}).drop_duplicates()
    return bool(pairs["x"].is_unique and pairs["y"].is_unique)


def _match_column(columns: list[str], name: str) -> str | None:
    if name in columns:
        return name
    want = re.sub(r"\s+", " ", name).strip().casefold()
    hits = [c for c in columns if re.sub(r"\s+", " ", c).strip().casefold() == want]
    return hits[0] if len(hits) == 1 else None


def _norm_value(s: pd.Series) -> pd.Series:
    return s.astype("string").str.replace(r"\s+", " ", regex=True).str.strip().str.casefold()


_TOTAL_RE = re.compile(r"samlet|begge|alle|total|i alt|totalt|both|all\b", re.I)


def _filter_line(dims: dict[str, list[str]]) -> str:
    def pick(values: list[str]) -> str:
        total = [v for v in values if _TOTAL_RE.search(v)]
        return (total or values)[0]

    def q(v: str) -> str:
        return v if re.fullmatch(r"[\w .\-æøåÆØÅ]+", v) and not v[:1].isdigit() else f'"{v}"'

    inner = ", ".join(f"{q(d)}: {q(pick(v))}" for d, v in dims.items())
    return f"filter: {{{inner}}}"


_LEVEL_COL_RE = re.compile(r"niv(å|aa|a)|level", re.I)
_AREA_COL_RE = re.compile(r"fylke|enhet|nasjonal|skole|navn|county|school", re.I)


def _no_kommune_level(raw: pd.DataFrame, path: str) -> RegistryFileError:
    extra = [c for c in raw.columns if c not in _REGISTRY_CORE]
    parts = []
    for c in extra:
        if _LEVEL_COL_RE.search(c):
            vals = [str(v) for v in pd.unique(raw[c].dropna())][:8]
            parts.append(f"level column {c!r} with the levels {', '.join(vals)}")
    for c in extra:
        if _AREA_COL_RE.search(c) and not _LEVEL_COL_RE.search(c):
            vals = [str(v) for v in pd.unique(raw[c].dropna())]
            shown = ", ".join(map(repr, vals[:4])) + (f" and {len(vals) - 4} more"
                                                       if len(vals) > 4 else "")
            parts.append(f"{c!r} ({shown})")
    found = "; ".join(parts) or f"columns {', '.join(extra)}"
    return RegistryFileError(
        path,
        f"no kommune level in this file: it has no kommune column (found {found}); the table "
        "is by school, fylke or the whole country. Download it at kommune level (Udir "
        "statistikkbank: choose the kommune level; FHI/SSB: region = kommuner)",
    )


def _resolve_dimensions(
    sub: pd.DataFrame, indicator: Indicator, path: str, filtered: set[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Pick the period column, drop label columns, and check that no dimension with several
    values is left. Returns (rows with a chosen ``period``, notes)."""
    notes: list[str] = []
    extra = [c for c in sub.columns if c not in _REGISTRY_CORE]
    multi = [c for c in extra if sub[c].nunique(dropna=True) > 1]
    # the period: the most specific of the columns that label the same periods
    base = _period_kinds(sub["period"].dropna()) if sub["period"].notna().any() else None
    best, best_rank = "period", (_KIND_RANK[base["kind"].iloc[0]] if base is not None
                                 and len(base) else -1)
    same_period = []
    for c in multi:
        if sub[c].isna().any() or not _one_to_one(sub, "period", c):
            continue
        kinds = _period_kinds(sub[c])
        same_period.append(c)
        if kinds is None:
            continue
        rank = max(_KIND_RANK[k] for k in kinds["kind"].unique())
        if rank > best_rank:
            best, best_rank = c, rank
    if best != "period":
        sub = sub.assign(period=sub[best].astype("string").str.strip())
        others = [c for c in same_period if c != best]
        notes.append(f"period from column {best!r} (the most specific of "
                     f"{', '.join([best, *others, 'the year column'])}, which label the same "
                     "periods)")
    ignored = [c for c in same_period if c != best]  # `best` is the period now
    # labels of the region (Label = Kommune, SortKommune) or of another dimension
    region = "kommune_name" if sub["kommune_name"].notna().any() else "kommune"
    for c in multi:
        if c in ignored or c == best:
            continue
        if sub[region].notna().any() and _one_to_one(sub, region, c):
            ignored.append(c)
    left = [c for c in multi if c not in ignored and c != best]
    for i, c in enumerate(left):
        if any(_one_to_one(sub, d, c) for d in left[:i] if d not in ignored):
            ignored.append(c)
    if ignored:
        notes.append(f"columns ignored as labels of another column: {', '.join(ignored)}")
    left = [c for c in multi if c not in ignored and c != best and c not in filtered]
    if left:
        dims = {c: [str(v) for v in pd.unique(sub[c].dropna())] for c in left}
        levels = [c for c in left if _LEVEL_COL_RE.search(c)]
        named = sub["kommune_name"].dropna()
        has_kommune = sub["kommune"].notna().any() or named.map(
            geography.area_level).eq("kommune").any()
        if levels and not has_kommune:
            raise _no_kommune_level(sub, path)
        listed = "; ".join(
            f"{c!r} has {len(v)} values ({', '.join(map(repr, v[:8]))}"
            f"{', …' if len(v) > 8 else ''})" for c, v in dims.items())
        raise RegistryFileError(
            path,
            f"the table has more dimensions than kommune, period and contents: {listed}. "
            f"Keep one value of each with a filter on the indicator in study.yaml, e.g. "
            f"`{_filter_line(dims)}`",
        )
    return sub, notes


def _apply_filter(raw: pd.DataFrame, indicator: Indicator, path: str) -> tuple[pd.DataFrame,
                                                                              set[str]]:
    cols = [c for c in raw.columns if c not in _REGISTRY_CORE]
    used = set()
    for dim, value in indicator.filter.items():
        col = _match_column(cols, dim)
        if col is None:
            raise RegistryFileError(
                path, f"filter: no column {dim!r} in the file (its dimensions: "
                f"{', '.join(cols) or 'none'})")
        keep = _norm_value(raw[col]) == re.sub(r"\s+", " ", value).strip().casefold()
        if not keep.fillna(False).any():
            vals = ", ".join(map(repr, (str(v) for v in pd.unique(raw[col].dropna()))))
            raise RegistryFileError(
                path, f"filter: column {col!r} has no value {value!r} (its values: {vals})")
        raw = raw[keep.fillna(False)]
        used.add(col)
    return raw, used


# ---- scales of published rates ----------------------------------------------------------------
_PER_1000_RE = re.compile(r"per\s*1\s?000\b|promille|‰|per tusen", re.I)
_PER_100000_RE = re.compile(r"per\s*100\s?000", re.I)
_PERCENT_RE = re.compile(r"prosent|percent|%", re.I)


def detect_scale(values: pd.Series, label: str = "") -> tuple[str, str]:
    """(scale, reason) of a published rate from its values and label: all values within
    0–1 -> proportion (FHI writes 'andel (prosent, standardisert)' over 0.057); otherwise a
    'per 1 000' / 'per 100 000' label, else values up to 100 -> percent, else per 1,000."""
    v = pd.to_numeric(values, errors="coerce").dropna()
    lab = label or ""
    if len(v) and v.min() >= 0 and v.max() <= 1:
        why = f"all values within 0–1 (max {v.max():g})"
        if _PERCENT_RE.search(lab) or _PER_1000_RE.search(lab):
            why += f" although the label says {lab.strip()!r}"
        return "proportion", why
    if _PER_100000_RE.search(lab):
        return "per_100000", f"label {lab.strip()!r}"
    if _PER_1000_RE.search(lab):
        return "per_1000", f"label {lab.strip()!r}"
    if not len(v) or v.max() <= 100:
        return "percent", (f"values up to {v.max():g}" if len(v) else "no values") + (
            f", label {lab.strip()!r}" if lab.strip() else "")
    return "per_1000", f"values up to {v.max():g}"


_PER_TEXT = {1.0: "a proportion", 100.0: "percent", 1000.0: "per 1,000",
             100000.0: "per 100,000"}


# ---- the study's observations of one indicator ------------------------------------------------
def _pick(raw: pd.DataFrame, name: str, path: str) -> pd.DataFrame:
    hit = raw[(raw["indicator"] == name) | (raw["indicator_label"] == name)]
    if hit.empty:
        found = sorted(set(raw["indicator"].dropna()) | set(raw["indicator_label"].dropna()))
        raise RegistryFileError(
            path, f"no contents {name!r} in the file (found: {', '.join(map(str, found[:10]))})"
        )
    return hit


def registry_observations(
    raw: pd.DataFrame,
    indicator_id: str,
    indicator: Indicator,
    path: str = "<registry file>",
    *,
    study=None,
) -> pd.DataFrame:
    """The study's kommune observations of one indicator (:data:`RAW_OBSERVATION_COLUMNS`)
    from a read registry file; see :func:`read_indicator_table` (this is its
    ``observations``)."""
    return read_indicator_table(raw, indicator_id, indicator, path, study=study).observations


def read_indicator(study, indicator_id: str) -> IndicatorRead:
    """Read the file of one of the study's indicators (with its ``sheet``) and interpret it."""
    from .ingest import read_registry

    ind = study.registry.indicators[indicator_id]
    path = study.path(ind.file)
    raw = read_registry(path, sheet=ind.sheet) if ind.sheet is not None else read_registry(path)
    return read_indicator_table(raw, indicator_id, ind, str(path), study=study)


def _empty(columns: list[str]) -> pd.DataFrame:
    """An empty table of observation-like columns with their types (counts and values float,
    year int, the rest string)."""
    return pd.DataFrame({c: pd.Series(dtype="float64" if c in (
        "numerator", "denominator", "value") else "int64" if c == "year" else "string")
        for c in columns})


def reference_series(study) -> pd.DataFrame:
    """The country and fylke reference series of every registry indicator of the study
    (stored per the indicator's ``per`` like the kommune values). An indicator whose file
    cannot be read has none (:func:`read_indicators` says why); when no indicator can be
    read, the error is raised."""
    return read_indicators(study).reference


#: the columns of :attr:`RegistryRead.failures_frame`
FAILURE_COLUMNS = ["indicator", "file", "reason"]


@dataclass
class RegistryRead:
    """Every registry indicator of a study read from its file (:func:`read_indicators`).

    ``observations`` (:data:`RAW_OBSERVATION_COLUMNS`) and ``reference``
    (:data:`REFERENCE_COLUMNS`) hold the indicators that could be read; ``failures`` maps each
    indicator that could not be read to the reader's whole message (the file as study.yaml
    names it, row/column where known, and what to do), ``notes`` each read indicator to
    :attr:`IndicatorRead.notes`."""

    observations: pd.DataFrame
    reference: pd.DataFrame
    failures: dict[str, str] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)

    def __iter__(self):  # observations, reference, failures = read_indicators(study)
        return iter((self.observations, self.reference, self.failures))

    @property
    def failures_frame(self) -> pd.DataFrame:
        """The failures as a table: indicator, file (as in study.yaml), reason."""
        return failures_frame(self.failures, self._files)

    _files: dict[str, str] = field(default_factory=dict, repr=False)


def failures_frame(failures: dict[str, str], files: dict[str, str] | None = None
                   ) -> pd.DataFrame:
    """indicator, file, reason of the indicators that could not be read (string columns, also
    when there is none)."""
    files = files or {}
    return pd.DataFrame({
        "indicator": pd.Series(list(failures), dtype="string"),
        "file": pd.Series([files.get(k, "") for k in failures], dtype="string"),
        "reason": pd.Series(list(failures.values()), dtype="string"),
    })


def failure_message(study, indicator_id: str, err: Exception) -> str:
    """The reader's message for an indicator that could not be read, its file named as
    study.yaml names it (``landing/registry/x.csv row 3, column Kjønn: ...``)."""
    text = str(err)
    if study.registry and indicator_id in study.registry.indicators:
        file = str(study.registry.indicators[indicator_id].file)
        path = str(getattr(err, "path", "") or study.path(file))
        if path and text.startswith(path):
            text = file + text[len(path):]
    return text


def read_indicators(study) -> RegistryRead:
    """Read every registry indicator of the study (:func:`read_indicator`); one that cannot
    be read (a :class:`~evaluation_pipeline.errors.RegistryFileError` or another
    :class:`~evaluation_pipeline.errors.PipelineError`: file not found, an unfiltered
    dimension, no kommune level, an ambiguous kommune name, ...) is left out and its message
    kept in ``failures``, so the other indicators are still estimated. When no indicator can
    be read, the error is raised (the first one's, naming the others too)."""
    from .errors import PipelineError

    inds = dict(study.registry.indicators) if study.registry else {}
    obs, ref, failures, notes, errors = [], [], {}, {}, []
    for k in inds:
        try:
            read = read_indicator(study, k)
        except (PipelineError, OSError) as err:
            failures[k] = failure_message(study, k, err)
            errors.append(err)
            continue
        obs.append(read.observations)
        if len(read.reference):
            ref.append(read.reference)
        notes[k] = read.notes
    if inds and not obs:
        if len(errors) == 1:
            raise errors[0]
        others = "; ".join(f"{k}: {v}" for k, v in list(failures.items())[1:])
        raise RegistryFileError(study.source_file or "study.yaml", (
            f"no registry indicator could be read: {next(iter(failures))}: "
            f"{next(iter(failures.values()))}; {others}"))
    observations = pd.concat(obs, ignore_index=True) if obs else _empty(RAW_OBSERVATION_COLUMNS)
    reference = pd.concat(ref, ignore_index=True) if ref else _empty(REFERENCE_COLUMNS)
    return RegistryRead(observations, reference, failures, notes,
                        _files={k: str(v.file) for k, v in inds.items()})


def read_indicator_table(
    raw: pd.DataFrame,
    indicator_id: str,
    indicator: Indicator,
    path: str = "<registry file>",
    *,
    study=None,
) -> IndicatorRead:
    """Pick the numerator and denominator (or the published value) of one study indicator
    and interpret the file as published (see the module docstring): kommune names -> codes,
    borders, reference rows, periods, filters and label columns, the scale of a rate.

    In a table with one row per contents code (JSON-stat, PxWeb) the study's ``numerator``,
    ``denominator`` and ``value`` name contents codes or labels. A tidy table that already has
    ``numerator`` and ``denominator`` columns gives them per indicator; its rows whose
    indicator is the study's indicator id (or ``value``) are taken. ``study`` gives the
    ``geography_year`` (default 2024) and the kommuner that resolve ambiguous names.
    """
    if {"numerator", "denominator"} <= set(raw.columns):
        return _from_tidy(raw, indicator_id, indicator, path, study)
    notes: list[str] = []
    if raw["kommune"].isna().all() and raw["kommune_name"].isna().all():
        raise _no_kommune_level(raw, path)
    raw, filtered = _apply_filter(raw, indicator, path)
    if filtered:
        notes.append("filter: " + ", ".join(f"{k} = {v}" for k, v in indicator.filter.items()))
    keys = ["kommune", "kommune_name", "period"]
    parts = {}
    names = (
        {"numerator": indicator.numerator, "denominator": indicator.denominator}
        if indicator.numerator
        else {}
    )
    if indicator.value:
        names["value"] = indicator.value
    label = ""
    for role, name in names.items():
        sub = _pick(raw, name, path)
        sub, dim_notes = _resolve_dimensions(sub, indicator, path, filtered)
        notes += [n for n in dim_notes if n not in notes]
        k = sub[keys].astype("string").fillna(_NA_KEY)
        dup = k.duplicated()
        if dup.any():
            r = sub[dup.to_numpy()].iloc[0]
            where = r["kommune"] if pd.notna(r["kommune"]) else r["kommune_name"]
            raise RegistryFileError(
                path, f"{name!r} has two values for kommune {where} period {r['period']}"
            )
        if role == "value":
            texts = [str(x) for x in pd.unique(sub["indicator_label"].dropna())]
            texts += [str(sub[c].dropna().iloc[0]) for c in sub.columns
                      if c not in _REGISTRY_CORE and sub[c].nunique(dropna=True) == 1
                      and re.search(r"måltall|maltall|measure|enhet|unit|mål", c, re.I)]
            label = " / ".join(texts)
        part = sub[keys + ["value", "status"]].copy()
        for c in keys:
            part[c] = part[c].astype("string").fillna(_NA_KEY)
        parts[role] = part.set_index(keys).rename(
            columns={"value": role, "status": f"status_{role}"})
    obs = pd.concat(parts.values(), axis=1).reset_index()
    for c in keys:
        obs[c] = obs[c].mask(obs[c] == _NA_KEY, pd.NA)
    status_cols = [c for c in obs.columns if c.startswith("status_")]
    obs["status"] = _joined_status(obs[status_cols])
    for col in ("numerator", "denominator", "value"):
        if col not in obs:
            obs[col] = np.nan
    obs["indicator"] = indicator_id
    obs["year"] = _period_year(obs["period"], path).astype("int64")
    # regions: kommune rows, and country / fylke rows kept apart as reference series
    named = obs["kommune"].isna() & obs["kommune_name"].notna()
    level = pd.Series("kommune", index=obs.index, dtype="string")
    level[named] = obs.loc[named, "kommune_name"].map(geography.area_level)
    level[obs["kommune"].isna() & obs["kommune_name"].isna()] = pd.NA
    fylker = frozenset().union(*[geography.fylke_prefixes(n) for n in
                                 obs.loc[level == "fylke", "kommune_name"].unique()])
    gy = study.geography_year if study is not None else 2024
    kommuner = tuple(study.kommuner) if study is not None else ()
    borders, border_note = _borders(obs, named & (level == "kommune"), indicator, gy, fylker,
                                    kommuner, path)
    if border_note:
        notes.append(border_note)
    # the scale of a published rate
    scale = "counts"
    if indicator.value and not indicator.numerator:
        if indicator.scale:
            scale, why = indicator.scale, "declared (scale:)"
        else:
            scale, why = detect_scale(obs["value"], label)
        factor = indicator.per / SCALE_BASE[scale]
        obs["value"] = obs["value"] * factor
        target = _PER_TEXT.get(float(indicator.per), f"per {indicator.per:g}")
        notes.append(f"published rate: {scale.replace('_', ' ')} ({why}), stored as {target}"
                     + (f" (× {factor:g})" if factor != 1 else ""))
    obs["borders"] = borders
    obs["source_scale"] = scale
    ref = obs[level.isin(["country", "fylke"]).fillna(False)].copy()
    ref["level"] = level[ref.index]
    ref["area"] = ref["kommune_name"]
    kom = obs[(level == "kommune").fillna(False) & obs["kommune"].notna()]
    out = kom[RAW_OBSERVATION_COLUMNS].reset_index(drop=True)
    out["status"] = out["status"].astype("string")
    return IndicatorRead(out, ref[REFERENCE_COLUMNS].reset_index(drop=True), notes,
                         borders, scale)


def _borders(obs: pd.DataFrame, named: pd.Series, indicator: Indicator, gy: int,
             fylker: frozenset[str], kommuner: tuple[str, ...], path: str) -> tuple[str, str]:
    """Map kommune names to codes in place (``obs['kommune']``) and decide the borders:
    as published (codes of each year) or current (codes of ``geography_year``)."""
    declared = indicator.borders
    note = ""
    has_data = obs[[c for c in ("numerator", "denominator", "value") if c in obs]].notna().any(
        axis=1)
    coded = obs["kommune"].notna() & ~named & has_data
    # codes as published: a code with data in a year it did not exist but valid in gy (a
    # code listed with status '.' in the years it did not exist says nothing)
    code_current = pd.Series(False, index=obs.index)
    if coded.any():
        ok = geography.valid_in_year(obs.loc[coded, "kommune"], obs.loc[coded, "year"])
        now = obs.loc[coded, "kommune"].isin(list(geography.valid_codes(gy)))
        code_current.loc[coded] = (~ok & now).to_numpy()
    if not named.any():
        if declared:
            return declared, f"borders: {declared} (declared)"
        if code_current.any():
            r = obs[code_current].iloc[0]
            return "current", (
                f"borders: current (detected: code {r['kommune']} is used for {r['year']} but "
                f"is {geography.validity_text(r['kommune'])}; the file publishes its history "
                f"on today's borders)")
        return "as_published", ""
    names, years = obs.loc[named, "kommune_name"], obs.loc[named, "year"]

    def run(mode: str):
        return geography.codes_for_names(names, years, borders=mode, geography_year=gy,
                                         fylker=fylker, kommuner=kommuner)

    if declared:
        mode = declared
        codes, unresolved, ambiguous = run(mode)
        note = f"borders: {declared} (declared)"
    else:
        codes, unresolved, ambiguous = run("as_published")
        mode = "as_published"
        if unresolved or code_current.any():
            c2, u2, a2 = run("current")
            if len(u2) < len(unresolved) or (code_current.any() and not u2):
                shown = geography.describe_unresolved(unresolved)[:2]
                mode, codes = "current", c2
                note = (f"borders: current (detected: {'; '.join(shown)}; the name exists in "
                        f"{gy}: the file publishes its history on today's borders)" if shown
                        else "borders: current (detected from the codes)")
                unresolved, ambiguous = u2, a2
    if unresolved:
        texts = geography.describe_unresolved(unresolved, gy)
        extra = ("; if the file publishes its history on today's borders, add "
                 "`borders: current` to the indicator" if mode == "as_published" else "")
        where = f"geography_year {gy}" if mode == "current" else "the period's year"
        raise RegistryFileError(
            path, f"kommune name(s) that are no kommune in {where} (borders: {mode}): "
            f"{'; '.join(texts[:5])}{extra}", column="kommune_name")
    if ambiguous:
        raise RegistryFileError(
            path, "kommune name(s) of several kommuner: " + "; ".join(ambiguous[:5])
            + ". The file has no fylke row that tells them apart and the study's network and "
            "comparison hold none (or several) of them: add the intended kommune (its "
            f"{gy} code) to the study's comparison or network", column="kommune_name")
    obs.loc[named, "kommune"] = codes.to_numpy()
    return mode, note


def _joined_status(statuses: pd.DataFrame) -> pd.Series:
    """Per row, the distinct non-missing status symbols of the columns, sorted and joined
    with ``,`` (missing when there is none); vectorised (this runs on every registry cell)."""
    cols = [statuses[c].astype("string") for c in statuses.columns]
    if not cols:
        return pd.Series(pd.NA, index=statuses.index, dtype="string")
    if len(cols) == 1:
        return cols[0]
    if len(cols) == 2:
        a, b = cols
        lo = a.where(a.isna() | b.isna() | (a <= b), b)  # the smaller of two present symbols
        hi = b.where(a.isna() | b.isna() | (a <= b), a)
        both = lo.str.cat(hi, sep=",")
        out = both.where(a.notna() & b.notna() & (a != b), a.fillna(b))
        return out.astype("string")
    frame = statuses.reset_index(drop=True)
    long = frame.stack().astype(str).rename("symbol").reset_index(level=1, drop=True)
    long = long.rename_axis("row").reset_index().drop_duplicates()
    joined = long.sort_values(["row", "symbol"]).groupby("row")["symbol"].agg(",".join)
    out = joined.reindex(range(len(frame))).astype("string")
    out.index = statuses.index
    return out


def _from_tidy(raw: pd.DataFrame, indicator_id: str, indicator: Indicator, path: str,
               study=None) -> IndicatorRead:
    names = {indicator_id} | ({indicator.value} if indicator.value else set())
    sub = raw[raw["indicator"].isin(names) | raw["indicator_label"].isin(names)].copy()
    if sub.empty:
        raise RegistryFileError(
            path, f"no rows for indicator {indicator_id!r} (found: "
            f"{', '.join(map(str, sorted(raw['indicator'].dropna().unique())[:10]))})"
        )
    dup = sub.duplicated(["kommune", "period"])
    if dup.any():
        r = sub[dup].iloc[0]
        raise RegistryFileError(
            path, f"two rows for kommune {r['kommune']} period {r['period']}"
        )
    sub["indicator"] = indicator_id
    sub["year"] = _period_year(sub["period"], path).astype("int64")
    sub = sub[sub["kommune"].notna()]
    gy = study.geography_year if study is not None else 2024
    borders, note = _borders(sub, pd.Series(False, index=sub.index), indicator, gy,
                             frozenset(), (), path)
    sub["borders"] = borders
    sub["source_scale"] = "counts"
    empty = pd.DataFrame(columns=REFERENCE_COLUMNS)
    return IndicatorRead(sub[RAW_OBSERVATION_COLUMNS].reset_index(drop=True), empty,
                         [note] if note else [], borders, "counts")


#: the cells of a registry observation that a revision of the source table can change
REVISABLE_COLUMNS = ["numerator", "denominator", "value", "status"]
_REVISION_KEYS = ["indicator", "kommune", "period"]


@dataclass(frozen=True)
class RegistryRevisions:
    """What changed between two versions of the registry observations (aggregates only).

    ``changed`` has one row per changed cell: indicator, kommune, period, year, column, old,
    new; ``added`` / ``removed`` count observations (indicator × kommune × period) present in
    only one of the two versions (new periods published, periods withdrawn).
    """

    changed: pd.DataFrame
    added: int
    removed: int

    @property
    def by_indicator_year(self) -> pd.DataFrame:
        """Number of changed cells per indicator × year."""
        if self.changed.empty:
            return pd.DataFrame(columns=["indicator", "year", "cells"])
        return (
            self.changed.groupby(["indicator", "year"]).size().rename("cells").reset_index()
        )


def _same(old: pd.Series, new: pd.Series) -> np.ndarray:
    """Elementwise equality where two missing values are equal and numbers compare exactly
    up to float noise (1e-9)."""
    o_na, n_na = old.isna().to_numpy(), new.isna().to_numpy()
    o_num, n_num = pd.to_numeric(old, errors="coerce"), pd.to_numeric(new, errors="coerce")
    both_num = (o_num.notna() & n_num.notna()).to_numpy()
    eq = (o_na & n_na)
    eq |= both_num & np.isclose(o_num.fillna(0).to_numpy(float), n_num.fillna(0).to_numpy(float),
                                rtol=0.0, atol=1e-9)
    text = ~o_na & ~n_na & ~both_num
    eq |= text & (old.astype(str).to_numpy() == new.astype(str).to_numpy())
    return eq


def registry_revisions(old: pd.DataFrame, new: pd.DataFrame) -> RegistryRevisions:
    """Compare a previous and a new version of the registry observations (the columns of
    :data:`OBSERVATION_COLUMNS`) cell by cell, matched on indicator × kommune × period.

    A revised SSB table gives new numerators, denominators, values or status symbols for
    periods that were published before; those cells are listed in ``changed``.
    """
    for name, df in (("previous", old), ("new", new)):
        missing = [c for c in _REVISION_KEYS + REVISABLE_COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(f"{name} registry observations lack column(s) {missing}")
        dup = df.duplicated(_REVISION_KEYS)
        if dup.any():
            r = df[dup].iloc[0]
            raise ValueError(
                f"{name} registry observations have two rows for indicator {r['indicator']} "
                f"kommune {r['kommune']} period {r['period']}"
            )

    def keyed(df: pd.DataFrame) -> pd.DataFrame:
        out = df[_REVISION_KEYS + REVISABLE_COLUMNS].copy()
        for k in _REVISION_KEYS:
            out[k] = out[k].astype(str)
        return out

    both = keyed(old).merge(keyed(new), on=_REVISION_KEYS, how="outer",
                            suffixes=("_old", "_new"), indicator=True)
    common = both[both["_merge"] == "both"]
    parts = []
    for col in REVISABLE_COLUMNS:
        o, n = common[f"{col}_old"], common[f"{col}_new"]
        diff = common[~_same(o, n)]
        if len(diff):
            parts.append(pd.DataFrame({
                **{k: diff[k].to_numpy() for k in _REVISION_KEYS},
                "column": col,
                "old": diff[f"{col}_old"].astype(object).to_numpy(),
                "new": diff[f"{col}_new"].astype(object).to_numpy(),
            }))
    cols = _REVISION_KEYS + ["year", "column", "old", "new"]
    if parts:
        changed = pd.concat(parts, ignore_index=True)
        changed["year"] = changed["period"].map(lambda t: parse_period(t)[0]).astype("int64")
        order = {c: i for i, c in enumerate(REVISABLE_COLUMNS)}
        changed = changed.sort_values(
            ["indicator", "year", "kommune", "period", "column"],
            key=lambda s: s.map(order) if s.name == "column" else s,
        )[cols].reset_index(drop=True)
    else:
        changed = pd.DataFrame(columns=cols)
    return RegistryRevisions(
        changed=changed,
        added=int((both["_merge"] == "right_only").sum()),
        removed=int((both["_merge"] == "left_only").sum()),
    )


# ---- what the registry DiD notes say about an indicator ---------------------------------------
_POP_COL_RE = re.compile(r"^(population|befolkning|folkemengde|personer|pop|value|verdi)$",
                         re.I)


def _weights_file(path, study) -> pd.DataFrame:
    """kommune, year, population from a CSV the study names (columns kommune/kommunenummer,
    year/år, population/befolkning/personer)."""
    p = study.path(path)
    if not p.is_file():
        raise RegistryFileError(p, "weights: file not found (expected a CSV with kommune, "
                                   "year and population columns)")
    df = pd.read_csv(p, sep=None, engine="python", dtype=str, encoding="utf-8-sig")
    cols = {c.strip().casefold(): c for c in df.columns}
    kom = next((cols[c] for c in cols if c in ("kommune", "kommunenummer", "kommune_code",
                                                "region")), None)
    yr = next((cols[c] for c in cols if c in ("year", "år", "aar", "period")), None)
    pop = next((cols[c] for c in cols if _POP_COL_RE.match(c)), None)
    if not (kom and yr and pop):
        raise RegistryFileError(
            p, f"weights: expected columns kommune, year and population; found "
            f"{', '.join(df.columns)}")
    out = pd.DataFrame({
        "kommune": df[kom].str.strip().str.extract(r"(\d{3,4})")[0].str.zfill(4),
        "year": pd.to_numeric(df[yr].str.strip().str[:4], errors="coerce"),
        "population": pd.to_numeric(df[pop].str.replace(r"[\s\u00a0]", "", regex=True)
                                    .str.replace(",", "."), errors="coerce"),
    }).dropna()
    out["year"] = out["year"].astype(int)
    return out


def did_weights(panel: pd.DataFrame, study, indicator_id: str
                ) -> tuple[pd.DataFrame, str | None, str]:
    """(panel, weight column or None, note) for the TWFE DiD of one indicator.

    ``weights: population`` weighs each kommune-year by the packaged population of the
    indicator's ``age_group`` (SSB 07459 via FHI, 2024 borders); ``weights: <file>`` by the
    population in a CSV the study names (kommune, year, population). Without ``weights`` the
    DiD is unweighted (each kommune counts equally), which the note says — for a published
    rate without counts (``value:``) that is the only choice the file allows."""
    cfg = study.registry.indicators[indicator_id]
    rate_only = cfg.value is not None and cfg.numerator is None
    if not cfg.weights:
        why = ("a published rate without counts" if rate_only else "rates of kommuner")
        return panel, None, (f"TWFE unweighted: each kommune counts equally ({why}; "
                             "`weights: population` with age_group weighs by population)")
    if cfg.weights == "population":
        pop = geography.population_for(cfg.age_group)
        what = f"population {', '.join(cfg.age_group)} (SSB 07459 via FHI, packaged)"
    else:
        pop = _weights_file(cfg.weights, study)
        what = f"population from {cfg.weights}"
    out = panel.merge(pop.rename(columns={"population": "_weight"}), on=["kommune", "year"],
                      how="left")
    missing = out["_weight"].isna() & out["value"].notna()
    note = f"TWFE weighted by {what}"
    if missing.any():
        cells = out.loc[missing, ["kommune", "year"]].astype(str).agg(" ".join, axis=1)
        note += (f"; {int(missing.sum())} kommune-year(s) without population left out "
                 f"(e.g. {', '.join(cells.head(3))})")
        out = out[~missing]
    return out.reset_index(drop=True), "_weight", note


def indicator_notes(observations: pd.DataFrame, indicator_id: str) -> list[str]:
    """Notes on how an indicator's values were published (rolling averages, school years),
    from the periods kept in the (harmonized) observations."""
    if "period" not in observations.columns:
        return []
    periods = observations.loc[observations["indicator"] == indicator_id, "period"]
    return period_notes(periods.drop_duplicates())
