"""Revisions between two downloads of a registry table: the cells a revised table changed, and
the observations added or withdrawn (:func:`registry_revisions`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .periods import parse_period

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
