"""From a registry file as read (long, one row per contents code) to the study's tidy registry
observations: kommune, period, year, indicator (the study's id), numerator, denominator, value,
status, file; and the cells a revised registry table changed between two versions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import RegistryFileError
from .study import Indicator

OBSERVATION_COLUMNS = [
    "kommune", "period", "year", "indicator", "numerator", "denominator", "value", "status",
]
_REGISTRY_CORE = {
    "kommune", "kommune_name", "period", "indicator", "indicator_label", "value", "status",
}


def _pick(raw: pd.DataFrame, name: str, path: str) -> pd.DataFrame:
    hit = raw[(raw["indicator"] == name) | (raw["indicator_label"] == name)]
    if hit.empty:
        found = sorted(set(raw["indicator"].dropna()) | set(raw["indicator_label"].dropna()))
        raise RegistryFileError(
            path, f"no contents {name!r} in the file (found: {', '.join(map(str, found[:10]))})"
        )
    return hit


def registry_observations(
    raw: pd.DataFrame, indicator_id: str, indicator: Indicator, path: str = "<registry file>"
) -> pd.DataFrame:
    """Pick the numerator and denominator (or the published value) of one study indicator.

    In a table with one row per contents code (JSON-stat, PxWeb) the study's ``numerator``,
    ``denominator`` and ``value`` name contents codes or labels. A tidy table that already has
    ``numerator`` and ``denominator`` columns gives them per indicator; its rows whose
    indicator is the study's indicator id (or ``value``) are taken.
    """
    if {"numerator", "denominator"} <= set(raw.columns):
        return _from_tidy(raw, indicator_id, indicator, path)
    extra = [c for c in raw.columns if c not in _REGISTRY_CORE]
    for c in extra:
        if raw[c].nunique(dropna=True) > 1:
            raise RegistryFileError(
                path,
                f"the table has several values of dimension {c!r} "
                f"({', '.join(map(str, raw[c].unique()[:5]))}); export one table per value",
            )
    keys = ["kommune", "period"]
    parts = {}
    names = (
        {"numerator": indicator.numerator, "denominator": indicator.denominator}
        if indicator.numerator
        else {}
    )
    if indicator.value:
        names["value"] = indicator.value
    for role, name in names.items():
        sub = _pick(raw, name, path)
        dup = sub.duplicated(keys)
        if dup.any():
            r = sub[dup].iloc[0]
            raise RegistryFileError(
                path, f"{name!r} has two values for kommune {r['kommune']} period {r['period']}"
            )
        parts[role] = sub.set_index(keys)[["value", "status"]].rename(
            columns={"value": role, "status": f"status_{role}"}
        )
    obs = pd.concat(parts.values(), axis=1).reset_index()
    status_cols = [c for c in obs.columns if c.startswith("status_")]
    obs["status"] = _joined_status(obs[status_cols])
    for col in ("numerator", "denominator", "value"):
        if col not in obs:
            obs[col] = np.nan
    obs["indicator"] = indicator_id
    obs["year"] = pd.to_numeric(obs["period"].astype(str).str[:4], errors="coerce")
    if obs["year"].isna().any():
        bad = obs.loc[obs["year"].isna(), "period"].iloc[0]
        raise RegistryFileError(path, f"period {bad!r} does not start with a year")
    obs["year"] = obs["year"].astype("int64")
    obs = obs[obs["kommune"].notna()]
    return obs[OBSERVATION_COLUMNS].reset_index(drop=True)


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


def _from_tidy(raw: pd.DataFrame, indicator_id: str, indicator: Indicator, path: str):
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
    sub["year"] = pd.to_numeric(sub["period"].astype(str).str[:4], errors="coerce")
    if sub["year"].isna().any():
        bad = sub.loc[sub["year"].isna(), "period"].iloc[0]
        raise RegistryFileError(path, f"period {bad!r} does not start with a year")
    sub["year"] = sub["year"].astype("int64")
    sub = sub[sub["kommune"].notna()]
    return sub[OBSERVATION_COLUMNS].reset_index(drop=True)


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
        changed["year"] = changed["period"].str[:4].astype("int64")
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
