"""The dimensions of a registry file against study.yaml: the ``filter:``, the period column,
label columns, a file without a kommune level, and the scale of a published rate."""

from __future__ import annotations

import re

import pandas as pd

from .. import geography
from ..errors import RegistryFileError
from ..study import Indicator
from .columns import NA_KEY, REGISTRY_CORE
from .periods import KIND_RANK, period_kinds


# ---- the columns of a file -------------------------------------------------------------------
def _key(s: pd.Series) -> pd.Series:
    return s.astype("string").fillna(NA_KEY)


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


def no_kommune_level(raw: pd.DataFrame, path: str) -> RegistryFileError:
    extra = [c for c in raw.columns if c not in REGISTRY_CORE]
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


def resolve_dimensions(
    sub: pd.DataFrame, indicator: Indicator, path: str, filtered: set[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Pick the period column, drop label columns, and check that no dimension with several
    values is left. Returns (rows with a chosen ``period``, notes)."""
    notes: list[str] = []
    extra = [c for c in sub.columns if c not in REGISTRY_CORE]
    multi = [c for c in extra if sub[c].nunique(dropna=True) > 1]
    # the period: the most specific of the columns that label the same periods
    base = period_kinds(sub["period"].dropna()) if sub["period"].notna().any() else None
    best, best_rank = "period", (KIND_RANK[base["kind"].iloc[0]] if base is not None
                                 and len(base) else -1)
    same_period = []
    for c in multi:
        if sub[c].isna().any() or not _one_to_one(sub, "period", c):
            continue
        kinds = period_kinds(sub[c])
        same_period.append(c)
        if kinds is None:
            continue
        rank = max(KIND_RANK[k] for k in kinds["kind"].unique())
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
            raise no_kommune_level(sub, path)
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


def apply_filter(raw: pd.DataFrame, indicator: Indicator, path: str) -> tuple[pd.DataFrame,
                                                                              set[str]]:
    cols = [c for c in raw.columns if c not in REGISTRY_CORE]
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
SCALE_BASE = {"proportion": 1.0, "percent": 100.0, "per_1000": 1000.0, "per_100000": 100000.0}
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


PER_TEXT = {1.0: "a proportion", 100.0: "percent", 1000.0: "per 1,000",
            100000.0: "per 100,000"}
